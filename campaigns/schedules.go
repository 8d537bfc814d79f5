package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/scheduler"
)

// scheduleFields are the fields of a schedule the pipeline reads.
type scheduleFields struct {
	Type        string `json:"type"`
	Time        string `json:"time"`
	InLocalTime bool   `json:"in_local_time"`
	// PassedZones is what a local-time send does with zones whose moment
	// has passed at launch: skip (the default) or next_occurrence.
	PassedZones string    `json:"passed_zones"`
	Cron        string    `json:"cron"`
	TimeZone    string    `json:"time_zone"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
}

func (s Schedule) fields() (scheduleFields, error) {
	var f scheduleFields
	if len(s.Raw) == 0 {
		f.Type = s.Type
		return f, nil
	}
	err := json.Unmarshal(s.Raw, &f)
	return f, err
}

// scheduledTime is a scheduled campaign's send time.
func (f scheduleFields) scheduledTime() (time.Time, error) {
	return time.Parse(time.RFC3339, f.Time)
}

// recurrence is a recurring campaign's recurrence.
func (f scheduleFields) recurrence() (*scheduler.Recurrence, error) {
	return scheduler.ParseRecurrence(scheduler.Spec{Cron: f.Cron, TimeZone: f.TimeZone, InLocalTime: f.InLocalTime,
		StartsAt: f.StartsAt, EndsAt: f.EndsAt})
}

// validateSchedule checks the fields of a scheduled or recurring schedule.
func validateSchedule(s Schedule, inApp bool, ps *problems) {
	f, err := s.fields()
	if err != nil {
		ps.add("schedule", "%v", err)
		return
	}
	unknownScheduleFields(s, ps)
	switch f.Type {
	case ScheduleActionBased:
		validateAction(s.Raw, inApp, ps)
	case ScheduleScheduled:
		if f.InLocalTime {
			// The wall time; whether it has passed everywhere is checked at launch.
			localSchedule("schedule", f.Time, f.PassedZones, time.Time{}, ps)
		} else if _, err := f.scheduledTime(); err != nil {
			ps.add("schedule.time", "want an ISO 8601 time with its zone (2026-12-01T10:00:00Z), got %q", f.Time)
		}
		if f.PassedZones != "" && !f.InLocalTime {
			ps.add("schedule.passed_zones", "only for a local-time send (in_local_time)")
		}
	case ScheduleRecurring:
		if f.PassedZones != "" {
			ps.add("schedule.passed_zones", "a recurring campaign's passed zones get its next occurrence: leave passed_zones out")
		}
		if _, err := f.recurrence(); err != nil {
			var fe *scheduler.FieldError
			for _, e := range unjoin(err) {
				if errors.As(e, &fe) {
					ps.add("schedule."+fe.Field, "%v", fe.Err)
				} else {
					ps.add("schedule", "%v", e)
				}
			}
		}
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// occurrencePrefix starts the occurrence of a recurring campaign's dispatch.
const occurrencePrefix = "occ:"

// SchedulerOptions configure RunSchedules.
type SchedulerOptions struct {
	// Grace is how late a missed recurring occurrence may still fire after
	// downtime; older ones are logged as skipped. Default 1h.
	Grace  time.Duration
	Logger *slog.Logger
}

// RunSchedules is one scheduler tick at now: every active recurring
// campaign gets the dispatch of its latest due occurrence (once per
// occurrence, whatever the number of scheduler replicas: the occurrence is
// the dispatch's unique key), every due triggered send of an action-based
// campaign becomes a one-user dispatch, every scheduled dispatch whose
// time has come is started and enqueued, and so is every wave of a
// local-time dispatch whose time has come. It returns how many dispatches
// and waves it started.
func (s *Service) RunSchedules(ctx context.Context, now time.Time, o SchedulerOptions) (int, error) {
	if o.Grace <= 0 {
		o.Grace = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	started := 0
	list, err := s.st.Campaigns(ctx, 10000, 0)
	if err != nil {
		return 0, err
	}
	for _, c := range list {
		if c.Status != StatusActive || c.Definition.Schedule.Type != ScheduleRecurring {
			continue
		}
		n, err := s.fireRecurring(ctx, c, now, o)
		if err != nil {
			o.Logger.Warn("recurring campaign", "campaign", c.ID, "error", err)
			continue
		}
		started += n
	}
	n, err := s.fireTriggered(ctx, now, o.Logger)
	started += n
	if err != nil {
		return started, err
	}
	due, err := s.st.DueDispatches(ctx, now, 100)
	if err != nil {
		return started, err
	}
	for _, d := range due {
		if c, err := s.st.Campaign(ctx, d.CampaignID); err == nil && c.Status == StatusPaused {
			continue // starts after Resume
		}
		ok, err := s.st.StartDispatch(ctx, d.ID, now)
		if err != nil {
			return started, err
		}
		if !ok {
			continue // another scheduler started it, or it was stopped
		}
		if err := s.enq.EnqueueDispatch(ctx, queue.DispatchPayload{DispatchID: d.ID}); err != nil {
			return started, err // started but not enqueued: the reconciler enqueues it
		}
		started++
	}
	n, err = s.startWaves(ctx, now)
	return started + n, err
}

// fireRecurring creates the dispatch of a recurring campaign's latest due
// occurrence, if any.
func (s *Service) fireRecurring(ctx context.Context, c *Campaign, now time.Time, o SchedulerOptions) (int, error) {
	f, err := c.Definition.Schedule.fields()
	if err != nil {
		return 0, err
	}
	r, err := f.recurrence()
	if err != nil {
		return 0, err
	}
	lastKey, err := s.st.LastOccurrence(ctx, c.ID, occurrencePrefix)
	if err != nil {
		return 0, err
	}
	var last time.Time
	if lastKey != "" {
		if last, err = scheduler.ParseOccurrenceKey(lastKey[len(occurrencePrefix):]); err != nil {
			return 0, fmt.Errorf("occurrence %q: %w", lastKey, err)
		}
	} else {
		last = c.UpdatedAt // activation: nothing before it is missed
	}
	fire, skipped := scheduler.Missed(r, last, now, o.Grace)
	if len(skipped) > 0 {
		o.Logger.Warn("recurring campaign missed occurrences", "campaign", c.ID, "skipped", len(skipped),
			"first", skipped[0], "last", skipped[len(skipped)-1])
	}
	if fire == nil {
		return 0, nil
	}
	if r.InLocalTime() {
		// Waves in every zone from the first (UTC+14) on; a late occurrence
		// (after downtime) skips the zones whose moment is more than the
		// grace ago. The dispatch is due now: this tick starts it.
		l := &LocalSend{WallTime: r.LocalTime(*fire), Policy: scheduler.PolicySkip, LaunchedAt: latest(*fire, now.Add(-o.Grace))}
		d := s.newDispatch(c, occurrencePrefix+scheduler.OccurrenceKey(*fire), DispatchScheduled, now, now)
		_, _, err := createLocal(ctx, s.st, d, l)
		return 0, err
	}
	d := s.newDispatch(c, occurrencePrefix+scheduler.OccurrenceKey(*fire), DispatchRunning, time.Time{}, now)
	d, created, err := s.st.CreateDispatch(ctx, d)
	if err != nil || !created {
		return 0, err
	}
	if err := s.enq.EnqueueDispatch(ctx, queue.DispatchPayload{DispatchID: d.ID}); err != nil {
		return 1, err
	}
	return 1, nil
}

// newDispatch is a dispatch of a campaign's current version.
func (s *Service) newDispatch(c *Campaign, occurrence, status string, due, now time.Time) *Dispatch {
	return &Dispatch{ID: NewID(), CampaignID: c.ID, CampaignVersion: c.Version, Occurrence: occurrence, Status: status, DueAt: due,
		Spec: Spec{Messages: c.Definition.Messages, Filter: audienceFilter(c.Definition.Audience),
			RecipientSubscriptionState: c.Definition.RecipientSubscriptionState, SendBy: c.Definition.SendBy,
			Rules: c.Definition.Rules, Variants: c.Definition.Variants, ControlPercent: c.Definition.ControlPercent},
		CreatedAt: now, UpdatedAt: now}
}

// scheduleKeys are the fields each schedule type takes.
var scheduleKeys = map[string][]string{
	ScheduleImmediate:    {"type"},
	ScheduleAPITriggered: {"type"},
	ScheduleScheduled:    {"type", "time", "in_local_time", "passed_zones"},
	ScheduleRecurring:    {"type", "cron", "time_zone", "in_local_time", "starts_at", "ends_at"},
	ScheduleActionBased: {"type", "event_name", "property_filters", "delay", "exception_events", "window_start", "window_end",
		"trigger_type", "product_id", "push_campaign_id"},
}

// unknownScheduleFields refuses fields a schedule type does not take (a
// misspelt "timezone" would otherwise be kept and ignored).
func unknownScheduleFields(s Schedule, ps *problems) {
	allowed, ok := scheduleKeys[s.Type]
	if !ok || len(s.Raw) == 0 {
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(s.Raw, &m); err != nil {
		return // reported by fields()
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			ps.add("schedule."+k, "unknown field for a %s schedule (it takes %s)", s.Type, strings.Join(allowed, ", "))
		}
	}
}
