package fcm

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"firebase.google.com/go/v4/messaging"

	"github.com/herald-oss/herald/channels"
)

// MaxPayloadBytes is the limit on an FCM message's payload: the JSON of its
// data and notification, which is what FCM's 4,096-byte limit applies to (not
// the token, the options or the request's wrapper). It is Braze's
// android_push limit; a larger message is never sent.
const MaxPayloadBytes = 4000

// maxTTL is the longest time to live FCM accepts.
const maxTTL = 28 * 24 * time.Hour

// Data keys Herald sets on every message.
const (
	DataMessageID  = "herald_message_id"
	DataDispatchID = "herald_dispatch_id"
	// DataCollapseID is Message.CollapseID, when set.
	DataCollapseID = "herald_collapse_id"
)

// BuildPayload builds the FCM message for msg from its rendered android_push
// object (Braze's fields: title, alert, extra, notification_channel_id,
// priority, android_priority, collapse_key, sound, custom_uri, summary_text,
// time_to_live, notification_id, image / push_icon_image_url, accent_color,
// send_to_sync) and checks the size of its data and notification JSON against
// MaxPayloadBytes.
//
// Mapping: title and alert make the Android notification; extra becomes the
// data (values stringified, objects and arrays as JSON); custom_uri, summary_text
// and notification_id go to the data as "uri", "summary_text" and
// "notification_id" (Braze's Android SDK reads "uri" as the deep link);
// collapse_key, and only it, is FCM's collapse key: FCM keeps at most 4
// collapse keys per device, so a key per message would make an offline
// device lose messages. Message.CollapseID goes to the data
// (herald_collapse_id) and is the notification tag (else collapse_key, else
// notification_id is the tag), so a re-send replaces a shown notification;
// send_to_sync (a boolean, or "true"/"false") makes a data-only message.
// Herald's ids are always set in the data. Fields Herald does not map
// (buttons, conversation_data, message_variation_id) are ignored. An error
// means the message can never be sent (invalid_push_payload).
func BuildPayload(msg channels.Message) (*messaging.Message, error) {
	if msg.Token == "" {
		return nil, errors.New("android_push: no device token")
	}
	o := msg.Object
	data := map[string]string{}
	if err := addExtra(data, o["extra"]); err != nil {
		return nil, err
	}
	for _, f := range [...][2]string{{"uri", "custom_uri"}, {"summary_text", "summary_text"}, {"notification_id", "notification_id"}} {
		v, err := text(o, f[1])
		if err != nil {
			return nil, err
		}
		if v != "" {
			data[f[0]] = v
		}
	}
	data[DataMessageID] = msg.ID
	data[DataDispatchID] = msg.DispatchID
	delete(data, DataCollapseID) // Herald's key, never the template's
	if msg.CollapseID != "" {
		data[DataCollapseID] = msg.CollapseID
	}

	ck, err := text(o, "collapse_key")
	if err != nil {
		return nil, err
	}
	android := &messaging.AndroidConfig{CollapseKey: ck}
	prio, err := text(o, "android_priority")
	if err != nil {
		return nil, err
	}
	switch p := strings.ToLower(prio); p {
	case "", "normal", "high":
		android.Priority = p
	default:
		return nil, fmt.Errorf("android_push.android_priority %q: want normal or high", prio)
	}
	ttl, hasTTL, err := number(o, "time_to_live")
	if err != nil {
		return nil, err
	}
	if hasTTL {
		if ttl < 0 || ttl > maxTTL.Seconds() {
			return nil, fmt.Errorf("android_push.time_to_live %v s: want 0 to %v s", ttl, maxTTL.Seconds())
		}
		d := time.Duration(ttl * float64(time.Second))
		android.TTL = &d
	}

	dataOnly, _, err := boolean(o, "send_to_sync")
	if err != nil {
		return nil, err
	}
	if dataOnly {
		for _, f := range []string{"title", "alert"} {
			if v, _ := text(o, f); v != "" {
				return nil, fmt.Errorf("android_push.send_to_sync: a data-only message takes no %s", f)
			}
		}
	} else {
		tag := msg.CollapseID
		if tag == "" {
			tag = ck
		}
		if tag == "" {
			tag = data["notification_id"]
		}
		n, err := notification(o, tag)
		if err != nil {
			return nil, err
		}
		android.Notification = n
	}

	m := &messaging.Message{Token: msg.Token, Data: data, Android: android}
	if sizeBound(m) <= MaxPayloadBytes {
		return m, nil // surely within the limit: spare encoding it twice
	}
	size, err := payloadSize(m)
	if err != nil {
		return nil, fmt.Errorf("android_push: encoding the FCM message: %w", err)
	}
	if size > MaxPayloadBytes {
		return nil, fmt.Errorf("android_push: FCM payload (data and notification) is %d bytes, over the %d-byte limit", size, MaxPayloadBytes)
	}
	return m, nil
}

// payloadSize is the size MaxPayloadBytes applies to: the JSON of the
// message's data and Android notification (BuildPayload sets no other
// payload), as the SDK encodes them.
func payloadSize(m *messaging.Message) (int, error) {
	b, err := json.Marshal(m.Data)
	if err != nil {
		return 0, err
	}
	n := len(b)
	if m.Android != nil && m.Android.Notification != nil {
		if b, err = json.Marshal(m.Android.Notification); err != nil {
			return 0, err
		}
		n += len(b)
	}
	return n, nil
}

// skeletonBytes bounds the payload JSON of a message BuildPayload makes,
// strings aside: the data's braces, the notification's keys, quotes, braces
// and separators and its priority (about 130 bytes), with room to spare.
const skeletonBytes = 256

// sizeBound is an upper bound of payloadSize for a message BuildPayload
// makes: the skeleton plus every string at its worst escaping (6 bytes a
// byte: \u00XX for control characters and <>&, \ufffd for invalid UTF-8) and
// its quotes and separator. Encoding the SDK's nested types costs about 10 µs
// a message, so the exact size is only measured when the bound is over the
// limit. A payload field added to BuildPayload must be added here
// (FuzzBuildPayload checks the bound).
func sizeBound(m *messaging.Message) int {
	n := skeletonBytes
	for k, v := range m.Data {
		n += 6*len(k) + 6*len(v) + 8
	}
	if nt := m.Android.Notification; nt != nil {
		for _, s := range []string{nt.Title, nt.Body, nt.ChannelID, nt.Sound, nt.Tag, nt.ImageURL, nt.Color} {
			n += 6*len(s) + 4
		}
	}
	return n
}

// notification builds the Android notification of a displayed message.
func notification(o map[string]any, tag string) (*messaging.AndroidNotification, error) {
	n := &messaging.AndroidNotification{Tag: tag}
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{"title", &n.Title}, {"alert", &n.Body}, {"notification_channel_id", &n.ChannelID}, {"sound", &n.Sound}} {
		if *f.dst, err = text(o, f.key); err != nil {
			return nil, err
		}
	}
	if n.Title == "" || n.Body == "" {
		return nil, errors.New("android_push: title and alert are required")
	}
	if p, ok, err := number(o, "priority"); err != nil {
		return nil, err
	} else if ok {
		if n.Priority, err = notificationPriority(p); err != nil {
			return nil, err
		}
	}
	for _, key := range []string{"image", "push_icon_image_url"} {
		img, err := text(o, key)
		if err != nil {
			return nil, err
		}
		if img == "" {
			continue
		}
		if u, err := url.ParseRequestURI(img); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("android_push.%s: not an absolute http(s) URL", key)
		}
		n.ImageURL = img
		break
	}
	if n.Color, err = accentColor(o["accent_color"]); err != nil {
		return nil, err
	}
	return n, nil
}

// notificationPriority maps Braze's priority (−2..2) to FCM's.
func notificationPriority(p float64) (messaging.AndroidNotificationPriority, error) {
	switch p {
	case -2:
		return messaging.PriorityMin, nil
	case -1:
		return messaging.PriorityLow, nil
	case 0:
		return messaging.PriorityDefault, nil
	case 1:
		return messaging.PriorityHigh, nil
	case 2:
		return messaging.PriorityMax, nil
	}
	return 0, fmt.Errorf("android_push.priority %v: want an integer from -2 to 2", p)
}

// accentColor reads Braze's accent_color: an ARGB integer (as Android's
// Color ints, possibly negative) or a "#RRGGBB" / "#AARRGGBB" string. It
// returns FCM's "#RRGGBB" form, or "" when absent.
func accentColor(v any) (string, error) {
	switch c := v.(type) {
	case nil:
		return "", nil
	case float64:
		if c != math.Trunc(c) || c < math.MinInt32 || c > math.MaxUint32 {
			return "", fmt.Errorf("android_push.accent_color %v: not an ARGB integer", c)
		}
		return fmt.Sprintf("#%06X", int64(c)&0xFFFFFF), nil
	case string:
		h := strings.TrimPrefix(c, "#")
		if len(h) == 8 {
			h = h[2:]
		}
		if _, err := strconv.ParseUint(h, 16, 32); len(h) != 6 || err != nil {
			return "", fmt.Errorf("android_push.accent_color %q: want #RRGGBB", c)
		}
		return "#" + strings.ToUpper(h), nil
	}
	return "", fmt.Errorf("android_push.accent_color: unexpected %T", v)
}

// addExtra copies Braze's extra object into FCM data, whose values must be
// strings.
func addExtra(data map[string]string, v any) error {
	if v == nil {
		return nil
	}
	extra, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("android_push.extra: want an object, got %T", v)
	}
	for k, x := range extra {
		if reservedDataKey(k) {
			return fmt.Errorf("android_push.extra: key %q is reserved by FCM", k)
		}
		if x == nil {
			continue
		}
		s, err := dataString(x)
		if err != nil {
			return fmt.Errorf("android_push.extra.%s: %w", k, err)
		}
		data[k] = s
	}
	return nil
}

// reservedDataKey reports whether FCM refuses k as a data key.
func reservedDataKey(k string) bool {
	l := strings.ToLower(k)
	return l == "" || l == "from" || l == "message_type" || strings.HasPrefix(l, "google") || strings.HasPrefix(l, "gcm")
}

// dataString renders a decoded JSON value as an FCM data string.
func dataString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case json.Number:
		return x.String(), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// text reads an optional scalar field as a string ("" when absent).
func text(o map[string]any, key string) (string, error) {
	switch v := o[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case float64, bool, json.Number:
		return dataString(v)
	default:
		return "", fmt.Errorf("android_push.%s: want a string, got %T", key, v)
	}
}

// boolean reads an optional boolean field: a boolean, or a string as a
// template renders one ("true", "false"; blank counts as absent).
func boolean(o map[string]any, key string) (bool, bool, error) {
	switch v := o[key].(type) {
	case nil:
		return false, false, nil
	case bool:
		return v, true, nil
	case string:
		t := strings.TrimSpace(v)
		if t == "" {
			return false, false, nil
		}
		if b, err := strconv.ParseBool(t); err == nil {
			return b, true, nil
		}
		return false, false, fmt.Errorf("android_push.%s %q: want true or false", key, v)
	}
	return false, false, fmt.Errorf("android_push.%s: want a boolean, got %T", key, o[key])
}

// number reads an optional numeric field (a number or a numeric string).
func number(o map[string]any, key string) (float64, bool, error) {
	switch v := o[key].(type) {
	case nil:
		return 0, false, nil
	case float64:
		return v, true, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return 0, false, fmt.Errorf("android_push.%s: %w", key, err)
		}
		return f, true, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return 0, false, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false, fmt.Errorf("android_push.%s %q: not a number", key, v)
		}
		return f, true, nil
	}
	return 0, false, fmt.Errorf("android_push.%s: want a number, got %T", key, o[key])
}
