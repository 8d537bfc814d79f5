package campaigns

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/herald-oss/herald/scheduler"
)

// Rules are a campaign's delivery rules, checked by the worker before a
// message is claimed; what they stop is recorded as an abort with its reason.
// They sit at the top level of a campaign's JSON.
type Rules struct {
	// OverrideFrequencyCapping exempts the campaign from the global
	// frequency capping rules (config frequency_capping).
	OverrideFrequencyCapping bool `json:"override_frequency_capping,omitempty"`
	// ReEligibility: absent, a user may receive every dispatch of the
	// campaign; {"never": true}, only the first; {"after": "7d"}, again once
	// that long has passed since the last one.
	ReEligibility *ReEligibility `json:"re_eligibility,omitempty"`
	// RateLimit caps the campaign's messages per minute, shared by every
	// worker; messages over it wait for the next minute (aborted as
	// rate_limit when still waiting 72 hours after the dispatch began).
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
	// QuietHours holds or aborts push messages while it is between Start and
	// End in the user's time zone (the company zone when unknown).
	QuietHours *QuietHours `json:"quiet_hours,omitempty"`
	// ConversionEvents (at most 4) count users who, within the window after
	// the campaign was sent to them, did a custom event, a purchase or
	// started a session: once per user, campaign and conversion event.
	ConversionEvents []ConversionEvent `json:"conversion_events,omitempty"`
}

// Conversion event types.
const (
	ConversionCustomEvent  = "custom_event"
	ConversionPurchase     = "purchase"
	ConversionSessionStart = "session_start"
)

// ConversionEvent is one conversion a campaign counts.
type ConversionEvent struct {
	Type string `json:"type"`
	// Name is the custom event's name; for a purchase, a product id (empty:
	// any purchase); none for session_start.
	Name string `json:"name,omitempty"`
	// Window is how long after the send it counts: "30m", "12h", "3d"; at
	// most 30 days.
	Window string `json:"window"`
}

// maxConversionEvents and maxConversionWindow are Braze's limits.
const (
	maxConversionEvents = 4
	maxConversionWindow = 30 * 24 * time.Hour
)

// ReEligibility says when a user may receive a campaign again.
type ReEligibility struct {
	Never bool   `json:"never,omitempty"`
	After string `json:"after,omitempty"` // a window: "30m", "12h", "7d", "2w"
}

// RateLimit is a campaign's send rate.
type RateLimit struct {
	PerMinute int `json:"per_minute"`
}

// Quiet hours actions.
const (
	QuietHold  = "hold"
	QuietAbort = "abort"
)

// QuietHours is a daily window in the user's time zone.
type QuietHours struct {
	Start  string `json:"start"` // HH:MM
	End    string `json:"end"`   // HH:MM; before Start: the window spans midnight
	Action string `json:"action"`
}

// rateLimitGiveUp is how long a rate-limited message may wait.
const rateLimitGiveUp = 72 * time.Hour

var windowRe = regexp.MustCompile(`^([1-9][0-9]{0,4})([mhdw])$`)

// Window is a frequency-capping or re-eligibility window: N minutes or
// hours (rolling), or N days or weeks counted in the user's time zone (from
// the start of the day N-1 days ago).
type Window struct {
	N    int
	Unit byte // 'm', 'h', 'd' or 'w'
}

// ParseWindow reads "30m", "12h", "7d" or "2w".
func ParseWindow(s string) (Window, error) {
	m := windowRe.FindStringSubmatch(s)
	if m == nil {
		return Window{}, fmt.Errorf(`want a number and a unit m, h, d or w ("30m", "1d", "2w"), got %q`, s)
	}
	n, _ := strconv.Atoi(m[1])
	w := Window{N: n, Unit: m[2][0]}
	if w.span() > 366*24*time.Hour {
		return Window{}, fmt.Errorf("at most a year, got %q", s)
	}
	return w, nil
}

func (w Window) span() time.Duration {
	switch w.Unit {
	case 'm':
		return time.Duration(w.N) * time.Minute
	case 'h':
		return time.Duration(w.N) * time.Hour
	case 'd':
		return time.Duration(w.N) * 24 * time.Hour
	}
	return time.Duration(w.N) * 7 * 24 * time.Hour
}

// Since is the start of the window ending at now for a user in loc.
func (w Window) Since(now time.Time, loc *time.Location) time.Time {
	switch w.Unit {
	case 'm', 'h':
		return now.Add(-w.span())
	}
	days := w.N
	if w.Unit == 'w' {
		days *= 7
	}
	l := scheduler.LocalTimeOf(now.In(loc)).AddDays(-(days - 1))
	l.Hour, l.Minute, l.Second = 0, 0, 0
	return l.In(loc)
}

// clock is a wall-clock time of day, in minutes after midnight.
type clock int

func parseClock(s string) (clock, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	return clock(t.Hour()*60 + t.Minute()), nil
}

// quietUntil reports whether now is inside the quiet hours in loc and, if
// so, when they end.
func (q *QuietHours) quietUntil(now time.Time, loc *time.Location) (time.Time, bool) {
	start, err1 := parseClock(q.Start)
	end, err2 := parseClock(q.End)
	if err1 != nil || err2 != nil || start == end {
		return time.Time{}, false
	}
	local := now.In(loc)
	cur := clock(local.Hour()*60 + local.Minute())
	inside := start < end && cur >= start && cur < end || start > end && (cur >= start || cur < end)
	if !inside {
		return time.Time{}, false
	}
	l := scheduler.LocalTimeOf(local)
	if cur >= end { // the window ends tomorrow
		l = l.AddDays(1)
	}
	l.Hour, l.Minute, l.Second = int(end)/60, int(end)%60, 0
	return l.In(loc), true
}

// validateRules checks a campaign's rules.
func validateRules(r Rules, ps *problems) {
	if e := r.ReEligibility; e != nil {
		switch {
		case e.Never && e.After != "":
			ps.add("re_eligibility", "give never or after, not both")
		case !e.Never && e.After == "":
			ps.add("re_eligibility", `give {"never": true} or {"after": "7d"}`)
		case e.After != "":
			if _, err := ParseWindow(e.After); err != nil {
				ps.add("re_eligibility.after", "%v", err)
			}
		}
	}
	if r.RateLimit != nil && (r.RateLimit.PerMinute < 1 || r.RateLimit.PerMinute > 10_000_000) {
		ps.add("rate_limit.per_minute", "must be between 1 and 10000000, got %d", r.RateLimit.PerMinute)
	}
	if len(r.ConversionEvents) > maxConversionEvents {
		ps.add("conversion_events", "at most %d, got %d", maxConversionEvents, len(r.ConversionEvents))
	}
	for i, c := range r.ConversionEvents {
		path := fmt.Sprintf("conversion_events[%d]", i)
		switch c.Type {
		case ConversionCustomEvent:
			if c.Name == "" {
				ps.add(path+".name", "required for a custom_event conversion")
			}
		case ConversionPurchase, ConversionSessionStart:
		default:
			ps.add(path+".type", "want custom_event, purchase or session_start, got %q", c.Type)
		}
		if w, err := ParseWindow(c.Window); err != nil {
			ps.add(path+".window", "%v", err)
		} else if w.span() > maxConversionWindow {
			ps.add(path+".window", "at most 30 days, got %q", c.Window)
		}
	}
	if q := r.QuietHours; q != nil {
		s, err := parseClock(q.Start)
		if err != nil {
			ps.add("quiet_hours.start", "%v", err)
		}
		e, err := parseClock(q.End)
		if err != nil {
			ps.add("quiet_hours.end", "%v", err)
		}
		if err == nil && s == e {
			ps.add("quiet_hours.end", "must differ from start")
		}
		if q.Action != QuietHold && q.Action != QuietAbort {
			ps.add("quiet_hours.action", "want hold or abort, got %q", q.Action)
		}
	}
}
