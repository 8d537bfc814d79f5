package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Handlers run the tasks; package campaigns implements them. An error is
// retried (see the package doc): return a *Backoff to wait without counting a
// failure, or wrap asynq.SkipRetry to archive the task at once.
type Handlers interface {
	Dispatch(ctx context.Context, p DispatchPayload) error
	Deliver(ctx context.Context, p DeliverPayload) error
	Trigger(ctx context.Context, p TriggerPayload) error
	Send(ctx context.Context, p SendPayload) error
}

// ServerOptions configure a Server.
type ServerOptions struct {
	// Queue is the queue served. Default DefaultQueue.
	Queue string
	// Concurrency is how many tasks run at once. Default DefaultConcurrency.
	Concurrency int
	// Shards is the number of queues the clients spread tasks over
	// (ClientOptions.Shards); the server serves them all. Default 1.
	Shards int
	// ShutdownTimeout is how long Shutdown waits for running tasks before it
	// puts them back in the queue. Default DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger receives the server's and asynq's log lines. Default: discarded.
	Logger *slog.Logger
	// Metrics registers the queue metrics when set.
	Metrics prometheus.Registerer
}

// Defaults of ServerOptions.
const (
	DefaultConcurrency     = 20
	DefaultShutdownTimeout = 20 * time.Second
)

// Server runs Handlers on a queue. Start it once and Shutdown it once.
type Server struct {
	srv     *asynq.Server
	rc      redis.UniversalClient
	h       Handlers
	log     *slog.Logger
	metrics *metrics
	queue   string
	grace   time.Duration

	running sync.WaitGroup // handler calls in progress
	backoff recentBackoffs
}

// NewServer returns a Server on an existing Redis client (closing rc is the
// caller's job, after Shutdown).
func NewServer(rc redis.UniversalClient, h Handlers, o ServerOptions) *Server {
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Shards <= 0 {
		o.Shards = 1
	}
	queues := map[string]int{}
	for _, q := range ShardQueues(o.Queue, o.Shards) {
		queues[q] = 1
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	log := o.Logger.With("component", "queue", "queue", o.Queue)
	s := &Server{rc: rc, h: h, log: log, queue: o.Queue, grace: min(o.ShutdownTimeout/4, 5*time.Second),
		backoff: recentBackoffs{due: map[string]time.Time{}}}
	s.metrics = newMetrics(o.Metrics, newSizeCollector(asynq.NewInspectorFromRedisClient(rc), ShardQueues(o.Queue, o.Shards), log))
	s.srv = asynq.NewServerFromRedisClient(rc, asynq.Config{
		Concurrency:     o.Concurrency,
		Queues:          queues,
		ShutdownTimeout: o.ShutdownTimeout,
		IsFailure:       isFailure,
		RetryDelayFunc:  retryDelay,
		// a Backoff's wait is honoured to the second, not to the 5s default
		DelayedTaskCheckInterval: time.Second,
		// an idle worker polls the queue every 25ms, not every second: the
		// pages of a launch start at once (a dispatch's first page waits for
		// two polls: its dispatch task's, then its own)
		TaskCheckInterval: 25 * time.Millisecond,
		Logger:            asynqLogger{log},
		LogLevel:          asynq.InfoLevel, // its debug lines say "queues are empty" every second
	})
	return s
}

// Start checks that Redis answers and starts processing.
func (s *Server) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.rc.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("queue: Redis: %w", err)
	}
	if err := s.srv.Start(asynq.HandlerFunc(s.process)); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}

// Shutdown stops taking tasks and waits up to the ShutdownTimeout for the
// running ones; those still running then are put back in the queue (another
// worker runs them again) and their contexts cancelled, and Shutdown waits a
// short grace for their handlers to return.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(s.grace):
		s.log.Warn("queue: handlers still running after their tasks were put back in the queue")
	}
}

// process is the asynq handler: it decodes the payload strictly, calls the
// handler and records the outcome.
func (s *Server) process(ctx context.Context, t *asynq.Task) error {
	s.running.Add(1)
	defer s.running.Done()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	start := time.Now()
	id, _ := asynq.GetTaskID(ctx)
	typ := t.Type()
	known := true
	switch typ {
	case TypeDispatch, TypeDeliver, TypeTrigger, TypeSend:
	default:
		known = false
	}
	label := typ
	if !known {
		label = typeOther
	}
	if retried, _ := asynq.GetRetryCount(ctx); retried == 0 {
		// the first run, unless this process backed it off before
		due, rerun := s.backoff.take(id)
		if !rerun {
			due = dueTime(t)
		}
		s.metrics.observeStart(label, due, start)
	}

	var err error
	if !known {
		// perhaps a newer Herald enqueued it: retried (a newer worker may run it), then archived
		err = fmt.Errorf("unknown task type %q", typ)
	} else {
		err = s.dispatch(ctx, t)
	}

	outcome := s.outcome(ctx, err)
	s.metrics.observeEnd(label, outcome, time.Since(start))
	switch outcome {
	case outcomeSucceeded:
	case outcomeBackoff:
		b, _ := asBackoff(err)
		s.backoff.put(id, time.Now().Add(max(b.After, MinBackoff)))
		s.log.Info("task backs off", "task_type", typ, "task_id", id, "after", b.After.String(), "reason", b.Reason)
	case outcomeFailed:
		s.log.Warn("task failed; it will be retried", "task_type", typ, "task_id", id, "err", err)
	default:
		s.log.Error("task given up", "task_type", typ, "task_id", id, "outcome", outcome, "err", err)
	}
	return err
}

// malformed marks a payload that cannot be decoded: retrying cannot help.
type malformed struct{ err error }

func (m *malformed) Error() string { return "malformed payload: " + m.err.Error() }
func (m *malformed) Unwrap() []error {
	return []error{m.err, asynq.SkipRetry}
}

func (s *Server) dispatch(ctx context.Context, t *asynq.Task) error {
	switch t.Type() {
	case TypeDispatch:
		return run(ctx, t.Payload(), s.h.Dispatch)
	case TypeDeliver:
		return run(ctx, t.Payload(), s.h.Deliver)
	case TypeTrigger:
		return run(ctx, t.Payload(), s.h.Trigger)
	default:
		return run(ctx, t.Payload(), s.h.Send)
	}
}

func run[P payload](ctx context.Context, data []byte, h func(context.Context, P) error) error {
	p, err := decode[P](data)
	if err != nil {
		return &malformed{err: err}
	}
	return h(ctx, p)
}

// outcome classifies a handler's result.
func (s *Server) outcome(ctx context.Context, err error) string {
	var m *malformed
	switch {
	case err == nil:
		return outcomeSucceeded
	case errors.As(err, &m):
		return outcomeMalformed
	case errors.Is(err, asynq.SkipRetry):
		return outcomeSkipped
	case errors.Is(err, asynq.RevokeTask):
		return outcomeRevoked
	case !isFailure(err):
		return outcomeBackoff
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	if retried >= maxRetry {
		return outcomeExhausted
	}
	return outcomeFailed
}

// dueTime reads when a task became due from its header (zero when absent:
// enqueued by something other than Client).
func dueTime(t *asynq.Task) time.Time {
	ms, err := strconv.ParseInt(t.Headers()[headerDue], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// recentBackoffs remembers when the tasks this process backed off are due
// again, so their next run is not measured from their first due time. A task
// that runs next on another worker is measured from its first due time.
type recentBackoffs struct {
	mu  sync.Mutex
	due map[string]time.Time
}

// maxRecentBackoffs bounds the memory of recentBackoffs.
const maxRecentBackoffs = 10000

func (r *recentBackoffs) put(id string, due time.Time) {
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.due) >= maxRecentBackoffs {
		clear(r.due) // rare: forgetting only makes a few latencies longer
	}
	r.due[id] = due
}

func (r *recentBackoffs) take(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	due, ok := r.due[id]
	delete(r.due, id)
	return due, ok
}
