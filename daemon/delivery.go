package daemon

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

// buildCampaigns wires the campaign service (every role) and the delivery
// pipeline (the worker role runs it).
func (n *node) buildCampaigns() error {
	eng, err := newTemplateEngine(n.cfg, n.log, n.registry, templates.Options{})
	if err != nil {
		return err
	}
	// audiences' resolvers cache what they parse and are not for concurrent
	// use: one per resolution, so edited segments are read fresh.
	resolve := func(ctx context.Context, id string) (*segments.Filter, error) { return n.segments.Resolver()(ctx, id) }
	n.campaigns = campaigns.NewService(n.store, n.queue, eng, resolve, nil)
	live := queue.NewLiveCounters(n.rdb, n.cfg.Redis.KeyPrefix, 0)
	n.campaigns.UseLive(live)
	if err := n.campaigns.UseMetrics(n.registry); err != nil {
		return err
	}
	d := n.cfg.Delivery
	caps := make([]campaigns.CapRule, 0, len(n.cfg.FrequencyCapping))
	for i, c := range n.cfg.FrequencyCapping {
		w, err := campaigns.ParseWindow(c.Window)
		if err != nil {
			return fmt.Errorf("frequency_capping[%d].window: %w", i, err)
		}
		caps = append(caps, campaigns.CapRule{Channel: c.Channel, Limit: c.Limit, Window: w})
	}
	n.caps = caps
	n.inapp = campaigns.NewInApp(n.store, eng, resolve, campaigns.InAppOptions{MinInterval: n.cfg.SDK.InAppMinInterval, Logger: n.log})
	n.pipeline, err = campaigns.NewPipeline(n.store, n.senders, n.queue, eng, resolve, campaigns.PipelineOptions{
		Lease: d.Lease, MaxAttempts: d.MaxAttempts, SendTimeout: d.Lease / 4, Logger: n.log, Metrics: n.registry,
		FrequencyCaps: caps, DefaultZone: n.zone, Limiter: queue.NewRateLimiter(n.rdb, n.cfg.Redis.KeyPrefix, nil),
		Webhook: n.senders.webhook, Live: live})
	return err
}

// campaignUsers gives the campaign service users by identifier and writes
// recipients' attributes through the profile service.
type campaignUsers struct{ n *node }

func (u campaignUsers) FindUserIDs(ctx context.Context, l profiles.Lookup) ([]int64, []string, error) {
	return u.n.store.FindUserIDs(ctx, l)
}

// Track writes recipients' attributes; an attribute /users/track would
// refuse fails the send (a 400), rather than being dropped.
func (u campaignUsers) Track(ctx context.Context, body []byte) error {
	req, err := profiles.DecodeTrack(bytes.NewReader(body), u.n.profiles.Now(), u.n.profiles.Limits())
	if err != nil {
		return err
	}
	res, err := u.n.profiles.Track(ctx, req)
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return &profiles.RequestError{Message: "recipients' attributes were refused", Errors: res.Errors}
	}
	return nil
}

// newHandlers builds the task handlers the worker role runs.
func newHandlers(n *node) (queue.Handlers, error) {
	return campaigns.Handlers{Pipeline: n.pipeline, Service: n.campaigns, Users: campaignUsers{n}}, nil
}

// reconciler is the worker role's background loop: it enqueues again the
// pages and dispatches the store says are unfinished (a task Redis lost), and
// purges old ledger rows.
type reconciler struct {
	n    *node
	stop chan struct{}
	done sync.WaitGroup
}

func (r *reconciler) Name() string { return "reconciler" }

func (r *reconciler) Start(context.Context) error {
	r.stop = make(chan struct{})
	every := min(r.n.cfg.Delivery.ReconcileAfter/2, time.Minute)
	// base ends with Stop: a reconcile or purge in progress gives up then.
	base, cancelBase := context.WithCancel(context.Background())
	go func() { <-r.stop; cancelBase() }()
	r.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(base, every)
			if n, err := r.n.pipeline.Reconcile(ctx, r.n.cfg.Delivery.ReconcileAfter); err != nil && ctx.Err() == nil {
				r.n.log.Warn("reconcile failed", "error", err)
			} else if n > 0 {
				r.n.log.Info("enqueued unfinished work again", "tasks", n)
			}
			cancel()
		}
	})
	// Purges run on their own, once an hour (the first after one reconcile
	// interval): a long one must not hold the reconciling back.
	r.done.Go(func() {
		wait := every
		for {
			select {
			case <-r.stop:
				return
			case <-time.After(wait):
			}
			wait = time.Hour
			ctx, cancel := context.WithTimeout(base, purgeTimeout)
			r.purge(ctx, time.Now())
			cancel()
		}
	})
	return nil
}

// purgeTimeout bounds one round of purges (they delete in batches: what a
// round leaves, the next one continues).
const purgeTimeout = 10 * time.Minute

// replayWindow is how long after an SDK item or an event Herald may see it
// again: the SDK's replay window and a day's margin for device clocks
// running ahead.
const replayWindow = profiles.SDKReplayWindow + 24*time.Hour

// purge deletes what the store no longer needs: the ledger rows of
// dispatches over for longer than delivery.ledger_retention, SDK item ids
// and finished triggered sends older than the replay window (a replayed
// event would trigger again), and users' sends older than any frequency cap,
// conversion or re-eligibility window looks back (campaigns.SendsRetention).
func (r *reconciler) purge(ctx context.Context, now time.Time) {
	st, log := r.n.store, r.n.log
	report := func(what string, n int64, err error) {
		if err != nil && ctx.Err() != nil {
			return // stopping
		}
		if err != nil {
			log.Warn("purge failed", "what", what, "error", err)
		} else if n > 0 {
			log.Info("purged", "what", what, "rows", n)
		}
	}
	n, err := st.PurgeLedger(ctx, now.Add(-r.n.cfg.Delivery.LedgerRetention))
	report("ledger rows", n, err)
	n, err = st.PurgeSDKItems(ctx, now.Add(-replayWindow))
	report("SDK item ids", n, err)
	n, err = st.PurgeTriggeredSends(ctx, now.Add(-max(replayWindow, r.n.cfg.Delivery.LedgerRetention)))
	report("triggered sends", n, err)
	// Every campaign, in one query (pages by offset could skip one deleted
	// meanwhile): without one re-eligible never, its sends would go.
	cs, err := st.Campaigns(ctx, math.MaxInt32, 0)
	if err != nil {
		report("user sends", 0, err)
		return
	}
	keep, forever := campaigns.SendsRetention(r.n.caps, cs)
	n, err = st.PurgeUserSends(ctx, now.Add(-keep), forever)
	report("user sends", n, err)
}

func (r *reconciler) Stop(context.Context) error {
	close(r.stop)
	r.done.Wait()
	return nil
}
