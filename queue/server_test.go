package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/internal/testdeps"
)

var errTest = errors.New("test failure")

func wrap(err error) error { return fmt.Errorf("handler: %w", err) }

// run is one call of a handler.
type call struct {
	typ     string
	payload any
	retried int
	at      time.Time
}

// recorder is a Handlers whose answers a test scripts; every call is sent on calls.
type recorder struct {
	calls  chan call
	mu     sync.Mutex
	answer func(ctx context.Context, c call, n int) error // n: 1 for the first call
	n      int
}

func newRecorder(answer func(ctx context.Context, c call, n int) error) *recorder {
	return &recorder{calls: make(chan call, 100), answer: answer}
}

func (r *recorder) handle(ctx context.Context, typ string, p any) error {
	retried, _ := asynq.GetRetryCount(ctx)
	c := call{typ: typ, payload: p, retried: retried, at: time.Now()}
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	var err error
	if r.answer != nil {
		err = r.answer(ctx, c, n)
	}
	r.calls <- c
	return err
}

func (r *recorder) Dispatch(ctx context.Context, p DispatchPayload) error {
	return r.handle(ctx, TypeDispatch, p)
}
func (r *recorder) Deliver(ctx context.Context, p DeliverPayload) error {
	return r.handle(ctx, TypeDeliver, p)
}
func (r *recorder) Trigger(ctx context.Context, p TriggerPayload) error {
	return r.handle(ctx, TypeTrigger, p)
}
func (r *recorder) Send(ctx context.Context, p SendPayload) error { return r.handle(ctx, TypeSend, p) }

func (r *recorder) next(t *testing.T, within time.Duration) call {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(within):
		t.Fatalf("no handler call within %s", within)
		return call{}
	}
}

func (r *recorder) none(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case c := <-r.calls:
		t.Fatalf("unexpected handler call %+v", c)
	case <-time.After(within):
	}
}

// setup is a test's Redis client, a queue of its own, a client and a registry.
type setup struct {
	rc       *redis.Client
	queue    string
	client   *Client
	reg      *prometheus.Registry
	inspect  *asynq.Inspector
	shutdown time.Duration
}

func newSetup(t *testing.T, o ClientOptions) *setup {
	t.Helper()
	addr, _ := testdeps.RedisOrMini(t)
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rc.Close() })
	o.Queue = "test-" + testdeps.Random(6)
	return &setup{rc: rc, queue: o.Queue, client: NewClient(rc, o), reg: prometheus.NewRegistry(),
		inspect: asynq.NewInspectorFromRedisClient(rc), shutdown: 5 * time.Second}
}

// serve starts a server of the setup's queue, shut down when the test ends.
func (s *setup) serve(t *testing.T, h Handlers) *Server {
	t.Helper()
	srv := NewServer(s.rc, h, ServerOptions{Queue: s.queue, Concurrency: 4, ShutdownTimeout: s.shutdown,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Metrics: s.reg})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(srv.Shutdown) })
	return srv
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// counter reads a herald_queue_tasks_total series.
func (s *setup) counter(t *testing.T, typ, outcome string) float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "herald_queue_tasks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["type"] == typ && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no herald_queue_tasks_total{type=%q,outcome=%q}", typ, outcome)
	return 0
}

// state waits until the task is in the given state.
func (s *setup) state(t *testing.T, id string, want asynq.TaskState) *asynq.TaskInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := s.inspect.GetTaskInfo(s.queue, id)
		if err == nil && info.State == want {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: state %v (err %v), want %v", id, info, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPayloadsRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSetup(t, ClientOptions{})
	rec := newRecorder(nil)
	s.serve(t, rec)
	ctx := context.Background()
	no := false
	sent := map[string]any{
		TypeDispatch: DispatchPayload{DispatchID: "d-1"},
		TypeDeliver:  DeliverPayload{DispatchID: "d-1", FirstUserID: 1 << 40},
		TypeTrigger: TriggerPayload{RequestID: "r-1", CampaignID: "c-1", TriggerProperties: map[string]any{"coupon": "SAVE10", "n": 3.0},
			Recipients: []Recipient{{ExternalUserID: "u-1", Attributes: map[string]any{"tier": "gold"}, SendToExistingOnly: &no},
				{UserAlias: &Alias{AliasName: "a", AliasLabel: "email"}, TriggerProperties: map[string]any{"nested": map[string]any{"k": []any{1.0, "x"}}}}}},
		TypeSend: SendPayload{RequestID: "r-2", Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"Hi {{${first_name}}}"}`)},
			ExternalUserIDs: []string{"u-1", "u-2"}, UserAliases: []Alias{{AliasName: "a", AliasLabel: "l"}}, RecipientSubscriptionState: "opted_in"},
	}
	for _, err := range []error{
		s.client.EnqueueDispatch(ctx, sent[TypeDispatch].(DispatchPayload)),
		s.client.EnqueueDeliver(ctx, sent[TypeDeliver].(DeliverPayload), 0),
		s.client.EnqueueTrigger(ctx, sent[TypeTrigger].(TriggerPayload)),
		s.client.EnqueueSend(ctx, sent[TypeSend].(SendPayload)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for range sent {
		c := rec.next(t, 10*time.Second)
		if !reflect.DeepEqual(c.payload, sent[c.typ]) {
			t.Errorf("%s: handler got\n%#v\nwant\n%#v", c.typ, c.payload, sent[c.typ])
		}
	}
	for _, id := range []string{"dispatch:d-1", DeliverTaskID("d-1", 1<<40), "trigger:r-1", "send:r-2"} {
		s.state(t, id, asynq.TaskStateCompleted)
	}
	// an invalid payload is refused at enqueue, before it reaches Redis
	if err := s.client.EnqueueDispatch(ctx, DispatchPayload{}); err == nil {
		t.Fatal("enqueued a dispatch without id")
	}
}

// A second enqueue of the same dispatch or page is a no-op: while it waits, and
// after it completed (within the Retention).
func TestTaskIDIdempotency(t *testing.T) {
	t.Parallel()
	s := newSetup(t, ClientOptions{Retention: time.Hour})
	ctx := context.Background()
	for range 3 {
		if err := s.client.EnqueueDispatch(ctx, DispatchPayload{DispatchID: "d-7"}); err != nil {
			t.Fatalf("enqueue again: %v", err)
		}
		if err := s.client.EnqueueDeliver(ctx, DeliverPayload{DispatchID: "d-7", FirstUserID: 100}, 200*time.Millisecond); err != nil {
			t.Fatalf("enqueue page again: %v", err)
		}
	}
	if qi, err := s.inspect.GetQueueInfo(s.queue); err != nil || qi.Pending != 1 || qi.Scheduled != 1 {
		t.Fatalf("queue after three enqueues of each: %+v %v", qi, err)
	}
	rec := newRecorder(nil)
	s.serve(t, rec)
	got := map[string]bool{}
	for range 2 {
		got[rec.next(t, 15*time.Second).typ] = true
	}
	if !got[TypeDispatch] || !got[TypeDeliver] {
		t.Fatalf("ran %v", got)
	}
	info := s.state(t, DispatchTaskID("d-7"), asynq.TaskStateCompleted)
	if info.Retention != time.Hour {
		t.Errorf("retention %s", info.Retention)
	}
	s.state(t, DeliverTaskID("d-7", 100), asynq.TaskStateCompleted)
	// completed: enqueueing again still succeeds and runs nothing
	if err := s.client.EnqueueDispatch(ctx, DispatchPayload{DispatchID: "d-7"}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.EnqueueDeliver(ctx, DeliverPayload{DispatchID: "d-7", FirstUserID: 100}, 0); err != nil {
		t.Fatal(err)
	}
	// another page of the dispatch is another task
	if err := s.client.EnqueueDeliver(ctx, DeliverPayload{DispatchID: "d-7", FirstUserID: 600}, 0); err != nil {
		t.Fatal(err)
	}
	if c := rec.next(t, 10*time.Second); c.payload != (DeliverPayload{DispatchID: "d-7", FirstUserID: 600}) {
		t.Fatalf("ran %+v", c)
	}
	rec.none(t, 2500*time.Millisecond)
	if n := s.counter(t, TypeDispatch, outcomeSucceeded); n != 1 {
		t.Errorf("dispatch ran %v times", n)
	}
	// the reconciler's requeue of a completed page (the store lost its
	// completion) runs it again, once
	if err := s.client.RequeueDeliver(ctx, DeliverPayload{DispatchID: "d-7", FirstUserID: 100}); err != nil {
		t.Fatal(err)
	}
	if c := rec.next(t, 10*time.Second); c.payload != (DeliverPayload{DispatchID: "d-7", FirstUserID: 100}) {
		t.Fatalf("after a requeue of a completed page ran %+v", c)
	}
	rec.none(t, 1500*time.Millisecond)
	s.state(t, DeliverTaskID("d-7", 100), asynq.TaskStateCompleted)
}

// A Backoff is not a failure: the retry count stays 0 (a task allowed one
// retry is backed off twice and still runs), and the next run waits After.
func TestBackoffIsNotAFailure(t *testing.T) {
	t.Parallel()
	s := newSetup(t, ClientOptions{MaxRetry: 1})
	const after = 2 * time.Second
	rec := newRecorder(func(_ context.Context, _ call, n int) error {
		if n <= 2 {
			return wrap(&Backoff{After: after, Reason: "apns 429"})
		}
		return nil
	})
	s.serve(t, rec)
	if err := s.client.EnqueueDispatch(context.Background(), DispatchPayload{DispatchID: "d-b"}); err != nil {
		t.Fatal(err)
	}
	var prev time.Time
	for i := range 3 {
		c := rec.next(t, 15*time.Second)
		if c.retried != 0 {
			t.Errorf("run %d: retry count %d after backoffs, want 0", i+1, c.retried)
		}
		if i > 0 {
			if gap := c.at.Sub(prev); gap < after || gap > after+3*time.Second {
				t.Errorf("run %d came %s after the backoff, want about %s", i+1, gap, after)
			}
		}
		prev = c.at
	}
	s.state(t, DispatchTaskID("d-b"), asynq.TaskStateCompleted)
	if b, ok := s.counter(t, TypeDispatch, outcomeBackoff), s.counter(t, TypeDispatch, outcomeSucceeded); b != 2 || ok != 1 {
		t.Errorf("outcomes: backoff %v, succeeded %v", b, ok)
	}
}

// A failure is retried with the retry count up; SkipRetry archives at once.
func TestFailuresRetryAndSkip(t *testing.T) {
	t.Parallel()
	s := newSetup(t, ClientOptions{})
	rec := newRecorder(func(_ context.Context, c call, n int) error {
		if c.typ == TypeSend {
			return fmt.Errorf("unknown channel: %w", asynq.SkipRetry)
		}
		if n == 1 {
			return wrap(errTest)
		}
		return nil
	})
	s.serve(t, rec)
	ctx := context.Background()
	if err := s.client.EnqueueDeliver(ctx, DeliverPayload{DispatchID: "d-f", FirstUserID: 1}, 0); err != nil {
		t.Fatal(err)
	}
	first := rec.next(t, 10*time.Second)
	second := rec.next(t, 15*time.Second)
	if first.retried != 0 || second.retried != 1 {
		t.Errorf("retry counts %d then %d, want 0 then 1", first.retried, second.retried)
	}
	if gap := second.at.Sub(first.at); gap < time.Second {
		t.Errorf("retried after %s, want at least 1s", gap)
	}
	if err := s.client.EnqueueSend(ctx, SendPayload{RequestID: "r-s", Messages: map[string]json.RawMessage{"sms": nil}, Broadcast: true}); err != nil {
		t.Fatal(err)
	}
	rec.next(t, 10*time.Second)
	s.state(t, "send:r-s", asynq.TaskStateArchived)
	// Enqueueing an archived task again runs it again (the reconciler's way
	// to restart a page given up on while the store says it is unfinished).
	if err := s.client.EnqueueSend(ctx, SendPayload{RequestID: "r-s", Messages: map[string]json.RawMessage{"sms": nil}, Broadcast: true}); err != nil {
		t.Fatal(err)
	}
	if c := rec.next(t, 10*time.Second); c.typ != TypeSend {
		t.Fatalf("after a second enqueue of an archived task ran %+v", c)
	}
	s.state(t, "send:r-s", asynq.TaskStateArchived)
	if n := s.counter(t, TypeDeliver, outcomeFailed); n != 1 {
		t.Errorf("failed %v", n)
	}
	if n := s.counter(t, TypeSend, outcomeSkipped); n != 2 {
		t.Errorf("skipped %v", n)
	}
}

// A malformed payload (enqueued by something else than Client) is archived
// without calling the handler.
func TestMalformedPayloadIsSkipped(t *testing.T) {
	t.Parallel()
	s := newSetup(t, ClientOptions{})
	rec := newRecorder(nil)
	s.serve(t, rec)
	raw := asynq.NewClientFromRedisClient(s.rc)
	for id, data := range map[string]string{"bad-json": `{"dispatch_id":`, "bad-field": `{"dispatch_id":"d","extra":1}`, "invalid": `{}`} {
		if _, err := raw.Enqueue(asynq.NewTask(TypeDispatch, []byte(data)), asynq.Queue(s.queue), asynq.TaskID(id)); err != nil {
			t.Fatal(err)
		}
		info := s.state(t, id, asynq.TaskStateArchived)
		if info.Retried != 0 {
			t.Errorf("%s retried %d times", id, info.Retried)
		}
	}
	rec.none(t, 200*time.Millisecond)
	if n := s.counter(t, TypeDispatch, outcomeMalformed); n != 3 {
		t.Errorf("malformed %v", n)
	}
}

// Shutdown lets a running handler finish within the ShutdownTimeout (the task
// completes, it is not run again); past it the task goes back to the queue
// and the handler's context is cancelled.
func TestShutdownWaitsForRunningTasks(t *testing.T) {
	t.Parallel()
	t.Run("finishes within the timeout", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t, ClientOptions{})
		started := make(chan struct{})
		rec := newRecorder(func(context.Context, call, int) error {
			close(started)
			time.Sleep(700 * time.Millisecond) // deliberately ignores ctx: a send in progress
			return nil
		})
		srv := s.serve(t, rec)
		if err := s.client.EnqueueDispatch(context.Background(), DispatchPayload{DispatchID: "d-s"}); err != nil {
			t.Fatal(err)
		}
		<-started
		begin := time.Now()
		srv.Shutdown()
		if d := time.Since(begin); d < 500*time.Millisecond {
			t.Errorf("Shutdown returned after %s, before the handler finished", d)
		}
		rec.next(t, time.Second)
		s.state(t, DispatchTaskID("d-s"), asynq.TaskStateCompleted)
	})
	t.Run("requeued after the timeout", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t, ClientOptions{})
		s.shutdown = time.Second
		started := make(chan struct{})
		cancelled := make(chan struct{})
		rec := newRecorder(func(ctx context.Context, _ call, _ int) error {
			close(started)
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		})
		srv := s.serve(t, rec)
		if err := s.client.EnqueueDispatch(context.Background(), DispatchPayload{DispatchID: "d-r"}); err != nil {
			t.Fatal(err)
		}
		<-started
		begin := time.Now()
		srv.Shutdown()
		if d := time.Since(begin); d < time.Second || d > 4*time.Second {
			t.Errorf("Shutdown took %s with a 1s timeout", d)
		}
		select {
		case <-cancelled:
		default:
			t.Error("Shutdown returned before the handler saw its context cancelled")
		}
		info := s.state(t, DispatchTaskID("d-r"), asynq.TaskStatePending)
		if info.Retried != 0 {
			t.Errorf("requeued task retried %d", info.Retried)
		}
	})
}

// Two reconcilers may both find a page's task completed: the second one's
// delete meets the task the first enqueued again, already running, and
// takes that for done rather than failing its round.
func TestRunCompletedAgainMeetsARunningTask(t *testing.T) {
	t.Parallel()
	s := newSetup(t, ClientOptions{Retention: time.Hour})
	ctx := context.Background()
	release, running := make(chan struct{}), make(chan struct{})
	rec := newRecorder(func(ctx context.Context, c call, n int) error {
		if n == 2 {
			close(running)
			<-release // the second run stays active
		}
		return nil
	})
	s.serve(t, rec)
	p := DeliverPayload{DispatchID: "d-r", FirstUserID: 1}
	id := DeliverTaskID(p.DispatchID, p.FirstUserID)
	if err := s.client.EnqueueDeliver(ctx, p, 0); err != nil {
		t.Fatal(err)
	}
	rec.next(t, 10*time.Second)
	s.state(t, id, asynq.TaskStateCompleted)
	if err := s.client.RequeueDeliver(ctx, p); err != nil { // the first reconciler
		t.Fatal(err)
	}
	select {
	case <-running:
	case <-time.After(10 * time.Second):
		t.Fatal("the requeued task did not run")
	}
	s.state(t, id, asynq.TaskStateActive)
	data, _ := json.Marshal(p)
	task := asynq.NewTask(TypeDeliver, data, asynq.TaskID(id), asynq.Queue(shardOf(s.client.shards, id)))
	if err := s.client.runCompletedAgain(ctx, shardOf(s.client.shards, id), task, id); err != nil { // the second one, late
		t.Errorf("second reconciler: %v", err)
	}
	close(release)
	rec.next(t, 10*time.Second)
	s.state(t, id, asynq.TaskStateCompleted)
}
