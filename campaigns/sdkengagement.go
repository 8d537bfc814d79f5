package campaigns

import "time"

// Engagement kinds an SDK reports.
const (
	EngageImpression  = "impression"
	EngageClick       = "click"
	EngageButtonClick = "button_click"
	EngageDismiss     = "dismiss"
	EngageOpen        = "open" // a push notification opened
	// EngageInfluencedOpen is an app opened within InfluenceWindow after a
	// push was delivered, without opening the push (recorded by the
	// server from session starts, not reported by SDKs).
	EngageInfluencedOpen = "influenced_open"
)

// SDK engagement channels.
const (
	EngageContentCard = "content_card"
	EngageInApp       = "in_app_message"
	EngagePush        = "push"
)

// SDKEngagement is one engagement an SDK reports for a user: a Content Card
// or in-app message seen, clicked or dismissed, or a push opened.
type SDKEngagement struct {
	Kind    string // EngageImpression, …
	Channel string // EngageContentCard, EngageInApp or EngagePush
	// ID names what was engaged with: the card id, the in-app message id, or
	// the push's herald_message_id.
	ID string
	// DispatchID is the herald_dispatch_id a push or message carried, when
	// the SDK has it.
	DispatchID string
	ButtonID   string // button_click
	At         time.Time
	// EventID is the client-generated id of the report: a replay from an
	// offline queue records nothing twice.
	EventID string
}
