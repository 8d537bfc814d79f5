package webpush

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/herald-oss/herald/channels"
)

// Limits and defaults of a push.
const (
	// MaxPayloadSize is the most plaintext one aes128gcm record of 4096 bytes
	// holds (4096 − 16 tag − 86 header − 1 delimiter): webpush-go pads every
	// message to that record and refuses one byte more.
	MaxPayloadSize = 3993
	// RecordSize is the encrypted record (and request body) size.
	RecordSize = 4096
	// DefaultTTL is how long a push service keeps an undelivered message when
	// the object sets no time_to_live; also the most Herald asks for (FCM's cap).
	DefaultTTL = 28 * 24 * time.Hour
	// DefaultUrgency is sent when the object names none.
	DefaultUrgency = "normal"
)

// Payload is the JSON the Herald service worker reads from a push event. See
// the package documentation for each member.
type Payload struct {
	Title              string         `json:"title"`
	Body               string         `json:"body"`
	Icon               string         `json:"icon,omitempty"`
	Image              string         `json:"image,omitempty"`
	URL                string         `json:"url,omitempty"`
	RequireInteraction bool           `json:"require_interaction,omitempty"`
	Tag                string         `json:"tag,omitempty"`
	Buttons            []Button       `json:"buttons,omitempty"`
	Extra              map[string]any `json:"extra,omitempty"`
	MessageID          string         `json:"herald_message_id"`
	DispatchID         string         `json:"herald_dispatch_id"`
}

// Button is a notification action.
type Button struct {
	Text   string `json:"text"`
	Action string `json:"action"` // OPEN_APP, URI or CLOSE
	URI    string `json:"uri,omitempty"`
}

// Push is what is sent for one message: the plaintext and the Web Push headers.
type Push struct {
	// Payload is the JSON plaintext, at most MaxPayloadSize bytes.
	Payload []byte
	// TTL is the TTL header in seconds.
	TTL int
	// Urgency is the Urgency header: very-low, low, normal or high.
	Urgency string
	// Topic is the Topic header (empty without a collapse id), see Topic.
	Topic string
}

// Topic derives the Web Push Topic header from a collapse id: RFC 8030 allows
// at most 32 characters of the base64url alphabet, so it is the first 24 bytes
// of the id's SHA-256, base64url (32 characters). The same id always yields the
// same Topic; an empty id yields none.
func Topic(collapseID string) string {
	if collapseID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(collapseID))
	return base64.RawURLEncoding.EncodeToString(sum[:24])
}

// BuildPayload builds the push of msg from its web_push object (Braze's shape):
// alert (the body) and title are required strings; image_url (the icon),
// large_image_url (the image), custom_uri (opened on click), require_interaction,
// extra (an object), buttons [{text, action, uri}] and time_to_live (whole
// seconds; more than DefaultTTL is lowered to it) are optional, as is Herald's own urgency (very-low, low, normal,
// high). Other members are ignored. An invalid object or a payload over
// MaxPayloadSize is an error: the message cannot be sent as it is.
func BuildPayload(msg channels.Message) (Push, error) {
	o := msg.Object
	p := Payload{Tag: msg.CollapseID, MessageID: msg.ID, DispatchID: msg.DispatchID}
	var errs []error
	str := func(key string, dst *string, required bool) {
		v, ok := o[key]
		if !ok || v == nil {
			if required {
				errs = append(errs, fmt.Errorf("web_push.%s is required", key))
			}
			return
		}
		s, ok := v.(string)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("web_push.%s must be a string, not %s", key, typeName(v)))
		case required && strings.TrimSpace(s) == "":
			errs = append(errs, fmt.Errorf("web_push.%s is empty", key))
		default:
			*dst = s
		}
	}
	str("title", &p.Title, true)
	str("alert", &p.Body, true)
	str("image_url", &p.Icon, false)
	str("large_image_url", &p.Image, false)
	str("custom_uri", &p.URL, false)
	if v, ok := o["require_interaction"]; ok && v != nil {
		b, err := boolValue(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("web_push.require_interaction: %w", err))
		}
		p.RequireInteraction = b
	}
	if v, ok := o["extra"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("web_push.extra must be an object, not %s", typeName(v)))
		}
		if len(m) > 0 {
			p.Extra = m
		}
	}
	if v, ok := o["buttons"]; ok && v != nil {
		buttons, err := parseButtons(v)
		if err != nil {
			errs = append(errs, err)
		}
		p.Buttons = buttons
	}
	push := Push{TTL: int(DefaultTTL / time.Second), Urgency: DefaultUrgency, Topic: Topic(msg.CollapseID)}
	if v, ok := o["time_to_live"]; ok && v != nil {
		ttl, err := ttlValue(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("web_push.time_to_live: %w", err))
		}
		push.TTL = ttl
	}
	if v, ok := o["urgency"]; ok && v != nil {
		s, _ := v.(string)
		switch s {
		case "very-low", "low", "normal", "high":
			push.Urgency = s
		default:
			errs = append(errs, fmt.Errorf("web_push.urgency must be very-low, low, normal or high, not %v", v))
		}
	}
	if len(errs) > 0 {
		return Push{}, errors.Join(errs...)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return Push{}, fmt.Errorf("web_push: encode payload: %w", err)
	}
	push.Payload = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if n := len(push.Payload); n > MaxPayloadSize {
		return Push{}, fmt.Errorf("web_push payload is %d bytes, over the limit of %d bytes", n, MaxPayloadSize)
	}
	return push, nil
}

func parseButtons(v any) ([]Button, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("web_push.buttons must be an array, not %s", typeName(v))
	}
	out := make([]Button, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("web_push.buttons[%d] must be an object", i)
		}
		b := Button{Action: "OPEN_APP"}
		text, _ := m["text"].(string)
		if strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("web_push.buttons[%d].text is required", i)
		}
		b.Text = text
		if a, ok := m["action"]; ok && a != nil {
			s, _ := a.(string)
			switch s {
			case "OPEN_APP", "URI", "CLOSE":
				b.Action = s
			default:
				return nil, fmt.Errorf("web_push.buttons[%d].action must be OPEN_APP, URI or CLOSE, not %v", i, a)
			}
		}
		if u, ok := m["uri"]; ok && u != nil {
			s, ok := u.(string)
			if !ok {
				return nil, fmt.Errorf("web_push.buttons[%d].uri must be a string", i)
			}
			b.URI = s
		}
		if b.Action == "URI" && b.URI == "" {
			return nil, fmt.Errorf("web_push.buttons[%d]: action URI needs a uri", i)
		}
		out = append(out, b)
	}
	return out, nil
}

// boolValue accepts a JSON bool or, as rendered templates give them, "true"/"false".
func boolValue(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("must be a boolean, not %v", v)
}

// ttlValue accepts whole seconds as a number or a numeric string; more than
// DefaultTTL is lowered to it.
func ttlValue(v any) (int, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return 0, fmt.Errorf("must be a number of seconds, not %q", x)
		}
		f = n
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("must be a number of seconds, not %q", x)
		}
		f = n
	default:
		return 0, fmt.Errorf("must be a number of seconds, not %s", typeName(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f != math.Trunc(f) {
		return 0, fmt.Errorf("must be whole seconds, 0 or more, not %v", v)
	}
	return int(min(f, DefaultTTL.Seconds())), nil
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64, int, int64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
