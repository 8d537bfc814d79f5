package scheduler

import (
	"strings"
	"testing"
	"time"
)

func TestParseLocalTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "2026-03-29T02:30:00", want: "2026-03-29T02:30:00"},
		{in: "2026-03-29T02:30", want: "2026-03-29T02:30:00"},
		{in: "2026-03-29 02:30:15", want: "2026-03-29T02:30:15"},
		{in: "2026-03-29 02:30", want: "2026-03-29T02:30:00"},
		{in: " 2026-12-31T23:59:59.999 ", want: "2026-12-31T23:59:59"},
		{in: "2028-02-29T09:00", want: "2028-02-29T09:00:00"},
		{in: "", err: "empty"},
		{in: "2026-03-29T02:30:00Z", err: "zone designator"},
		{in: "2015-02-20T13:14:47-05:00", err: "zone designator"},
		{in: "2026-03-29T02:30+02:00", err: "zone designator"},
		{in: "2026-02-30T09:00", err: "want YYYY-MM-DD"},
		{in: "2026-03-29T24:00", err: "want YYYY-MM-DD"},
		{in: "2026-03-29", err: "want YYYY-MM-DD"},
		{in: "09:00", err: "want YYYY-MM-DD"},
		{in: "tomorrow 9am", err: "want YYYY-MM-DD"},
	} {
		got, err := ParseLocalTime(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseLocalTime(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseLocalTime(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestLocalTimeText(t *testing.T) {
	t.Parallel()
	var l LocalTime
	if err := l.UnmarshalText([]byte("2026-07-01T09:00")); err != nil {
		t.Fatal(err)
	}
	b, _ := l.MarshalText()
	if string(b) != "2026-07-01T09:00:00" {
		t.Errorf("MarshalText = %s", b)
	}
	if err := l.UnmarshalText([]byte("2026-07-01T09:00Z")); err == nil {
		t.Error("UnmarshalText accepted a zone designator")
	}
	if got := lt(t, "2026-12-31T09:00").AddDays(1).String(); got != "2027-01-01T09:00:00" {
		t.Errorf("AddDays(1) = %s", got)
	}
	if got := lt(t, "2026-03-01T09:00").AddDays(-1).String(); got != "2026-02-28T09:00:00" {
		t.Errorf("AddDays(-1) = %s", got)
	}
	if !lt(t, "2026-03-01T09:00").Before(lt(t, "2026-03-01T09:00:01")) || lt(t, "2026-03-01T09:00").Before(lt(t, "2026-03-01T09:00")) {
		t.Error("Before is wrong")
	}
}

// TestLocalTimeIn pins Herald's DST rules: a wall time in a spring-forward
// gap is the first instant after the gap, a repeated one its first instant.
func TestLocalTimeIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		zone, local, want, why string
	}{
		{"Europe/Berlin", "2026-03-29T01:59:59", "2026-03-29T00:59:59Z", "last second before the gap (CET)"},
		{"Europe/Berlin", "2026-03-29T02:00:00", "2026-03-29T01:00:00Z", "gap start runs at 03:00 CEST"},
		{"Europe/Berlin", "2026-03-29T02:30:00", "2026-03-29T01:00:00Z", "gap runs at 03:00 CEST (time.Date says 03:30)"},
		{"Europe/Berlin", "2026-03-29T02:59:59", "2026-03-29T01:00:00Z", "gap end runs at 03:00 CEST"},
		{"Europe/Berlin", "2026-03-29T03:00:00", "2026-03-29T01:00:00Z", "first wall time after the gap"},
		{"Europe/Berlin", "2026-10-25T01:59:59", "2026-10-24T23:59:59Z", "before the overlap (CEST)"},
		{"Europe/Berlin", "2026-10-25T02:00:00", "2026-10-25T00:00:00Z", "overlap: first pass (CEST)"},
		{"Europe/Berlin", "2026-10-25T02:30:00", "2026-10-25T00:30:00Z", "overlap: first pass (time.Date says CET)"},
		{"Europe/Berlin", "2026-10-25T03:00:00", "2026-10-25T02:00:00Z", "after the overlap (CET)"},
		{"America/New_York", "2026-03-08T02:30:00", "2026-03-08T07:00:00Z", "gap runs at 03:00 EDT"},
		{"America/New_York", "2026-03-08T03:00:00", "2026-03-08T07:00:00Z", "first wall time after the gap"},
		{"America/New_York", "2026-11-01T01:30:00", "2026-11-01T05:30:00Z", "overlap: first pass (EDT)"},
		{"America/New_York", "2026-11-01T02:00:00", "2026-11-01T07:00:00Z", "after the overlap (EST)"},
		{"Australia/Lord_Howe", "2026-10-04T02:00:00", "2026-10-03T15:30:00Z", "30-minute gap runs at 02:30 +11"},
		{"Australia/Lord_Howe", "2026-10-04T02:15:00", "2026-10-03T15:30:00Z", "30-minute gap runs at 02:30 +11"},
		{"Australia/Lord_Howe", "2026-10-04T02:30:00", "2026-10-03T15:30:00Z", "first wall time after the gap"},
		{"Australia/Lord_Howe", "2026-04-05T01:30:00", "2026-04-04T14:30:00Z", "30-minute overlap: first pass (+11)"},
		{"Australia/Lord_Howe", "2026-04-05T01:45:00", "2026-04-04T14:45:00Z", "30-minute overlap: first pass (+11)"},
		{"Australia/Lord_Howe", "2026-04-05T02:00:00", "2026-04-04T15:30:00Z", "after the overlap (+10:30)"},
		{"Pacific/Apia", "2011-12-30T12:00:00", "2011-12-30T10:00:00Z", "a whole skipped day runs when it ends"},
		{"Pacific/Kiritimati", "2026-07-01T09:00:00", "2026-06-30T19:00:00Z", "UTC+14"},
		{"Etc/GMT+12", "2026-07-01T09:00:00", "2026-07-01T21:00:00Z", "UTC-12"},
		{"Asia/Kathmandu", "2026-07-01T09:00:00", "2026-07-01T03:15:00Z", "UTC+05:45"},
		{"UTC", "2026-07-01T09:00:00", "2026-07-01T09:00:00Z", "no transitions"},
	} {
		got := lt(t, tc.local).In(zone(t, tc.zone))
		if w := utc(t, tc.want); !got.Equal(w) {
			t.Errorf("%s %s: got %s (%s), want %s: %s", tc.local, tc.zone, got.UTC().Format(time.RFC3339), got, tc.want, tc.why)
		}
		if got.Location().String() != tc.zone {
			t.Errorf("%s %s: result in %s, want the zone itself", tc.local, tc.zone, got.Location())
		}
	}
}

// TestLocalTimeInExhaustive walks every quarter hour of a year in zones with
// odd transitions and checks the rules hold everywhere: a wall time that
// exists maps to an instant showing it with no earlier instant showing it,
// and one that does not maps to the transition that skipped it.
func TestLocalTimeInExhaustive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		zone string
		year int
	}{
		{"Europe/Berlin", 2026}, {"America/New_York", 2026}, {"Australia/Lord_Howe", 2026},
		{"Pacific/Chatham", 2026}, {"America/St_Johns", 2026}, {"Antarctica/Troll", 2026},
		{"America/Sao_Paulo", 2018}, {"Pacific/Apia", 2011}, {"Pacific/Kiritimati", 2026},
		{"Etc/GMT+12", 2026}, {"Asia/Kathmandu", 2026},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			t.Parallel()
			loc := zone(t, tc.zone)
			end := time.Date(tc.year+1, 1, 1, 0, 0, 0, 0, time.UTC)
			for w := time.Date(tc.year, 1, 1, 0, 0, 0, 0, time.UTC); w.Before(end); w = w.Add(15 * time.Minute) {
				l := LocalTimeOf(w)
				got := l.In(loc)
				if LocalTimeOf(got.In(loc)) == l {
					for d := 15 * time.Minute; d <= 3*time.Hour; d += 15 * time.Minute {
						if LocalTimeOf(got.Add(-d).In(loc)) == l {
							t.Fatalf("%s: got %s, but %s shows it earlier", l, got, got.Add(-d).In(loc))
						}
					}
					continue
				}
				before := got.Add(-time.Second).In(loc)
				_, offBefore := before.Zone()
				_, offAt := got.Zone()
				if offBefore >= offAt || !LocalTimeOf(before).Before(l) || !l.Before(LocalTimeOf(got)) {
					t.Fatalf("%s: got %s, which is not the end of a gap containing it (1s before: %s)", l, got, before)
				}
			}
		})
	}
}

func TestLoadZone(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "Local", "Mars/Olympus", "../etc/passwd"} {
		if _, err := LoadZone(name); err == nil {
			t.Errorf("LoadZone(%q) accepted", name)
		}
	}
	for _, name := range []string{"UTC", "Europe/Berlin", "Etc/GMT+12", "Pacific/Kiritimati"} {
		if _, err := LoadZone(name); err != nil {
			t.Errorf("LoadZone(%q): %v", name, err)
		}
	}
}
