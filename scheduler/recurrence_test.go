package scheduler

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// dstCases are daily and sub-daily specs across the DST transitions of
// 2026, with what robfig/cron v3.0.1 does natively (measured) and what
// Herald does.
var dstCases = []struct {
	name, spec, from string
	native, herald   []string
}{
	{
		name: "Berlin spring gap", spec: "CRON_TZ=Europe/Berlin 30 2 * * *", from: "2026-03-27T12:00:00Z",
		native: []string{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}, // 29 March skipped
		herald: []string{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}, // 03:00 CEST
	},
	{
		name: "Berlin fall overlap", spec: "CRON_TZ=Europe/Berlin 30 2 * * *", from: "2026-10-24T12:00:00Z",
		native: []string{"2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"}, // twice on the 25th
		herald: []string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"}, // CEST pass only
	},
	{
		name: "New York spring gap", spec: "CRON_TZ=America/New_York 30 2 * * *", from: "2026-03-06T12:00:00Z",
		native: []string{"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"},
		herald: []string{"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}, // 03:00 EDT
	},
	{
		name: "New York fall overlap", spec: "CRON_TZ=America/New_York 30 1 * * *", from: "2026-10-30T12:00:00Z",
		native: []string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"},
		herald: []string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"},
	},
	{
		name: "Lord Howe 30-minute spring gap", spec: "CRON_TZ=Australia/Lord_Howe 15 2 * * *", from: "2026-10-02T00:00:00Z",
		native: []string{"2026-10-02T15:45:00Z", "2026-10-04T15:15:00Z", "2026-10-05T15:15:00Z"},
		herald: []string{"2026-10-02T15:45:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}, // 02:30 +11
	},
	{
		name: "Lord Howe 30-minute fall overlap", spec: "CRON_TZ=Australia/Lord_Howe 45 1 * * *", from: "2026-04-03T00:00:00Z",
		native: []string{"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z", "2026-04-05T15:15:00Z"},
		herald: []string{"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z", "2026-04-06T15:15:00Z"},
	},
	{
		name: "Berlin hourly, spring", spec: "CRON_TZ=Europe/Berlin 0 * * * *", from: "2026-03-28T23:30:00Z",
		native: []string{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"},
		herald: []string{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}, // 02:00 wall is 03:00
	},
	{
		name: "Berlin hourly, fall", spec: "CRON_TZ=Europe/Berlin 0 * * * *", from: "2026-10-24T23:30:00Z",
		native: []string{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"},
		herald: []string{"2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}, // 02:00 CET dropped
	},
	{
		name: "Berlin every 10 minutes, spring", spec: "CRON_TZ=Europe/Berlin */10 * * * *", from: "2026-03-29T00:45:00Z",
		native: []string{"2026-03-29T00:50:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:10:00Z"},
		herald: []string{"2026-03-29T00:50:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:10:00Z"},
	},
	{
		name: "New York every 20 minutes, fall", spec: "CRON_TZ=America/New_York */20 * * * *", from: "2026-11-01T05:30:00Z",
		native: []string{"2026-11-01T05:40:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:20:00Z"},
		herald: []string{"2026-11-01T05:40:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:20:00Z"}, // EST 01:xx dropped
	},
}

// TestRobfigNativeDST measures robfig/cron's own behaviour at DST edges, the
// behaviour Recurrence corrects; if an upgrade changes it, this says so.
func TestRobfigNativeDST(t *testing.T) {
	t.Parallel()
	for _, tc := range dstCases {
		s, err := cron.ParseStandard(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		var got []time.Time
		for at := utc(t, tc.from); len(got) < len(tc.native); {
			at = s.Next(at)
			got = append(got, at)
		}
		if !slices.Equal(instants(got), tc.native) {
			t.Errorf("%s: robfig/cron gives %v, measured %v", tc.name, instants(got), tc.native)
		}
	}
}

func TestRecurrenceDST(t *testing.T) {
	t.Parallel()
	for _, tc := range dstCases {
		r := recurrence(t, Spec{Cron: tc.spec})
		got := r.Occurrences(utc(t, tc.from), utc(t, "2027-01-01T00:00:00Z"), len(tc.herald))
		if !slices.Equal(instants(got), tc.herald) {
			t.Errorf("%s: got %v, want %v", tc.name, instants(got), tc.herald)
		}
		// The same spec through time_zone instead of the prefix.
		zoneName, body, _ := splitZonePrefix(tc.spec)
		r2 := recurrence(t, Spec{Cron: body, TimeZone: zoneName})
		if got2 := r2.Occurrences(utc(t, tc.from), utc(t, "2027-01-01T00:00:00Z"), len(tc.herald)); !slices.Equal(instants(got2), tc.herald) {
			t.Errorf("%s via time_zone: got %v, want %v", tc.name, instants(got2), tc.herald)
		}
	}
}

// TestNextStrictlyAfter chains Next from every occurrence and from just
// before it, across both 2026 transitions in three zones.
func TestNextStrictlyAfter(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"CRON_TZ=Europe/Berlin 30 2 * * *", "CRON_TZ=America/New_York */15 0-3 * * *",
		"CRON_TZ=Australia/Lord_Howe 0,15,30,45 1,2 * * *", "TZ=Europe/Berlin 0 * * * 0",
	} {
		r := recurrence(t, Spec{Cron: spec})
		from, to := utc(t, "2026-03-01T00:00:00Z"), utc(t, "2026-12-01T00:00:00Z")
		got := r.Occurrences(from, to, 100000)
		if len(got) == 0 {
			t.Fatalf("%s: no occurrences", spec)
		}
		for i, occ := range got {
			if i > 0 && !occ.After(got[i-1]) {
				t.Fatalf("%s: %s not after %s", spec, occ, got[i-1])
			}
			if next, ok := r.Next(occ.Add(-time.Nanosecond)); !ok || !next.Equal(occ) {
				t.Fatalf("%s: Next(just before %s) = %s", spec, occ, next)
			}
			if occ.Nanosecond() != 0 {
				t.Fatalf("%s: %s is not a whole second", spec, occ)
			}
		}
	}
}

func TestRecurrenceExtremeZones(t *testing.T) {
	t.Parallel()
	from := utc(t, "2026-06-30T00:00:00Z")
	for _, tc := range []struct {
		zone, want, local string
	}{
		{"Pacific/Kiritimati", "2026-06-30T19:00:00Z", "2026-07-01T09:00:00"},
		{"Etc/GMT-14", "2026-06-30T19:00:00Z", "2026-07-01T09:00:00"},
		{"Etc/GMT+12", "2026-06-30T21:00:00Z", "2026-06-30T09:00:00"},
		{"Pacific/Chatham", "2026-06-30T20:15:00Z", "2026-07-01T09:00:00"}, // +12:45 in winter
	} {
		r := recurrence(t, Spec{Cron: "0 9 * * *", TimeZone: tc.zone})
		got, ok := r.Next(from)
		if !ok || got.UTC().Format(time.RFC3339) != tc.want {
			t.Errorf("%s: Next = %s, %v; want %s", tc.zone, got, ok, tc.want)
		}
		if l := r.LocalTime(got).String(); l != tc.local {
			t.Errorf("%s: LocalTime = %s, want %s", tc.zone, l, tc.local)
		}
		if r.Location().String() != tc.zone || r.InLocalTime() {
			t.Errorf("%s: Location %s, InLocalTime %v", tc.zone, r.Location(), r.InLocalTime())
		}
	}
}

func TestRecurrenceInLocalTime(t *testing.T) {
	t.Parallel()
	r := recurrence(t, Spec{Cron: "0 10 * * *", InLocalTime: true})
	got := r.Occurrences(utc(t, "2026-06-30T00:00:00Z"), utc(t, "2026-07-03T00:00:00Z"), 10)
	want := []string{"2026-06-30T20:00:00Z", "2026-07-01T20:00:00Z", "2026-07-02T20:00:00Z"} // first waves, UTC+14
	if !slices.Equal(instants(got), want) {
		t.Fatalf("occurrences %v, want %v", instants(got), want)
	}
	if l := r.LocalTime(got[0]).String(); l != "2026-07-01T10:00:00" {
		t.Errorf("LocalTime = %s", l)
	}
	if !r.InLocalTime() {
		t.Error("InLocalTime false")
	}
	// The wall time has no gap on the first-wave clock, even on a DST day.
	r = recurrence(t, Spec{Cron: "30 2 29 3 *", InLocalTime: true})
	occ, _ := r.Next(utc(t, "2026-01-01T00:00:00Z"))
	if l := r.LocalTime(occ).String(); l != "2026-03-29T02:30:00" {
		t.Errorf("LocalTime on a DST day = %s", l)
	}
	if w := WaveTimes(r.LocalTime(occ), []string{"Europe/Berlin"}); !w["Europe/Berlin"].Equal(utc(t, "2026-03-29T01:00:00Z")) {
		t.Errorf("Berlin wave = %s, want 03:00 CEST", w["Europe/Berlin"])
	}
}

func TestRecurrenceBounds(t *testing.T) {
	t.Parallel()
	s := Spec{Cron: "0 9 * * *", StartsAt: utc(t, "2026-05-01T09:00:00Z"), EndsAt: utc(t, "2026-05-03T09:00:00Z")}
	r := recurrence(t, s)
	got := r.Occurrences(utc(t, "2026-04-01T00:00:00Z"), utc(t, "2026-06-01T00:00:00Z"), 10)
	if want := []string{"2026-05-01T09:00:00Z", "2026-05-02T09:00:00Z", "2026-05-03T09:00:00Z"}; !slices.Equal(instants(got), want) {
		t.Errorf("inclusive bounds: %v, want %v", instants(got), want)
	}
	if next, ok := r.Next(utc(t, "2026-05-03T09:00:00Z")); ok {
		t.Errorf("Next after ends_at = %s, want none", next)
	}
	if r.Spec() != s {
		t.Errorf("Spec() = %+v", r.Spec())
	}

	s.StartsAt = utc(t, "2026-05-01T09:00:01Z")
	r = recurrence(t, s)
	if next, _ := r.Next(time.Time{}); !next.Equal(utc(t, "2026-05-02T09:00:00Z")) {
		t.Errorf("starts_at one second late: first %s", next)
	}
	s.StartsAt, s.EndsAt = time.Time{}, utc(t, "2026-05-02T08:59:59Z")
	r = recurrence(t, s)
	if got := r.Occurrences(utc(t, "2026-04-29T12:00:00Z"), utc(t, "2027-01-01T00:00:00Z"), 10); len(got) != 2 {
		t.Errorf("ends_at only: %v, want 30 April and 1 May", instants(got))
	}
	if got := r.Occurrences(utc(t, "2026-04-29T12:00:00Z"), utc(t, "2027-01-01T00:00:00Z"), 1); len(got) != 1 {
		t.Errorf("max 1: %v", instants(got))
	}
	if got := r.Occurrences(utc(t, "2026-04-29T12:00:00Z"), utc(t, "2027-01-01T00:00:00Z"), 0); got != nil {
		t.Errorf("max 0: %v", instants(got))
	}
	if got := r.Occurrences(utc(t, "2026-04-29T12:00:00Z"), utc(t, "2026-04-30T09:00:00Z"), 10); len(got) != 1 {
		t.Errorf("to is inclusive: %v", instants(got))
	}
}

func TestRecurrenceRareAndDescriptors(t *testing.T) {
	t.Parallel()
	from := utc(t, "2026-03-01T00:00:00Z")
	for _, tc := range []struct{ spec, want string }{
		{"0 9 29 2 *", "2028-02-29T09:00:00Z"},
		{"@daily", "2026-03-02T00:00:00Z"},
		{"@midnight", "2026-03-02T00:00:00Z"},
		{"@hourly", "2026-03-01T01:00:00Z"},
		{"@weekly", "2026-03-08T00:00:00Z"},
		{"@monthly", "2026-04-01T00:00:00Z"},
		{"@yearly", "2027-01-01T00:00:00Z"},
		{"@annually", "2027-01-01T00:00:00Z"},
		{"CRON_TZ=Asia/Tokyo @daily", "2026-03-01T15:00:00Z"},
		{"0 9 * * mon-fri", "2026-03-02T09:00:00Z"},
		{"0 9 1 jan,jul *", "2026-07-01T09:00:00Z"},
		{"  0   9 * * *  ", "2026-03-01T09:00:00Z"},
		{"TZ=Europe/Berlin\t0 9 * * *", "2026-03-01T08:00:00Z"},
	} {
		r := recurrence(t, Spec{Cron: tc.spec})
		if got, ok := r.Next(from); !ok || got.UTC().Format(time.RFC3339) != tc.want {
			t.Errorf("%q: Next = %s, %v; want %s", tc.spec, got, ok, tc.want)
		}
	}
}

func TestParseRecurrenceErrors(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time { return utc(t, s) }
	for _, tc := range []struct {
		spec   Spec
		fields []string
		text   string
	}{
		{Spec{}, []string{"cron"}, "required"},
		{Spec{Cron: "   "}, []string{"cron"}, "required"},
		{Spec{Cron: "@every 90m"}, []string{"cron"}, "not supported"},
		{Spec{Cron: "@every 1s"}, []string{"cron"}, "not supported"},
		{Spec{Cron: "@reboot"}, []string{"cron"}, "unrecognized descriptor"},
		{Spec{Cron: "0 0 9 * * *"}, []string{"cron"}, "expected exactly 5 fields"},
		{Spec{Cron: "0 9 * *"}, []string{"cron"}, "expected exactly 5 fields"},
		{Spec{Cron: "61 9 * * *"}, []string{"cron"}, "above maximum"},
		{Spec{Cron: "0 9 * * 7"}, []string{"cron"}, "above maximum"},
		{Spec{Cron: "0 9 30 2 *"}, []string{"cron"}, "matches no date"},
		{Spec{Cron: "0 9 31 4,6,9,11 *"}, []string{"cron"}, "matches no date"},
		{Spec{Cron: "CRON_TZ=UTC"}, []string{"cron"}, "no schedule after"},
		{Spec{Cron: "CRON_TZ= 0 9 * * *"}, []string{"cron"}, "names no zone"},
		{Spec{Cron: "CRON_TZ=Mars/Olympus 0 9 * * *"}, []string{"cron"}, "unknown time zone"},
		{Spec{Cron: "TZ=Local 0 9 * * *"}, []string{"cron"}, "depends on the host"},
		{Spec{Cron: "CRON_TZ=Europe/Berlin 0 9 * * *", TimeZone: "Europe/Paris"}, []string{"cron"}, "conflicts with time_zone"},
		{Spec{Cron: "CRON_TZ=Europe/Berlin 0 9 * * *", InLocalTime: true}, []string{"cron"}, "conflicts with in_local_time"},
		{Spec{Cron: "0 9 * * *", TimeZone: "Mars/Olympus"}, []string{"time_zone"}, "unknown time zone"},
		{Spec{Cron: "0 9 * * *", TimeZone: "Local"}, []string{"time_zone"}, "depends on the host"},
		{Spec{Cron: "0 9 * * *", TimeZone: "Europe/Berlin", InLocalTime: true}, []string{"time_zone"}, "not both"},
		{Spec{Cron: "0 9 * * *", StartsAt: at("2026-06-01T00:00:00Z"), EndsAt: at("2026-05-01T00:00:00Z")}, []string{"ends_at"}, "before starts_at"},
		{Spec{Cron: "bogus", TimeZone: "Nowhere", StartsAt: at("2026-06-01T00:00:00Z"), EndsAt: at("2026-05-01T00:00:00Z")},
			[]string{"time_zone", "cron", "ends_at"}, ""},
	} {
		r, err := ParseRecurrence(tc.spec)
		if err == nil {
			t.Errorf("%+v: accepted (%v)", tc.spec, r)
			continue
		}
		if !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%+v: error %q lacks %q", tc.spec, err, tc.text)
		}
		var fields []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var fe *FieldError
			if !errors.As(e, &fe) {
				t.Errorf("%+v: %v is not a *FieldError", tc.spec, e)
				continue
			}
			if !strings.HasPrefix(fe.Error(), fe.Field+": ") {
				t.Errorf("%+v: %q does not start with its field", tc.spec, fe)
			}
			fields = append(fields, fe.Field)
		}
		if !slices.Equal(fields, tc.fields) {
			t.Errorf("%+v: fields %v, want %v (%v)", tc.spec, fields, tc.fields, err)
		}
	}
}

func TestParseRecurrenceAccepts(t *testing.T) {
	t.Parallel()
	for _, s := range []Spec{
		{Cron: "CRON_TZ=Europe/Berlin 0 9 * * *", TimeZone: "Europe/Berlin"}, // agreeing zones
		{Cron: "0 9 * * *", InLocalTime: true},
		{Cron: "0 9 * * *"}, // UTC
		{Cron: "0 9 * * *", StartsAt: utc(t, "2026-05-01T00:00:00Z"), EndsAt: utc(t, "2026-05-01T00:00:00Z")},
		{Cron: "0 9 ? * *"},
	} {
		if _, err := ParseRecurrence(s); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	if loc := recurrence(t, Spec{Cron: "0 9 * * *"}).Location(); loc != time.UTC {
		t.Errorf("no zone: %s, want UTC", loc)
	}
}
