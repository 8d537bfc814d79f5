package scheduler

import (
	"slices"
	"testing"
	"time"
)

func TestOccurrenceKey(t *testing.T) {
	t.Parallel()
	at := utc(t, "2026-03-29T01:00:00Z")
	for _, name := range []string{"UTC", "Europe/Berlin", "Pacific/Kiritimati", "Etc/GMT+12", "Australia/Lord_Howe"} {
		if got := OccurrenceKey(at.In(zone(t, name))); got != "20260329T010000Z" {
			t.Errorf("in %s: %s", name, got)
		}
	}
	back, err := ParseOccurrenceKey(OccurrenceKey(at))
	if err != nil || !back.Equal(at) {
		t.Errorf("round trip: %s, %v", back, err)
	}
	for _, bad := range []string{"", "2026-03-29T01:00:00Z", "20260329T010000", "20261329T010000Z"} {
		if _, err := ParseOccurrenceKey(bad); err == nil {
			t.Errorf("ParseOccurrenceKey(%q) accepted", bad)
		}
	}
	// Every replica computing the gap occurrence gets the same key.
	r := recurrence(t, Spec{Cron: "30 2 * * *", TimeZone: "Europe/Berlin"})
	a, _ := r.Next(utc(t, "2026-03-28T12:00:00Z"))
	b, _ := r.Next(utc(t, "2026-03-29T00:59:59Z"))
	if OccurrenceKey(a) != "20260329T010000Z" || OccurrenceKey(b) != OccurrenceKey(a) {
		t.Errorf("gap occurrence keys %s, %s", OccurrenceKey(a), OccurrenceKey(b))
	}
}

func TestMissed(t *testing.T) {
	t.Parallel()
	hourly := recurrence(t, Spec{Cron: "0 * * * *"})
	daily := recurrence(t, Spec{Cron: "0 10 * * *", InLocalTime: true})
	weekly := recurrence(t, Spec{Cron: "0 10 * * 1", InLocalTime: true})
	bounded := recurrence(t, Spec{Cron: "0 * * * *", EndsAt: utc(t, "2026-05-01T12:00:00Z")})
	for _, tc := range []struct {
		name           string
		r              *Recurrence
		last, now      string
		grace          time.Duration
		fire           string
		skipped        []string
		skippedInOrder bool
	}{
		{name: "within grace", r: hourly, last: "2026-05-01T10:00:00Z", now: "2026-05-01T13:20:00Z", grace: 30 * time.Minute,
			fire: "2026-05-01T13:00:00Z", skipped: []string{"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z"}},
		{name: "grace edge is inclusive", r: hourly, last: "2026-05-01T10:00:00Z", now: "2026-05-01T13:20:00Z", grace: 20 * time.Minute,
			fire: "2026-05-01T13:00:00Z", skipped: []string{"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z"}},
		{name: "past grace", r: hourly, last: "2026-05-01T10:00:00Z", now: "2026-05-01T13:20:00Z", grace: 10 * time.Minute,
			skipped: []string{"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z", "2026-05-01T13:00:00Z"}},
		{name: "negative grace is zero", r: hourly, last: "2026-05-01T10:00:00Z", now: "2026-05-01T11:00:00Z", grace: -time.Hour,
			fire: "2026-05-01T11:00:00Z"},
		{name: "due now", r: hourly, last: "2026-05-01T10:00:00Z", now: "2026-05-01T11:00:00Z", grace: 0,
			fire: "2026-05-01T11:00:00Z"},
		{name: "nothing missed", r: hourly, last: "2026-05-01T13:00:00Z", now: "2026-05-01T13:59:59Z", grace: time.Hour},
		{name: "last fired is not missed again", r: hourly, last: "2026-05-01T13:00:00Z", now: "2026-05-01T13:00:00Z", grace: time.Hour},
		{name: "never fired, within grace", r: hourly, now: "2026-05-01T13:20:00Z", grace: 30 * time.Minute,
			fire: "2026-05-01T13:00:00Z"},
		{name: "never fired, past grace", r: hourly, now: "2026-05-01T13:20:00Z", grace: 10 * time.Minute},
		{name: "ends_at bounds what was missed", r: bounded, last: "2026-05-01T10:00:00Z", now: "2026-05-01T18:00:00Z", grace: time.Hour,
			skipped: []string{"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z"}},
		// A daily local-time occurrence: the most recent first wave fires.
		{name: "local time: daily", r: daily, last: "2026-06-28T20:00:00Z", now: "2026-07-01T19:00:00Z", grace: 0,
			fire: "2026-06-30T20:00:00Z", skipped: []string{"2026-06-29T20:00:00Z"}},
		// Monday 29 June 10:00: first wave 2026-06-28T20:00Z (UTC+14), last
		// wave WaveSpan later, 2026-06-29T22:00Z (UTC−12).
		{name: "local time: zones still ahead", r: weekly, last: "2026-06-14T20:00:00Z", now: "2026-06-29T21:00:00Z", grace: 0,
			fire: "2026-06-28T20:00:00Z", skipped: []string{"2026-06-21T20:00:00Z"}},
		{name: "local time: last wave plus grace passed", r: weekly, last: "2026-06-14T20:00:00Z", now: "2026-06-29T22:30:01Z", grace: 30 * time.Minute,
			skipped: []string{"2026-06-21T20:00:00Z", "2026-06-28T20:00:00Z"}},
	} {
		var last time.Time
		if tc.last != "" {
			last = utc(t, tc.last)
		}
		fire, skipped := Missed(tc.r, last, utc(t, tc.now), tc.grace)
		var gotFire string
		if fire != nil {
			gotFire = fire.UTC().Format(time.RFC3339)
		}
		if gotFire != tc.fire {
			t.Errorf("%s: fire %q, want %q", tc.name, gotFire, tc.fire)
		}
		if got := instants(skipped); !slices.Equal(got, tc.skipped) && (len(got) > 0 || len(tc.skipped) > 0) {
			t.Errorf("%s: skipped %v, want %v", tc.name, got, tc.skipped)
		}
	}
}

// TestMissedCap: a minutely spec down for a week reports the most recent
// MaxSkipped occurrences it skipped, oldest first.
func TestMissedCap(t *testing.T) {
	t.Parallel()
	r := recurrence(t, Spec{Cron: "* * * * *"})
	now := utc(t, "2026-05-08T00:00:00Z")
	fire, skipped := Missed(r, utc(t, "2026-05-01T00:00:00Z"), now, time.Minute)
	if fire == nil || !fire.Equal(now) {
		t.Fatalf("fire %v, want %s", fire, now)
	}
	if len(skipped) != MaxSkipped {
		t.Fatalf("%d skipped, want %d", len(skipped), MaxSkipped)
	}
	if first, last := skipped[0], skipped[len(skipped)-1]; !first.Equal(now.Add(-MaxSkipped*time.Minute)) || !last.Equal(now.Add(-time.Minute)) {
		t.Errorf("skipped from %s to %s", first, last)
	}
	for i := 1; i < len(skipped); i++ {
		if skipped[i].Sub(skipped[i-1]) != time.Minute {
			t.Fatalf("gap between %s and %s", skipped[i-1], skipped[i])
		}
	}
}

// TestMissedAcrossDST: downtime over Berlin's fall-back night skips the
// repeated hour's second pass like a running scheduler would.
func TestMissedAcrossDST(t *testing.T) {
	t.Parallel()
	r := recurrence(t, Spec{Cron: "*/30 1-3 * * *", TimeZone: "Europe/Berlin"})
	fire, skipped := Missed(r, utc(t, "2026-10-24T22:00:00Z"), utc(t, "2026-10-25T02:10:00Z"), 15*time.Minute)
	want := []string{ // 01:00, 01:30, 02:00, 02:30 CEST; the CET pass of 02:xx dropped
		"2026-10-24T23:00:00Z", "2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z",
	}
	if fire == nil || !fire.Equal(utc(t, "2026-10-25T02:00:00Z")) { // 03:00 CET
		t.Errorf("fire %v", fire)
	}
	if !slices.Equal(instants(skipped), want) {
		t.Errorf("skipped %v, want %v", instants(skipped), want)
	}
}
