package campaigns

import (
	"encoding/json"
	"errors"
	"time"
)

// Campaign statuses.
const (
	StatusDraft     = "draft"
	StatusActive    = "active"
	StatusPaused    = "paused"
	StatusStopped   = "stopped"
	StatusCompleted = "completed"
)

// Recipient subscription states (Braze's recipient_subscription_state).
const (
	SubscriptionOptedIn    = "opted_in"
	SubscriptionSubscribed = "subscribed" // the default: subscribed or opted in
	SubscriptionAll        = "all"
)

// Message channels a campaign may hold, by their Braze key.
const (
	ApplePush   = "apple_push"
	AndroidPush = "android_push"
	WebPush     = "web_push"
	ContentCard = "content_card"
	// InAppMessage is shown by the SDK when its trigger happens; the
	// campaign's action_based schedule names the trigger.
	InAppMessage = "in_app_message"
	// Webhook is one HTTP request per user (Braze's webhook object).
	Webhook = "webhook"
)

// Campaign is a campaign as stored. Definition holds what is versioned.
type Campaign struct {
	ID         string
	Name       string
	Status     string
	Version    int64
	Definition Definition
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Definition is the versioned part of a campaign: a launched dispatch keeps
// the version it was launched with.
type Definition struct {
	// Messages holds one object per channel (apple_push, …); every string may
	// hold Liquid.
	Messages map[string]map[string]any `json:"messages"`
	// Audience is a saved segment or an inline filter; neither is everyone.
	Audience Audience `json:"audience"`
	// RecipientSubscriptionState is opted_in, subscribed or all.
	RecipientSubscriptionState string `json:"recipient_subscription_state"`
	// Schedule is kept as given; its type decides how the campaign is sent.
	Schedule Schedule `json:"schedule"`
	// SendBy aborts as expired what is not sent by then.
	SendBy *time.Time `json:"send_by,omitempty"`
	// Variants split the audience between message sets (then Messages is
	// empty); ControlPercent of it gets nothing and is counted apart.
	Variants       []Variant `json:"variants,omitempty"`
	ControlPercent int       `json:"control_percent,omitempty"`
	// Rules (frequency capping override, re-eligibility, rate limit, quiet
	// hours) are top-level fields of the campaign.
	Rules
}

// Audience names who a campaign is for.
type Audience struct {
	SegmentID string          `json:"segment_id,omitempty"`
	Filter    json.RawMessage `json:"filter,omitempty"`
}

// Schedule types.
const (
	ScheduleImmediate    = "immediate"
	ScheduleScheduled    = "scheduled"
	ScheduleRecurring    = "recurring"
	ScheduleActionBased  = "action_based"
	ScheduleAPITriggered = "api_triggered"
)

// Schedule is how a campaign is sent. Fields beyond Type belong to the
// scheduler and are kept as given (Raw).
type Schedule struct {
	Type string
	Raw  json.RawMessage
}

// MarshalJSON writes the schedule as it was given.
func (s Schedule) MarshalJSON() ([]byte, error) {
	if len(s.Raw) > 0 {
		return s.Raw, nil
	}
	return json.Marshal(map[string]string{"type": s.Type})
}

// UnmarshalJSON reads a schedule object, keeping all of it.
func (s *Schedule) UnmarshalJSON(b []byte) error {
	var t struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	s.Type, s.Raw = t.Type, append(json.RawMessage(nil), b...)
	return nil
}

// Dispatch statuses.
const (
	DispatchScheduled = "scheduled" // waits in the store until DueAt
	DispatchRunning   = "running"
	DispatchPaused    = "paused"
	DispatchStopped   = "stopped"
	DispatchDone      = "done"
)

// Dispatch is one send of a campaign (or of an ad-hoc message) to its
// audience. The store is its source of truth: it records the audience cursor
// and every page.
type Dispatch struct {
	ID              string
	CampaignID      string // empty for /messages/send
	CampaignVersion int64
	// Occurrence makes a dispatch unique per campaign ("launch" for a
	// one-time campaign, a request id, a schedule occurrence).
	Occurrence string
	Spec       Spec
	Status     string
	// Cursor is the last user id paged; PagingDone is set when the audience
	// is exhausted.
	Cursor     int64
	PagingDone bool
	// DueAt is when a scheduled dispatch starts (zero: at once).
	DueAt     time.Time
	Pages     int
	PagesDone int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Spec is what a dispatch sends, frozen when it is created.
type Spec struct {
	Messages                   map[string]map[string]any `json:"messages"`
	Filter                     json.RawMessage           `json:"filter,omitempty"`   // resolved: no segment references
	UserIDs                    []int64                   `json:"user_ids,omitempty"` // explicit recipients instead of a filter
	RecipientSubscriptionState string                    `json:"recipient_subscription_state"`
	TriggerProperties          map[string]any            `json:"trigger_properties,omitempty"`
	// PerUserProperties are recipients' own trigger_properties, by user id.
	PerUserProperties map[int64]map[string]any `json:"per_user_properties,omitempty"`
	// EventProperties are the triggering event's properties (action-based).
	EventProperties map[string]any `json:"event_properties,omitempty"`
	SendBy          *time.Time     `json:"send_by,omitempty"`
	// Rules are the campaign's delivery rules (none for ad-hoc sends, which
	// frequency capping still applies to).
	Rules Rules `json:"rules"`
	// Variants and ControlPercent are the campaign's A/B test.
	Variants       []Variant `json:"variants,omitempty"`
	ControlPercent int       `json:"control_percent,omitempty"`
}

// Page is up to PageSize users of a dispatch, delivered by one task.
type Page struct {
	DispatchID  string
	FirstUserID int64
	UserIDs     []int64
	Done        bool
	EnqueuedAt  time.Time
}

// PageSize is the most users one page holds.
const PageSize = 500

// Ledger row states. Delivered, Aborted, Dropped and Failed are terminal.
const (
	LedgerClaimed   = "claimed"
	LedgerRetry     = "retry"
	LedgerDelivered = "delivered"
	LedgerAborted   = "aborted"
	LedgerDropped   = "dropped"
	LedgerFailed    = "failed"
)

// Terminal reports whether a ledger state is final.
func Terminal(state string) bool {
	switch state {
	case LedgerDelivered, LedgerAborted, LedgerDropped, LedgerFailed:
		return true
	}
	return false
}

// LedgerKey identifies one message of a dispatch: (dispatch, user, channel,
// device). Device is the token key, or "" for channels without a device.
type LedgerKey struct {
	DispatchID string
	UserID     int64
	Channel    string
	Device     string
}

// Claim asks for one ledger row. MessageID is kept from the first claim: a
// re-send carries the same id (and collapse id).
type Claim struct {
	LedgerKey
	CampaignID string
	MessageID  string
}

// ClaimState is what a claim found.
type ClaimState uint8

const (
	// Claimed: this caller owns the row now and must send.
	Claimed ClaimState = iota + 1
	// Finished: the row is terminal; nothing to do.
	Finished
	// Busy: another worker holds a live lease on it.
	Busy
)

// ClaimResult answers one Claim.
type ClaimResult struct {
	State     ClaimState
	MessageID string // the row's message id (the first claim's)
	Attempts  int
}

// Outcome records what happened to one claimed or aborted row.
type Outcome struct {
	LedgerKey
	CampaignID string
	MessageID  string
	// Claimed is set for a row this worker claimed (and sent); an abort
	// decided before claiming is not.
	Claimed    bool
	State      string // a ledger state
	Reason     string
	ProviderID string
}

// Engagement event kinds the pipeline derives from its ledger. A send is
// not stored on its own: every delivery and every bounce is also the send
// (the data series and the export stream count and emit it from them), so a
// message costs one engagement row.
const (
	EventSend     = "send"
	EventDelivery = "delivery"
	EventBounce   = "bounce"
	EventAbort    = "abort"
)

// OutcomeEvent is the engagement event a claimed message's final state
// stands for: a delivery, a bounce (with its reason) or an abort (with its
// reason, for aborted and failed); none for a state that is not final.
// Store.Record writes it with the outcome.
func OutcomeEvent(o Outcome, at time.Time) (Engagement, bool) {
	e := Engagement{LedgerKey: o.LedgerKey, CampaignID: o.CampaignID, Reason: o.Reason, At: at}
	switch o.State {
	case LedgerDelivered:
		e.Kind, e.Reason = EventDelivery, ""
	case LedgerDropped:
		e.Kind = EventBounce
	case LedgerAborted, LedgerFailed:
		e.Kind = EventAbort
	default:
		return Engagement{}, false
	}
	return e, true
}

// Engagement is one engagement event, stored once per (ledger row, kind).
type Engagement struct {
	LedgerKey
	CampaignID string
	Kind       string
	Reason     string
	At         time.Time
}

// ErrNotFound is returned for an unknown campaign or dispatch.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a state change is not allowed.
var ErrConflict = errors.New("conflict")
