package scheduler

import (
	"testing"
	"time"
)

// utc parses an RFC 3339 instant.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// lt parses a wall-clock time.
func lt(t testing.TB, s string) LocalTime {
	t.Helper()
	v, err := ParseLocalTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// zone loads an IANA zone.
func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// recurrence parses a Spec that must be valid.
func recurrence(t testing.TB, s Spec) *Recurrence {
	t.Helper()
	r, err := ParseRecurrence(s)
	if err != nil {
		t.Fatalf("ParseRecurrence(%+v): %v", s, err)
	}
	return r
}

// instants formats times as UTC RFC 3339 for comparison and messages.
func instants(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, v := range ts {
		out[i] = v.UTC().Format(time.RFC3339)
	}
	return out
}
