package campaigns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/scheduler"
)

// Triggered send states.
const (
	TriggeredPending    = "pending"
	TriggeredDispatched = "dispatched"
	TriggeredCancelled  = "cancelled"
)

// Reasons a triggered send is cancelled.
const (
	CancelExceptionEvent   = "exception_event"
	CancelCampaignInactive = "campaign_inactive"
)

// Triggered is one user's delayed send of an action-based campaign, stored
// with the event that triggered it.
type Triggered struct {
	ID         string
	CampaignID string
	UserID     int64
	EventName  string
	EventAt    time.Time
	Properties json.RawMessage // the event's properties, a JSON object
	DueAt      time.Time
	Status     string
	Reason     string
	DispatchID string
	CreatedAt  time.Time
}

// TriggerTx is what the event hook writes in the transaction that stores
// the events (the store's transaction implements it).
type TriggerTx interface {
	// AddTriggered inserts pending triggered sends; an id already there is
	// left alone.
	AddTriggered(ctx context.Context, ts []Triggered) error
	// CancelTriggered cancels the user's pending sends of the campaign whose
	// event came at or before upTo, returning how many.
	CancelTriggered(ctx context.Context, userID int64, campaignID string, upTo time.Time, reason string, at time.Time) (int64, error)
}

// TriggerOptions configure Triggers.
type TriggerOptions struct {
	// DefaultZone places users without a time zone ("next day at" delays).
	// Default UTC.
	DefaultZone *time.Location
	// TTL is how long the list of active action-based campaigns is cached.
	// Default 2s.
	TTL    time.Duration
	Logger *slog.Logger
}

// Triggers turns stored custom events into triggered sends of the active
// action-based campaigns: profiles.Options.OnEvents.
type Triggers struct {
	st    Store
	opts  TriggerOptions
	zones scheduler.Zones // users' zones, loaded once each

	mu          sync.Mutex
	loadedAt    time.Time
	actions     []*action
	conversions []*convCampaign // campaigns with conversion events, any status
}

// action is an active action-based campaign, parsed.
type action struct {
	campaignID string
	f          actionFields
	delay      delay
	paused     bool // exception events only
}

// NewTriggers returns the event hook over st.
func NewTriggers(st Store, o TriggerOptions) *Triggers {
	if o.DefaultZone == nil {
		o.DefaultZone = time.UTC
	}
	if o.TTL <= 0 {
		o.TTL = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Triggers{st: st, opts: o}
}

// active returns the active and paused action-based campaigns and the
// campaigns with conversion events, cached for TTL.
func (tr *Triggers) active(ctx context.Context) ([]*action, []*convCampaign, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if !tr.loadedAt.IsZero() && time.Since(tr.loadedAt) < tr.opts.TTL {
		return tr.actions, tr.conversions, nil
	}
	list, err := tr.st.Campaigns(ctx, 10000, 0)
	if err != nil {
		return nil, nil, err
	}
	var out []*action
	var convs []*convCampaign
	for _, c := range list {
		if evs := c.Definition.ConversionEvents; len(evs) > 0 {
			cc := &convCampaign{id: c.ID, events: evs}
			for _, e := range evs {
				w, _ := ParseWindow(e.Window) // validated at save
				cc.windows = append(cc.windows, w.span())
			}
			convs = append(convs, cc)
		}
		// A paused campaign triggers nothing, but its exception events still
		// cancel the sends waiting for its resume.
		if c.Status != StatusActive && c.Status != StatusPaused || c.Definition.Schedule.Type != ScheduleActionBased {
			continue
		}
		if _, inApp := c.Definition.Messages[InAppMessage]; inApp {
			continue // the SDK shows it on its trigger: no server-side send
		}
		var f actionFields
		if err := json.Unmarshal(c.Definition.Schedule.Raw, &f); err != nil {
			tr.opts.Logger.Warn("action-based campaign with an unreadable schedule", "campaign", c.ID, "err", err)
			continue
		}
		d, err := parseDelay(f.Delay)
		if err != nil {
			tr.opts.Logger.Warn("action-based campaign with a bad delay", "campaign", c.ID, "err", err)
			continue
		}
		out = append(out, &action{campaignID: c.ID, f: f, delay: d, paused: c.Status == StatusPaused})
	}
	tr.actions, tr.conversions, tr.loadedAt = out, convs, time.Now()
	return out, convs, nil
}

// Invalidate drops the cached campaign list (after a campaign changes in
// this process).
func (tr *Triggers) Invalidate() {
	tr.mu.Lock()
	tr.loadedAt = time.Time{}
	tr.mu.Unlock()
}

// OnEvents is the profiles event hook: trigger events inside the campaign's
// window whose properties match add a pending send due after the delay,
// exception events cancel the user's pending sends of earlier events, and
// events and purchases are counted as conversions of the campaigns sent to
// the user.
func (tr *Triggers) OnEvents(ctx context.Context, ptx profiles.Tx, events []profiles.HookEvent, purchases []profiles.Purchase) error {
	acts, convs, err := tr.active(ctx)
	if err != nil || len(acts)+len(convs) == 0 {
		return err
	}
	ttx, ok := ptx.(interface {
		TriggerTx
		ConversionTx
	})
	if !ok {
		return fmt.Errorf("campaigns: the store's transaction cannot hold triggered sends and conversions")
	}
	if err := tr.convert(ctx, ttx, convs, events, purchases, nil); err != nil {
		return err
	}
	now := time.Now().UTC()
	var adds []Triggered
	for _, e := range events {
		var props map[string]any
		for _, a := range acts {
			if a.paused || a.f.EventName != e.Name || !inWindow(a.f, e.Time) {
				continue
			}
			if props == nil {
				props = map[string]any{}
				_ = json.Unmarshal(e.Properties, &props) // canonical JSON object from the decoder
			}
			if !matchProperties(a.f.PropertyFilters, props) {
				continue
			}
			loc := tr.opts.DefaultZone
			if e.TimeZone != "" {
				if l, err := tr.zones.Load(e.TimeZone); err == nil {
					loc = l
				}
			}
			adds = append(adds, Triggered{ID: triggeredID(a.campaignID, e.Event), CampaignID: a.campaignID, UserID: e.UserID,
				EventName: e.Name, EventAt: e.Time, Properties: e.Properties, DueAt: a.delay.due(e.Time, loc),
				Status: TriggeredPending, CreatedAt: now})
		}
	}
	// Exception events cancel what is stored, and what this batch would add
	// for an earlier event, whatever the order of the batch (an event that is
	// both an exception and the trigger cancels earlier sends, not its own).
	for _, e := range events {
		for _, a := range acts {
			if !slices.Contains(a.f.ExceptionEvents, e.Name) {
				continue
			}
			if _, err := ttx.CancelTriggered(ctx, e.UserID, a.campaignID, e.Time, CancelExceptionEvent, now); err != nil {
				return err
			}
			adds = slices.DeleteFunc(adds, func(t Triggered) bool {
				return t.UserID == e.UserID && t.CampaignID == a.campaignID &&
					(t.EventAt.Before(e.Time) || t.EventAt.Equal(e.Time) && t.EventName != e.Name)
			})
		}
	}
	if len(adds) == 0 {
		return nil
	}
	return ttx.AddTriggered(ctx, adds)
}

func inWindow(f actionFields, at time.Time) bool {
	return (f.WindowStart == nil || !at.Before(*f.WindowStart)) && (f.WindowEnd == nil || at.Before(*f.WindowEnd))
}

// triggeredID derives a triggered send's id from its campaign and event, so
// the same event posted twice triggers once.
func triggeredID(campaignID string, e profiles.Event) string {
	h := sha256.New()
	for _, s := range []string{campaignID, strconv.FormatInt(e.UserID, 10), e.Name, strconv.FormatInt(e.Time.UnixMilli(), 10)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(e.Properties)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// triggerPrefix starts the occurrence of a triggered send's dispatch.
const triggerPrefix = "trg:"

// fireTriggered turns due triggered sends into one-user dispatches of their
// campaign's current version. A paused campaign's sends wait; a campaign no
// longer active cancels them. Creating the dispatch is idempotent (its
// occurrence is the triggered send's id), so a tick that dies half-way, or a
// second scheduler, sends nothing twice.
func (s *Service) fireTriggered(ctx context.Context, now time.Time, log *slog.Logger) (int, error) {
	due, err := s.st.DueTriggered(ctx, now, 500)
	if err != nil {
		return 0, err
	}
	started := 0
	campaigns := map[string]*Campaign{}
	for _, t := range due {
		c, ok := campaigns[t.CampaignID]
		if !ok {
			if c, err = s.st.Campaign(ctx, t.CampaignID); err != nil && !errors.Is(err, ErrNotFound) {
				return started, err
			}
			if err != nil {
				c = nil
			}
			campaigns[t.CampaignID] = c
		}
		switch {
		case c != nil && c.Status == StatusPaused:
			continue
		case c == nil || c.Status != StatusActive || c.Definition.Schedule.Type != ScheduleActionBased:
			if _, err := s.st.FinishTriggered(ctx, t.ID, TriggeredCancelled, CancelCampaignInactive, "", now); err != nil {
				return started, err
			}
			continue
		}
		var props map[string]any
		if err := json.Unmarshal(t.Properties, &props); err != nil {
			log.Warn("triggered send with unreadable event properties", "triggered", t.ID, "err", err)
		}
		d := s.newDispatch(c, triggerPrefix+t.ID, DispatchRunning, time.Time{}, now)
		d.Spec.UserIDs, d.Spec.EventProperties = []int64{t.UserID}, props
		d, _, err := s.st.CreateDispatch(ctx, d)
		if err != nil {
			return started, err
		}
		if err := s.enq.EnqueueDispatch(ctx, queue.DispatchPayload{DispatchID: d.ID}); err != nil {
			return started, err
		}
		if _, err := s.st.FinishTriggered(ctx, t.ID, TriggeredDispatched, "", d.ID, now); err != nil {
			return started, err
		}
		started++
	}
	return started, nil
}

// OnSessions is the profiles session hook: session starts stored by an SDK
// batch count as session_start conversions of the campaigns sent to the
// user.
func (tr *Triggers) OnSessions(ctx context.Context, ptx profiles.Tx, sessions []profiles.Session) error {
	_, convs, err := tr.active(ctx)
	if err != nil || len(convs) == 0 {
		return err
	}
	ctx2, ok := ptx.(ConversionTx)
	if !ok {
		return fmt.Errorf("campaigns: the store's transaction cannot hold conversions")
	}
	return tr.convert(ctx, ctx2, convs, nil, nil, sessions)
}
