package profiles

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by stores when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique value (an alias, an app id) is already taken.
var ErrConflict = errors.New("already exists")

// ErrRetry reports a conflict with a concurrent transaction; returned from the
// function given to Store.InTx (or by a Tx method) it makes InTx run the
// function again.
var ErrRetry = errors.New("concurrent change: retrying the transaction")

// Store is the persistence profiles needs. Package store implements it for SQLite
// and PostgreSQL; both pass one contract suite.
type Store interface {
	// InTx runs fn in a transaction. fn may be called more than once when the
	// database asks for a retry (serialization failure, deadlock, busy), so it must
	// not keep state across calls.
	InTx(ctx context.Context, fn func(Tx) error) error

	// InvalidateTokens marks push tokens invalid (they stop being targeted and the
	// export shows the reason and time); it returns how many valid tokens it
	// invalidated. Unknown tokens are ignored.
	InvalidateTokens(ctx context.Context, drops []TokenDrop) (int, error)

	// FindUserIDs resolves a lookup to user ids; unmatched identifiers are returned
	// in their request form.
	FindUserIDs(ctx context.Context, q Lookup) (ids []int64, missing []string, err error)
	// Profiles loads users with their aliases, devices, app usage and rollups, in
	// the order of ids; ids that do not exist are left out.
	Profiles(ctx context.Context, ids []int64) ([]*Profile, error)
	// DeliveryProfiles loads users with their devices and app usage, and the
	// custom event summaries only when eventSummaries; aliases and purchase
	// summaries are left out. Same order as Profiles.
	DeliveryProfiles(ctx context.Context, ids []int64, eventSummaries bool) ([]*Profile, error)

	Apps
}

// Apps persists apps and their sealed credentials.
type Apps interface {
	CreateApp(ctx context.Context, a *App) error
	// UpsertApp creates an app or replaces its name, platform and source (apps
	// declared in the config file); the SDK key is kept, and the credentials are
	// replaced only when the app carries some.
	UpsertApp(ctx context.Context, a *App) error
	GetApp(ctx context.Context, id string) (*App, error)
	// AppBySDKKey returns the app whose public SDK key is key (ErrNotFound).
	AppBySDKKey(ctx context.Context, key string) (*App, error)
	ListApps(ctx context.Context) ([]*App, error)
	SetAppCredentials(ctx context.Context, id string, sealed []byte, kinds CredentialKinds, now time.Time) error
}

// Tx is the transactional part of the store. Users are locked before they are
// modified; every method is batched (one statement per call, not per row).
type Tx interface {
	// EnsureUsers resolves each request to a user id, creating users where
	// Create is set and the identifier is unknown. The result has one id per
	// request, 0 where the user does not exist and was not created.
	EnsureUsers(ctx context.Context, reqs []Ensure) ([]int64, error)
	// LoadUsers loads the user each request names: one user per request, nil
	// where none exists; requests naming the same user share one *User. Rows are
	// not necessarily locked: SaveUsers detects a concurrent change and the
	// transaction is retried. A retry may create users to make sure it
	// progresses: fresh marks the users this call created (with defaults).
	LoadUsers(ctx context.Context, reqs []Ensure) (users []*User, fresh []bool, err error)
	// InsertUsers inserts users built in memory with their final attributes and
	// sets their IDs. If another transaction created one of them meanwhile it
	// returns an error that makes InTx retry.
	InsertUsers(ctx context.Context, users []Created) error
	// LockUsers loads and locks users for update, keyed by id.
	LockUsers(ctx context.Context, ids []int64) (map[int64]*User, error)
	// SaveUsers writes changed users (all columns but identity) if their Version
	// is still the stored one; otherwise it returns an error that makes InTx retry.
	SaveUsers(ctx context.Context, users []*User) error
	// KeepUsers makes sure users still exist until the transaction ends, without
	// changing them (PostgreSQL: a key-share lock, which other writers' updates
	// do not wait for but a delete does). If one is gone it returns an error
	// that makes InTx retry.
	KeepUsers(ctx context.Context, ids []int64) error
	// UpsertDevices registers push tokens: a token already known in the app moves
	// to the given user and becomes valid again. Rows that would not change are
	// not rewritten.
	UpsertDevices(ctx context.Context, devices []Device) error
	// AddEvents stores events and updates the per-user per-name per-day rollup and
	// the per-user per-name totals.
	AddEvents(ctx context.Context, events []Event) error
	// AddPurchases stores purchases and updates their rollups.
	AddPurchases(ctx context.Context, purchases []Purchase) error
	// AppPlatforms returns the platform of each known app id.
	AppPlatforms(ctx context.Context, ids []string) (map[string]string, error)
	// DeleteUsers deletes users and everything they own; it returns how many existed.
	DeleteUsers(ctx context.Context, ids []int64) (int, error)
	// AddAlias attaches an alias to a user; ErrConflict when the alias is taken.
	AddAlias(ctx context.Context, userID int64, a Alias) error
	// UserByAlias returns the owner of an alias, or 0.
	UserByAlias(ctx context.Context, a Alias) (int64, error)
	// UserByExternalID returns the user with that external id, or 0.
	UserByExternalID(ctx context.Context, externalID string) (int64, error)
	// SetExternalID gives an alias-only user an external id.
	SetExternalID(ctx context.Context, userID int64, externalID string) error
	// MoveUserData moves aliases, devices, events, purchases, rollups and app usage
	// from one user to another (merging rollups), leaving from empty.
	MoveUserData(ctx context.Context, from, into int64) error
}

// Ensure asks for the user an identifier names, creating it when Create is set.
type Ensure struct {
	ID     Identifier
	Create bool
	New    NewUser // used when the user is created
	// IDOnly says only the user's id is needed (events): LoadUsers may return a
	// user with just ID, ExternalID and BrazeID set, which must not be saved.
	IDOnly bool
}

// Lookup selects users for export: any mix of external ids and aliases, or one
// braze id, device id, email address or phone number.
type Lookup struct {
	ExternalIDs []string
	Aliases     []Alias
	BrazeID     string
	DeviceID    string
	Email       string
	Phone       string
}

// TokenDrop names a device token to invalidate: by app and token key (the token,
// or for web the subscription endpoint), with the provider's reason.
type TokenDrop struct {
	AppID    string
	TokenKey string
	Reason   string
	At       time.Time
}
