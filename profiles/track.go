package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// ObjectError is a non-fatal problem with one object of a request, in Braze's shape.
type ObjectError struct {
	Type       string `json:"type"`
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
}

// RequestError is a fatal problem with a whole request: nothing was processed.
type RequestError struct {
	Message string
	Errors  []ObjectError
}

func (e *RequestError) Error() string { return e.Message }

func requestErr(format string, args ...any) *RequestError {
	return &RequestError{Message: fmt.Sprintf(format, args...)}
}

// errMissingIdentifier is Braze's own wording.
const errMissingIdentifier = "'external_id' or 'braze_id' or 'user_alias' is required"

// Limits bound what one request may carry.
type Limits struct {
	MaxObjects     int // per array (attributes, events, purchases); Braze: 75
	MaxArrayLength int // elements of an array custom attribute; Braze default: 25
}

// DefaultLimits returns Braze's documented limits.
func DefaultLimits() Limits { return Limits{MaxObjects: 75, MaxArrayLength: 25} }

// TrackRequest is a decoded /users/track body.
type TrackRequest struct {
	Attributes []AttributeUpdate
	Events     []EventInput
	Purchases  []PurchaseInput
	// Has* record which arrays were present, so the response reports only those.
	HasAttributes, HasEvents, HasPurchases bool
	// Errors lists objects (or parts of objects) skipped while decoding.
	Errors []ObjectError
	// Bulk marks a backfill (X-Braze-Bulk): same processing, no action-based triggers.
	Bulk bool
}

// AttributeUpdate is one attributes object.
type AttributeUpdate struct {
	Index              int
	ID                 Identifier
	UpdateExistingOnly bool
	Standard           []StandardOp
	Custom             []CustomOp
	PushTokens         []PushTokenInput
	FirstSession       *time.Time
	LastSession        *time.Time
}

// StandardOp sets (Value non-nil) or clears one standard attribute.
type StandardOp struct {
	Field string
	Value *string
}

// PushTokenInput is one push_tokens entry, validated against its app by the service.
type PushTokenInput struct {
	AppID    string
	Token    string
	DeviceID string
}

// EventInput is one events object.
type EventInput struct {
	Index              int
	ID                 Identifier
	UpdateExistingOnly bool
	Name               string
	Time               time.Time
	AppID              string
	Properties         json.RawMessage
}

// PurchaseInput is one purchases object.
type PurchaseInput struct {
	Index              int
	ID                 Identifier
	UpdateExistingOnly bool
	ProductID          string
	Currency           string
	Price              float64
	Quantity           int
	Time               time.Time
	AppID              string
	Properties         json.RawMessage
}

// decodeBody reads a request body that must be one JSON object: a read
// failure (the body limit) is returned as is, bad JSON is a *RequestError.
func decodeBody(r io.Reader) (map[string]any, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err) // e.g. the body limit
	}
	v, err := parseJSON(data, true)
	if err != nil {
		return nil, requestErr("Invalid JSON: %v", err)
	}
	body, ok := v.(map[string]any)
	if !ok {
		return nil, requestErr("Invalid JSON: the body must be an object")
	}
	return body, nil
}

// DecodeTrack decodes a /users/track body. A malformed body or too many objects is a
// *RequestError; a bad object (or a bad field of an otherwise valid object) is
// listed in TrackRequest.Errors and everything valid is kept. now caps future times.
func DecodeTrack(r io.Reader, now time.Time, lim Limits) (*TrackRequest, error) {
	body, err := decodeBody(r)
	if err != nil {
		return nil, err
	}
	arrays := map[string][]any{}
	for _, k := range sortedKeys(body) {
		switch k {
		case "attributes", "events", "purchases":
			items, ok := body[k].([]any)
			if !ok {
				return nil, requestErr("'%s' must be an array of objects", k)
			}
			if len(items) > lim.MaxObjects {
				return nil, requestErr("Max Input Length Exceeded: %d %s objects, at most %d are allowed", len(items), k, lim.MaxObjects)
			}
			arrays[k] = items
		case "api_key", "app_group_id":
			// legacy body authentication; the Authorization header is what counts
		default:
			return nil, requestErr("unknown field %q (expected attributes, events or purchases)", k)
		}
	}
	if len(arrays) == 0 {
		return nil, requestErr("the request must include attributes, events or purchases")
	}
	req := &TrackRequest{}
	d := trackDecoder{req: req, now: now, lim: lim}
	if items, ok := arrays["attributes"]; ok {
		req.HasAttributes = true
		for i, raw := range items {
			d.attributes(i, raw)
		}
	}
	if items, ok := arrays["events"]; ok {
		req.HasEvents = true
		for i, raw := range items {
			d.event(i, raw)
		}
	}
	if items, ok := arrays["purchases"]; ok {
		req.HasPurchases = true
		for i, raw := range items {
			d.purchase(i, raw)
		}
	}
	return req, nil
}

var errTrailing = &jsonError{msg: "unexpected data after the JSON value", offset: -1}

type trackDecoder struct {
	req *TrackRequest
	now time.Time
	lim Limits
}

func (d *trackDecoder) fail(array string, index int, format string, args ...any) {
	d.req.Errors = append(d.req.Errors, ObjectError{Type: fmt.Sprintf(format, args...), InputArray: array, Index: index})
}

// head reads what every object starts with: the object itself and its identifier.
func (d *trackDecoder) head(array string, index int, raw any) (obj map[string]any, id Identifier, updateOnly, ok bool) {
	if obj, ok = d.object(array, index, raw); !ok {
		return nil, id, false, false
	}
	id, updateOnly, ok = d.identity(array, index, obj)
	return obj, id, updateOnly, ok
}

// object checks that one array element is an object whose strings can be stored.
func (d *trackDecoder) object(array string, index int, v any) (map[string]any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		d.fail(array, index, "must be a JSON object")
		return nil, false
	}
	if hasNUL(obj) {
		d.fail(array, index, "strings and keys must not contain the NUL character (\\u0000)")
		return nil, false
	}
	return obj, true
}

// hasNUL reports whether a decoded JSON value holds U+0000 in a string or key:
// PostgreSQL cannot store it in text or jsonb.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// identity reads the identifier fields and _update_existing_only, removing them from obj.
func (d *trackDecoder) identity(array string, index int, obj map[string]any) (Identifier, bool, bool) {
	var id Identifier
	n := 0
	if v, ok := obj["external_id"]; ok {
		delete(obj, "external_id")
		s, ok := v.(string)
		if !ok || s == "" || utf8.RuneCountInString(s) > 512 {
			d.fail(array, index, "'external_id' must be a non-empty string of at most 512 characters")
			return id, false, false
		}
		id.ExternalID = s
		n++
	}
	if v, ok := obj["braze_id"]; ok {
		delete(obj, "braze_id")
		s, ok := v.(string)
		if !ok || s == "" || len(s) > 64 {
			d.fail(array, index, "'braze_id' must be a non-empty string")
			return id, false, false
		}
		id.BrazeID = strings.ToLower(s) // braze ids are lower-case hex
		n++
	}
	if v, ok := obj["user_alias"]; ok {
		delete(obj, "user_alias")
		a, err := parseAlias(v)
		if err != nil {
			d.fail(array, index, "'user_alias' %v", err)
			return id, false, false
		}
		id.Alias = &a
		n++
	}
	if n == 0 {
		d.fail(array, index, errMissingIdentifier)
		return id, false, false
	}
	if n > 1 {
		d.fail(array, index, "only one of 'external_id', 'braze_id' or 'user_alias' may be given (use /users/alias/new or /users/identify to link them)")
		return id, false, false
	}
	// Braze creates alias-only profiles only when asked explicitly, and never
	// creates a user from a braze_id.
	updateOnly := id.Alias != nil || id.BrazeID != ""
	if v, ok := obj["_update_existing_only"]; ok {
		delete(obj, "_update_existing_only")
		b, ok := v.(bool)
		if !ok {
			d.fail(array, index, "'_update_existing_only' must be a boolean")
			return id, false, false
		}
		updateOnly = b || id.BrazeID != ""
	}
	return id, updateOnly, true
}

func parseAlias(v any) (Alias, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Alias{}, errors.New("must be an object with alias_name and alias_label")
	}
	name, _ := m["alias_name"].(string)
	label, _ := m["alias_label"].(string)
	if name == "" || label == "" || len(m) != 2 {
		return Alias{}, errors.New("must have exactly alias_name and alias_label, both non-empty strings")
	}
	if utf8.RuneCountInString(name) > 512 || utf8.RuneCountInString(label) > 255 {
		return Alias{}, errors.New("alias_name or alias_label is too long")
	}
	return Alias{Name: name, Label: label}, nil
}
