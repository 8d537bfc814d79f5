package campaigns

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDelayDue(t *testing.T) {
	t.Parallel()
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ev := time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		delay string
		loc   *time.Location
		want  string
	}{
		{"", time.UTC, "2026-03-28T23:30:00Z"},
		{"90m", time.UTC, "2026-03-29T01:00:00Z"},
		{"2d", time.UTC, "2026-03-30T23:30:00Z"},
		{"1d12h", time.UTC, "2026-03-30T11:30:00Z"},
		// 23:30 UTC is 00:30 on the 29th in Berlin: the next day is the 30th
		// (after the spring-forward night), 09:00 CEST
		{"next day at 09:00", zone("Europe/Berlin"), "2026-03-30T07:00:00Z"},
		// in Kiritimati (+14) the event is on the 29th at 13:30: next day 30th
		{"next day at 9:05", zone("Pacific/Kiritimati"), "2026-03-29T19:05:00Z"},
		// in Pago Pago (-11) it is the 28th at 12:30: next day the 29th
		{"next day at 09:00", zone("Pacific/Pago_Pago"), "2026-03-29T20:00:00Z"},
		// a wall time in the spring-forward gap runs at the gap's end
		{"next day at 02:30", zone("Europe/Berlin"), "2026-03-30T00:30:00Z"},
	} {
		d, err := parseDelay(tc.delay)
		if err != nil {
			t.Fatalf("parseDelay(%q): %v", tc.delay, err)
		}
		if got := d.due(ev, tc.loc).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("delay %q in %s: due %s, want %s", tc.delay, tc.loc, got, tc.want)
		}
	}
	gap, _ := parseDelay("next day at 02:30")
	if got := gap.due(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), zone("Europe/Berlin")).UTC().Format(time.RFC3339); got != "2026-03-29T01:00:00Z" {
		t.Errorf("02:30 on the spring-forward day in Berlin: %s, want the gap's end 03:00 CEST", got)
	}
	for _, bad := range []string{"soon", "31d", "-1h", "next day at 25:00", "next day 09:00", "1x"} {
		if _, err := parseDelay(bad); err == nil {
			t.Errorf("parseDelay(%q) accepted", bad)
		}
	}
}

func TestMatchProperties(t *testing.T) {
	t.Parallel()
	props := map[string]any{"price": 20.0, "name": "Blue lamp", "tags": []any{"home", "light"}, "gift": true}
	for _, tc := range []struct {
		filters string
		want    bool
	}{
		{`[]`, true},
		{`[{"property":"price","comparison":"greater_than","value":10}]`, true},
		{`[{"property":"price","comparison":"greater_than","value":20}]`, false},
		{`[{"property":"price","comparison":"greater_than_or_equal_to","value":20},{"property":"gift","comparison":"equals","value":true}]`, true},
		{`[{"property":"price","comparison":"less_than","value":"30"}]`, false},
		{`[{"property":"name","comparison":"contains","value":"lamp"}]`, true},
		{`[{"property":"tags","comparison":"contains","value":"light"}]`, true},
		{`[{"property":"name","comparison":"not_equal","value":"Blue lamp"}]`, false},
		{`[{"property":"missing","comparison":"does_not_exist"}]`, true},
		{`[{"property":"missing","comparison":"exists"}]`, false},
		{`[{"property":"missing","comparison":"equals","value":1}]`, false},
		{`[{"property":"missing","comparison":"not_equal","value":1}]`, true},
	} {
		var fs []PropertyFilter
		if err := json.Unmarshal([]byte(tc.filters), &fs); err != nil {
			t.Fatal(err)
		}
		if got := matchProperties(fs, props); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.filters, got, tc.want)
		}
	}
}

func TestValidateAction(t *testing.T) {
	t.Parallel()
	var ps problems
	validateAction(json.RawMessage(`{"type":"action_based","delay":"soon","property_filters":[{"comparison":"like"},
		{"property":"p","comparison":"greater_than","value":"x"}],"exception_events":[""],
		"window_start":"2026-05-02T00:00:00Z","window_end":"2026-05-01T00:00:00Z"}`), false, &ps)
	err := ps.err()
	for _, field := range []string{"schedule.event_name", "schedule.delay", "schedule.property_filters[0].property",
		"schedule.property_filters[0].comparison", "schedule.property_filters[1].value", "schedule.exception_events[0]", "schedule.window_end"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("missing problem for %s in %v", field, err)
		}
	}
	ps = problems{}
	validateAction(json.RawMessage(`{"type":"action_based","event_name":"x","delay":"next day at 09:00"}`), false, &ps)
	if err := ps.err(); err != nil {
		t.Fatalf("valid action schedule refused: %v", err)
	}
}

func TestValidateRules(t *testing.T) {
	t.Parallel()
	var ps problems
	validateRules(Rules{ReEligibility: &ReEligibility{After: "3 days"}, RateLimit: &RateLimit{PerMinute: 0},
		QuietHours: &QuietHours{Start: "25:00", End: "08:00", Action: "later"}}, &ps)
	err := ps.err()
	for _, field := range []string{"re_eligibility.after", "rate_limit.per_minute", "quiet_hours.start", "quiet_hours.action"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("missing problem for %s in %v", field, err)
		}
	}
	for _, bad := range []Rules{
		{ReEligibility: &ReEligibility{}},
		{ReEligibility: &ReEligibility{Never: true, After: "1d"}},
		{QuietHours: &QuietHours{Start: "22:00", End: "22:00", Action: QuietHold}},
	} {
		ps = problems{}
		if validateRules(bad, &ps); ps.err() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	ps = problems{}
	validateRules(Rules{ReEligibility: &ReEligibility{After: "2w"}, RateLimit: &RateLimit{PerMinute: 100},
		QuietHours: &QuietHours{Start: "22:00", End: "08:00", Action: QuietAbort}}, &ps)
	if err := ps.err(); err != nil {
		t.Fatalf("valid rules refused: %v", err)
	}
}

func TestWindowSince(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 3, 30, 10, 0, 0, 0, berlin)
	for _, tc := range []struct{ w, want string }{
		{"30m", "2026-03-30T07:30:00Z"},
		{"12h", "2026-03-29T20:00:00Z"},
		{"1d", "2026-03-29T22:00:00Z"}, // today 00:00 CEST
		{"2d", "2026-03-28T23:00:00Z"}, // yesterday 00:00 CET: across the DST change
		{"1w", "2026-03-23T23:00:00Z"},
	} {
		w, err := ParseWindow(tc.w)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Since(now, berlin).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("%s: since %s, want %s", tc.w, got, tc.want)
		}
	}
	for _, bad := range []string{"", "0d", "1y", "d", "100000w"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) accepted", bad)
		}
	}
}

func TestUnknownScheduleFields(t *testing.T) {
	t.Parallel()
	for raw, field := range map[string]string{
		`{"type":"recurring","cron":"0 9 * * *","timezone":"Europe/Berlin"}`:    "schedule.timezone",
		`{"type":"scheduled","time":"2030-01-01T09:00:00Z","cron":"0 9 * * *"}`: "schedule.cron",
		`{"type":"action_based","event_name":"x","dealy":"1h"}`:                 "schedule.dealy",
		`{"type":"immediate","time":"2030-01-01T09:00:00Z"}`:                    "schedule.time",
	} {
		var s Schedule
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			t.Fatal(err)
		}
		var ps problems
		validateSchedule(s, false, &ps)
		if err := ps.err(); err == nil || !strings.Contains(err.Error(), field+": unknown field") {
			t.Errorf("%s: %v, want %s refused", raw, err, field)
		}
	}
}
