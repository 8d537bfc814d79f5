package profiles

import (
	"context"
	"time"
)

// Service applies user data requests to the store.
type Service struct {
	store         Store
	now           func() time.Time
	lim           Limits
	group         *grouper
	checkEndpoint func(string) error
	onEvents      EventHook
	onSessions    func(ctx context.Context, tx Tx, sessions []Session) error
}

// Options configure a Service.
type Options struct {
	Limits Limits
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Writers caps the transactions applying /users/track requests at once;
	// requests that arrive while every writer is busy are merged into the next
	// transaction (group commit). Default 4; SQLite has a single writer anyway.
	Writers int
	// MaxGroupObjects caps the objects merged into one transaction. Default 1500.
	MaxGroupObjects int
	// TxTimeout bounds one transaction. Default 30s.
	TxTimeout time.Duration
	// CheckEndpoint vets a Web Push subscription endpoint when a browser
	// registers it (an endpoint is outside input: Herald will contact it); an
	// error refuses the token with that message. Nil accepts any https endpoint.
	CheckEndpoint func(endpoint string) error
	// OnEvents, when set, sees every custom event and purchase a
	// /users/track request stores, inside its transaction (what it writes
	// commits with them); an error fails the transaction.
	OnEvents EventHook
	// OnSessions, when set, sees the session starts an SDK batch stores,
	// inside its transaction, after them; an error fails the transaction.
	OnSessions func(ctx context.Context, tx Tx, sessions []Session) error
}

// EventHook sees stored custom events and purchases inside their
// transaction.
type EventHook func(ctx context.Context, tx Tx, events []HookEvent, purchases []Purchase) error

// HookEvent is a stored custom event with what a hook needs of its user.
type HookEvent struct {
	Event
	// TimeZone is the user's IANA time zone, "" when unknown.
	TimeZone string
}

// NewService returns a Service over store.
func NewService(store Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Limits.MaxObjects == 0 {
		opts.Limits = DefaultLimits()
	}
	if opts.Writers <= 0 {
		opts.Writers = 4
	}
	if opts.MaxGroupObjects <= 0 {
		opts.MaxGroupObjects = 1500
	}
	if opts.TxTimeout <= 0 {
		opts.TxTimeout = 30 * time.Second
	}
	return &Service{store: store, now: opts.Now, lim: opts.Limits, checkEndpoint: opts.CheckEndpoint, onEvents: opts.OnEvents,
		onSessions: opts.OnSessions,
		group:      newGrouper(opts.Writers, opts.MaxGroupObjects, opts.TxTimeout)}
}

// Limits returns the limits requests are decoded with.
func (s *Service) Limits() Limits { return s.lim }

// Now returns the service clock's current time.
func (s *Service) Now() time.Time { return s.now() }

// TrackResult is the outcome of a /users/track request.
type TrackResult struct {
	AttributesProcessed int
	EventsProcessed     int
	PurchasesProcessed  int
	Errors              []ObjectError
	// UsersChanged counts the users this request created or whose stored
	// attributes it changed (deltas are cheap: an unchanged user is not
	// rewritten).
	UsersChanged int
}

// Processed is the number of objects processed in all arrays.
func (r *TrackResult) Processed() int {
	return r.AttributesProcessed + r.EventsProcessed + r.PurchasesProcessed
}
