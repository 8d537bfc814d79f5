package apns

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The readers below take values as JSON decoding produces them (string,
// float64, bool, map[string]any, []any) and, since a template renders most
// values as text, also accept numbers and booleans written as strings. A nil
// value counts as absent.

func fieldString(obj map[string]any, key string) (string, bool, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, fmt.Errorf("%w: %s must be a string, not %T", ErrInvalidPayload, key, v)
	}
	return s, true, nil
}

func fieldBool(obj map[string]any, key string) (bool, bool, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return false, false, nil
	}
	switch b := v.(type) {
	case bool:
		return b, true, nil
	case string:
		if p, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
			return p, true, nil
		}
	}
	return false, false, fmt.Errorf("%w: %s must be a boolean, not %v", ErrInvalidPayload, key, v)
}

func fieldFloat(obj map[string]any, key string) (float64, bool, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case json.Number:
		p, err := n.Float64()
		if err != nil {
			return 0, false, fmt.Errorf("%w: %s must be a number, not %q", ErrInvalidPayload, key, n)
		}
		f = p
	case string:
		p, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil {
			return 0, false, fmt.Errorf("%w: %s must be a number, not %q", ErrInvalidPayload, key, n)
		}
		f = p
	default:
		return 0, false, fmt.Errorf("%w: %s must be a number, not %T", ErrInvalidPayload, key, v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, fmt.Errorf("%w: %s must be a finite number", ErrInvalidPayload, key)
	}
	return f, true, nil
}

func fieldInt(obj map[string]any, key string) (int, bool, error) {
	f, ok, err := fieldFloat(obj, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	if f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
		return 0, false, fmt.Errorf("%w: %s must be an integer, not %v", ErrInvalidPayload, key, f)
	}
	return int(f), true, nil
}

func fieldMap(obj map[string]any, key string) (map[string]any, bool, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return nil, false, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false, fmt.Errorf("%w: %s must be an object, not %T", ErrInvalidPayload, key, v)
	}
	return m, true, nil
}

func fieldStrings(obj map[string]any, key string) ([]string, bool, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return nil, false, nil
	}
	switch l := v.(type) {
	case []string:
		return l, true, nil
	case []any:
		out := make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false, fmt.Errorf("%w: %s[%d] must be a string, not %T", ErrInvalidPayload, key, i, e)
			}
			out[i] = s
		}
		return out, true, nil
	}
	return nil, false, fmt.Errorf("%w: %s must be an array of strings, not %T", ErrInvalidPayload, key, v)
}

// fieldExpiry reads expiry: an ISO 8601 time (one without a zone is UTC), or a
// number of seconds from now.
func fieldExpiry(obj map[string]any, key string, now time.Time) (time.Time, bool, error) {
	expiryLayouts := [...]string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}
	v, ok := obj[key]
	if !ok || v == nil {
		return time.Time{}, false, nil
	}
	if s, isString := v.(string); isString {
		s = strings.TrimSpace(s)
		for _, layout := range expiryLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t, true, nil
			}
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return time.Time{}, false, fmt.Errorf("%w: %s must be an ISO 8601 time or a number of seconds, not %q", ErrInvalidPayload, key, s)
		}
	}
	secs, _, err := fieldInt(obj, key)
	if err != nil {
		return time.Time{}, false, err
	}
	if secs < 0 {
		return time.Time{}, false, fmt.Errorf("%w: %s must not be negative", ErrInvalidPayload, key)
	}
	return now.Add(time.Duration(secs) * time.Second), true, nil
}
