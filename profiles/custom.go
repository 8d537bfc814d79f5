package profiles

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Custom holds a user's custom attributes. Values are one of: string, float64, bool,
// time.Time (UTC), []any (of string, float64 or bool) or map[string]any (a nested
// object of JSON values).
type Custom map[string]any

// timeTag marks a time value in the stored JSON: {"$time":"2024-01-02T03:04:05.000Z"}.
// The fixed-width UTC format sorts lexically in time order, so SQL can compare it.
const timeTag = "$time"

// TimeLayout is the fixed-width UTC layout times are stored in.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Clone returns a deep copy.
func (c Custom) Clone() Custom {
	if c == nil {
		return nil
	}
	out := make(Custom, len(c))
	for k, v := range c {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneValue(e)
		}
		return out
	}
	return v
}

// MarshalJSON writes the storage form: times as {"$time": ...}, keys sorted.
func (c Custom) MarshalJSON() ([]byte, error) {
	return appendObject(make([]byte, 0, 64+32*len(c)), c), nil
}

func storageValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return map[string]string{timeTag: t.UTC().Format(TimeLayout)}
	}
	return v
}

// UnmarshalJSON reads the storage form.
func (c *Custom) UnmarshalJSON(data []byte) error {
	v, err := parseJSON(data, false)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("custom attributes are not a JSON object")
	}
	for k, v := range m {
		m[k] = fromStorage(v)
	}
	*c = m
	return nil
}

func fromStorage(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x[timeTag].(string); ok && len(x) == 1 {
			if t, err := time.Parse(TimeLayout, s); err == nil {
				return t
			}
		}
		for k, e := range x {
			x[k] = fromStorage(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = fromStorage(e)
		}
		return x
	}
	return v
}

// Export renders custom attributes the way Braze exports them: times as ISO 8601 strings.
func (c Custom) Export() map[string]any {
	out := make(map[string]any, len(c))
	for k, v := range c {
		if t, ok := v.(time.Time); ok {
			out[k] = t.UTC().Format(TimeLayout)
			continue
		}
		out[k] = v
	}
	return out
}

// Equal reports whether two custom attribute sets hold the same values.
func (c Custom) Equal(o Custom) bool {
	if len(c) != len(o) {
		return false
	}
	for k, v := range c {
		w, ok := o[k]
		if !ok || !valuesEqual(v, w) {
			return false
		}
	}
	return true
}

// OpKind is a custom attribute operation.
type OpKind uint8

// Custom attribute operations.
const (
	OpSet    OpKind = iota // set the value
	OpUnset                // null: delete the attribute
	OpInc                  // {"inc": n}
	OpAdd                  // {"add": [...]}
	OpRemove               // {"remove": [...]}
)

// CustomOp is one operation on one custom attribute.
type CustomOp struct {
	Key   string
	Kind  OpKind
	Value any     // OpSet
	Inc   float64 // OpInc
	Items []any   // OpAdd, OpRemove
}

// Apply applies op to c. maxArray caps arrays: setting a longer array is an error;
// adding past the cap drops the oldest elements, as Braze does.
func (c Custom) Apply(op CustomOp, maxArray int) error {
	_, err := c.ApplyChanged(op, maxArray)
	return err
}

// ApplyChanged applies op like Apply and reports whether the stored value changed,
// so an update that rewrites the same value costs no write.
func (c Custom) ApplyChanged(op CustomOp, maxArray int) (bool, error) {
	cur, exists := c[op.Key]
	switch op.Kind {
	case OpSet:
		if arr, ok := op.Value.([]any); ok && len(arr) > maxArray {
			return false, fmt.Errorf("array has %d elements, more than the maximum %d", len(arr), maxArray)
		}
		if exists && valuesEqual(cur, op.Value) {
			return false, nil
		}
		c[op.Key] = op.Value
		return true, nil
	case OpUnset:
		delete(c, op.Key)
		return exists, nil
	case OpInc:
		n, ok := cur.(float64)
		if exists && !ok {
			return false, fmt.Errorf("inc needs a number attribute, %q holds a %s", op.Key, TypeName(cur))
		}
		sum := n + op.Inc
		if math.IsInf(sum, 0) {
			return false, fmt.Errorf("inc overflows")
		}
		c[op.Key] = sum
		return !exists || sum != n, nil
	case OpAdd, OpRemove:
		arr, ok := cur.([]any)
		if exists && !ok {
			return false, fmt.Errorf("%s needs an array attribute, %q holds a %s", opName(op.Kind), op.Key, TypeName(cur))
		}
		if op.Kind == OpRemove {
			if !exists {
				return false, nil
			}
			out := arr[:0:0]
			for _, e := range arr {
				if !containsValue(op.Items, e) {
					out = append(out, e)
				}
			}
			c[op.Key] = out
			return len(out) != len(arr), nil
		}
		out := make([]any, 0, len(arr)+len(op.Items))
		out = append(append(out, arr...), op.Items...)
		if len(out) > maxArray {
			out = out[len(out)-maxArray:]
		}
		c[op.Key] = out
		return !exists || !valuesEqual(arr, out), nil
	}
	return false, nil
}

// valuesEqual compares two custom attribute values (times to the millisecond, as
// they are stored).
func valuesEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.UnixMilli() == y.UnixMilli()
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valuesEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valuesEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

func opName(k OpKind) string {
	switch k {
	case OpInc:
		return "inc"
	case OpAdd:
		return "add"
	case OpRemove:
		return "remove"
	case OpUnset:
		return "null"
	}
	return "set"
}

func containsValue(items []any, v any) bool {
	if !scalar(v) {
		return false
	}
	for _, it := range items {
		if scalar(it) && it == v {
			return true
		}
	}
	return false
}

// scalar reports whether v is a comparable JSON scalar.
func scalar(v any) bool {
	switch v.(type) {
	case string, float64, bool, nil:
		return true
	}
	return false
}

// TypeName names a custom attribute value's type: string, number, boolean, time,
// array or object.
func TypeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case time.Time:
		return "time"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// timeLayouts are the string formats stored as times, as Braze does for ISO 8601.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// ParseTime parses the ISO 8601 forms Herald accepts (times without a zone are UTC).
func ParseTime(s string) (time.Time, bool) {
	if len(s) < 10 || len(s) > 40 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			// only UTC years 1-9999 fit the fixed-width stored form
			if u := t.UTC(); u.Year() >= 1 && u.Year() <= 9999 {
				return u, true
			}
			return time.Time{}, false
		}
	}
	return time.Time{}, false
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validKey checks a custom attribute or property key.
func validKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("empty key")
	case utf8.RuneCountInString(k) > 255:
		return fmt.Errorf("key %.20q... is longer than 255 characters", k)
	case strings.HasPrefix(k, "$"):
		return fmt.Errorf("key %q must not start with $", k)
	}
	return nil
}
