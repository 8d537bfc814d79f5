package templates

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/osteele/tuesday"
)

// defaultDateFormat is osteele/liquid's format for date without an argument.
const defaultDateFormat = "%a, %b %d, %y"

// dateLayouts are the string forms date and time_zone accept; a string without
// a zone is UTC.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.000Z",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 -07:00",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"20060102T150405Z",
	time.RFC1123Z,
	time.RFC1123,
	time.RFC850,
	time.RFC822Z,
	time.RFC822,
	time.RubyDate,
	time.UnixDate,
	time.ANSIC,
	"January 2, 2006",
	"January 2 2006",
	"Jan 2, 2006",
	"Jan 2 2006",
	"02 January 2006",
	"02 Jan 2006",
}

// toTime reads a time from a time.Time, Unix seconds (a number or a numeric
// string), "now" or "today" (the engine's clock), or a date string.
func (e *Engine) toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case *time.Time:
		if x != nil {
			return *x, true
		}
	case int:
		return time.Unix(int64(x), 0).UTC(), true
	case int64:
		return time.Unix(x, 0).UTC(), true
	case int32:
		return time.Unix(int64(x), 0).UTC(), true
	case float64:
		return unixFloat(x)
	case float32:
		return unixFloat(float64(x))
	case json.Number:
		return e.parseTime(x.String())
	case string:
		return e.parseTime(x)
	}
	return time.Time{}, false
}

func unixFloat(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

func (e *Engine) parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return time.Time{}, false
	case "now", "today":
		return e.now().UTC(), true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return unixFloat(f)
	}
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// dateFilter formats a time with strftime (osteele/tuesday: %Y %m %d %H %M %S
// %B %b %A %a %e %-d %I %l %p %P %j %Z %z %s and more). A missing value renders
// empty; a value that is not a time is returned unchanged, as in Shopify.
func (e *Engine) dateFilter(v any, format any) (any, error) {
	t, ok := e.toTime(v)
	if !ok {
		if s, isString := v.(string); v == nil || isString && strings.TrimSpace(s) == "" {
			return nil, nil
		}
		return v, nil
	}
	f := defaultDateFormat
	if format != nil {
		f = liquidString(format)
	}
	return tuesday.Strftime(f, t)
}

// timeZoneFilter converts a time (or "now", a date string, Unix seconds) to the
// named IANA zone, for date to format. An unknown zone leaves the time as it is.
func (e *Engine) timeZoneFilter(v any, zone any) any {
	t, ok := e.toTime(v)
	if !ok {
		return v
	}
	if loc := e.location(liquidString(zone)); loc != nil {
		return t.In(loc)
	}
	return t
}

// location loads an IANA zone, caching the ones that exist.
func (e *Engine) location(name string) *time.Location {
	name = strings.TrimSpace(name)
	if name == "" || name == "Local" {
		return nil
	}
	if loc, ok := e.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	e.zones.Store(name, loc)
	return loc
}
