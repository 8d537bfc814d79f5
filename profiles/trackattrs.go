package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

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
	obj, id, updateOnly, ok := d.head(array, index, raw)
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
