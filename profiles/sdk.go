package profiles

import (
	"crypto/sha256"
	"time"
)

// SDK item types of a /sdk/v1/data batch (docs/sdk-protocol.md).
const (
	SDKSessionStart     = "session_start"
	SDKSessionEnd       = "session_end"
	SDKCustomEvent      = "custom_event"
	SDKPurchase         = "purchase"
	SDKAttributes       = "attributes"
	SDKPushToken        = "push_token"
	SDKInAppImpression  = "in_app_impression"
	SDKInAppClick       = "in_app_click"
	SDKInAppButtonClick = "in_app_button_click"
	SDKInAppDismiss     = "in_app_dismiss"
	SDKCardImpression   = "card_impression"
	SDKCardClick        = "card_click"
	SDKCardDismiss      = "card_dismiss"
	SDKPushOpen         = "push_open"
)

// SDKMaxItems caps the items of one batch.
const SDKMaxItems = 100

// SDKReplayWindow is how long applied item ids are remembered; items older
// than it are refused, so a batch replayed after its ids were purged cannot
// apply twice.
const SDKReplayWindow = 30 * 24 * time.Hour

// SDKDeviceLabel is the alias label of anonymous device users: an SDK
// request without user_id names the user whose alias is
// {alias_label: SDKDeviceLabel, alias_name: "<app id>/<device id>"}.
const SDKDeviceLabel = "herald_device"

// SDKBatch is a decoded /sdk/v1/data body.
type SDKBatch struct {
	Device SDKDevice
	// UserID is the external id; empty for the device's anonymous user.
	UserID string
	Items  []SDKItem
	// Errors lists items refused while decoding (an attributes item may be
	// both applied and listed: its valid attributes are kept).
	Errors []SDKItemError
}

// SDKDevice is what an SDK reports about the device and the app build.
type SDKDevice struct {
	DeviceID   string // stable per install; required
	OS         string
	Model      string
	Locale     string
	TimeZone   string
	AppVersion string
	SDKVersion string
}

// SDKItem is one valid item of a batch; the fields of its type are set.
type SDKItem struct {
	Index int // position in the request's items array
	ID    string
	Type  string
	Time  time.Time // UTC; a future time is now

	Attributes *AttributeUpdate // attributes (ID left empty)
	Event      *EventInput      // custom_event
	Purchase   *PurchaseInput   // purchase

	// push_token: an APNs or FCM token, or a PushSubscription JSON document;
	// PushEnabled is whether notifications may be shown (foreground push).
	Token       string
	PushEnabled bool

	Engagement *SDKEngagement // in_app_*, card_*, push_open

	SessionID string  // session_start, session_end (optional)
	DurationS float64 // session_end (optional, not stored)
}

// IsEngagement reports whether the item reports an engagement.
func (it *SDKItem) IsEngagement() bool { return it.Engagement != nil }

// SDKEngagement is what an engagement item names.
type SDKEngagement struct {
	// Target is the in-app message id, the card id, or the push's
	// herald_message_id.
	Target     string
	ButtonID   string // in_app_button_click
	DispatchID string // push_open: herald_dispatch_id; others: optional
}

// SDKItemError is a refused item, in Braze's partial-success shape plus the
// item's id (empty when the item had no valid id).
type SDKItemError struct {
	Type       string `json:"type"`
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
	ID         string `json:"id,omitempty"`
}

// HasSessionStart reports whether the batch starts a session.
func (b *SDKBatch) HasSessionStart() bool {
	for i := range b.Items {
		if b.Items[i].Type == SDKSessionStart {
			return true
		}
	}
	return false
}

// Refuse moves the items reject reports into Errors, with reason.
func (b *SDKBatch) Refuse(reject func(*SDKItem) bool, reason string) {
	kept := b.Items[:0]
	for _, it := range b.Items {
		if reject(&it) {
			b.Errors = append(b.Errors, SDKItemError{Type: reason, InputArray: "items", Index: it.Index, ID: it.ID})
			continue
		}
		kept = append(kept, it)
	}
	b.Items = kept
}

// DeviceAlias is the alias of the anonymous user of a device of an app.
func DeviceAlias(appID, deviceID string) Alias {
	return Alias{Label: SDKDeviceLabel, Name: appID + "/" + deviceID}
}

// SDKItemKey is the idempotency key of an item: the first 16 bytes of
// SHA-256 over the app id, the device id and the item id.
func SDKItemKey(appID, deviceID, itemID string) []byte {
	h := sha256.New()
	for _, s := range []string{appID, deviceID, itemID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil)[:16]
}
