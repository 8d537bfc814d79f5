package segments

import (
	"testing"
)

func TestNeeds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		filter string
		want   Needs
	}{
		{`{"push_enabled":{}}`, Needs{}},
		{`{"AND":[{"push_enabled":{}},{"last_used_app":{"comparison":"greater_than_x_days_ago","value":7}}]}`, Needs{}},
		{`{"OR":[{"push_enabled":{}},{"NOT":{"custom_event":{"event_name":"x","comparison":"more_than","count":1,"days":7}}}]}`, Needs{Recent: true}},
		{`{"custom_event_last_did":{"event_name":"x","comparison":"less_than_x_days_ago","value":3}}`, Needs{EventSummaries: true}},
		{`{"money_spent":{"comparison":"greater_than","value":5}}`, Needs{}},
		{`{"money_spent":{"comparison":"greater_than","value":5,"days":30}}`, Needs{Recent: true}},
		{`{"segment":{"segment_id":"s1","comparison":"in"}}`, Needs{Recent: true, EventSummaries: true}},
	} {
		f, err := Parse([]byte(tc.filter))
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		if got := f.Needs(); got != tc.want {
			t.Errorf("%s: needs %+v, want %+v", tc.filter, got, tc.want)
		}
	}
}
