package campaigns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/scheduler"
)

// A local-time send (schedule in_local_time: a scheduled campaign, each
// occurrence of a recurring one, a /messages or /campaigns/trigger schedule)
// is ONE dispatch sent in waves, one per instant at which some users' zones
// reach its wall time. Its life:
//
//  1. Launch (or the occurrence) stores a LocalSend, then the dispatch in
//     status scheduled, due when the first zone (UTC+14) reaches the wall
//     time, or at once when that has passed.
//  2. The scheduler tick starts it as any scheduled dispatch; its dispatch
//     task (wave 0) plans the waves once, from the users' distinct zones and
//     the company zone (PipelineOptions.DefaultZone), with the LocalSend's
//     passed-zone policy, and stores them pending.
//  3. The scheduler tick starts each wave when its time has come (a
//     conditional update: once, whatever the number of replicas) and
//     enqueues the wave's dispatch task (TaskID dispatch:<id>:wave:<n>),
//     which pages the audience's users of the wave's zones.
//  4. The dispatch's paging is done when every wave is paged; it is done,
//     as any dispatch, when its paging is done and every page is.
//
// The ledger's key (dispatch, user, channel, device) spans the waves: a user
// who changes zone between waves is paged again at most, never sent twice.
// A user who moved into the zone of a wave already paged is taken by the next
// wave (users of earlier waves' zones not yet in the dispatch's ledger), and
// the last wave takes users of zones no wave names (a zone first seen after
// planning), so nobody is lost.

// Wave states.
const (
	WavePending = "pending" // waits for its time
	WaveStarted = "started" // its dispatch task pages it
	WavePaged   = "paged"   // every user of it is in a page
)

// LocalSend is what a local-time dispatch's waves are planned from.
type LocalSend struct {
	DispatchID string
	WallTime   scheduler.LocalTime
	// Policy decides zones whose moment was before LaunchedAt.
	Policy     scheduler.Policy
	LaunchedAt time.Time
	// Skipped are the zones the plan left out (PolicySkip); set with PlannedAt.
	Skipped   []string
	PlannedAt time.Time // zero until the waves are stored
}

// Wave is one wave of a local-time dispatch.
type Wave struct {
	DispatchID string
	N          int // 1, 2, … in order of At
	At         time.Time
	// Zones are zone names as users' profiles hold them ("" for users with
	// none): the company zone's wave holds "" and the names that are not
	// IANA zones.
	Zones  []string
	State  string
	Cursor int64 // the last user id paged
}

// WaveAudience narrows a dispatch's audience to one wave's users (the store
// writes it as SQL over `users u`).
type WaveAudience struct {
	DispatchID string
	// UserIDs are the dispatch's listed recipients: the audience instead of
	// a filter when set.
	UserIDs []int64
	// Zones are the wave's zones.
	Zones []string
	// Earlier are the earlier waves' zones: their users not yet in the
	// dispatch's ledger (moved since their wave was paged) come too.
	Earlier []string
	// Known, for the last wave only, are every zone of the plan (waves and
	// skipped): users of any other zone not yet in the ledger come too.
	Known []string
	Last  bool
}

// localSchedule reads a local-time schedule: its wall time and policy. A
// wall time that has passed in every zone at now is refused when passed
// zones are skipped (Braze answers such a schedule with an error).
func localSchedule(field, wall, policy string, now time.Time, ps *problems) *LocalSend {
	l, err := scheduler.ParseLocalTime(wall)
	if err != nil {
		ps.add(field+".time", "%v", err)
		return nil
	}
	p := scheduler.PolicySkip
	if policy != "" {
		if p, err = scheduler.ParsePolicy(policy); err != nil {
			ps.add(field+".passed_zones", "want skip or next_occurrence, got %q", policy)
			return nil
		}
	}
	if !now.IsZero() && p == scheduler.PolicySkip && l.PassedEverywhere(now) {
		ps.add(field+".time", "%s has passed in every time zone (set passed_zones to next_occurrence to send it the next day)", wall)
		return nil
	}
	return &LocalSend{WallTime: l, Policy: p, LaunchedAt: now.UTC()}
}

// due is when a local-time dispatch starts (its waves are planned then): when
// the first zone reaches the wall time, or at launch when that has passed.
func (l *LocalSend) due() time.Time {
	return latest(l.WallTime.FirstWave(), l.LaunchedAt)
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a.UTC()
	}
	return b.UTC()
}

// createLocal stores a local-time dispatch: its LocalSend first, so no such
// dispatch exists without one. When the occurrence already has its dispatch,
// that one is returned and the LocalSend just written is removed.
func createLocal(ctx context.Context, st Store, d *Dispatch, l *LocalSend) (*Dispatch, bool, error) {
	l.DispatchID = d.ID
	if err := st.CreateLocalSend(ctx, l); err != nil {
		return nil, false, err
	}
	got, created, err := st.CreateDispatch(ctx, d)
	if err == nil && !created {
		err = st.DeleteLocalSend(ctx, l.DispatchID)
	}
	return got, created, err
}

// startWaves starts every wave whose time has come, of running dispatches:
// each once (StartWave is conditional), its task enqueued after.
func (s *Service) startWaves(ctx context.Context, now time.Time) (int, error) {
	due, err := s.st.DueWaves(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	started := 0
	for _, w := range due {
		ok, err := s.st.StartWave(ctx, w.DispatchID, w.N, now)
		if err != nil {
			return started, err
		}
		if !ok {
			continue // another scheduler started it
		}
		// Started but not enqueued: the reconciler's dispatch task enqueues it.
		if err := s.enq.EnqueueDispatch(ctx, queue.DispatchPayload{DispatchID: w.DispatchID, Wave: w.N}); err != nil {
			return started, err
		}
		started++
	}
	return started, nil
}

// dispatchLocal runs a task of a local-time dispatch: wave 0 plans the waves
// (once) and enqueues again the tasks of waves started but not paged (the
// reconciler's way to recover a lost wave task); wave n pages that wave.
func (p *Pipeline) dispatchLocal(ctx context.Context, d *Dispatch, l *LocalSend, wave int) error {
	if wave == 0 {
		if l.PlannedAt.IsZero() {
			return p.planWaves(ctx, d, l)
		}
		waves, err := p.st.Waves(ctx, d.ID)
		if err != nil {
			return err
		}
		for _, w := range waves {
			if w.State != WaveStarted {
				continue
			}
			if err := p.enqueue.EnqueueDispatch(ctx, queue.DispatchPayload{DispatchID: d.ID, Wave: w.N}); err != nil {
				return err
			}
		}
		return nil
	}
	waves, err := p.st.Waves(ctx, d.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(waves, func(w Wave) bool { return w.N == wave })
	if i < 0 {
		return fmt.Errorf("dispatch %s has no wave %d: %w", d.ID, wave, asynq.SkipRetry)
	}
	w := waves[i]
	if w.State != WaveStarted {
		return nil // paged already (a stale task), or not started (cannot be)
	}
	a := WaveAudience{DispatchID: d.ID, Zones: w.Zones, Last: i == len(waves)-1}
	for _, e := range waves[:i] {
		a.Earlier = append(a.Earlier, e.Zones...)
	}
	if a.Last {
		for _, e := range waves {
			a.Known = append(a.Known, e.Zones...)
		}
		a.Known = append(a.Known, l.Skipped...)
	}
	now := p.opts.Now()
	var where string
	var args []any
	switch {
	case len(d.Spec.UserIDs) > 0:
		a.UserIDs = d.Spec.UserIDs
	case len(d.Spec.Filter) == 0:
		a.UserIDs = []int64{} // nobody listed and no filter: nobody
	default:
		if where, args, err = p.audienceSQL(ctx, d, now); err != nil {
			return err
		}
	}
	cursor := w.Cursor
	return p.st.WaveScan(ctx, where, args, a, cursor, PageSize, func(ids []int64, last bool) error {
		var pages []Page
		if len(ids) > 0 {
			pages = []Page{{DispatchID: d.ID, FirstUserID: ids[0], UserIDs: ids}}
			cursor = ids[len(ids)-1]
		}
		recorded, err := p.st.AddWavePages(ctx, d.ID, w.N, pages, cursor, last, p.opts.Now())
		if err != nil {
			return err
		}
		for _, pg := range recorded {
			if err := p.enqueue.EnqueueDeliver(ctx, queue.DeliverPayload{DispatchID: d.ID, FirstUserID: pg.FirstUserID}, 0); err != nil {
				return err // the page is recorded: the reconciler enqueues it if this run dies
			}
		}
		return nil
	})
}

// planWaves plans a local-time dispatch's waves from the users' zones now
// (and the company zone, always: users created later with no zone go there)
// and stores them. A plan of no wave (every zone skipped) finishes the
// dispatch's paging with no page.
func (p *Pipeline) planWaves(ctx context.Context, d *Dispatch, l *LocalSend) error {
	zones, err := p.st.TimeZones(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(zones, "") {
		zones = append(zones, "")
	}
	plan, err := scheduler.PlanWaves(l.WallTime, zones, p.opts.DefaultZone.String(), l.LaunchedAt, l.Policy)
	if err != nil {
		return fmt.Errorf("dispatch %s: %w: %w", d.ID, err, asynq.SkipRetry)
	}
	waves := make([]Wave, len(plan.Waves))
	for i, w := range plan.Waves {
		waves[i] = Wave{DispatchID: d.ID, N: i + 1, At: w.At, Zones: w.Zones, State: WavePending}
	}
	ok, err := p.st.PlanWaves(ctx, d.ID, waves, plan.Skipped, p.opts.Now())
	if err != nil || !ok {
		return err
	}
	p.log.Info("local-time dispatch planned", "dispatch", d.ID, "wall_time", l.WallTime.String(), "policy", l.Policy.String(),
		"waves", len(waves), "skipped", plan.Skipped, "deferred", plan.Deferred, "defaulted", plan.Defaulted)
	return nil
}

// isLocal returns the LocalSend of a local-time dispatch, nil for another.
func (p *Pipeline) isLocal(ctx context.Context, id string) (*LocalSend, error) {
	l, err := p.st.LocalSend(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return l, err
}
