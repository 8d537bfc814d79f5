package campaigns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-oss/herald/queue"
)

// Dispatch runs a campaign:dispatch task: it pages the dispatch's audience
// from its cursor, records each page in the store and enqueues its deliver
// task. A re-run (a retry, the reconciler) resumes from the cursor; pages
// already recorded keep their users, and their tasks are enqueued under the
// same TaskID, so nothing is sent twice. A local-time dispatch's task plans
// its waves or pages one of them (localtime.go).
func (p *Pipeline) Dispatch(ctx context.Context, t queue.DispatchPayload) error {
	if err := p.dispatch(ctx, t); err != nil {
		return err
	}
	// An audience of no one (or pages all done already) finishes the
	// dispatch while it is paged.
	d, err := p.st.Dispatch(ctx, t.DispatchID)
	if err != nil {
		return err
	}
	if d.Status == DispatchDone {
		p.campaignDone(ctx, d)
	}
	return nil
}

func (p *Pipeline) dispatch(ctx context.Context, t queue.DispatchPayload) error {
	d, err := p.st.Dispatch(ctx, t.DispatchID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	switch d.Status {
	case DispatchPaused:
		return &queue.Backoff{After: p.opts.PageRetry, Reason: "dispatch paused"}
	case DispatchStopped, DispatchDone:
		return nil
	}
	if d.PagingDone {
		return nil
	}
	// A local-time dispatch is planned and paged wave by wave.
	if l, err := p.isLocal(ctx, d.ID); err != nil {
		return err
	} else if l != nil {
		return p.dispatchLocal(ctx, d, l, t.Wave)
	}
	if t.Wave != 0 {
		return fmt.Errorf("dispatch %s has no waves (task of wave %d): %w", d.ID, t.Wave, asynq.SkipRetry)
	}
	now := p.opts.Now()
	// Listed recipients (possibly none) are paged as listed; a filter alone
	// is paged from the audience.
	if len(d.Spec.UserIDs) > 0 || len(d.Spec.Filter) == 0 {
		return p.dispatchList(ctx, d, now)
	}
	where, args, err := p.audienceSQL(ctx, d, now)
	if err != nil {
		return err
	}
	// One streaming query from the cursor: each batch is recorded as a page
	// (moving the cursor) before its task is enqueued.
	return p.st.AudienceScan(ctx, where, args, d.Cursor, PageSize, func(ids []int64, last bool) error {
		var pages []Page
		cursor := d.Cursor
		if len(ids) > 0 {
			pages = []Page{{DispatchID: d.ID, FirstUserID: ids[0], UserIDs: ids}}
			cursor = ids[len(ids)-1]
			d.Cursor = cursor
		}
		if err := p.st.AddPages(ctx, d.ID, pages, cursor, last, p.opts.Now()); err != nil {
			return err
		}
		for _, pg := range pages {
			if err := p.enqueue.EnqueueDeliver(ctx, queue.DeliverPayload{DispatchID: d.ID, FirstUserID: pg.FirstUserID}, 0); err != nil {
				return err // the page is recorded: the reconciler enqueues it if this run dies
			}
		}
		return nil
	})
}

// audienceSQL is the dispatch's audience filter as SQL, after bringing the
// planner's statistics up to date.
func (p *Pipeline) audienceSQL(ctx context.Context, d *Dispatch, now time.Time) (string, []any, error) {
	c, err := p.compile(ctx, d)
	if err != nil {
		return "", nil, err
	}
	if tables, err := p.st.RefreshStats(ctx); err != nil {
		p.log.Warn("dispatch: refreshing planner statistics failed; paging anyway", "dispatch", d.ID, "err", err)
	} else if len(tables) > 0 {
		p.log.Info("dispatch: refreshed stale planner statistics", "dispatch", d.ID, "tables", tables)
	}
	where, args, err := c.filter.SQL(p.st.Driver(), now)
	if err != nil {
		return "", nil, fmt.Errorf("dispatch %s: %w: %w", d.ID, err, asynq.SkipRetry)
	}
	return where, args, nil
}

// dispatchList pages explicit recipients (an API send to listed users).
func (p *Pipeline) dispatchList(ctx context.Context, d *Dispatch, now time.Time) error {
	ids := slices.Clone(d.Spec.UserIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var pages []Page
	for start := 0; start < len(ids); start += PageSize {
		chunk := ids[start:min(start+PageSize, len(ids))]
		pages = append(pages, Page{DispatchID: d.ID, FirstUserID: chunk[0], UserIDs: chunk})
	}
	var cursor int64
	if len(ids) > 0 {
		cursor = ids[len(ids)-1]
	}
	if err := p.st.AddPages(ctx, d.ID, pages, cursor, true, now); err != nil {
		return err
	}
	for _, pg := range pages {
		if err := p.enqueue.EnqueueDeliver(ctx, queue.DeliverPayload{DispatchID: d.ID, FirstUserID: pg.FirstUserID}, 0); err != nil {
			return err
		}
	}
	return nil
}

// Reconcile enqueues again what the store says is unfinished but may have
// been lost by Redis: pages not done whose task was enqueued more than
// olderThan ago, and running dispatches whose paging has not moved for as
// long. It returns how many tasks it enqueued. Enqueues use the tasks'
// stable TaskIDs, so a task still in Redis is not doubled; a page's task the
// queue says completed runs again (queue.Client.RequeueDeliver): an open
// page of a running dispatch means its completion, committed without
// waiting for the WAL flush, was lost in a database crash.
func (p *Pipeline) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	now := p.opts.Now()
	n := 0
	pages, err := p.st.OpenPages(ctx, now.Add(-olderThan), 1000)
	if err != nil {
		return 0, err
	}
	for _, pg := range pages {
		if err := p.enqueue.RequeueDeliver(ctx, queue.DeliverPayload{DispatchID: pg.DispatchID, FirstUserID: pg.FirstUserID}); err != nil {
			return n, err
		}
		if err := p.st.TouchPage(ctx, pg.DispatchID, pg.FirstUserID, now); err != nil {
			return n, err
		}
		n++
	}
	stalled, err := p.st.StalledDispatches(ctx, now.Add(-olderThan), 100)
	if err != nil {
		return n, err
	}
	for _, id := range stalled {
		if err := p.enqueue.EnqueueDispatch(ctx, queue.DispatchPayload{DispatchID: id}); err != nil {
			return n, err
		}
		if err := p.st.TouchDispatch(ctx, id, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// campaignDone marks a one-time campaign (immediate or scheduled) completed
// once its launch dispatch is done; a failure is logged (the campaign stays
// active, and sends nothing more: its one dispatch is done).
func (p *Pipeline) campaignDone(ctx context.Context, d *Dispatch) {
	if d.Occurrence != launchOccurrence || d.CampaignID == "" {
		return
	}
	c, err := p.st.Campaign(ctx, d.CampaignID)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			p.log.Warn("completing campaign", "campaign", d.CampaignID, "error", err)
		}
		return
	}
	switch c.Definition.Schedule.Type {
	case ScheduleImmediate, ScheduleScheduled:
	default:
		return
	}
	err = p.st.SetCampaignStatus(ctx, c.ID, StatusCompleted, []string{StatusActive, StatusPaused}, p.opts.Now().UTC())
	if err != nil && !errors.Is(err, ErrConflict) {
		p.log.Warn("completing campaign", "campaign", c.ID, "error", err)
	}
}
