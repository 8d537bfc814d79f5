package segments_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/segments"
)

func TestParseNamesEveryBadNode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		filter string
		want   []string // "path: message" prefixes
	}{
		{`{"AND":[{"random_bucket":{"comparison":"less_than","value":10}},{"custom_attribute":{"custom_attribute_name":"age","comparison":"equals","value":3}},
		  {"OR":[{"custom_attribute":{"custom_attribute_name":"age","comparison":"greater","value":3}}]}]}`,
			[]string{`AND[2].OR[0].comparison: unknown comparison "greater" for number`}},
		{`{"OR":[{"custom_event":{"event_name":"x","comparison":"more_than","count":1,"days":31}},{"bogus":{}}]}`,
			[]string{"OR[0].days: want a whole number from 1 to 30", `OR[1].bogus: unknown filter "bogus"`}},
		{`{"NOT":{"push_subscription_status":{"comparison":"is","value":"maybe"}}}`,
			[]string{`NOT.value: want opted_in, subscribed or unsubscribed, got "maybe"`}},
		{`{"attribute":{"name":"shoe_size","comparison":"equals","value":"x"}}`, []string{`name: unknown attribute "shoe_size"`}},
		{`{"custom_attribute":{"custom_attribute_name":"x","comparison":"matches_regex","value":"\\bword"}}`,
			[]string{`value: regular expression "\\bword": unsupported: word boundaries`}},
		{`{"custom_attribute":{"custom_attribute_name":"x","comparison":"before","value":"yesterday"}}`,
			[]string{`value: want an ISO 8601 time`}},
		{`{"last_used_app":{"comparison":"after","value":"2019-07-22T13:17:55+0000","extra":1}}`, []string{"extra: unknown field"}},
		{`{"AND":{}}`, []string{"AND: want an array of filters"}},
		{`{"AND":[],"OR":[]}`, []string{"filter: want an object with exactly one key"}},
		{`[1]`, []string{"filter: want an object"}},
		{`{"segment":{"segment_id":"s1","comparison":"within"}}`, []string{`comparison: unknown comparison "within" for a segment`}},
		{`{"money_spent":{"comparison":"more_than","value":"ten"}}`, []string{"value: want a number"}},
	} {
		_, err := segments.Parse([]byte(c.filter))
		var perr *segments.Error
		if !errors.As(err, &perr) {
			t.Errorf("%s: error %v, want *segments.Error", c.filter, err)
			continue
		}
		if len(perr.Problems) != len(c.want) {
			t.Errorf("%s: %d problems (%v), want %d", c.filter, len(perr.Problems), err, len(c.want))
			continue
		}
		for i, w := range c.want {
			if got := perr.Problems[i].Path + ": " + perr.Problems[i].Message; !strings.HasPrefix(got, w) {
				t.Errorf("%s: problem %d = %q, want prefix %q", c.filter, i, got, w)
			}
		}
	}
}

func TestParseAcceptsBrazeShapes(t *testing.T) {
	t.Parallel()
	f, err := segments.Parse([]byte(`{"AND":[
	  {"custom_attribute":{"custom_attribute_name":"eye_color","comparison":"equals","value":"blue"}},
	  {"custom_attribute":{"custom_attribute_name":"favorite_foods","comparison":"includes_value","value":"pizza"}},
	  {"OR":[
	    {"custom_attribute":{"custom_attribute_name":"last_purchase_time","comparison":"less_than_x_days_ago","value":2}},
	    {"push_subscription_status":{"comparison":"is","value":"opted_in"}}]},
	  {"email_subscription_status":{"comparison":"is_not","value":"subscribed"}},
	  {"last_used_app":{"comparison":"after","value":"2019-07-22T13:17:55+0000"}},
	  {"segment":{"segment_id":"b","comparison":"not_in"}},
	  {"segment":{"segment_id":"a","comparison":"in"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if refs := f.Refs(); len(refs) != 2 || refs[0] != "a" || refs[1] != "b" {
		t.Errorf("Refs = %v", refs)
	}
	if b, _ := f.MarshalJSON(); !strings.HasPrefix(string(b), `{"AND":[{"custom_attribute":{"comparison":"equals"`) {
		t.Errorf("canonical JSON %s", b)
	}
}

// does_not_equal is Braze's boolean spelling; for strings and numbers it
// means not_equal.
func TestDoesNotEqualIsNotEqual(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"does_not_equal","value":"gold"}}`,
			`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"not_equal","value":"gold"}}`},
		{`{"custom_attribute":{"custom_attribute_name":"score","comparison":"does_not_equal","value":3}}`,
			`{"custom_attribute":{"custom_attribute_name":"score","comparison":"not_equal","value":3}}`},
	} {
		a, err := segments.Parse([]byte(c[0]))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := segments.Parse([]byte(c[1]))
		for _, d := range []string{segments.SQLite, segments.Postgres} {
			wa, aa, _ := a.SQL(d, time.Unix(0, 0))
			wb, ab, _ := b.SQL(d, time.Unix(0, 0))
			if wa != wb || fmt.Sprint(aa) != fmt.Sprint(ab) {
				t.Errorf("%s: %s %v, want %s %v", c[0], wa, aa, wb, ab)
			}
		}
	}
}
