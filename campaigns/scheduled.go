package campaigns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/herald-oss/herald/queue"
)

// A schedule of Braze's scheduling endpoints (/messages/schedule/*,
// /campaigns/trigger/schedule/*) is a dispatch in status scheduled, due at
// the schedule's time: the scheduler tick (RunSchedules) starts it then, as
// it starts a scheduled campaign. Its schedule id is part of its occurrence
// ("schedule:<id>"), unique per campaign ("" for /messages).

// schedulePrefix starts the occurrence of a scheduling endpoint's dispatch.
const schedulePrefix = "schedule:"

// maxScheduleAhead is how far ahead a schedule may be (Braze's limit).
const maxScheduleAhead = 90 * 24 * time.Hour

// ScheduleTime is the schedule object of the scheduling endpoints.
type ScheduleTime struct {
	// Time is an ISO 8601 time with its zone (2026-12-01T10:00:00Z), or
	// with InLocalTime a wall time with none (2026-12-01T10:00:00).
	Time string `json:"time"`
	// InLocalTime sends at Time in each user's zone, in waves (localtime.go).
	InLocalTime bool `json:"in_local_time,omitempty"`
	// PassedZones (a Herald extension) is what a local-time send does with
	// zones whose moment has passed: skip (Braze's behaviour, the default) or
	// next_occurrence.
	PassedZones string `json:"passed_zones,omitempty"`
	// AtOptimalTime is refused: Herald has no Intelligent Timing.
	AtOptimalTime bool `json:"at_optimal_time,omitempty"`
}

// ScheduleSendRequest is /messages/schedule/create: the body of
// /messages/send and its schedule.
type ScheduleSendRequest struct {
	SendRequest
	Schedule *ScheduleTime `json:"schedule"`
}

// ScheduleTriggerRequest is /campaigns/trigger/schedule/create: the body of
// /campaigns/trigger/send and its schedule.
type ScheduleTriggerRequest struct {
	TriggerRequest
	Schedule *ScheduleTime `json:"schedule"`
}

// MessagesScheduleUpdate is /messages/schedule/update: a new schedule, new
// messages, or both.
type MessagesScheduleUpdate struct {
	ScheduleID string                     `json:"schedule_id"`
	Schedule   *ScheduleTime              `json:"schedule,omitempty"`
	Messages   map[string]json.RawMessage `json:"messages,omitempty"`
}

// TriggerScheduleUpdate is /campaigns/trigger/schedule/update.
type TriggerScheduleUpdate struct {
	CampaignID string        `json:"campaign_id"`
	ScheduleID string        `json:"schedule_id"`
	Schedule   *ScheduleTime `json:"schedule"`
}

// MessagesScheduleDelete is /messages/schedule/delete.
type MessagesScheduleDelete struct {
	ScheduleID string `json:"schedule_id"`
}

// TriggerScheduleDelete is /campaigns/trigger/schedule/delete.
type TriggerScheduleDelete struct {
	CampaignID string `json:"campaign_id"`
	ScheduleID string `json:"schedule_id"`
}

// ScheduledSend is a schedule created: its id and its dispatch.
type ScheduledSend struct {
	ID       string
	Dispatch *Dispatch
}

// Validate reports every problem of the request that needs no lookup, as
// joined "field: reason" errors (as queue payloads do).
func (r ScheduleSendRequest) Validate() error {
	var ps problems
	r.Schedule.parse("schedule", time.Time{}, &ps)
	return errors.Join(r.SendRequest.Validate(), ps.joined())
}

// Validate reports every problem of the request that needs no lookup.
func (r ScheduleTriggerRequest) Validate() error {
	var ps problems
	r.Schedule.parse("schedule", time.Time{}, &ps)
	return errors.Join(r.TriggerRequest.Validate(), ps.joined())
}

// Validate reports every problem of the request that needs no lookup.
func (r MessagesScheduleUpdate) Validate() error {
	var ps problems
	required(r.ScheduleID, "schedule_id", &ps)
	switch {
	case r.Schedule != nil:
		r.Schedule.parse("schedule", time.Time{}, &ps)
	case len(r.Messages) == 0:
		ps.add("schedule", "give schedule, messages or both")
	}
	return ps.joined()
}

// Validate reports every problem of the request that needs no lookup.
func (r TriggerScheduleUpdate) Validate() error {
	var ps problems
	required(r.CampaignID, "campaign_id", &ps)
	required(r.ScheduleID, "schedule_id", &ps)
	r.Schedule.parse("schedule", time.Time{}, &ps)
	return ps.joined()
}

// Validate reports every problem of the request that needs no lookup.
func (r MessagesScheduleDelete) Validate() error {
	var ps problems
	required(r.ScheduleID, "schedule_id", &ps)
	return ps.joined()
}

// Validate reports every problem of the request that needs no lookup.
func (r TriggerScheduleDelete) Validate() error {
	var ps problems
	required(r.CampaignID, "campaign_id", &ps)
	required(r.ScheduleID, "schedule_id", &ps)
	return ps.joined()
}

func required(v, field string, ps *problems) {
	if v == "" {
		ps.add(field, "required")
	}
}

// joined is the problems as "field: reason" errors.
func (ps problems) joined() error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = errors.New(p.Field + ": " + p.Reason)
	}
	return errors.Join(errs...)
}

// parse checks a schedule object at field and returns its time, or its
// local-time send (whose wall time, at a non-zero now, must not have passed
// everywhere) and the time it is due.
func (st *ScheduleTime) parse(field string, now time.Time, ps *problems) (time.Time, *LocalSend) {
	if st == nil {
		ps.add(field, "required")
		return time.Time{}, nil
	}
	if st.AtOptimalTime {
		ps.add(field+".at_optimal_time", "Intelligent Timing sends are not available")
	}
	if st.PassedZones != "" && !st.InLocalTime {
		ps.add(field+".passed_zones", "only for a local-time send (in_local_time)")
	}
	if st.Time == "" {
		ps.add(field+".time", "required")
		return time.Time{}, nil
	}
	if st.InLocalTime {
		l := localSchedule(field, st.Time, st.PassedZones, now, ps)
		if l == nil {
			return time.Time{}, nil
		}
		return l.due(), l
	}
	t, err := time.Parse(time.RFC3339, st.Time)
	if err != nil {
		ps.add(field+".time", "want an ISO 8601 time with its zone (2026-12-01T10:00:00Z), got %q", st.Time)
	}
	return t, nil
}

// due checks a schedule and returns its time (and its local-time send): at
// most 90 days ahead (a local time: when its first zone reaches it); a time
// already passed is sent at the next scheduler tick.
func (s *Service) due(st *ScheduleTime, ps *problems) (time.Time, *LocalSend) {
	n := len(*ps)
	now := s.now().UTC()
	t, l := st.parse("schedule", now, ps)
	if len(*ps) == n {
		if limit := now.Add(maxScheduleAhead); t.After(limit) {
			ps.add("schedule.time", "at most 90 days ahead (until %s), got %s", limit.Format(time.RFC3339), st.Time)
		}
	}
	return t.UTC(), l
}

// ScheduleSend schedules /messages/send: the request is checked (and its
// listed users resolved) as Send does, now, and waits as a scheduled
// dispatch. A request_id makes it happen once: a retry returns the first
// schedule.
func (s *Service) ScheduleSend(ctx context.Context, users Users, req *ScheduleSendRequest) (*ScheduledSend, error) {
	return s.schedule(req.Schedule, req.RequestID, func(sc *Service) (*Dispatch, error) {
		return sc.Send(ctx, users, &req.SendRequest)
	})
}

// ScheduleTrigger schedules /campaigns/trigger/send of an API-triggered
// campaign: checked as Trigger does, now (recipients' attributes are written
// and their users resolved now), and sent at its time with the campaign's
// version of now.
func (s *Service) ScheduleTrigger(ctx context.Context, users Users, req *ScheduleTriggerRequest) (*ScheduledSend, error) {
	return s.schedule(req.Schedule, req.RequestID, func(sc *Service) (*Dispatch, error) {
		return sc.Trigger(ctx, users, &req.TriggerRequest)
	})
}

// schedule checks a schedule, then has send create its dispatch as that
// schedule (see scheduling).
func (s *Service) schedule(st *ScheduleTime, requestID string, send func(*Service) (*Dispatch, error)) (*ScheduledSend, error) {
	var ps problems
	at, local := s.due(st, &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	id := scheduleID(requestID)
	d, err := send(s.scheduling(id, at, local))
	if err != nil {
		return nil, err
	}
	return &ScheduledSend{ID: id, Dispatch: d}, nil
}

// scheduleID is a new schedule id, or the one of a request id.
func scheduleID(requestID string) string {
	if requestID == "" {
		return NewID()
	}
	h := sha256.Sum256([]byte(schedulePrefix + requestID))
	return hex.EncodeToString(h[:16])
}

// scheduling is the service whose Send and Trigger create their dispatch as
// a schedule: scheduled, due at due, under the schedule's occurrence (a
// local-time send when local is not nil), and not enqueued (the scheduler
// enqueues it when due).
func (s *Service) scheduling(id string, due time.Time, local *LocalSend) *Service {
	c := *s
	c.st = scheduleStore{Store: s.st, occurrence: schedulePrefix + id, due: due, local: local}
	c.enq = heldEnqueuer{s.enq}
	return &c
}

type scheduleStore struct {
	Store
	occurrence string
	due        time.Time
	local      *LocalSend
}

func (h scheduleStore) CreateDispatch(ctx context.Context, d *Dispatch) (*Dispatch, bool, error) {
	d.Occurrence, d.Status, d.DueAt = h.occurrence, DispatchScheduled, h.due
	if h.local != nil {
		l := *h.local
		return createLocal(ctx, h.Store, d, &l)
	}
	return h.Store.CreateDispatch(ctx, d)
}

type heldEnqueuer struct{ Enqueuer }

func (heldEnqueuer) EnqueueDispatch(context.Context, queue.DispatchPayload) error { return nil }

// UpdateMessagesSchedule changes the time, the messages (checked as Send
// checks them), or both, of a /messages schedule that has not started.
func (s *Service) UpdateMessagesSchedule(ctx context.Context, req *MessagesScheduleUpdate) error {
	var ps problems
	var at time.Time
	var local *LocalSend
	if req.Schedule != nil {
		at, local = s.due(req.Schedule, &ps)
	} else if len(req.Messages) == 0 {
		ps.add("schedule", "give schedule, messages or both")
	}
	var msgs map[string]map[string]any
	if len(req.Messages) > 0 {
		msgs = validateMessages(s.tmpl, req.Messages, "messages", &ps)
	}
	d, err := s.pending(ctx, "", req.ScheduleID, &ps)
	if err != nil {
		return err
	}
	if err := ps.err(); err != nil {
		return err
	}
	var spec *Spec
	if msgs != nil {
		sp := d.Spec
		sp.Messages = msgs
		spec = &sp
	}
	if req.Schedule == nil {
		return s.reschedule(ctx, d, d.DueAt, spec)
	}
	if spec != nil {
		if err := s.reschedule(ctx, d, at, spec); err != nil {
			return err
		}
	}
	return s.setSchedule(ctx, d, at, local)
}

// UpdateTriggerSchedule changes the time of a campaign's API-triggered
// schedule that has not started.
func (s *Service) UpdateTriggerSchedule(ctx context.Context, req *TriggerScheduleUpdate) error {
	var ps problems
	required(req.CampaignID, "campaign_id", &ps)
	at, local := s.due(req.Schedule, &ps)
	d, err := s.pending(ctx, req.CampaignID, req.ScheduleID, &ps)
	if err != nil {
		return err
	}
	if err := ps.err(); err != nil {
		return err
	}
	return s.setSchedule(ctx, d, at, local)
}

// setSchedule gives a schedule that has not started a new time, as a
// local-time send of local or (nil) not one.
func (s *Service) setSchedule(ctx context.Context, d *Dispatch, at time.Time, local *LocalSend) error {
	ok, err := s.st.SetLocalSchedule(ctx, d.ID, at, local, s.now().UTC())
	return s.changed(ctx, d, ok, err)
}

func (s *Service) reschedule(ctx context.Context, d *Dispatch, at time.Time, spec *Spec) error {
	ok, err := s.st.RescheduleDispatch(ctx, d.ID, at, spec, s.now().UTC())
	return s.changed(ctx, d, ok, err)
}

// changed is the outcome of a change to a pending schedule: the store's
// error, or the problem of a schedule no longer pending (ok false).
func (s *Service) changed(ctx context.Context, d *Dispatch, ok bool, err error) error {
	if err != nil {
		return err
	}
	if !ok {
		return s.gone(ctx, d)
	}
	return nil
}

// DeleteSchedule cancels a schedule that has not started: its dispatch is
// stopped and never sent. campaignID is "" for a /messages schedule.
func (s *Service) DeleteSchedule(ctx context.Context, campaignID, scheduleID string) error {
	var ps problems
	d, err := s.pending(ctx, campaignID, scheduleID, &ps)
	if err != nil {
		return err
	}
	if err := ps.err(); err != nil {
		return err
	}
	ok, err := s.st.CancelScheduled(ctx, d.ID, s.now().UTC())
	return s.changed(ctx, d, ok, err)
}

// pending finds a schedule that has not started, adding the problem when
// there is none. Only a failure of the store is an error.
func (s *Service) pending(ctx context.Context, campaignID, id string, ps *problems) (*Dispatch, error) {
	if id == "" {
		ps.add("schedule_id", "required")
		return nil, nil
	}
	d, err := s.st.DispatchByOccurrence(ctx, campaignID, schedulePrefix+id)
	switch {
	case errors.Is(err, ErrNotFound) && campaignID == "":
		ps.add("schedule_id", "no schedule %q", id)
		return nil, nil
	case errors.Is(err, ErrNotFound):
		if _, err := s.st.Campaign(ctx, campaignID); errors.Is(err, ErrNotFound) {
			ps.add("campaign_id", "no campaign %q", campaignID)
		} else if err != nil {
			return nil, err
		} else {
			ps.add("schedule_id", "campaign %s has no schedule %q", campaignID, id)
		}
		return nil, nil
	case err != nil:
		return nil, err
	}
	if d.Status != DispatchScheduled {
		ps.add("schedule_id", "%s", notPending(id, d.Status))
		return nil, nil
	}
	return d, nil
}

// gone is the problem of a schedule that stopped being pending while it was
// changed (the scheduler started it, or another request deleted it).
func (s *Service) gone(ctx context.Context, d *Dispatch) error {
	id := d.Occurrence[len(schedulePrefix):]
	status := DispatchRunning
	if now, err := s.st.Dispatch(ctx, d.ID); err == nil {
		status = now.Status
	}
	return &ValidationError{Problems: []Problem{{Field: "schedule_id", Reason: notPending(id, status)}}}
}

func notPending(id, status string) string {
	if status == DispatchStopped {
		return fmt.Sprintf("schedule %q was deleted (or its campaign stopped)", id)
	}
	return fmt.Sprintf("schedule %q has already started (dispatch %s)", id, status)
}

// Broadcast is one upcoming send of GET /messages/scheduled_broadcasts.
type Broadcast struct {
	// CampaignID and CampaignName are empty for a /messages schedule.
	CampaignID   string
	CampaignName string
	// ScheduleID and DispatchID are set for a scheduling endpoint's schedule.
	ScheduleID string
	DispatchID string
	Next       time.Time
	// TimeZone is the zone a recurring campaign's spec is read in; "UTC" for
	// a time given as an instant.
	TimeZone    string
	InLocalTime bool
}

// maxBroadcasts bounds each kind of upcoming send listed.
const maxBroadcasts = 10000

// ScheduledBroadcasts lists the upcoming sends due by until, soonest first:
// each launched scheduled campaign's pending dispatch and each active
// recurring campaign's next occurrence; with api, also the pending
// schedules of the scheduling endpoints. Sends of a paused or stopped
// campaign are left out (they wait for a resume, or never come). A pending
// dispatch whose time has passed is listed at its time: the next scheduler
// tick sends it.
func (s *Service) ScheduledBroadcasts(ctx context.Context, until time.Time, api bool) ([]Broadcast, error) {
	list, err := s.st.Campaigns(ctx, maxBroadcasts, 0)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*Campaign, len(list))
	var out []Broadcast
	now := s.now()
	for _, c := range list {
		byID[c.ID] = c
		if c.Status != StatusActive || c.Definition.Schedule.Type != ScheduleRecurring {
			continue
		}
		f, err := c.Definition.Schedule.fields()
		if err != nil {
			continue // refused at save: not a schedule
		}
		r, err := f.recurrence()
		if err != nil {
			continue
		}
		if next, ok := r.Next(now); ok && !next.After(until) {
			out = append(out, Broadcast{CampaignID: c.ID, CampaignName: c.Name, Next: next,
				TimeZone: r.Location().String(), InLocalTime: r.InLocalTime()})
		}
	}
	prefixes := []string{launchOccurrence}
	if api {
		prefixes = append(prefixes, schedulePrefix)
	}
	for _, prefix := range prefixes {
		ds, err := s.st.ScheduledDispatches(ctx, prefix, until, maxBroadcasts)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			b := Broadcast{CampaignID: d.CampaignID, Next: d.DueAt, TimeZone: "UTC"}
			if d.CampaignID != "" {
				c := byID[d.CampaignID]
				if c == nil || c.Status == StatusPaused || c.Status == StatusStopped {
					continue
				}
				b.CampaignName = c.Name
				if f, err := c.Definition.Schedule.fields(); err == nil && prefix == launchOccurrence {
					b.InLocalTime = f.InLocalTime
				}
			}
			if prefix == schedulePrefix {
				b.ScheduleID, b.DispatchID = d.Occurrence[len(schedulePrefix):], d.ID
				if _, err := s.st.LocalSend(ctx, d.ID); err == nil {
					b.InLocalTime = true
				} else if !errors.Is(err, ErrNotFound) {
					return nil, err
				}
			}
			out = append(out, b)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Next.Equal(out[j].Next) {
			return out[i].Next.Before(out[j].Next)
		}
		return out[i].CampaignID+out[i].ScheduleID < out[j].CampaignID+out[j].ScheduleID
	})
	return out, nil
}
