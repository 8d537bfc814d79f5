package campaigns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

// Service manages campaigns and starts their dispatches.
type Service struct {
	st       Store
	enq      Enqueuer
	tmpl     *templates.Engine
	resolver segments.Resolver
	now      func() time.Time
	live     LiveCounter // nil: no live counters
	engaged  *prometheus.CounterVec
}

// NewService returns a campaign service. resolver gives saved segments.
func NewService(st Store, enq Enqueuer, eng *templates.Engine, resolver segments.Resolver, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, enq: enq, tmpl: eng, resolver: resolver, now: now}
}

// NewID returns a random id for campaigns and dispatches.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// definition validates an input into a definition; every problem is
// returned at once.
func (s *Service) definition(ctx context.Context, in *Input) (string, Definition, error) {
	var ps problems
	if in.Name == "" {
		ps.add("name", "required")
	}
	d := Definition{SendBy: in.SendBy, Rules: in.Rules, ControlPercent: in.ControlPercent}
	d.Variants = validateVariants(s.tmpl, in.Variants, in.ControlPercent, len(in.Messages) > 0, &ps)
	if len(in.Variants) == 0 {
		d.Messages = validateMessages(s.tmpl, in.Messages, "messages", &ps)
	}
	validateRules(in.Rules, &ps)
	validateAudience(ctx, in.Audience, s.resolver, "audience", &ps)
	if in.Audience != nil {
		d.Audience = *in.Audience
	}
	d.RecipientSubscriptionState = validState(in.RecipientSubscriptionState, "recipient_subscription_state", &ps)
	d.Schedule = Schedule{Type: ScheduleImmediate}
	if in.Schedule != nil {
		d.Schedule = *in.Schedule
		switch in.Schedule.Type {
		case ScheduleImmediate, ScheduleScheduled, ScheduleRecurring, ScheduleActionBased, ScheduleAPITriggered:
			validateSchedule(*in.Schedule, hasInApp(in), &ps)
		default:
			ps.add("schedule.type", "want immediate, scheduled, recurring, action_based or api_triggered, got %q", in.Schedule.Type)
		}
	}
	validateInAppCampaign(d, &ps)
	return in.Name, d, ps.err()
}

// Create validates and stores a new campaign as a draft.
func (s *Service) Create(ctx context.Context, in *Input) (*Campaign, error) {
	name, def, err := s.definition(ctx, in)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	c := &Campaign{ID: NewID(), Name: name, Status: StatusDraft, Definition: def, CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateCampaign(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Update replaces a campaign's definition as a new version. Dispatches
// already launched keep the version they were launched with.
func (s *Service) Update(ctx context.Context, id string, in *Input) (*Campaign, error) {
	c, err := s.st.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	name, def, err := s.definition(ctx, in)
	if err != nil {
		return nil, err
	}
	c.Name, c.Definition, c.UpdatedAt = name, def, s.now().UTC()
	if err := s.st.UpdateCampaign(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Get returns a campaign.
func (s *Service) Get(ctx context.Context, id string) (*Campaign, error) {
	return s.st.Campaign(ctx, id)
}

// List returns a page of campaigns, newest first.
func (s *Service) List(ctx context.Context, limit, offset int) ([]*Campaign, error) {
	return s.st.Campaigns(ctx, limit, offset)
}

// Dispatches lists a campaign's dispatches.
func (s *Service) Dispatches(ctx context.Context, id string) ([]*Dispatch, error) {
	return s.st.CampaignDispatches(ctx, id)
}

// launchOccurrence is the occurrence of a one-time campaign's launch.
const launchOccurrence = "launch"

// Launch starts a one-time campaign (a paused one sends when resumed).
// Launching a campaign that already has its dispatch returns that dispatch
// and sends nothing new.
func (s *Service) Launch(ctx context.Context, id string) (*Dispatch, error) {
	c, err := s.st.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	switch c.Definition.Schedule.Type {
	case ScheduleImmediate, ScheduleScheduled:
	case ScheduleRecurring, ScheduleActionBased:
		// Activation: the scheduler sends each occurrence, or each
		// triggered send, from now on.
		if c.Status == StatusStopped {
			return nil, fmt.Errorf("campaign %s is stopped: %w", id, ErrConflict)
		}
		if c.Status == StatusDraft {
			if err := s.st.SetCampaignStatus(ctx, c.ID, StatusActive, []string{StatusDraft}, s.now().UTC()); err != nil && !errors.Is(err, ErrConflict) {
				return nil, err
			}
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("campaign %s is %s: it is sent by its schedule or by API triggers, not launched: %w",
			id, c.Definition.Schedule.Type, ErrConflict)
	}
	if c.Status == StatusStopped {
		return nil, fmt.Errorf("campaign %s is stopped: %w", id, ErrConflict)
	}
	now := s.now().UTC()
	status := DispatchRunning
	if c.Status == StatusPaused {
		status = DispatchPaused // it starts with Resume
	}
	var due time.Time
	var local *LocalSend
	if c.Definition.Schedule.Type == ScheduleScheduled {
		// It waits in the store until its time; the scheduler starts it.
		f, err := c.Definition.Schedule.fields()
		if err != nil {
			return nil, err
		}
		if f.InLocalTime {
			// Sent in waves per zone (localtime.go), planned when the first
			// zone reaches the wall time.
			var ps problems
			if local = localSchedule("schedule", f.Time, f.PassedZones, now, &ps); local == nil {
				if d, err := s.st.DispatchByOccurrence(ctx, c.ID, launchOccurrence); err == nil {
					return d, nil // launched before its time passed
				}
				return nil, ps.err()
			}
			due = local.due()
		} else if due, err = f.scheduledTime(); err != nil {
			return nil, fmt.Errorf("campaign %s schedule.time: %w", id, err)
		}
		status = DispatchScheduled
	}
	d := s.newDispatch(c, launchOccurrence, status, due, now)
	var created bool
	if local != nil {
		d, created, err = createLocal(ctx, s.st, d, local)
	} else {
		d, created, err = s.st.CreateDispatch(ctx, d)
	}
	if err != nil {
		return nil, err
	}
	if c.Status == StatusDraft {
		if err := s.st.SetCampaignStatus(ctx, c.ID, StatusActive, []string{StatusDraft}, now); err != nil && !errors.Is(err, ErrConflict) {
			return nil, err
		}
	}
	if d.Status != DispatchScheduled && (created || d.Status == DispatchRunning) {
		// Enqueue again when it exists: its TaskID makes that a no-op while
		// the task is in Redis, and restarts it when Redis lost it.
		if err := s.enq.EnqueueDispatch(ctx, queue.DispatchPayload{DispatchID: d.ID}); err != nil {
			return d, err
		}
	}
	return d, nil
}

// Pause pauses a campaign: its running dispatches stop sending (pages
// already queued wait) until Resume.
func (s *Service) Pause(ctx context.Context, id string) error {
	now := s.now().UTC()
	if err := s.st.SetCampaignStatus(ctx, id, StatusPaused, []string{StatusActive, StatusDraft}, now); err != nil {
		return err
	}
	return s.st.SetDispatchStatus(ctx, id, "", DispatchPaused, []string{DispatchRunning}, now)
}

// Resume resumes a paused campaign.
func (s *Service) Resume(ctx context.Context, id string) error {
	now := s.now().UTC()
	if err := s.st.SetCampaignStatus(ctx, id, StatusActive, []string{StatusPaused}, now); err != nil {
		return err
	}
	return s.st.SetDispatchStatus(ctx, id, "", DispatchRunning, []string{DispatchPaused}, now)
}

// Stop stops a campaign for good: pages not yet sent are dropped.
func (s *Service) Stop(ctx context.Context, id string) error {
	now := s.now().UTC()
	if err := s.st.SetCampaignStatus(ctx, id, StatusStopped, []string{StatusActive, StatusDraft, StatusPaused}, now); err != nil {
		return err
	}
	return s.st.SetDispatchStatus(ctx, id, "", DispatchStopped, []string{DispatchScheduled, DispatchRunning, DispatchPaused}, now)
}

// hasInApp reports whether an input holds an in-app message.
func hasInApp(in *Input) bool {
	if _, ok := in.Messages[InAppMessage]; ok {
		return true
	}
	for _, v := range in.Variants {
		if _, ok := v.Messages[InAppMessage]; ok {
			return true
		}
	}
	return false
}
