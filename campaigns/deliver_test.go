package campaigns_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/seal"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/store"
)

func openSQLite(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// pageOf stores a running dispatch of spec to the listed users with one page
// that is not enqueued (only the test runs it) and returns its task payload.
func pageOf(t *testing.T, st *store.Store, id string, spec campaigns.Spec, ids []int64) queue.DeliverPayload {
	t.Helper()
	now := time.Now()
	if spec.RecipientSubscriptionState == "" {
		spec.RecipientSubscriptionState = campaigns.SubscriptionSubscribed
	}
	d := &campaigns.Dispatch{ID: id, CampaignID: "c-" + id, Occurrence: "launch", Status: campaigns.DispatchRunning, Spec: spec,
		CreatedAt: now, UpdatedAt: now}
	if _, _, err := st.CreateDispatch(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if err := st.AddPages(context.Background(), id, []campaigns.Page{{FirstUserID: ids[0], UserIDs: ids}}, ids[len(ids)-1], true, now); err != nil {
		t.Fatal(err)
	}
	return queue.DeliverPayload{DispatchID: id, FirstUserID: ids[0]}
}

// userIDs returns the ids of users by external id.
func (e *env) userIDs(t *testing.T, ext ...string) []int64 {
	t.Helper()
	ids, _, err := e.users.FindUserIDs(context.Background(), profiles.Lookup{ExternalIDs: ext})
	if err != nil || len(ids) != len(ext) {
		t.Fatal(ids, err)
	}
	return ids
}

func noSegments(context.Context, string) (*segments.Filter, error) { return nil, campaigns.ErrNotFound }

// cancelAfterSend cancels the task's context once the provider has answered:
// asynq's shutdown abort, the task timeout or a lost lease arriving just
// after the send.
type cancelAfterSend struct {
	channels.Sender
	cancel context.CancelFunc
}

func (c cancelAfterSend) Send(ctx context.Context, msgs []channels.Message) []channels.Result {
	res := c.Sender.Send(ctx, msgs)
	c.cancel()
	return res
}

// What was sent is recorded even when the task's context ends right after
// the send; otherwise the claim outlives the run and the message is sent
// again after the lease.
func TestOutcomesRecordedWhenTheTaskIsCancelledAfterTheSend(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"c1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("cd", 32)+`"}]}]}`)
	page := pageOf(t, st, "cancelled", campaigns.Spec{Messages: map[string]map[string]any{campaigns.ApplePush: {"alert": "once"}}},
		e.userIDs(t, "c1"))
	ctx, cancel := context.WithCancel(context.Background())
	const lease = time.Second
	pipe, err := campaigns.NewPipeline(st, senders{cancelAfterSend{e.snd, cancel}}, e.client, e.eng, noSegments,
		campaigns.PipelineOptions{Lease: lease, PageRetry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_ = pipe.Deliver(ctx, page) // its error, if any, makes asynq run the page again
	if counts, _ := st.LedgerCounts(context.Background(), page.DispatchID); counts[campaigns.LedgerDelivered] != 1 {
		t.Errorf("ledger after a send whose task was cancelled: %v; want it delivered", counts)
	}
	time.Sleep(lease + 100*time.Millisecond)
	if err := e.pipe.Deliver(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if n := e.rec.Len(); n != 1 {
		t.Errorf("the device got %d messages, want 1", n)
	}
}

// A segment that cannot be read now (the store's blip) fails the task for a
// retry; it is not archived, since an archived task keeps its TaskID and the
// reconciler could not enqueue its page again.
func TestSegmentReadFailureIsRetried(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"r1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("ef", 32)+`"}]}]}`)
	ids := e.userIDs(t, "r1")
	down := true
	resolver := func(_ context.Context, id string) (*segments.Filter, error) {
		if down {
			return nil, errors.New("store: segment: connection reset by peer")
		}
		return segments.Parse([]byte(`{"push_enabled":{}}`))
	}
	pipe, err := campaigns.NewPipeline(st, senders{e.snd}, e.client, e.eng, resolver, campaigns.PipelineOptions{PageRetry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	spec := campaigns.Spec{Messages: map[string]map[string]any{campaigns.ApplePush: {"alert": "hi"}},
		Filter: json.RawMessage(`{"segment":{"segment_id":"s1","comparison":"in"}}`)}
	page := pageOf(t, st, "segdown", spec, ids)
	if err := pipe.Deliver(context.Background(), page); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Errorf("deliver while the segment cannot be read: %v; want an error to retry", err)
	}
	spec.UserIDs = nil
	d := &campaigns.Dispatch{ID: "segdown-d", CampaignID: "c-segdown-d", Occurrence: "launch", Status: campaigns.DispatchRunning, Spec: spec}
	if _, _, err := st.CreateDispatch(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if err := pipe.Dispatch(context.Background(), queue.DispatchPayload{DispatchID: d.ID}); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Errorf("dispatch while the segment cannot be read: %v; want an error to retry", err)
	}
	down = false
	if err := pipe.Deliver(context.Background(), page); err != nil || e.rec.Len() != 1 {
		t.Errorf("deliver once the segment is read: %v, %d messages", err, e.rec.Len())
	}
	// a filter that cannot be parsed will never be: that is archived at once
	bad := campaigns.Spec{Messages: spec.Messages, Filter: json.RawMessage(`{"no_such_filter":{}}`)}
	if err := pipe.Deliver(context.Background(), pageOf(t, st, "badfilter", bad, ids)); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("deliver of a filter that does not parse: %v; want SkipRetry", err)
	}
}

// anyApp hands one sender to every app.
type anyApp struct{ s channels.Sender }

func (a anyApp) For(context.Context, string) (channels.Sender, string, error) {
	return a.s, channels.APNs, nil
}

// A token a user registered in two apps is one device: one ledger row, one
// message.
func TestTokenInTwoAppsGetsOneMessage(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	e := newEnv(t, st)
	box, _ := seal.New(make([]byte, 32))
	if _, err := profiles.NewAppService(st, box, nil).Create(context.Background(), "app-ios-2", "iOS again", "ios"); err != nil {
		t.Fatal(err)
	}
	tok := strings.Repeat("a1", 32)
	e.track(t, `{"attributes":[{"external_id":"two","push_tokens":[{"app_id":"app-ios","token":"`+tok+`"},{"app_id":"app-ios-2","token":"`+tok+`"}]}]}`)
	pipe, err := campaigns.NewPipeline(st, anyApp{e.snd}, e.client, e.eng, noSegments, campaigns.PipelineOptions{PageRetry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	page := pageOf(t, st, "twoapps", campaigns.Spec{Messages: map[string]map[string]any{campaigns.ApplePush: {"alert": "once"}}},
		e.userIDs(t, "two"))
	if err := pipe.Deliver(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if n := e.rec.Len(); n != 1 {
		t.Errorf("the device got %d messages, want 1", n)
	}
}

// A paused campaign launched sends nothing until it is resumed.
func TestLaunchOfAPausedCampaignWaitsForResume(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"p1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("b2", 32)+`"}]}]}`)
	ctx := context.Background()
	c, err := e.svc.Create(ctx, &campaigns.Input{Name: "paused",
		Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"hi"}`)},
		Audience: &campaigns.Audience{Filter: json.RawMessage(`{"push_enabled":{}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Pause(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	d, err := e.svc.Launch(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if dd, _ := st.Dispatch(ctx, d.ID); dd.Status != campaigns.DispatchPaused || e.rec.Len() != 0 {
		t.Fatalf("launched while paused: dispatch %s, %d messages; want paused, none", dd.Status, e.rec.Len())
	}
	if err := e.svc.Resume(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitDone(t, d.ID)
	if e.rec.Len() != 1 {
		t.Errorf("%d messages after the resume, want 1", e.rec.Len())
	}
}

// failFirstDispatch fails the first dispatch enqueue, as a Redis blip would.
type failFirstDispatch struct {
	campaigns.Enqueuer
	failed atomic.Bool
}

func (f *failFirstDispatch) EnqueueDispatch(ctx context.Context, p queue.DispatchPayload) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("redis: connection reset by peer")
	}
	return f.Enqueuer.EnqueueDispatch(ctx, p)
}

// An enqueued send without a request id that runs again (its first run
// failed after creating its dispatch) starts one dispatch, not two: the
// reconciler would start the first one too, and every user would get two.
func TestEnqueuedSendRunTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"q1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("c3", 32)+`"}]}]}`)
	ctx := context.Background()
	qname := "herald-test-" + testdeps.Random(8)
	client := queue.NewClient(e.rc, queue.ClientOptions{Queue: qname, Retention: time.Hour})
	svc := campaigns.NewService(st, &failFirstDispatch{Enqueuer: client}, e.eng, noSegments, nil)
	pipe, err := campaigns.NewPipeline(st, senders{e.snd}, client, e.eng, noSegments, campaigns.PipelineOptions{PageRetry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := queue.NewServer(e.rc, campaigns.Handlers{Pipeline: pipe, Service: svc, Users: e.users},
		queue.ServerOptions{Queue: qname, Concurrency: 2, ShutdownTimeout: 5 * time.Second})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if err := client.EnqueueSend(ctx, queue.SendPayload{ExternalUserIDs: []string{"q1"},
		Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"once"}`)}}); err != nil {
		t.Fatal(err)
	}
	// wait for a dispatch to be done, then let the reconciler start whatever
	// the store says is unfinished, and wait for that
	waitAll := func() []*campaigns.Dispatch {
		deadline := time.Now().Add(20 * time.Second)
		for {
			ds, err := st.CampaignDispatches(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			done := 0
			for _, d := range ds {
				if d.Status == campaigns.DispatchDone {
					done++
				}
			}
			if done > 0 && (done == len(ds) || time.Now().After(deadline)) {
				return ds
			}
			if time.Now().After(deadline) {
				t.Fatalf("no dispatch done after 20s: %d dispatches", len(ds))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitAll()
	if _, err := pipe.Reconcile(ctx, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if ds := waitAll(); len(ds) != 1 || e.rec.Len() != 1 {
		t.Errorf("%d dispatches, %d messages; want one of each", len(ds), e.rec.Len())
	}
}

// A user reached on one push channel of a multi-channel campaign has no
// abort recorded for the channels they have no device on; a user reached on
// none has no_valid_token on each.
func TestNoValidTokenOnlyForUnreachableUsers(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"n1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("a1", 32)+`"}]},
		{"external_id":"n2"}]}`)
	ids := e.userIDs(t, "n1", "n2")
	page := pageOf(t, st, "notoken", campaigns.Spec{Messages: map[string]map[string]any{
		campaigns.ApplePush: {"alert": "hi"}, campaigns.AndroidPush: {"title": "hi"}, campaigns.WebPush: {"title": "hi"}}}, ids)
	if err := e.pipe.Deliver(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	counts, err := st.LedgerCounts(context.Background(), page.DispatchID)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 2 || counts[campaigns.LedgerDelivered] != 1 || counts["aborted:"+campaigns.AbortNoValidToken] != 3 {
		t.Errorf("ledger %v; want 1 delivered (n1 on iOS) and 3 no_valid_token (n2 on every channel)", counts)
	}
	if n := e.rec.Len(); n != 1 {
		t.Errorf("%d messages sent, want 1", n)
	}
}

// failingRecords makes the store's first Record calls fail, as during a
// database restart, then lets them through to the real store.
type failingRecords struct {
	*store.Store
	mu    sync.Mutex
	fails int
}

func (f *failingRecords) Record(ctx context.Context, outcomes []campaigns.Outcome, events []campaigns.Engagement, token string, now time.Time) error {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		return errors.New("store: begin: conn closed")
	}
	return f.Store.Record(ctx, outcomes, events, token, now)
}

// Results that cannot be written at once (the database restarting) are
// written when it is back, within the same run: the page completes and
// nothing waits for the lease to be sent again.
func TestRecordWaitsOutADatabaseRestart(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"pg1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("ab", 32)+`"}]}]}`)
	page := pageOf(t, st, "restart", campaigns.Spec{Messages: map[string]map[string]any{campaigns.ApplePush: {"alert": "once"}}},
		e.userIDs(t, "pg1"))
	flaky := &failingRecords{Store: st, fails: 3}
	pipe, err := campaigns.NewPipeline(flaky, senders{e.snd}, e.client, e.eng, noSegments, campaigns.PipelineOptions{PageRetry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := pipe.Deliver(context.Background(), page); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if counts, _ := st.LedgerCounts(context.Background(), page.DispatchID); counts[campaigns.LedgerDelivered] != 1 {
		t.Errorf("ledger %v, want the message recorded delivered", counts)
	}
	if p, err := st.Page(context.Background(), page.DispatchID, page.FirstUserID); err != nil || !p.Done {
		t.Errorf("page %+v %v, want it done", p, err)
	}
	if n := e.rec.Len(); n != 1 {
		t.Errorf("%d messages sent, want 1", n)
	}
}
