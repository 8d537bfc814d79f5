package templates

import (
	"os"
	"testing"
	"time"
)

func readTestFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDateFilters(t *testing.T) {
	t.Parallel()
	ny, _ := time.LoadLocation("America/New_York")
	vars := Vars{
		"t":     time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC),
		"tny":   time.Date(2026, 7, 4, 9, 30, 0, 0, ny),
		"unix":  1773500645,
		"unixf": 1773500645.5,
		"iso":   "2026-03-14T15:04:05Z",
		"isotz": "2026-03-14T15:04:05+09:00",
		"day":   "1815-12-10",
		"num":   "1773500645",
		"bad":   "not a date",
		"empty": "",
		"tz":    "Asia/Tokyo",
	}
	for _, tc := range []struct{ src, want string }{
		{`{{ t | date: '%Y-%m-%d %H:%M:%S' }}`, "2026-03-14 15:04:05"},
		{`{{ t | date: '%B %-d, %Y' }}`, "March 14, 2026"},
		{`{{ t | date: '%A %e %b, %I:%M %p' }}`, "Saturday 14 Mar, 03:04 PM"},
		{`{{ t | date: '%-I:%M%P %Z %z' }}`, "3:04pm UTC +0000"},
		{`{{ t | date: '%s' }}`, "1773500645"},
		{`{{ t | date: '%j %U %a %y' }}`, "073 10 Sat 26"},
		{`{{ t | date }}`, "Sat, Mar 14, 26"},
		{`{{ tny | date: '%H:%M %Z' }}`, "09:30 EDT"},
		{`{{ unix | date: '%Y-%m-%dT%H:%M:%S' }}`, "2026-03-14T15:04:05"},
		{`{{ unixf | date: '%S.%L' }}`, "05.500"},
		{`{{ num | date: '%F' }}`, "2026-03-14"},
		{`{{ iso | date: '%d/%m/%Y %H:%M' }}`, "14/03/2026 15:04"},
		{`{{ isotz | date: '%H:%M %z' }}`, "15:04 +0900"},
		{`{{ day | date: '%B %-d' }}`, "December 10"},
		{`{{ 'now' | date: '%Y-%m-%d %H:%M' }}`, "2026-03-14 15:04"},
		{`{{ 'today' | date: '%F' }}`, "2026-03-14"},
		{`{{ 'March 14, 2026' | date: '%F' }}`, "2026-03-14"},
		{`{{ missing | date: '%F' }}`, ""},
		{`{{ empty | date: '%F' }}`, ""},
		{`{{ missing | date: '%F' | default: 'soon' }}`, "soon"},
		{`{{ bad | date: '%F' }}`, "not a date"},
		// time_zone converts before date formats.
		{`{{ t | time_zone: 'America/New_York' | date: '%H:%M %Z' }}`, "11:04 EDT"},
		{`{{ t | time_zone: tz | date: '%Y-%m-%d %H:%M %z' }}`, "2026-03-15 00:04 +0900"},
		{`{{ 'now' | time_zone: 'Europe/Paris' | date: '%H:%M' }}`, "16:04"},
		{`{{ iso | time_zone: 'Australia/Sydney' | date: '%-d %b %H:%M' }}`, "15 Mar 02:04"},
		{`{{ unix | time_zone: 'Asia/Kolkata' | date: '%H:%M' }}`, "20:34"},
		{`{{ t | time_zone: 'Not/AZone' | date: '%H:%M %Z' }}`, "15:04 UTC"},
		{`{{ t | time_zone: missing | date: '%H:%M' }}`, "15:04"},
		{`{{ missing | time_zone: 'Europe/Paris' | date: '%H:%M' }}`, ""},
		{`{{ t | time_zone: 'Europe/Paris' }}`, "2026-03-14 16:04:05 +0100"},
		// Braze's filters page: its examples' inputs, with Ruby strftime's
		// outputs (the page prints "03 June", "1433351621" (a 2015 time) and
		// "Wed August 4 2:00:00", which no strftime produces).
		{`{{ '2021-06-03 17:13:41 UTC' | date: '%b %d' }} {{ '2021-06-03 17:13:41 UTC' | date: '%s' }}`, "Jun 03 1622740421"},
		{`{{ '2021-08-04 9:00:00 UTC' | time_zone: 'America/Los_Angeles' | date: '%a %b %e %T' }}`, "Wed Aug  4 02:00:00"},
		{`{{ '2016-09-07 08:43:50 UTC' | date: '%B %-d, %Y' }}`, "September 7, 2016"},
	} {
		e := New(Options{Now: func() time.Time { return goldenNow }})
		got, err := renderString(t, e, tc.src, vars)
		if err != nil || got != tc.want {
			t.Errorf("%s\n got %q, %v\nwant %q", tc.src, got, err, tc.want)
		}
	}
}

func TestLocationCache(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	if e.location("Europe/Paris") == nil || e.location("Europe/Paris") != e.location("Europe/Paris") {
		t.Error("zone not cached")
	}
	for _, bad := range []string{"", "Local", "Nowhere/Town", "../../etc/passwd"} {
		if e.location(bad) != nil {
			t.Errorf("location(%q) loaded", bad)
		}
	}
}
