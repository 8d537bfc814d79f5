package segments

import (
	"encoding/json"
	"math"
	"sort"
	"strings"

	"github.com/herald-oss/herald/profiles"
)

// leafInput is one leaf's fields while they are read.
type leafInput struct {
	p      *parser
	path   string
	fields map[string]any
	used   map[string]bool
}

func (l *leafInput) bad(field, format string, args ...any) {
	l.p.add(child(l.path, field), format, args...)
}

// unused reports fields no parser read.
func (l *leafInput) unused() {
	var extra []string
	for k := range l.fields {
		if !l.used[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		l.bad(k, "unknown field")
	}
}

func (l *leafInput) get(field string) (any, bool) {
	l.used[field] = true
	v, ok := l.fields[field]
	return v, ok
}

// str reads a required non-empty string.
func (l *leafInput) str(field string) string {
	v, ok := l.get(field)
	if !ok {
		l.bad(field, "required")
		return ""
	}
	s, ok := v.(string)
	if !ok || s == "" {
		l.bad(field, "want a non-empty string")
		return ""
	}
	return s
}

// optStr reads an optional non-empty string.
func (l *leafInput) optStr(field string) string {
	if _, ok := l.fields[field]; !ok {
		l.used[field] = true
		return ""
	}
	return l.str(field)
}

// whole reads a required whole number in [lo, hi].
func (l *leafInput) whole(field string, lo, hi int64) int64 {
	v, ok := l.get(field)
	if !ok {
		l.bad(field, "required")
		return 0
	}
	f, ok := number(v)
	if !ok || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		l.bad(field, "want a whole number from %d to %d", lo, hi)
		return 0
	}
	return int64(f)
}

// num reads a required finite number.
func (l *leafInput) num(field string) float64 {
	v, ok := l.get(field)
	if !ok {
		l.bad(field, "required")
		return 0
	}
	f, ok := number(v)
	if !ok {
		l.bad(field, "want a number")
	}
	return f
}

// comparison reads "comparison" from one of the allowed sets; what names the
// type for the error.
func (l *leafInput) comparison(allowed map[string]cmp, what string) cmp {
	name := l.str("comparison")
	if name == "" {
		return cNone
	}
	c, ok := allowed[name]
	if !ok {
		names := make([]string, 0, len(allowed))
		for k := range allowed {
			names = append(names, k)
		}
		sort.Strings(names)
		l.bad("comparison", "unknown comparison %q for %s (want one of %s)", name, what, strings.Join(names, ", "))
		return cNone
	}
	return c
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// timeValue reads a required time, in any ISO 8601 form ingestion accepts
// (Braze writes 2019-07-22T13:17:55+0000); the result is Unix milliseconds.
func (l *leafInput) timeValue(field string) int64 {
	s := l.str(field)
	if s == "" {
		return 0
	}
	t, ok := profiles.ParseTime(s)
	if !ok {
		l.bad(field, "want an ISO 8601 time (2026-01-02T15:04:05Z), got %q", s)
		return 0
	}
	return t.UnixMilli()
}

// maxDays bounds "x days" values (about 100 years).
const maxDays = 36500

// timeCmpValue reads the value of a time comparison into n.
func (l *leafInput) timeCmpValue(n *node) {
	switch n.cmp {
	case cBefore, cAfter:
		n.ms = l.timeValue("value")
	case cLtDaysAgo, cGtDaysAgo, cLtDaysFuture, cGtDaysFuture:
		n.days = l.whole("value", 0, maxDays)
	default:
		l.used["value"] = true
	}
}

var leafParsers = map[string]func(*leafInput) *node{
	"custom_attribute":          parseCustom,
	"attribute":                 parseAttr,
	"push_subscription_status":  func(l *leafInput) *node { return parseStatus(l, kPushSub) },
	"email_subscription_status": func(l *leafInput) *node { return parseStatus(l, kEmailSub) },
	"push_enabled":              parsePushEnabled,
	"last_used_app":             func(l *leafInput) *node { return parseUsed(l, kLastUsed) },
	"first_used_app":            func(l *leafInput) *node { return parseUsed(l, kFirstUsed) },
	"session_count":             parseSessionCount,
	"sessions_in_last_x_days":   parseSessionsInDays,
	"custom_event":              parseEvent,
	"custom_event_last_did":     func(l *leafInput) *node { return parseDid(l, kEventLast) },
	"custom_event_first_did":    func(l *leafInput) *node { return parseDid(l, kEventFirst) },
	"purchase":                  parsePurchase,
	"money_spent":               parseMoney,
	"random_bucket":             parseBucket,
	"segment":                   parseSegment,
}
