package profiles

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// The hand-written encoder must produce exactly what encoding/json produces for the
// storage form.
func TestAppendObjectMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	values := []any{"", "plain", "quote\" backslash\\ nl\n tab\t ctl\x01 \x1f", "ünïcødé ✓", "bad\xffutf8", "\u2028\u2029",
		0.0, -0.0, 1.0, -1.5, 3.14159, 1e20, 1e21, 1e-6, 1e-7, 123456789012345678.0, math.MaxFloat64, math.SmallestNonzeroFloat64,
		true, false, nil, time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC),
		[]any{"a", 1.0, true, nil}, []any{}, map[string]any{"z": 1.0, "a": map[string]any{"k": []any{"v"}}, "m": "x"}}
	for i, v := range values {
		c := Custom{"k": v, "other": "x", "\u00e9": i}
		c["n"] = float64(i)
		delete(c, "\u00e9")
		got, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for k, v := range c {
			m[k] = storageValue(v)
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("value %#v:\n got %s\nwant %s", v, got, want)
		}
		var back Custom
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s does not decode: %v", got, err)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00\x1f", "é", "\xff", "\u2028", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		want, _ := json.Marshal(s)
		var a, b string
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, got, err)
		}
		_ = json.Unmarshal(want, &b)
		if a != b {
			t.Fatalf("%q decodes to %q, encoding/json gives %q", s, a, b)
		}
	})
}
