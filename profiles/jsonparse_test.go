package profiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

// reference decodes with encoding/json the way parseJSON promises to.
func reference(data []byte, exact bool) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if exact {
		dec.UseNumber()
	}
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errTrailing
	}
	return v, nil
}

var jsonSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e3`, `-12.25E-2`, `"plain"`, `"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00"`,
	`"lone \ud800 surrogate"`, `"bad \xff utf8"`, `{"a":{"b":[1,2,{"c":null}]},"d":"x"}`, ` { "k" : [ 1 , 2 ] } `,
	`{"dup":1,"dup":2}`, `[1,]`, `{"a":1,}`, `01`, `1.`, `.5`, `-`, `"unterminated`, `{"a" 1}`, `[1 2]`, `tru`, `"\x01"`,
	`{"plan": "pro", "score": 123, "last_seen": {"$time": "2026-11-29T10:00:00.000Z"}}`, `1e400`, `"\u0000"`, `[[[[[]]]]]`,
}

func TestParseJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range jsonSeeds {
		for _, exact := range []bool{true, false} {
			compareParse(t, []byte(s), exact)
		}
	}
}

func compareParse(t *testing.T, data []byte, exact bool) {
	t.Helper()
	want, werr := reference(data, exact)
	got, gerr := parseJSON(data, exact)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q (exact=%v): encoding/json err %v, parseJSON err %v", data, exact, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q (exact=%v):\n got %#v\nwant %#v", data, exact, got, want)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareParse(t, data, true)
		compareParse(t, data, false)
	})
}

func BenchmarkParseCustom(b *testing.B) {
	data := []byte(`{"plan": "pro", "score": 123, "visits": 17, "vip": true, "tags": ["a", "b"], "last_seen": {"$time": "2026-11-29T10:00:00.000Z"}}`)
	b.Run("parseJSON", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseJSON(data, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
