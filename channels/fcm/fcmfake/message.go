package fcmfake

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxTTL is the longest time to live FCM accepts (4 weeks).
const maxTTL = 28 * 24 * time.Hour

// ttlPattern is the protobuf Duration JSON form FCM takes ("3.5s").
var ttlPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,9})?s$`)

// colorPattern is the #RRGGBB form of a notification colour.
var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// wireMessage is an FCM v1 Message as the SDK sends it (snake_case names).
// Decoding it strictly makes unknown fields and non-string data values fail,
// as FCM's proto JSON parser does.
type wireMessage struct {
	Data         map[string]string `json:"data"`
	Notification *wireNotification `json:"notification"`
	Android      *wireAndroid      `json:"android"`
	Webpush      json.RawMessage   `json:"webpush"`
	APNS         json.RawMessage   `json:"apns"`
	FCMOptions   *wireFCMOptions   `json:"fcm_options"`
	Token        string            `json:"token"`
	Topic        string            `json:"topic"`
	Condition    string            `json:"condition"`
}

type wireNotification struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	Image string `json:"image"`
}

type wireFCMOptions struct {
	AnalyticsLabel string `json:"analytics_label"`
}

type wireAndroid struct {
	CollapseKey           string                   `json:"collapse_key"`
	Priority              string                   `json:"priority"`
	TTL                   string                   `json:"ttl"`
	RestrictedPackageName string                   `json:"restricted_package_name"`
	Data                  map[string]string        `json:"data"`
	Notification          *wireAndroidNotification `json:"notification"`
	FCMOptions            *wireFCMOptions          `json:"fcm_options"`
	DirectBootOK          bool                     `json:"direct_boot_ok"`
}

type wireAndroidNotification struct {
	Title                 string          `json:"title"`
	Body                  string          `json:"body"`
	Icon                  string          `json:"icon"`
	Color                 string          `json:"color"`
	Sound                 string          `json:"sound"`
	Tag                   string          `json:"tag"`
	ClickAction           string          `json:"click_action"`
	BodyLocKey            string          `json:"body_loc_key"`
	BodyLocArgs           []string        `json:"body_loc_args"`
	TitleLocKey           string          `json:"title_loc_key"`
	TitleLocArgs          []string        `json:"title_loc_args"`
	ChannelID             string          `json:"channel_id"`
	Image                 string          `json:"image"`
	Ticker                string          `json:"ticker"`
	Sticky                bool            `json:"sticky"`
	EventTime             string          `json:"event_time"`
	LocalOnly             bool            `json:"local_only"`
	NotificationPriority  string          `json:"notification_priority"`
	DefaultSound          bool            `json:"default_sound"`
	DefaultVibrateTimings bool            `json:"default_vibrate_timings"`
	VibrateTimings        []string        `json:"vibrate_timings"`
	Visibility            string          `json:"visibility"`
	NotificationCount     *int            `json:"notification_count"`
	LightSettings         json.RawMessage `json:"light_settings"`
	DefaultLightSettings  bool            `json:"default_light_settings"`
	Proxy                 string          `json:"proxy"`
}

// validate checks a decoded message as FCM does; payload is the size of its
// data and notification JSON (payloadSize). It returns the first violation,
// or nil.
func (m *wireMessage) validate(payload int) *violation {
	targets := 0
	for _, t := range []string{m.Token, m.Topic, m.Condition} {
		if t != "" {
			targets++
		}
	}
	switch {
	case targets != 1:
		return &violation{"message", "exactly one of token, topic or condition must be set"}
	case m.Token == "":
		return &violation{"message.token", "this fake serves token messages only"}
	}
	if payload > MaxPayloadBytes {
		return &violation{"message", fmt.Sprintf("Message is too big: %d bytes over the limit of %d", payload-MaxPayloadBytes, MaxPayloadBytes)}
	}
	if v := validateData("message.data", m.Data); v != nil {
		return v
	}
	if m.Notification != nil && !validImage(m.Notification.Image) {
		return &violation{"message.notification.image", "invalid image URL"}
	}
	if m.Android != nil {
		return m.Android.validate()
	}
	return nil
}

func (a *wireAndroid) validate() *violation {
	switch strings.ToLower(a.Priority) {
	case "", "normal", "high":
	default:
		return &violation{"message.android.priority", fmt.Sprintf("Invalid value %q", a.Priority)}
	}
	if a.TTL != "" {
		if !ttlPattern.MatchString(a.TTL) {
			return &violation{"message.android.ttl", fmt.Sprintf("Invalid duration %q: want seconds with an s suffix", a.TTL)}
		}
		secs, _ := strconv.ParseFloat(strings.TrimSuffix(a.TTL, "s"), 64)
		if secs > maxTTL.Seconds() {
			return &violation{"message.android.ttl", fmt.Sprintf("TTL %s is longer than 4 weeks", a.TTL)}
		}
	}
	if v := validateData("message.android.data", a.Data); v != nil {
		return v
	}
	n := a.Notification
	if n == nil {
		return nil
	}
	if n.Color != "" && !colorPattern.MatchString(n.Color) {
		return &violation{"message.android.notification.color", fmt.Sprintf("Invalid color %q: want #RRGGBB", n.Color)}
	}
	if !validImage(n.Image) {
		return &violation{"message.android.notification.image", "invalid image URL"}
	}
	switch n.NotificationPriority {
	case "", "PRIORITY_UNSPECIFIED", "PRIORITY_MIN", "PRIORITY_LOW", "PRIORITY_DEFAULT", "PRIORITY_HIGH", "PRIORITY_MAX":
	default:
		return &violation{"message.android.notification.notification_priority", fmt.Sprintf("Invalid value %q", n.NotificationPriority)}
	}
	switch n.Visibility {
	case "", "VISIBILITY_UNSPECIFIED", "PRIVATE", "PUBLIC", "SECRET":
	default:
		return &violation{"message.android.notification.visibility", fmt.Sprintf("Invalid value %q", n.Visibility)}
	}
	if n.EventTime != "" {
		if _, err := time.Parse(time.RFC3339Nano, n.EventTime); err != nil {
			return &violation{"message.android.notification.event_time", "Invalid timestamp"}
		}
	}
	if len(n.TitleLocArgs) > 0 && n.TitleLocKey == "" {
		return &violation{"message.android.notification.title_loc_args", "title_loc_key is required with title_loc_args"}
	}
	if len(n.BodyLocArgs) > 0 && n.BodyLocKey == "" {
		return &violation{"message.android.notification.body_loc_args", "body_loc_key is required with body_loc_args"}
	}
	return nil
}

// validateData refuses FCM's reserved data keys.
func validateData(field string, data map[string]string) *violation {
	for k := range data {
		if reservedDataKey(k) {
			return &violation{field, fmt.Sprintf("Invalid data payload key: %q is reserved", k)}
		}
	}
	return nil
}

// reservedDataKey reports whether FCM refuses k as a data key: empty, "from",
// "message_type", or starting with "google" or "gcm".
func reservedDataKey(k string) bool {
	l := strings.ToLower(k)
	return l == "" || l == "from" || l == "message_type" || strings.HasPrefix(l, "google") || strings.HasPrefix(l, "gcm")
}

// validImage reports whether an image URL is empty or an absolute http(s) URL.
func validImage(s string) bool {
	if s == "" {
		return true
	}
	u, err := url.ParseRequestURI(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
