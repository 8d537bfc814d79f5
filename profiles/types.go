package profiles

import (
	"encoding/json"
	"time"
)

// Subscription states shared by push and email.
const (
	OptedIn      = "opted_in"
	Subscribed   = "subscribed"
	Unsubscribed = "unsubscribed"
)

// Platforms of apps and devices.
const (
	PlatformIOS     = "ios"
	PlatformAndroid = "android"
	PlatformWeb     = "web"
)

// Alias is a user alias: a name within a label (Braze's user_alias object).
type Alias struct {
	Name  string `json:"alias_name"`
	Label string `json:"alias_label"`
}

// Identifier names one user the way Braze's API does: exactly one field is set.
type Identifier struct {
	ExternalID string
	BrazeID    string
	Alias      *Alias
}

// Key returns a comparable form of the identifier.
func (id Identifier) Key() IdentKey {
	switch {
	case id.ExternalID != "":
		return IdentKey{Kind: 'e', A: id.ExternalID}
	case id.BrazeID != "":
		return IdentKey{Kind: 'b', A: id.BrazeID}
	case id.Alias != nil:
		return IdentKey{Kind: 'a', A: id.Alias.Label, B: id.Alias.Name}
	}
	return IdentKey{}
}

// IdentKey is a comparable identifier, usable as a map key.
type IdentKey struct {
	Kind byte // 'e' external id, 'b' braze id, 'a' alias (A label, B name)
	A, B string
}

// Standard holds Braze's standard profile attributes. An empty string means unset.
type Standard struct {
	FirstName      string
	LastName       string
	Email          string
	Phone          string
	Country        string
	HomeCity       string
	Language       string
	TimeZone       string
	DOB            string // YYYY-MM-DD
	Gender         string
	PushSubscribe  string
	EmailSubscribe string
}

// User is one profile row: identity, standard and custom attributes, and the
// user-level session and revenue summaries.
type User struct {
	ID             int64
	BrazeID        string
	ExternalID     string // empty for alias-only and anonymous users
	RandomBucket   int    // 0..9999, fixed at creation
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Standard       Standard
	Custom         Custom
	TotalRevenue   float64
	FirstSessionAt time.Time // zero when unknown
	LastSessionAt  time.Time
	// Version counts writes of the row; a write checks it, so a concurrent
	// change is detected instead of lost.
	Version int64
}

// Clone returns a deep copy of u.
func (u *User) Clone() *User {
	c := *u
	c.Custom = u.Custom.Clone()
	return &c
}

// Created is a user built in memory, with its alias when it is an alias-only
// user, to be inserted with its final attributes in one write.
type Created struct {
	User  *User
	Alias *Alias
}

// NewUser is what the store needs to create a user.
type NewUser struct {
	ExternalID   string
	Alias        *Alias
	RandomBucket int
	CreatedAt    time.Time
}

// Device is a push token registered for a user in an app.
type Device struct {
	ID       int64
	UserID   int64
	AppID    string
	Platform string
	// Token is what the provider addresses: an APNs or FCM token, or for web the
	// canonical PushSubscription JSON.
	Token string
	// TokenKey identifies the device within its app: the token itself, or for web
	// the subscription endpoint.
	TokenKey      string
	DeviceID      string
	PushEnabled   bool
	InvalidAt     time.Time // zero while the token is valid
	InvalidReason string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Valid reports whether the token is still targeted.
func (d Device) Valid() bool { return d.InvalidAt.IsZero() }

// Event is one custom event occurrence.
type Event struct {
	UserID     int64
	Name       string
	Time       time.Time
	AppID      string
	Properties json.RawMessage // canonical JSON object, "{}" when none
}

// Purchase is one unit of a purchased product (a quantity of N is N purchases).
type Purchase struct {
	UserID     int64
	ProductID  string
	Currency   string
	Price      float64
	Time       time.Time
	AppID      string
	Properties json.RawMessage
}

// Summary is a per-name rollup: first and last occurrence and a count (custom events
// by name, purchases by product).
type Summary struct {
	Name  string
	First time.Time
	Last  time.Time
	Count int64
}

// AppUsage is a user's session data for one app.
type AppUsage struct {
	AppID     string
	FirstUsed time.Time
	LastUsed  time.Time
	Sessions  int64
	Version   string
}

// Profile is a user with everything an export or an evaluator needs.
type Profile struct {
	User      *User
	Aliases   []Alias
	Devices   []Device
	Apps      []AppUsage
	Events    []Summary
	Purchases []Summary
	// Recent holds day rollups of recent UTC days, loaded only for segment
	// evaluation (store.LoadRecent).
	Recent Recent
}

// Recent is a user's activity per UTC day (days since the Unix epoch) over
// the last days, as segments count it.
type Recent struct {
	Sessions  []DayCount // Name empty
	Events    []DayCount // Name: the event name
	Purchases []DayCount // Name: the product id; Revenue set
}

// Session is one session start of a user on an app.
type Session struct {
	UserID     int64
	AppID      string
	Time       time.Time
	AppVersion string // empty keeps the version known
}

// DayCount is one day's rollup of sessions, an event or a product's purchases.
type DayCount struct {
	Name    string
	Day     int64
	Count   int64
	Revenue float64
}
