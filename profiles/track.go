package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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

// DefaultLimits are Braze's documented limits.
var DefaultLimits = Limits{MaxObjects: 75, MaxArrayLength: 25}

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

// DecodeTrack decodes a /users/track body. A malformed body or too many objects is a
// *RequestError; a bad object (or a bad field of an otherwise valid object) is
// listed in TrackRequest.Errors and everything valid is kept. now caps future times.
func DecodeTrack(r io.Reader, now time.Time, lim Limits) (*TrackRequest, error) {
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

var errTrailing = &jsonError{msg: "unexpected data after the JSON value"}

type trackDecoder struct {
	req *TrackRequest
	now time.Time
	lim Limits
}

func (d *trackDecoder) fail(array string, index int, format string, args ...any) {
	d.req.Errors = append(d.req.Errors, ObjectError{Type: fmt.Sprintf(format, args...), InputArray: array, Index: index})
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

// standardFields are Braze's standard attribute names (dob and date_of_birth are
// the same field).
var standardFields = map[string]string{
	"first_name": "first_name", "last_name": "last_name", "email": "email", "phone": "phone",
	"country": "country", "home_city": "home_city", "language": "language", "time_zone": "time_zone",
	"dob": "dob", "date_of_birth": "dob", "gender": "gender",
	"push_subscribe": "push_subscribe", "email_subscribe": "email_subscribe",
}

func (d *trackDecoder) attributes(index int, raw any) {
	const array = "attributes"
	obj, ok := d.object(array, index, raw)
	if !ok {
		return
	}
	id, updateOnly, ok := d.identity(array, index, obj)
	if !ok {
		return
	}
	u := AttributeUpdate{Index: index, ID: id, UpdateExistingOnly: updateOnly}
	for _, key := range sortedKeys(obj) {
		val := obj[key]
		if field, ok := standardFields[key]; ok {
			op, err := standardOp(field, val)
			if err != nil {
				d.fail(array, index, "%s: %v", key, err)
				continue
			}
			u.Standard = append(u.Standard, op)
			continue
		}
		switch key {
		case "push_tokens":
			toks, err := pushTokens(val)
			if err != nil {
				d.fail(array, index, "push_tokens: %v", err)
				continue
			}
			u.PushTokens = toks
		case "date_of_first_session", "date_of_last_session":
			s, _ := val.(string)
			t, ok := ParseTime(s)
			if !ok {
				d.fail(array, index, "%s: must be an ISO 8601 time", key)
				continue
			}
			if t.After(d.now) {
				t = d.now
			}
			if key == "date_of_first_session" {
				u.FirstSession = &t
			} else {
				u.LastSession = &t
			}
		case "subscription_groups", "email_open_tracking_disabled", "email_click_tracking_disabled",
			"marked_email_as_spam_at", "current_location", "facebook", "twitter", "image_url":
			d.fail(array, index, "%s: not supported by Herald", key)
		default:
			op, err := customOp(key, val, d.lim.MaxArrayLength)
			if err != nil {
				d.fail(array, index, "%s: %v", key, err)
				continue
			}
			u.Custom = append(u.Custom, op)
		}
	}
	d.req.Attributes = append(d.req.Attributes, u)
}

func pushTokens(v any) ([]PushTokenInput, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, errors.New("must be an array of {app_id, token, device_id}")
	}
	if len(arr) > 50 {
		return nil, errors.New("at most 50 tokens per object")
	}
	out := make([]PushTokenInput, 0, len(arr))
	for i, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("[%d] must be an object", i)
		}
		app, _ := m["app_id"].(string)
		tok, _ := m["token"].(string)
		dev, _ := m["device_id"].(string)
		if app == "" || tok == "" {
			return nil, fmt.Errorf("[%d] needs app_id and token as non-empty strings", i)
		}
		if len(tok) > 4096 {
			return nil, fmt.Errorf("[%d] token is longer than 4096 characters", i)
		}
		if utf8.RuneCountInString(dev) > 255 {
			return nil, fmt.Errorf("[%d] device_id is longer than 255 characters", i)
		}
		out = append(out, PushTokenInput{AppID: app, Token: tok, DeviceID: dev})
	}
	return out, nil
}

// customOp decodes one custom attribute value or operation.
func customOp(key string, v any, maxArray int) (CustomOp, error) {
	if err := validKey(key); err != nil {
		return CustomOp{}, err
	}
	op := CustomOp{Key: key}
	switch x := v.(type) {
	case nil:
		op.Kind = OpUnset
	case string:
		if utf8.RuneCountInString(x) > 255 {
			return op, errors.New("string values must be at most 255 characters")
		}
		if t, ok := ParseTime(x); ok {
			op.Value = t.Truncate(time.Millisecond) // stored to the millisecond
		} else {
			op.Value = x
		}
	case json.Number:
		f, err := number(x)
		if err != nil {
			return op, err
		}
		op.Value = f
	case bool:
		op.Value = x
	case []any:
		items, err := arrayItems(x)
		if err != nil {
			return op, err
		}
		if len(items) > maxArray {
			return op, fmt.Errorf("array has %d elements, more than the maximum %d", len(items), maxArray)
		}
		op.Value = items
	case map[string]any:
		return objectOp(op, x)
	default:
		return op, fmt.Errorf("unsupported value %T", v)
	}
	return op, nil
}

// objectOp decodes {"inc": n}, {"add": [...]}, {"remove": [...]}, or a nested object.
func objectOp(op CustomOp, m map[string]any) (CustomOp, error) {
	if len(m) == 1 {
		for k, v := range m {
			switch k {
			case "inc":
				n, ok := v.(json.Number)
				if !ok {
					return op, errors.New("inc needs a number")
				}
				f, err := number(n)
				if err != nil {
					return op, err
				}
				op.Kind, op.Inc = OpInc, f
				return op, nil
			case "add", "remove":
				arr, ok := v.([]any)
				if !ok {
					return op, fmt.Errorf("%s needs an array", k)
				}
				items, err := arrayItems(arr)
				if err != nil {
					return op, err
				}
				op.Kind, op.Items = OpAdd, items
				if k == "remove" {
					op.Kind = OpRemove
				}
				return op, nil
			}
		}
	}
	nested, size, err := nestedValue(m, 0)
	if err != nil {
		return op, err
	}
	if size > 50*1024 {
		return op, errors.New("nested attribute is larger than 50 KB")
	}
	op.Value = nested
	return op, nil
}

// nestedValue converts a decoded nested object into stored values (numbers as
// float64), checking keys; it returns an estimate of its JSON size.
func nestedValue(v any, depth int) (any, int, error) {
	if depth > 20 {
		return nil, 0, errors.New("nested more than 20 levels deep")
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		size := 2
		for k, e := range x {
			if err := validKey(k); err != nil {
				return nil, 0, err
			}
			c, n, err := nestedValue(e, depth+1)
			if err != nil {
				return nil, 0, err
			}
			out[k] = c
			size += len(k) + 4 + n
		}
		return out, size, nil
	case []any:
		out := make([]any, len(x))
		size := 2
		for i, e := range x {
			c, n, err := nestedValue(e, depth+1)
			if err != nil {
				return nil, 0, err
			}
			out[i] = c
			size += n + 1
		}
		return out, size, nil
	case json.Number:
		f, err := number(x)
		return f, len(x), err
	case string:
		if utf8.RuneCountInString(x) > 255 {
			return nil, 0, errors.New("string values must be at most 255 characters")
		}
		return x, len(x) + 2, nil
	case bool, nil:
		return x, 5, nil
	}
	return nil, 0, fmt.Errorf("unsupported value %T", v)
}

func arrayItems(arr []any) ([]any, error) {
	out := make([]any, len(arr))
	for i, e := range arr {
		switch x := e.(type) {
		case string:
			if utf8.RuneCountInString(x) > 255 {
				return nil, errors.New("array strings must be at most 255 characters")
			}
			out[i] = x
		case json.Number:
			f, err := number(x)
			if err != nil {
				return nil, err
			}
			out[i] = f
		case bool:
			out[i] = x
		default:
			return nil, errors.New("arrays may hold only strings, numbers and booleans")
		}
	}
	return out, nil
}

func number(n json.Number) (float64, error) {
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("number %s is out of range", n)
	}
	return f, nil
}

func (d *trackDecoder) event(index int, raw any) {
	const array = "events"
	obj, ok := d.object(array, index, raw)
	if !ok {
		return
	}
	id, updateOnly, ok := d.identity(array, index, obj)
	if !ok {
		return
	}
	ev := EventInput{Index: index, ID: id, UpdateExistingOnly: updateOnly}
	name, ok := obj["name"].(string)
	if !ok || strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > 255 {
		d.fail(array, index, "'name' is required: a non-empty string of at most 255 characters")
		return
	}
	ev.Name = name
	if ev.Time, ok = d.time(array, index, obj["time"]); !ok {
		return
	}
	if ev.AppID, ok = d.appID(array, index, obj["app_id"]); !ok {
		return
	}
	if ev.Properties, ok = d.properties(array, index, obj["properties"]); !ok {
		return
	}
	for k := range obj {
		switch k {
		case "name", "time", "app_id", "properties":
		default:
			d.fail(array, index, "unknown field %q", k)
			return
		}
	}
	d.req.Events = append(d.req.Events, ev)
}

func (d *trackDecoder) purchase(index int, raw any) {
	const array = "purchases"
	obj, ok := d.object(array, index, raw)
	if !ok {
		return
	}
	id, updateOnly, ok := d.identity(array, index, obj)
	if !ok {
		return
	}
	p := PurchaseInput{Index: index, ID: id, UpdateExistingOnly: updateOnly, Quantity: 1}
	pid, ok := obj["product_id"].(string)
	if !ok || strings.TrimSpace(pid) == "" || utf8.RuneCountInString(pid) > 255 {
		d.fail(array, index, "'product_id' is required: a non-empty string of at most 255 characters")
		return
	}
	p.ProductID = pid
	cur, _ := obj["currency"].(string)
	if !isCurrency(cur) {
		d.fail(array, index, "'currency' is required: a three-letter ISO 4217 code")
		return
	}
	p.Currency = strings.ToUpper(cur)
	price, ok := obj["price"].(json.Number)
	if !ok {
		d.fail(array, index, "'price' is required: a number")
		return
	}
	f, err := number(price)
	if err != nil {
		d.fail(array, index, "'price': %v", err)
		return
	}
	p.Price = f
	if q, ok := obj["quantity"]; ok {
		n, isNum := q.(json.Number)
		i, err := n.Int64()
		if !isNum || err != nil || i < 1 || i > 100 {
			d.fail(array, index, "'quantity' must be an integer from 1 to 100")
			return
		}
		p.Quantity = int(i)
	}
	if p.Time, ok = d.time(array, index, obj["time"]); !ok {
		return
	}
	if p.AppID, ok = d.appID(array, index, obj["app_id"]); !ok {
		return
	}
	if p.Properties, ok = d.properties(array, index, obj["properties"]); !ok {
		return
	}
	for k := range obj {
		switch k {
		case "product_id", "currency", "price", "quantity", "time", "app_id", "properties":
		default:
			d.fail(array, index, "unknown field %q", k)
			return
		}
	}
	d.req.Purchases = append(d.req.Purchases, p)
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

func (d *trackDecoder) time(array string, index int, v any) (time.Time, bool) {
	s, _ := v.(string)
	t, ok := ParseTime(s)
	if !ok {
		d.fail(array, index, "'time' is required: an ISO 8601 time")
		return time.Time{}, false
	}
	if t.After(d.now) {
		t = d.now // Braze stores future timestamps as now
	}
	return t, true
}

func (d *trackDecoder) appID(array string, index int, v any) (string, bool) {
	if v == nil {
		return "", true
	}
	s, ok := v.(string)
	if !ok || len(s) > 64 {
		d.fail(array, index, "'app_id' must be a string")
		return "", false
	}
	return s, true
}

// properties validates an event or purchase properties object and returns its
// canonical JSON.
func (d *trackDecoder) properties(array string, index int, v any) (json.RawMessage, bool) {
	if v == nil {
		return json.RawMessage("{}"), true
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(array, index, "'properties' must be an object")
		return nil, false
	}
	if _, _, err := nestedValue(m, 0); err != nil {
		d.fail(array, index, "'properties': %v", err)
		return nil, false
	}
	out, err := json.Marshal(m) // json.Number keeps the exact text; keys come out sorted
	if err != nil {
		d.fail(array, index, "'properties': %v", err)
		return nil, false
	}
	if len(out) > 50*1024 {
		d.fail(array, index, "'properties' is larger than 50 KB")
		return nil, false
	}
	return out, true
}
