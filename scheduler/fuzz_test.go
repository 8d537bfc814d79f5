package scheduler

import (
	"testing"
	"time"
)

// FuzzParseLocalTime: whatever the input, no panic, and what parses prints
// back to itself.
func FuzzParseLocalTime(f *testing.F) {
	for _, s := range []string{"2026-03-29T02:30:00", "2026-03-29 02:30", "2026-03-29T02:30:00Z", "", "9999-12-31T23:59:59.9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLocalTime(s)
		if err != nil {
			return
		}
		back, err := ParseLocalTime(l.String())
		if err != nil || back != l {
			t.Fatalf("%q -> %s -> %v, %v", s, l, back, err)
		}
	})
}

// FuzzParseRecurrence: whatever the spec, no panic (robfig/cron panics on
// some), and a valid one yields increasing occurrences strictly after from.
func FuzzParseRecurrence(f *testing.F) {
	for _, s := range []string{"0 9 * * *", "CRON_TZ=Europe/Berlin 30 2 * * *", "CRON_TZ=UTC", "TZ=", "@every 1s",
		"*/7 1-3 * * sun", "0 0 29 2 *", "CRON_TZ=Australia/Lord_Howe 15 2 * * *"} {
		f.Add(s, "", false, int64(1774742400))
	}
	f.Fuzz(func(t *testing.T, cronSpec, tz string, local bool, fromUnix int64) {
		r, err := ParseRecurrence(Spec{Cron: cronSpec, TimeZone: tz, InLocalTime: local})
		if err != nil {
			return
		}
		from := time.Unix(fromUnix%(1<<34), 0) // within a few centuries
		prev := from
		for range 5 {
			next, ok := r.Next(prev)
			if !ok {
				return
			}
			if !next.After(prev) {
				t.Fatalf("%q: Next(%s) = %s", cronSpec, prev, next)
			}
			prev = next
		}
	})
}
