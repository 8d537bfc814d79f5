package campaigns

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/herald-oss/herald/scheduler"
)

// actionFields are the fields of an action_based schedule.
type actionFields struct {
	EventName       string           `json:"event_name"`
	PropertyFilters []PropertyFilter `json:"property_filters"`
	// Delay is a duration ("1h", "90m", "2d", "1d12h", "0") or "next day at
	// HH:MM" in the user's time zone.
	Delay           string     `json:"delay"`
	ExceptionEvents []string   `json:"exception_events"`
	WindowStart     *time.Time `json:"window_start"`
	WindowEnd       *time.Time `json:"window_end"`
	// TriggerType is custom_event (the default, and the only trigger of
	// server-side sends) or, for in-app messages the SDK shows,
	// session_start, purchase (of ProductID, or any) or push_click (on a
	// push of PushCampaignID, or any).
	TriggerType    string `json:"trigger_type"`
	ProductID      string `json:"product_id"`
	PushCampaignID string `json:"push_campaign_id"`
}

// triggerType is the trigger, custom_event when not given.
func (f actionFields) triggerType() string {
	if f.TriggerType == "" {
		return TriggerCustomEvent
	}
	return f.TriggerType
}

// PropertyFilter narrows the events that trigger an action-based campaign
// by one of their properties.
type PropertyFilter struct {
	Property   string `json:"property"`
	Comparison string `json:"comparison"`
	Value      any    `json:"value"`
}

// Property filter comparisons.
var comparisons = map[string]bool{"equals": true, "not_equal": true, "greater_than": true, "greater_than_or_equal_to": true,
	"less_than": true, "less_than_or_equal_to": true, "exists": true, "does_not_exist": true, "contains": true}

// maxDelay bounds an action-based delay (Braze allows up to 30 days).
const maxDelay = 30 * 24 * time.Hour

// delay is a parsed action-based delay: a fixed duration, or the next day at
// a wall-clock time in the user's zone.
type delay struct {
	d         time.Duration
	nextDayAt *scheduler.LocalTime // only Hour and Minute
}

var nextDayRe = regexp.MustCompile(`^next day at ([01]?[0-9]|2[0-3]):([0-5][0-9])$`)
var daysRe = regexp.MustCompile(`^([0-9]+)d(.*)$`)

func parseDelay(s string) (delay, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return delay{}, nil
	}
	if m := nextDayRe.FindStringSubmatch(s); m != nil {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		return delay{nextDayAt: &scheduler.LocalTime{Hour: h, Minute: mi}}, nil
	}
	var d time.Duration
	rest := s
	if m := daysRe.FindStringSubmatch(s); m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > 30 {
			return delay{}, fmt.Errorf("want a duration of at most 30 days, got %q", s)
		}
		d, rest = time.Duration(days)*24*time.Hour, m[2]
	}
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil {
			return delay{}, fmt.Errorf(`want a duration ("1h", "90m", "2d") or "next day at HH:MM", got %q`, s)
		}
		d += r
	}
	if d < 0 || d > maxDelay {
		return delay{}, fmt.Errorf("want a delay between 0 and 30 days, got %q", s)
	}
	return delay{d: d}, nil
}

// due is when a send triggered at eventAt goes out, for a user in loc.
func (d delay) due(eventAt time.Time, loc *time.Location) time.Time {
	if d.nextDayAt == nil {
		return eventAt.Add(d.d)
	}
	day := scheduler.LocalTimeOf(eventAt.In(loc)).AddDays(1)
	day.Hour, day.Minute, day.Second = d.nextDayAt.Hour, d.nextDayAt.Minute, 0
	return day.In(loc)
}

// validateAction checks an action_based schedule's fields.
func validateAction(raw json.RawMessage, inApp bool, ps *problems) {
	var f actionFields
	if err := json.Unmarshal(raw, &f); err != nil {
		ps.add("schedule", "%v", err)
		return
	}
	switch f.triggerType() {
	case TriggerCustomEvent:
		if strings.TrimSpace(f.EventName) == "" {
			ps.add("schedule.event_name", "required: the custom event that triggers the campaign")
		}
	case TriggerSessionStart, TriggerPurchase, TriggerPushClick:
		if !inApp {
			ps.add("schedule.trigger_type", "%s triggers in-app messages (the SDK watches for it); server-side sends trigger on custom_event", f.TriggerType)
		}
	default:
		ps.add("schedule.trigger_type", "want custom_event, session_start, purchase or push_click, got %q", f.TriggerType)
	}
	for i, pf := range f.PropertyFilters {
		path := fmt.Sprintf("schedule.property_filters[%d]", i)
		if pf.Property == "" {
			ps.add(path+".property", "required")
		}
		if !comparisons[pf.Comparison] {
			ps.add(path+".comparison", "want equals, not_equal, greater_than, greater_than_or_equal_to, less_than, less_than_or_equal_to, exists, does_not_exist or contains, got %q", pf.Comparison)
			continue
		}
		switch pf.Comparison {
		case "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to":
			if _, ok := pf.Value.(float64); !ok {
				ps.add(path+".value", "%s needs a number", pf.Comparison)
			}
		case "equals", "not_equal", "contains":
			switch pf.Value.(type) {
			case string, float64, bool:
			default:
				ps.add(path+".value", "%s needs a string, number or boolean", pf.Comparison)
			}
		}
	}
	if _, err := parseDelay(f.Delay); err != nil {
		ps.add("schedule.delay", "%v", err)
	}
	for i, e := range f.ExceptionEvents {
		if strings.TrimSpace(e) == "" {
			ps.add(fmt.Sprintf("schedule.exception_events[%d]", i), "empty event name")
		}
	}
	if f.WindowStart != nil && f.WindowEnd != nil && !f.WindowEnd.After(*f.WindowStart) {
		ps.add("schedule.window_end", "must be after window_start")
	}
}

// matches reports whether event properties pass every filter.
func matchProperties(filters []PropertyFilter, props map[string]any) bool {
	for _, pf := range filters {
		v, ok := props[pf.Property]
		switch pf.Comparison {
		case "exists":
			if !ok || v == nil {
				return false
			}
			continue
		case "does_not_exist":
			if ok && v != nil {
				return false
			}
			continue
		case "not_equal":
			if !ok || v == nil { // as in segments: a negation includes the missing value
				continue
			}
		}
		if !ok || !compare(pf.Comparison, v, pf.Value) {
			return false
		}
	}
	return true
}

func compare(op string, got, want any) bool {
	switch op {
	case "equals":
		return equalValues(got, want)
	case "not_equal":
		return !equalValues(got, want)
	case "contains":
		switch g := got.(type) {
		case string:
			w, ok := want.(string)
			return ok && strings.Contains(g, w)
		case []any:
			for _, e := range g {
				if equalValues(e, want) {
					return true
				}
			}
		}
		return false
	}
	g, ok1 := got.(float64)
	w, ok2 := want.(float64)
	if !ok1 || !ok2 {
		return false
	}
	switch op {
	case "greater_than":
		return g > w
	case "greater_than_or_equal_to":
		return g >= w
	case "less_than":
		return g < w
	case "less_than_or_equal_to":
		return g <= w
	}
	return false
}

func equalValues(a, b any) bool {
	switch x := a.(type) {
	case string, float64, bool:
		return x == b
	}
	return false
}
