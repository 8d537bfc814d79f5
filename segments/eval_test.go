package segments_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/segments"
)

func TestEvalSemantics(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	today := now.Unix() / 86400
	p := &profiles.Profile{
		User: &profiles.User{
			ExternalID: "u1", RandomBucket: 1234, TotalRevenue: 0.3,
			Standard: profiles.Standard{FirstName: "Ada", Country: "GB", PushSubscribe: "opted_in"},
			Custom: profiles.Custom{"plan": "gold", "score": 10.0, "vip": true,
				"signup": now.Add(-36 * time.Hour), "tags": []any{"a", "b"}},
			LastSessionAt: now.Add(-8 * 24 * time.Hour), FirstSessionAt: now.Add(-100 * 24 * time.Hour),
		},
		Devices: []profiles.Device{{AppID: "ios", Platform: "ios", PushEnabled: true},
			{AppID: "and", Platform: "android", PushEnabled: true, InvalidAt: now}},
		Apps:   []profiles.AppUsage{{AppID: "ios", Sessions: 3}, {AppID: "and", Sessions: 2}},
		Events: []profiles.Summary{{Name: "buy", First: now.Add(-40 * 24 * time.Hour), Last: now.Add(-30 * time.Hour), Count: 4}},
		Recent: profiles.Recent{
			Events:    []profiles.DayCount{{Name: "buy", Day: today - 1, Count: 2}, {Name: "buy", Day: today - 2, Count: 1}},
			Sessions:  []profiles.DayCount{{Day: today, Count: 1}, {Day: today - 9, Count: 4}},
			Purchases: []profiles.DayCount{{Name: "p1", Day: today, Count: 1, Revenue: 0.1}, {Name: "p2", Day: today - 3, Count: 2, Revenue: 0.2}},
		},
	}
	for _, c := range []struct {
		filter string
		want   bool
	}{
		{`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"gold"}}`, true},
		{`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"Gold"}}`, false}, // case-sensitive
		{`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"matches_regex","value":"(?i)^GOLD$"}}`, true},
		{`{"custom_attribute":{"custom_attribute_name":"missing","comparison":"not_equal","value":"x"}}`, true}, // negation includes missing
		{`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"greater_than","value":1}}`, false},  // wrong type
		{`{"custom_attribute":{"custom_attribute_name":"score","comparison":"greater_than_or_equal_to","value":10}}`, true},
		{`{"custom_attribute":{"custom_attribute_name":"vip","comparison":"does_not_equal","value":true}}`, false},
		{`{"custom_attribute":{"custom_attribute_name":"signup","comparison":"less_than_x_days_ago","value":2}}`, true},
		{`{"custom_attribute":{"custom_attribute_name":"signup","comparison":"less_than_x_days_ago","value":1}}`, false},
		{`{"custom_attribute":{"custom_attribute_name":"signup","comparison":"before","value":"2026-11-28"}}`, true},
		{`{"custom_attribute":{"custom_attribute_name":"tags","comparison":"includes_value","value":"b"}}`, true},
		{`{"custom_attribute":{"custom_attribute_name":"tags","comparison":"does_not_include_value","value":"c"}}`, true},
		{`{"attribute":{"name":"country","comparison":"equals","value":"GB"}}`, true},
		{`{"attribute":{"name":"email","comparison":"does_not_exist"}}`, true},
		{`{"push_subscription_status":{"comparison":"is","value":"opted_in"}}`, true},
		{`{"email_subscription_status":{"comparison":"is","value":"subscribed"}}`, true}, // unset is the default
		{`{"push_enabled":{}}`, true},
		{`{"push_enabled":{"platform":"android"}}`, false}, // its only android token is invalid
		{`{"last_used_app":{"comparison":"greater_than_x_days_ago","value":7}}`, true},
		{`{"first_used_app":{"comparison":"after","value":"2026-09-01T00:00:00Z"}}`, false},
		{`{"session_count":{"comparison":"equals","value":5}}`, true},
		{`{"sessions_in_last_x_days":{"days":7,"comparison":"equals","value":1}}`, true},
		// days=1 is the current UTC day and the one before: 2 of the 3 purchases of "buy".
		{`{"custom_event":{"event_name":"buy","comparison":"exactly","count":2,"days":1}}`, true},
		{`{"custom_event":{"event_name":"buy","comparison":"exactly","count":3,"days":2}}`, true},
		{`{"custom_event":{"event_name":"open","comparison":"less_than","count":1,"days":30}}`, true},
		{`{"custom_event_last_did":{"event_name":"buy","comparison":"less_than_x_days_ago","value":2}}`, true},
		{`{"custom_event_first_did":{"event_name":"buy","comparison":"greater_than_x_days_ago","value":39}}`, true},
		{`{"custom_event_last_did":{"event_name":"open","comparison":"never"}}`, true},
		{`{"purchase":{"comparison":"more_than","count":2,"days":3}}`, true},
		{`{"purchase":{"product_id":"p2","comparison":"exactly","count":2,"days":2}}`, false},
		// 0.1 + 0.2 is 0.30000000000000004: money compares with a tolerance.
		{`{"money_spent":{"comparison":"equals","value":0.3,"days":5}}`, true},
		{`{"money_spent":{"comparison":"greater_than","value":0.3}}`, false},
		{`{"random_bucket":{"comparison":"less_than","value":2000}}`, true},
		{`{"AND":[]}`, true},
		{`{"OR":[]}`, false},
		{`{"NOT":{"OR":[{"random_bucket":{"comparison":"equals","value":1234}},{"push_enabled":{"platform":"web"}}]}}`, false},
	} {
		f, err := segments.Parse([]byte(c.filter))
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if got := f.Eval(p, now); got != c.want {
			t.Errorf("%s = %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	parse := func(s string) *segments.Filter {
		f, err := segments.Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	saved := map[string]*segments.Filter{
		"gb":    parse(`{"attribute":{"name":"country","comparison":"equals","value":"GB"}}`),
		"loop":  parse(`{"segment":{"segment_id":"loop2","comparison":"in"}}`),
		"loop2": parse(`{"AND":[{"segment":{"segment_id":"loop","comparison":"in"}}]}`),
	}
	r := func(_ context.Context, id string) (*segments.Filter, error) {
		if f, ok := saved[id]; ok {
			return f, nil
		}
		return nil, errors.New("not found")
	}
	p := &profiles.Profile{User: &profiles.User{Standard: profiles.Standard{Country: "GB"}}}
	now := time.Now()
	in := parse(`{"segment":{"segment_id":"gb","comparison":"in"}}`)
	notIn := parse(`{"segment":{"segment_id":"gb","comparison":"not_in"}}`)
	if in.Eval(p, now) {
		t.Error("an unresolved reference evaluated true")
	}
	if _, _, err := in.SQL(segments.SQLite, now); err == nil {
		t.Error("SQL of an unresolved filter")
	}
	ri, err := in.Resolve(context.Background(), r)
	if err != nil || !ri.Eval(p, now) {
		t.Fatalf("in: %v", err)
	}
	rn, err := notIn.Resolve(context.Background(), r)
	if err != nil || rn.Eval(p, now) {
		t.Fatalf("not_in: %v", err)
	}
	if _, err := parse(`{"segment":{"segment_id":"loop","comparison":"in"}}`).Resolve(context.Background(), r); err == nil || !strings.Contains(err.Error(), "references itself") {
		t.Errorf("cycle: %v", err)
	}
	if _, err := parse(`{"segment":{"segment_id":"nope","comparison":"in"}}`).Resolve(context.Background(), r); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing: %v", err)
	}
}
