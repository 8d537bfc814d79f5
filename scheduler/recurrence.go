package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
)

// Spec is a campaign's recurring schedule as written:
// recurring {cron, time_zone | in_local_time, starts_at, ends_at}.
type Spec struct {
	// Cron is a 5-field spec (minute hour day-of-month month day-of-week) or
	// a descriptor (@hourly, @daily, @midnight, @weekly, @monthly, @yearly,
	// @annually), optionally prefixed "CRON_TZ=Zone " or "TZ=Zone ".
	Cron string `json:"cron" yaml:"cron"`
	// TimeZone is the IANA zone the spec's wall clock is read in. Empty
	// (and no CRON_TZ prefix) means UTC.
	TimeZone string `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	// InLocalTime reads the spec in each user's own zone: an occurrence is a
	// wall time, sent as waves (see WaveTimes). Excludes TimeZone and CRON_TZ.
	InLocalTime bool `json:"in_local_time,omitempty" yaml:"in_local_time,omitempty"`
	// StartsAt, when set, is the earliest occurrence (inclusive).
	StartsAt time.Time `json:"starts_at,omitzero" yaml:"starts_at,omitempty"`
	// EndsAt, when set, is the latest occurrence (inclusive).
	EndsAt time.Time `json:"ends_at,omitzero" yaml:"ends_at,omitempty"`
}

// FieldError is a problem with one field of a Spec; Field is the field's
// JSON name ("cron", "time_zone", "starts_at", "ends_at").
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the underlying problem.
func (e *FieldError) Unwrap() error { return e.Err }

// firstWaveZone is the zone whose clocks are furthest ahead (UTC+14, as in
// Pacific/Kiritimati): every wall time reaches it first. An in_local_time
// recurrence is evaluated on its clock, so its occurrences are the first
// waves' instants.
var firstWaveZone = time.FixedZone("UTC+14", 14*3600)

// lastWaveZone is the zone whose clocks are furthest behind (UTC−12, as in
// Etc/GMT+12): every wall time reaches it last.
var lastWaveZone = time.FixedZone("UTC-12", -12*3600)

// WaveSpan is how long a wall time takes to sweep from firstWaveZone to
// lastWaveZone.
const WaveSpan = 26 * time.Hour

// Recurrence is a parsed recurring schedule. It is immutable and safe for
// concurrent use.
type Recurrence struct {
	spec  Spec
	wall  cron.SpecSchedule // Location UTC: matches wall clocks, not instants
	loc   *time.Location    // where the wall clock is read
	start time.Time
	end   time.Time
}

// parser reads 5-field specs and descriptors; the zone prefix is split off
// before it sees the spec.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseRecurrence checks every field of s and returns all problems at once,
// each a *FieldError naming its field.
func ParseRecurrence(s Spec) (*Recurrence, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	r := &Recurrence{spec: s, loc: time.UTC, start: s.StartsAt, end: s.EndsAt}

	if s.TimeZone != "" {
		if s.InLocalTime {
			bad("time_zone", "set either time_zone or in_local_time, not both")
		} else if loc, err := LoadZone(s.TimeZone); err != nil {
			bad("time_zone", "%w", err)
		} else {
			r.loc = loc
		}
	}

	zone, body, err := splitZonePrefix(s.Cron)
	switch {
	case err != nil:
		bad("cron", "%w", err)
	case zone != "" && s.InLocalTime:
		bad("cron", "a CRON_TZ= prefix conflicts with in_local_time")
	case zone != "" && s.TimeZone != "" && zone != s.TimeZone:
		bad("cron", "CRON_TZ=%s conflicts with time_zone %q", zone, s.TimeZone)
	case zone != "":
		if loc, err := LoadZone(zone); err != nil {
			bad("cron", "%w", err)
		} else {
			r.loc = loc
		}
	}
	if err == nil {
		if sched, err := parseWall(body); err != nil {
			bad("cron", "%w", err)
		} else {
			r.wall = *sched
		}
	}
	if s.InLocalTime {
		r.loc = firstWaveZone
	}

	if !s.StartsAt.IsZero() && !s.EndsAt.IsZero() && s.EndsAt.Before(s.StartsAt) {
		bad("ends_at", "%s is before starts_at %s", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// splitZonePrefix splits "CRON_TZ=Zone spec" (or "TZ=") into the zone name
// and the spec. robfig/cron parses the prefix itself but panics on a prefix
// with no spec after it and reads "CRON_TZ= ..." as UTC.
func splitZonePrefix(spec string) (zone, body string, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return "", "", errors.New("required")
	}
	var rest string
	switch {
	case strings.HasPrefix(spec, "CRON_TZ="):
		rest = spec[len("CRON_TZ="):]
	case strings.HasPrefix(spec, "TZ="):
		rest = spec[len("TZ="):]
	default:
		return "", spec, nil
	}
	if i := strings.IndexFunc(rest, unicode.IsSpace); i >= 0 {
		zone, body = rest[:i], rest[i:]
	} else {
		zone = rest
	}
	if zone == "" {
		return "", "", errors.New("the CRON_TZ= prefix names no zone")
	}
	if body = strings.TrimSpace(body); body == "" {
		return "", "", fmt.Errorf("no schedule after CRON_TZ=%s", zone)
	}
	return zone, body, nil
}

// parseWall parses a spec with no zone prefix into a schedule that matches
// wall clocks (its Location is UTC, so it never meets a DST transition).
func parseWall(spec string) (_ *cron.SpecSchedule, err error) {
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		return nil, errors.New("more than one CRON_TZ= prefix")
	}
	defer func() {
		if p := recover(); p != nil { // robfig/cron panics on some malformed specs
			err = fmt.Errorf("%q: malformed spec (%v)", spec, p)
		}
	}()
	sched, err := parser.Parse(spec)
	if err != nil {
		return nil, err
	}
	s, ok := sched.(*cron.SpecSchedule)
	if !ok {
		// @every: an interval counted from whenever Next is asked, so two
		// replicas (or one after a restart) would disagree on occurrences.
		return nil, fmt.Errorf("%q is not supported: an interval has no wall-clock occurrences that every replica agrees on; use a 5-field spec (e.g. */30 * * * *)", spec)
	}
	wall := *s
	wall.Location = time.UTC
	if wall.Next(time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("%q matches no date (e.g. 30 February)", spec)
	}
	return &wall, nil
}

// Spec returns the schedule as it was written.
func (r *Recurrence) Spec() Spec { return r.spec }

// Location is the zone the spec's wall clock is read in: the campaign's
// zone, or a fixed UTC+14 zone (the first to reach any wall time) for an
// in_local_time recurrence.
func (r *Recurrence) Location() *time.Location { return r.loc }

// InLocalTime reports whether each occurrence is sent in users' own zones.
func (r *Recurrence) InLocalTime() bool { return r.spec.InLocalTime }

// LocalTime is the wall clock of an occurrence on the recurrence's own
// clock. For an in_local_time recurrence it is the wall time every zone's
// wave targets (pass it to WaveTimes or PlanWaves).
func (r *Recurrence) LocalTime(occurrence time.Time) LocalTime {
	return LocalTimeOf(occurrence.In(r.loc))
}

// Next is the first occurrence strictly after after, and false when there
// is none before ends_at (or within five years, robfig/cron's horizon). The
// spec is matched against the wall clock; each matching wall time maps to an
// instant by LocalTime.In's DST rules, and wall times mapping to an instant
// already reached are dropped: the gap's times all run once, at its end, and
// the fall-back day's repeated times run only in their first pass.
func (r *Recurrence) Next(after time.Time) (time.Time, bool) {
	if !r.start.IsZero() && after.Before(r.start) {
		after = r.start.Add(-time.Nanosecond) // starts_at itself may occur
	}
	w := floatingOf(after.In(r.loc))
	for {
		w = r.wall.Next(w)
		if w.IsZero() {
			return time.Time{}, false
		}
		t := resolve(w, r.loc)
		if !t.After(after) {
			continue // an overlap's second pass, or a gap already run
		}
		if !r.end.IsZero() && t.After(r.end) {
			return time.Time{}, false
		}
		return t, true
	}
}

// Occurrences lists the occurrences t with from < t <= to, at most max of
// them (the earliest), in order. max <= 0 lists none.
func (r *Recurrence) Occurrences(from, to time.Time, max int) []time.Time {
	var out []time.Time
	for t := from; len(out) < max; {
		next, ok := r.Next(t)
		if !ok || next.After(to) {
			break
		}
		out = append(out, next)
		t = next
	}
	return out
}
