package profiles

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCustomApply(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name     string
		start    Custom
		op       CustomOp
		maxArray int
		want     Custom
		err      string
	}{
		{"set a string", Custom{}, CustomOp{Key: "k", Value: "v"}, 25, Custom{"k": "v"}, ""},
		{"set replaces another type", Custom{"k": 1.0}, CustomOp{Key: "k", Value: when}, 25, Custom{"k": when}, ""},
		{"set an array at the cap", Custom{}, CustomOp{Key: "k", Value: []any{"a", "b"}}, 2, Custom{"k": []any{"a", "b"}}, ""},
		{"set an array over the cap", Custom{"k": "old"}, CustomOp{Key: "k", Value: []any{"a", "b", "c"}}, 2, Custom{"k": "old"}, "more than the maximum 2"},
		{"unset", Custom{"k": "v", "o": 1.0}, CustomOp{Key: "k", Kind: OpUnset}, 25, Custom{"o": 1.0}, ""},
		{"unset missing", Custom{"o": 1.0}, CustomOp{Key: "k", Kind: OpUnset}, 25, Custom{"o": 1.0}, ""},
		{"inc on missing starts at 0", Custom{}, CustomOp{Key: "n", Kind: OpInc, Inc: 3}, 25, Custom{"n": 3.0}, ""},
		{"inc adds", Custom{"n": 1.5}, CustomOp{Key: "n", Kind: OpInc, Inc: -4}, 25, Custom{"n": -2.5}, ""},
		{"inc on a string", Custom{"n": "5"}, CustomOp{Key: "n", Kind: OpInc, Inc: 1}, 25, Custom{"n": "5"}, "holds a string"},
		{"inc on an array", Custom{"n": []any{1.0}}, CustomOp{Key: "n", Kind: OpInc, Inc: 1}, 25, Custom{"n": []any{1.0}}, "holds a array"},
		{"inc on a time", Custom{"n": when}, CustomOp{Key: "n", Kind: OpInc, Inc: 1}, 25, Custom{"n": when}, "holds a time"},
		{"inc overflow", Custom{"n": math.MaxFloat64}, CustomOp{Key: "n", Kind: OpInc, Inc: math.MaxFloat64}, 25, Custom{"n": math.MaxFloat64}, "overflows"},
		{"add to missing", Custom{}, CustomOp{Key: "a", Kind: OpAdd, Items: []any{"x", 1.0}}, 25, Custom{"a": []any{"x", 1.0}}, ""},
		{"add appends", Custom{"a": []any{"x"}}, CustomOp{Key: "a", Kind: OpAdd, Items: []any{"y", true}}, 25, Custom{"a": []any{"x", "y", true}}, ""},
		{"add keeps duplicates", Custom{"a": []any{"x"}}, CustomOp{Key: "a", Kind: OpAdd, Items: []any{"x"}}, 25, Custom{"a": []any{"x", "x"}}, ""},
		{"add past the cap drops the oldest", Custom{"a": []any{"1", "2", "3"}}, CustomOp{Key: "a", Kind: OpAdd, Items: []any{"4", "5"}}, 4,
			Custom{"a": []any{"2", "3", "4", "5"}}, ""},
		{"add more than the cap at once", Custom{"a": []any{"1"}}, CustomOp{Key: "a", Kind: OpAdd, Items: []any{"2", "3", "4"}}, 2,
			Custom{"a": []any{"3", "4"}}, ""},
		{"add to a string", Custom{"a": "x"}, CustomOp{Key: "a", Kind: OpAdd, Items: []any{"y"}}, 25, Custom{"a": "x"}, "add needs an array attribute"},
		{"remove", Custom{"a": []any{"x", 1.0, "y", "x", true}}, CustomOp{Key: "a", Kind: OpRemove, Items: []any{"x", true}}, 25,
			Custom{"a": []any{1.0, "y"}}, ""},
		{"remove compares types", Custom{"a": []any{"1", 1.0}}, CustomOp{Key: "a", Kind: OpRemove, Items: []any{1.0}}, 25,
			Custom{"a": []any{"1"}}, ""},
		{"remove everything leaves an empty array", Custom{"a": []any{"x"}}, CustomOp{Key: "a", Kind: OpRemove, Items: []any{"x"}}, 25,
			Custom{"a": []any{}}, ""},
		{"remove from missing", Custom{}, CustomOp{Key: "a", Kind: OpRemove, Items: []any{"x"}}, 25, Custom{}, ""},
		{"remove from a number", Custom{"a": 1.0}, CustomOp{Key: "a", Kind: OpRemove, Items: []any{1.0}}, 25, Custom{"a": 1.0}, "remove needs an array attribute"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.start.Clone()
			err := c.Apply(tc.op, tc.maxArray)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err = %v; want %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !reflect.DeepEqual(c, tc.want) {
				t.Errorf("custom = %#v; want %#v", c, tc.want)
			}
		})
	}
}

// Apply must not write through to an array another Custom (a clone taken before the
// change, as the service does) still holds.
func TestCustomApplyDoesNotAlias(t *testing.T) {
	t.Parallel()
	arr := make([]any, 2, 10)
	arr[0], arr[1] = "a", "b"
	c := Custom{"a": arr}
	before := c.Clone()
	shared := Custom{"a": arr}
	if err := c.Apply(CustomOp{Key: "a", Kind: OpAdd, Items: []any{"c"}}, 25); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(CustomOp{Key: "a", Kind: OpRemove, Items: []any{"a"}}, 25); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shared, before) || !reflect.DeepEqual(arr[:cap(arr)][:3], []any{"a", "b", nil}) {
		t.Errorf("the original array changed: %v", arr[:3])
	}
}

// {"add": []} on a missing attribute must not store a null: the attribute then has
// no type, reads back as nil, and every later inc/add fails.
func TestCustomApplyEmptyAddOnMissing(t *testing.T) {
	t.Parallel()
	c := Custom{}
	if err := c.Apply(CustomOp{Key: "a", Kind: OpAdd, Items: []any{}}, 25); err != nil {
		t.Fatal(err)
	}
	if v, ok := c["a"]; ok {
		if arr, isArr := v.([]any); !isArr || arr == nil {
			t.Errorf(`after {"add":[]}: c["a"] = %#v; want it absent or an empty array`, v)
		}
	}
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "null") {
		t.Errorf("stored JSON = %s; want no null attribute", b)
	}
	var back Custom
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Apply(CustomOp{Key: "a", Kind: OpAdd, Items: []any{"x"}}, 25); err != nil {
		t.Errorf("a later add on the stored profile failed: %v", err)
	}
}

func TestCustomJSONRoundTrip(t *testing.T) {
	t.Parallel()
	c := Custom{
		"s":     "text",
		"empty": "",
		"n":     42.5,
		"neg":   -1e-7,
		"big":   1e21,
		"int":   9007199254740993.0,
		"b":     true,
		"t":     time.Date(2024, 2, 29, 23, 59, 59, 123e6, time.UTC),
		"old":   time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		"arr":   []any{"x", 2.0, false},
		"none":  []any{},
		"obj": map[string]any{
			"song": map[string]any{"name": "Solea", "plays": 3.0, "tags": []any{"jazz", 1.0}, "live": nil},
			// a nested string holding a time stays a string
			"at": "2024-01-02T03:04:05.000Z",
		},
	}
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"t":{"$time":"2024-02-29T23:59:59.123Z"}`) {
		t.Errorf("stored JSON %s; want times as {\"$time\": fixed-width UTC}", b)
	}
	var back Custom
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("UnmarshalJSON(%s): %v", b, err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip =\n%#v\nwant\n%#v", back, c)
	}
	if !back.Equal(c) || !c.Equal(back) {
		t.Error("Equal is false after a round trip")
	}
	for k, v := range c {
		if TypeName(back[k]) != TypeName(v) {
			t.Errorf("%s: type %s after the round trip; want %s", k, TypeName(back[k]), TypeName(v))
		}
	}

	// keys come out sorted, so equal sets store identical bytes
	again, _ := back.MarshalJSON()
	if string(again) != string(b) {
		t.Errorf("second encoding differs:\n%s\n%s", again, b)
	}
}

func TestCustomJSONEdges(t *testing.T) {
	t.Parallel()
	if b, err := Custom(nil).MarshalJSON(); err != nil || string(b) != "{}" {
		t.Errorf("nil Custom = %s, %v; want {}", b, err)
	}
	// times are stored at millisecond precision in UTC
	paris := time.FixedZone("CET", 3600)
	c := Custom{"t": time.Date(2024, 1, 1, 1, 0, 0, 123456789, paris)}
	b, _ := c.MarshalJSON()
	if string(b) != `{"t":{"$time":"2024-01-01T00:00:00.123Z"}}` {
		t.Errorf("stored %s; want UTC milliseconds", b)
	}
	var back Custom
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := back["t"].(time.Time); !got.Equal(time.Date(2024, 1, 1, 0, 0, 0, 123e6, time.UTC)) {
		t.Errorf("read back %v", got)
	}
	// a {"$time": ...} object that does not hold a stored time stays an object
	if err := json.Unmarshal([]byte(`{"a":{"$time":"yesterday"},"b":{"$time":"2024-01-01T00:00:00.000Z","x":1}}`), &back); err != nil {
		t.Fatal(err)
	}
	if TypeName(back["a"]) != "object" || TypeName(back["b"]) != "object" {
		t.Errorf("got %#v; want both objects", back)
	}
	for _, bad := range []string{`[]`, `{"a":`, `"x"`} {
		var c Custom
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("UnmarshalJSON(%s) = %#v; want an error", bad, c)
		}
	}
}

// Every time ParseTime accepts must survive the storage round trip as a time.
func TestCustomStoresEveryAcceptedTime(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"2024-01-02T03:04:05Z",
		"0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z",
		"9999-12-31T23:00:00-05:00", // UTC year 10000
		"0000-01-01T00:00:00+01:00", // UTC year -1
	} {
		tm, ok := ParseTime(s)
		if !ok {
			continue // rejecting is fine
		}
		c := Custom{"t": tm}
		b, err := c.MarshalJSON()
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		var back Custom
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if got, isTime := back["t"].(time.Time); !isTime || !got.Equal(tm.Truncate(time.Millisecond)) {
			t.Errorf("ParseTime(%q) accepted %v, stored as %s, read back as %#v; want the same time",
				s, tm, b, back["t"])
		}
	}
}

func TestCustomEqual(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name string
		a, b Custom
		want bool
	}{
		{"both empty", Custom{}, nil, true},
		{"same", Custom{"a": "x", "n": 1.0, "arr": []any{"x"}}, Custom{"arr": []any{"x"}, "n": 1.0, "a": "x"}, true},
		{"same instant in another zone", Custom{"t": when}, Custom{"t": when.In(time.FixedZone("X", -7200))}, true},
		{"different value", Custom{"a": "x"}, Custom{"a": "y"}, false},
		{"string vs number", Custom{"a": "1"}, Custom{"a": 1.0}, false},
		{"time vs string", Custom{"a": when}, Custom{"a": "2024-01-02T03:04:05.000Z"}, false},
		{"array order", Custom{"a": []any{"x", "y"}}, Custom{"a": []any{"y", "x"}}, false},
		{"extra key", Custom{"a": "x"}, Custom{"a": "x", "b": "y"}, false},
		{"nested", Custom{"o": map[string]any{"a": 1.0}}, Custom{"o": map[string]any{"a": 1.0}}, true},
		{"nested differs", Custom{"o": map[string]any{"a": 1.0}}, Custom{"o": map[string]any{"a": 2.0}}, false},
	}
	for _, tc := range cases {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("%s: Equal = %v; want %v", tc.name, got, tc.want)
		}
		if got := tc.b.Equal(tc.a); got != tc.want {
			t.Errorf("%s (reversed): Equal = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestCustomExport(t *testing.T) {
	t.Parallel()
	c := Custom{
		"t":   time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.FixedZone("X", 3600)),
		"s":   "x",
		"n":   2.0,
		"arr": []any{"a"},
		"obj": map[string]any{"k": "v"},
	}
	want := map[string]any{
		"t":   "2024-01-02T02:04:05.006Z",
		"s":   "x",
		"n":   2.0,
		"arr": []any{"a"},
		"obj": map[string]any{"k": "v"},
	}
	if got := c.Export(); !reflect.DeepEqual(got, want) {
		t.Errorf("Export = %#v; want %#v", got, want)
	}
	if got := Custom(nil).Export(); got == nil || len(got) != 0 {
		t.Errorf("nil Export = %#v; want an empty map", got)
	}
}

func TestCustomClone(t *testing.T) {
	t.Parallel()
	c := Custom{"arr": []any{"a"}, "obj": map[string]any{"in": []any{1.0}}}
	d := c.Clone()
	d["arr"].([]any)[0] = "changed"
	d["obj"].(map[string]any)["in"].([]any)[0] = 2.0
	if c["arr"].([]any)[0] != "a" || c["obj"].(map[string]any)["in"].([]any)[0] != 1.0 {
		t.Errorf("Clone shares memory with the original: %#v", c)
	}
	if Custom(nil).Clone() != nil {
		t.Error("Clone of nil is not nil")
	}
}

func TestTypeName(t *testing.T) {
	t.Parallel()
	for v, want := range map[any]string{"s": "string", 1.0: "number", true: "boolean", time.Time{}: "time"} {
		if got := TypeName(v); got != want {
			t.Errorf("TypeName(%#v) = %q; want %q", v, got, want)
		}
	}
	if TypeName([]any{}) != "array" || TypeName(map[string]any{}) != "object" {
		t.Error("arrays and objects misnamed")
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	accepted := map[string]time.Time{
		"2024-01-02T03:04:05Z":                time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"2024-01-02T03:04:05.123456789Z":      time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC),
		"2024-01-02T03:04:05+01:00":           time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC),
		"2024-01-02T03:04:05.5-07:30":         time.Date(2024, 1, 2, 10, 34, 5, 5e8, time.UTC),
		"2024-01-02T03:04:05+0100":            time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC),
		"2024-01-02T03:04:05":                 time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"2024-01-02T03:04:05.25":              time.Date(2024, 1, 2, 3, 4, 5, 25e7, time.UTC),
		"2024-01-02T03:04Z":                   time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC),
		"2024-01-02T03:04+02:00":              time.Date(2024, 1, 2, 1, 4, 0, 0, time.UTC),
		"2024-01-02T03:04":                    time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC),
		"2024-01-02 03:04:05Z":                time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"2024-01-02 03:04:05.999+00:00":       time.Date(2024, 1, 2, 3, 4, 5, 999e6, time.UTC),
		"2024-01-02 03:04:05":                 time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"2024-01-02":                          time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		"2024-02-29":                          time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"2017-05-12T18:47:12.000000000+00:00": time.Date(2017, 5, 12, 18, 47, 12, 0, time.UTC),
	}
	for s, want := range accepted {
		got, ok := ParseTime(s)
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v in UTC", s, got, ok, want)
		}
	}
	for _, s := range []string{
		"", "12345", "1.2.3", "2024", "2024-01", "2024-13-01", "2024-00-10", "2024-01-32", "2023-02-29",
		"2024-01-02T25:00:00Z", "2024-01-02T03:04:05+25:00", "02/01/2024", "2024/01/02", "Jan 2 2024",
		"1704164645", "2024-01-02T03:04:05 Z", "2024-01-02T", " 2024-01-02", "2024-01-02 ", "2024-1-2",
		"+2024-01-02", "20240102T030405Z", "2024-01-02T03:04:05Z trailing",
		"2024-01-02T03:04:05.000000000000000000000000Z",
	} {
		if got, ok := ParseTime(s); ok {
			t.Errorf("ParseTime(%q) = %v; want rejected", s, got)
		}
	}
}
