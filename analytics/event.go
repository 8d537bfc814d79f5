package analytics

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// Sources, the tables the stream reads, each in its own seq order.
const (
	SourceEngagement = "engagement"
	SourceEvents     = "events"
	SourcePurchases  = "purchases"
)

// Cursor is the last exported seq per source.
type Cursor struct {
	Engagement, Events, Purchases int64
}

// Record is one stored row the stream exports.
type Record struct {
	Source     string
	Seq        int64
	UserID     int64
	ExternalID string
	At         time.Time

	// Engagement rows.
	DispatchID, Channel, Device, Kind, CampaignID, Reason string

	// Custom events (Name) and purchases (ProductID, Currency, Price).
	Name       string
	AppID      string
	Properties json.RawMessage
	ProductID  string
	Currency   string
	Price      float64
}

// Event is one NDJSON line.
type Event struct {
	ID         string         `json:"id"`
	EventType  string         `json:"event_type"`
	Time       int64          `json:"time"`
	User       User           `json:"user"`
	Properties map[string]any `json:"properties"`
}

// User names the event's user.
type User struct {
	UserID         string `json:"user_id"`
	ExternalUserID string `json:"external_user_id,omitempty"`
}

var channelTypes = map[string]string{
	"apple_push":     "pushnotification",
	"android_push":   "pushnotification",
	"web_push":       "pushnotification",
	"push":           "pushnotification",
	"content_card":   "contentcard",
	"in_app_message": "inappmessage",
	"webhook":        "webhook",
}

var kindNames = map[string]string{
	"send": "Send", "delivery": "Delivery", "bounce": "Bounce", "abort": "Abort",
	"impression": "Impression", "click": "Click", "dismiss": "Dismiss", "open": "Open", "influenced_open": "InfluencedOpen",
}

var platforms = map[string]string{"apple_push": "ios", "android_push": "android", "web_push": "web"}

// EventType names a record's Braze Currents event type, "" if it has none.
func EventType(r Record) string {
	switch r.Source {
	case SourceEvents:
		return "users.behaviors.CustomEvent"
	case SourcePurchases:
		return "users.behaviors.Purchase"
	}
	ch, k := channelTypes[r.Channel], kindNames[r.Kind]
	if ch == "" || k == "" {
		return ""
	}
	return "users.messages." + ch + "." + k
}

// ID is a record's stable unique id: derived from its natural key for
// engagement rows (unique per dispatch, user, channel, device and kind) and
// from its source and seq for events and purchases.
func ID(r Record) string {
	var key string
	if r.Source == SourceEngagement {
		key = "engagement\x00" + r.DispatchID + "\x00" + strconv.FormatInt(r.UserID, 10) + "\x00" + r.Channel + "\x00" + r.Device + "\x00" + r.Kind
	} else {
		key = r.Source + "\x00" + strconv.FormatInt(r.Seq, 10)
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// ToEvents maps a record to its NDJSON objects, none for a record with no
// event type (an unknown channel or kind). A delivery or a bounce row is
// also the message's send: it yields the Send event (with the id a stored
// send row would have) before its own.
func ToEvents(r Record) []Event {
	var out []Event
	if r.Source == SourceEngagement && (r.Kind == "delivery" || r.Kind == "bounce") {
		send := r
		send.Kind, send.Reason = "send", ""
		if ev, ok := ToEvent(send); ok {
			out = append(out, ev)
		}
	}
	if ev, ok := ToEvent(r); ok {
		out = append(out, ev)
	}
	return out
}

// ToEvent maps a record to its NDJSON object; ok is false for a record with
// no event type (an unknown channel or kind), which is skipped.
func ToEvent(r Record) (Event, bool) {
	typ := EventType(r)
	if typ == "" {
		return Event{}, false
	}
	e := Event{ID: ID(r), EventType: typ, Time: r.At.Unix(),
		User:       User{UserID: strconv.FormatInt(r.UserID, 10), ExternalUserID: r.ExternalID},
		Properties: map[string]any{}}
	p := e.Properties
	switch r.Source {
	case SourceEngagement:
		p["campaign_id"], p["dispatch_id"], p["channel"] = r.CampaignID, r.DispatchID, r.Channel
		if pl := platforms[r.Channel]; pl != "" {
			p["platform"] = pl
		}
		if r.Device != "" {
			p["device_id"] = r.Device
		}
		if r.Reason != "" {
			p["reason"] = r.Reason
		}
	case SourceEvents:
		p["name"] = r.Name
	case SourcePurchases:
		p["product_id"], p["currency"], p["price"] = r.ProductID, r.Currency, r.Price
	}
	if r.Source != SourceEngagement {
		if r.AppID != "" {
			p["app_id"] = r.AppID
		}
		if len(r.Properties) > 0 && string(r.Properties) != "{}" {
			p["properties"] = r.Properties
		}
	}
	return e, true
}
