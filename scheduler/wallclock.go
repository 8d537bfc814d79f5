package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zones resolve the same on hosts without a zoneinfo database
)

// LocalTime is a wall-clock date and time with no zone: "2026-03-29T02:30:00"
// is the moment each zone reaches 02:30 on that date. It has second precision.
type LocalTime struct {
	Year   int
	Month  time.Month
	Day    int
	Hour   int
	Minute int
	Second int
}

// localLayouts are the forms ParseLocalTime accepts, tried in order.
var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04",
}

// ParseLocalTime reads a wall-clock time: a date and HH:MM or HH:MM:SS,
// separated by 'T' or a space. A fraction of a second is dropped. A zone
// designator ("Z", "+02:00") is an error: Braze asks for local-time sends
// to carry none, and silently ignoring one would hide a mistake.
func ParseLocalTime(s string) (LocalTime, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return LocalTime{}, errors.New("empty local time")
	}
	for _, layout := range localLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return LocalTimeOf(t), nil
		}
	}
	if hasZoneDesignator(s) {
		return LocalTime{}, fmt.Errorf("local time %q has a zone designator: a local time is a wall clock with no zone (e.g. 2026-03-29T09:00:00)", s)
	}
	return LocalTime{}, fmt.Errorf("local time %q: want YYYY-MM-DDTHH:MM[:SS]", s)
}

// hasZoneDesignator reports whether s parses once a zone is allowed.
func hasZoneDesignator(s string) bool {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// LocalTimeOf is the wall clock of t in t's own location.
func LocalTimeOf(t time.Time) LocalTime {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return LocalTime{Year: y, Month: mo, Day: d, Hour: h, Minute: mi, Second: s}
}

// String formats l as YYYY-MM-DDTHH:MM:SS.
func (l LocalTime) String() string {
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", l.Year, int(l.Month), l.Day, l.Hour, l.Minute, l.Second)
}

// MarshalText writes l as String does.
func (l LocalTime) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads l as ParseLocalTime does.
func (l *LocalTime) UnmarshalText(b []byte) error {
	v, err := ParseLocalTime(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// AddDays is the same wall-clock time n days later (earlier when n < 0).
func (l LocalTime) AddDays(n int) LocalTime {
	return LocalTimeOf(l.floating().AddDate(0, 0, n))
}

// Before reports whether l is earlier on the wall clock than m.
func (l LocalTime) Before(m LocalTime) bool { return l.floating().Before(m.floating()) }

// In is the instant loc's clocks show l, under Herald's DST rules: a wall
// time in a spring-forward gap maps to the first instant after the gap (the
// transition itself), and a wall time that occurs twice on the fall-back day
// maps to its first instant. Out-of-range fields normalize as in time.Date.
func (l LocalTime) In(loc *time.Location) time.Time {
	return resolve(l.floating(), loc)
}

// floating is l written as a UTC time: wall-clock arithmetic without DST.
func (l LocalTime) floating() time.Time {
	return time.Date(l.Year, l.Month, l.Day, l.Hour, l.Minute, l.Second, 0, time.UTC)
}

// floatingOf is t's wall clock in its own location, written as UTC.
func floatingOf(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// offsetReach bounds every offset tzdata has ever used (local mean times
// included), so the instant showing a wall time lies within it.
const offsetReach = 27 * 3600

// resolve is the instant loc's clocks show the wall time w (w written as UTC).
// time.Date leaves gaps and overlaps unspecified (measured: 02:30 in Berlin's
// gap gives 03:30 CEST, and its overlap picks the second instant while New
// York's picks the first), so this walks loc's zone periods itself.
func resolve(w time.Time, loc *time.Location) time.Time {
	ws := w.Unix()
	t := time.Unix(ws-offsetReach, 0).In(loc)
	prevOff, havePrev := int64(0), false
	for {
		_, o := t.Zone()
		off := int64(o)
		start, end := t.ZoneBounds()
		// The instant with this period's offset that shows w; the first such
		// instant found, in time order, is the earliest (the overlap rule).
		if u := ws - off; (start.IsZero() || u >= start.Unix()) && (end.IsZero() || u < end.Unix()) {
			return time.Unix(u, int64(w.Nanosecond())).In(loc)
		}
		// w lies between the previous period's last wall time and this
		// period's first one: the spring-forward gap, resolved to its end.
		if havePrev && !start.IsZero() && ws >= start.Unix()+prevOff && ws < start.Unix()+off {
			return start.In(loc)
		}
		if end.IsZero() || end.Unix() > ws+offsetReach {
			break
		}
		prevOff, havePrev = off, true
		t = end.In(loc)
	}
	// Unreachable with tzdata's zones; time.Date is the best remaining guess.
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
}

// LoadZone loads an IANA zone by name. The empty name (which
// time.LoadLocation reads as UTC) and "Local" (the host's zone) are errors:
// a campaign's zone must mean the same thing on every machine.
func LoadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, errors.New("empty time zone name")
	case "Local":
		return nil, errors.New(`time zone "Local" depends on the host: name an IANA zone`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %w", name, err)
	}
	return loc, nil
}
