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

// DecodeSDK decodes a /sdk/v1/data body (docs/sdk-protocol.md). A malformed
// body is a *RequestError (bad JSON) or *FieldError values joined (every bad
// field of the envelope and the device, with its path); a bad item is listed
// in SDKBatch.Errors and the valid ones are kept. now caps future times and
// dates the replay window.
func DecodeSDK(r io.Reader, now time.Time, lim Limits) (*SDKBatch, error) {
	body, err := decodeBody(r)
	if err != nil {
		return nil, err
	}
	b := &SDKBatch{}
	var errs []error
	var items []any
	for _, k := range sortedKeys(body) {
		val := body[k]
		switch k {
		case "device":
			errs = append(errs, decodeDevice(val, &b.Device)...)
		case "user_id":
			if val == nil {
				continue
			}
			s, ok := val.(string)
			if !ok || s == "" || utf8.RuneCountInString(s) > 512 || strings.IndexByte(s, 0) >= 0 {
				errs = append(errs, fieldErr("user_id", "must be null or a non-empty string of at most 512 characters"))
				continue
			}
			b.UserID = s
		case "items":
			arr, ok := val.([]any)
			if !ok {
				errs = append(errs, fieldErr("items", "must be an array of item objects"))
				continue
			}
			if len(arr) > SDKMaxItems {
				errs = append(errs, fieldErr("items", "%d items, at most %d are allowed per request", len(arr), SDKMaxItems))
				continue
			}
			items = arr
		default:
			if k == "" {
				k = `""`
			}
			errs = append(errs, fieldErr(k, "unknown field (expected device, user_id, items)"))
		}
	}
	if _, ok := body["device"]; !ok {
		errs = append(errs, fieldErr("device", "required: an object with at least device_id"))
	}
	if _, ok := body["items"]; !ok {
		errs = append(errs, fieldErr("items", "required: an array of items (may be empty)"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	d := sdkDecoder{b: b, now: now, lim: lim, ids: map[string]int{}}
	for i, raw := range items {
		d.item(i, raw)
	}
	return b, nil
}

func decodeDevice(v any, dev *SDKDevice) []error {
	m, ok := v.(map[string]any)
	if !ok {
		return []error{fieldErr("device", "must be an object with at least device_id")}
	}
	// each field and its maximum length
	fields := map[string]struct {
		to    *string
		limit int
	}{
		"device_id": {&dev.DeviceID, 128}, "os": {&dev.OS, 64}, "model": {&dev.Model, 128}, "locale": {&dev.Locale, 35},
		"time_zone": {&dev.TimeZone, 64}, "app_version": {&dev.AppVersion, 64}, "sdk_version": {&dev.SDKVersion, 64},
	}
	var errs []error
	for _, k := range sortedKeys(m) {
		f, known := fields[k]
		if !known {
			errs = append(errs, fieldErr("device."+k, "unknown field"))
			continue
		}
		if m[k] == nil && k != "device_id" {
			continue
		}
		s, ok := m[k].(string)
		if !ok || !utf8.ValidString(s) || utf8.RuneCountInString(s) > f.limit || strings.ContainsFunc(s, isControl) {
			errs = append(errs, fieldErr("device."+k, "must be a string of at most %d characters without control characters", f.limit))
			continue
		}
		if k == "device_id" && strings.TrimSpace(s) == "" {
			errs = append(errs, fieldErr("device.device_id", "must not be blank"))
		}
		*f.to = s
	}
	if _, ok := m["device_id"]; !ok {
		errs = append(errs, fieldErr("device.device_id", "required: a string stable for the app's install"))
	}
	return errs
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

type sdkDecoder struct {
	b   *SDKBatch
	now time.Time
	lim Limits
	ids map[string]int // item id → index
}

func (d *sdkDecoder) fail(index int, id, format string, args ...any) {
	d.b.Errors = append(d.b.Errors, SDKItemError{Type: fmt.Sprintf(format, args...), InputArray: "items", Index: index, ID: id})
}

// envelope holds the fields every item has.
var envelope = map[string]bool{"id": true, "type": true, "time": true, "data": true}

func (d *sdkDecoder) item(index int, raw any) {
	obj, ok := raw.(map[string]any)
	if !ok {
		d.fail(index, "", "must be a JSON object")
		return
	}
	id, _ := obj["id"].(string)
	if !validItemID(id) {
		d.fail(index, "", "'id' is required: 1 to 64 letters, digits, '-', '_', '.' or ':'")
		return
	}
	if prev, dup := d.ids[id]; dup {
		d.fail(index, id, "'id' is also the id of item %d", prev)
		return
	}
	d.ids[id] = index
	if hasNUL(obj) {
		d.fail(index, id, "strings and keys must not contain the NUL character (\\u0000)")
		return
	}
	for _, k := range sortedKeys(obj) {
		if !envelope[k] {
			d.fail(index, id, "unknown field %q (an item has id, type, time and data)", k)
			return
		}
	}
	ts, _ := obj["time"].(string)
	at, ok := ParseTime(ts)
	if !ok {
		d.fail(index, id, "'time' is required: an ISO 8601 time")
		return
	}
	if at.After(d.now) {
		at = d.now
	}
	if at.Before(d.now.Add(-SDKReplayWindow)) {
		d.fail(index, id, "'time' is older than the %d-day replay window", int(SDKReplayWindow/(24*time.Hour)))
		return
	}
	data := map[string]any{}
	if v, ok := obj["data"]; ok && v != nil {
		if data, ok = v.(map[string]any); !ok {
			d.fail(index, id, "'data' must be an object")
			return
		}
	}
	typ, _ := obj["type"].(string)
	it := SDKItem{Index: index, ID: id, Type: typ, Time: at}
	var reason string
	switch typ {
	case SDKSessionStart:
		reason = d.session(&it, data, false)
	case SDKSessionEnd:
		reason = d.session(&it, data, true)
	case SDKCustomEvent, SDKPurchase, SDKAttributes:
		reason = d.track(&it, data, ts)
	case SDKPushToken:
		reason = d.pushToken(&it, data)
	case SDKInAppImpression, SDKInAppClick, SDKInAppButtonClick, SDKInAppDismiss, SDKCardImpression, SDKCardClick, SDKCardDismiss, SDKPushOpen:
		reason = d.engagement(&it, data)
	default:
		reason = fmt.Sprintf("unknown type %q", typ)
	}
	if reason != "" {
		d.fail(index, id, "%s", reason)
		return
	}
	d.b.Items = append(d.b.Items, it)
}

func validItemID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

// only refuses data fields other than allowed.
func only(data map[string]any, allowed ...string) string {
	for _, k := range sortedKeys(data) {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Sprintf("data: unknown field %q (expected %s)", k, strings.Join(allowed, ", "))
		}
	}
	return ""
}

func (d *sdkDecoder) session(it *SDKItem, data map[string]any, end bool) string {
	allowed := []string{"session_id"}
	if end {
		allowed = append(allowed, "duration_s")
	}
	if r := only(data, allowed...); r != "" {
		return r
	}
	if v, ok := data["session_id"]; ok {
		s, ok := v.(string)
		if !ok || len(s) > 64 {
			return "data.session_id must be a string of at most 64 characters"
		}
		it.SessionID = s
	}
	if v, ok := data["duration_s"]; ok {
		n, ok := v.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || f < 0 || f > 366*86400 {
			return "data.duration_s must be a number of seconds from 0 to a year"
		}
		it.DurationS = f
	}
	return ""
}

// sdkAttributeRefused are attribute keys an SDK may not send.
var sdkAttributeRefused = map[string]string{
	"external_id": "the user is the request's user_id", "braze_id": "the user is the request's user_id",
	"user_alias": "the user is the request's user_id", "_update_existing_only": "not available to SDKs",
	"push_tokens":           "register tokens with push_token items",
	"date_of_first_session": "set by session_start items", "date_of_last_session": "set by session_start items",
}

// track decodes custom_event, purchase and attributes items with the
// /users/track decoder, so both accept the same values: the item's data is
// given a placeholder identifier (the request's user replaces it) and the
// item's time.
func (d *sdkDecoder) track(it *SDKItem, data map[string]any, ts string) string {
	obj := make(map[string]any, len(data)+2)
	switch it.Type {
	case SDKCustomEvent:
		if r := only(data, "name", "properties"); r != "" {
			return r
		}
	case SDKPurchase:
		if r := only(data, "product_id", "currency", "price", "quantity", "properties"); r != "" {
			return r
		}
	case SDKAttributes:
		if len(data) == 0 {
			return "data: no attributes"
		}
		for _, k := range sortedKeys(data) {
			if why, refused := sdkAttributeRefused[k]; refused {
				return fmt.Sprintf("data.%s: %s", k, why)
			}
		}
	}
	for k, v := range data {
		obj[k] = v
	}
	obj["external_id"] = "sdk"
	if it.Type != SDKAttributes {
		obj["time"] = ts
	}
	td := trackDecoder{req: &TrackRequest{}, now: d.now, lim: d.lim}
	switch it.Type {
	case SDKCustomEvent:
		td.event(it.Index, obj)
		if len(td.req.Events) == 1 {
			it.Event = &td.req.Events[0]
		}
	case SDKPurchase:
		td.purchase(it.Index, obj)
		if len(td.req.Purchases) == 1 {
			it.Purchase = &td.req.Purchases[0]
		}
	case SDKAttributes:
		td.attributes(it.Index, obj)
		if len(td.req.Attributes) == 1 {
			it.Attributes = &td.req.Attributes[0]
		}
	}
	var reasons []string
	for _, e := range td.req.Errors {
		reasons = append(reasons, e.Type)
	}
	reason := strings.Join(reasons, "; ")
	if it.Attributes != nil && reason != "" && len(it.Attributes.Standard)+len(it.Attributes.Custom) > 0 {
		// the valid attributes are applied; the bad ones are reported
		d.fail(it.Index, it.ID, "%s", reason)
		return ""
	}
	if reason == "" && it.Event == nil && it.Purchase == nil && it.Attributes == nil {
		reason = "data: invalid"
	}
	return reason
}

func (d *sdkDecoder) pushToken(it *SDKItem, data map[string]any) string {
	if r := only(data, "token", "push_enabled"); r != "" {
		return r
	}
	switch tok := data["token"].(type) {
	case string:
		it.Token = tok
	case map[string]any:
		b, err := json.Marshal(tok)
		if err != nil {
			return "data.token: " + err.Error()
		}
		it.Token = string(b)
	default:
		return "data.token is required: the APNs or FCM token, or the Web Push subscription object"
	}
	if it.Token == "" || len(it.Token) > 4096 {
		return "data.token must be 1 to 4096 characters"
	}
	it.PushEnabled = true
	if v, ok := data["push_enabled"]; ok {
		b, ok := v.(bool)
		if !ok {
			return "data.push_enabled must be a boolean"
		}
		it.PushEnabled = b
	}
	return ""
}

// engagementFields names, per engagement type, the data field naming the
// target, whether a button id is required, and the dispatch id field.
var engagementFields = map[string][3]string{
	SDKInAppImpression:  {"message_id", "", "dispatch_id"},
	SDKInAppClick:       {"message_id", "", "dispatch_id"},
	SDKInAppButtonClick: {"message_id", "button_id", "dispatch_id"},
	SDKInAppDismiss:     {"message_id", "", "dispatch_id"},
	SDKCardImpression:   {"card_id", "", "dispatch_id"},
	SDKCardClick:        {"card_id", "", "dispatch_id"},
	SDKCardDismiss:      {"card_id", "", "dispatch_id"},
	SDKPushOpen:         {"herald_message_id", "", "herald_dispatch_id"},
}

func (d *sdkDecoder) engagement(it *SDKItem, data map[string]any) string {
	f := engagementFields[it.Type]
	allowed := []string{f[0], f[2]}
	if f[1] != "" {
		allowed = append(allowed, f[1])
	}
	if r := only(data, allowed...); r != "" {
		return r
	}
	str := func(k string, required bool) (string, string) {
		v, ok := data[k]
		if !ok || v == nil {
			if required {
				return "", fmt.Sprintf("data.%s is required", k)
			}
			return "", ""
		}
		s, ok := v.(string)
		if !ok || strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > 255 {
			return "", fmt.Sprintf("data.%s must be a non-empty string of at most 255 characters", k)
		}
		return s, ""
	}
	e := &SDKEngagement{}
	var r string
	if e.Target, r = str(f[0], true); r != "" {
		return r
	}
	if f[1] != "" {
		if e.ButtonID, r = str(f[1], true); r != "" {
			return r
		}
	}
	if e.DispatchID, r = str(f[2], it.Type == SDKPushOpen); r != "" {
		return r
	}
	it.Engagement = e
	return ""
}
