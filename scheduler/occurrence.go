package scheduler

import (
	"fmt"
	"time"
)

// occurrenceLayout is an occurrence key: UTC, to the second, no colons (the
// key is one segment of a "dispatch:<campaign>:<occurrence>" TaskID).
const occurrenceLayout = "20060102T150405Z"

// OccurrenceKey names an occurrence the same way on every replica, whatever
// zone t is expressed in: its UTC instant to the second, e.g.
// "20260329T010000Z". Occurrences are whole seconds, so no two share a key.
// An in_local_time occurrence is keyed by its first wave's instant, which
// names its wall time as uniquely.
func OccurrenceKey(t time.Time) string { return t.UTC().Format(occurrenceLayout) }

// ParseOccurrenceKey reads a key written by OccurrenceKey back to its instant.
func ParseOccurrenceKey(key string) (time.Time, error) {
	t, err := time.Parse(occurrenceLayout, key)
	if err != nil {
		return time.Time{}, fmt.Errorf("occurrence key %q: want YYYYMMDDTHHMMSSZ", key)
	}
	return t, nil
}

// MaxSkipped bounds the skipped occurrences Missed reports: the most recent
// ones are kept. (A minutely spec down for a week misses 10,080.)
const MaxSkipped = 1000

// Missed is what a scheduler does after downtime: the occurrences t with
// lastFired < t <= now were all missed. The most recent is fired when now is
// within grace of it (for an in_local_time recurrence: within grace of its
// last wave, WaveSpan after its first, so the zones still ahead get it);
// every other missed occurrence is returned in skipped, oldest first, at
// most MaxSkipped of them (the most recent).
//
// A zero lastFired (never fired) looks back only as far as an occurrence
// could still fire: nothing older is reported as skipped.
func Missed(r *Recurrence, lastFired, now time.Time, grace time.Duration) (fire *time.Time, skipped []time.Time) {
	window := max(grace, 0)
	if r.InLocalTime() {
		window += WaveSpan
	}
	from := lastFired
	if from.IsZero() {
		from = now.Add(-window - time.Nanosecond)
	}
	var last time.Time
	for t := from; ; {
		next, ok := r.Next(t)
		if !ok || next.After(now) {
			break
		}
		if !last.IsZero() {
			skipped = append(skipped, last)
			if len(skipped) >= 2*MaxSkipped {
				skipped = append(skipped[:0], skipped[MaxSkipped:]...)
			}
		}
		last, t = next, next
	}
	if !last.IsZero() {
		if now.Sub(last) <= window {
			fire = &last
		} else {
			skipped = append(skipped, last)
		}
	}
	if len(skipped) > MaxSkipped {
		skipped = skipped[len(skipped)-MaxSkipped:]
	}
	return fire, skipped
}
