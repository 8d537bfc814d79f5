package queue

import (
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Task outcomes, the values of the outcome label.
const (
	outcomeSucceeded = "succeeded" // the handler returned nil
	outcomeFailed    = "failed"    // an error; the task is retried
	outcomeExhausted = "exhausted" // an error on the last allowed run; archived
	outcomeBackoff   = "backoff"   // a Backoff; retried after its wait, not counted
	outcomeSkipped   = "skipped"   // asynq.SkipRetry; archived at once
	outcomeRevoked   = "revoked"   // asynq.RevokeTask; dropped
	outcomeMalformed = "malformed" // the payload does not decode; archived at once
)

func outcomes() []string {
	return []string{outcomeSucceeded, outcomeFailed, outcomeExhausted, outcomeBackoff, outcomeSkipped, outcomeRevoked, outcomeMalformed}
}

// typeOther labels a task of a type this server does not know.
const typeOther = "other"

type metrics struct {
	latency  *prometheus.HistogramVec
	duration *prometheus.HistogramVec
	tasks    *prometheus.CounterVec
	inFlight prometheus.Gauge
}

// newMetrics creates the queue metrics with every label value up front and
// registers them (reusing collectors already registered by another server of
// the same registry).
func newMetrics(reg prometheus.Registerer, size prometheus.Collector) *metrics {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_queue_latency_seconds",
			Help:    "Time from when a task was due (enqueued, or its delay ended) to the start of its first run, by task type.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"type"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_queue_task_duration_seconds",
			Help:    "Time a handler ran, by task type.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"type"}),
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_queue_tasks_total",
			Help: "Task runs by type and outcome (succeeded, failed, exhausted, backoff, skipped, revoked, malformed).",
		}, []string{"type", "outcome"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_queue_in_flight_tasks",
			Help: "Tasks this process is running now.",
		}),
	}
	for _, t := range append(Types(), typeOther) {
		m.latency.WithLabelValues(t)
		m.duration.WithLabelValues(t)
		for _, o := range outcomes() {
			m.tasks.WithLabelValues(t, o)
		}
	}
	if reg == nil {
		return m
	}
	m.latency = register(reg, m.latency)
	m.duration = register(reg, m.duration)
	m.tasks = register(reg, m.tasks)
	m.inFlight = register(reg, m.inFlight)
	if size != nil {
		_ = reg.Register(size) // a second server of the same queue and registry reports through the first
	}
	return m
}

// register registers c, or returns the equal collector registered before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: two different metrics of one name
	}
	return c
}

func (m *metrics) observeStart(typ string, due time.Time, now time.Time) {
	if !due.IsZero() {
		m.latency.WithLabelValues(typ).Observe(max(now.Sub(due), 0).Seconds())
	}
}

func (m *metrics) observeEnd(typ, outcome string, ran time.Duration) {
	m.duration.WithLabelValues(typ).Observe(ran.Seconds())
	m.tasks.WithLabelValues(typ, outcome).Inc()
}

// sizeCollector reports the queue's size by state, and the age of its oldest
// pending task, from Redis at scrape time, over all its shards.
type sizeCollector struct {
	inspector *asynq.Inspector
	queues    []string
	log       *slog.Logger
	size      *prometheus.Desc
	oldest    *prometheus.Desc
}

func newSizeCollector(in *asynq.Inspector, queues []string, log *slog.Logger) *sizeCollector {
	return &sizeCollector{inspector: in, queues: queues, log: log,
		size: prometheus.NewDesc("herald_queue_tasks",
			"Tasks in the queue by state (pending, active, scheduled, retry, archived, completed), read from Redis at scrape time.",
			[]string{"state"}, nil),
		oldest: prometheus.NewDesc("herald_queue_oldest_pending_seconds",
			"Age of the oldest pending task (0 when none), read from Redis at scrape time.", nil, nil),
	}
}

func (c *sizeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.size; ch <- c.oldest }

func (c *sizeCollector) Collect(ch chan<- prometheus.Metric) {
	qi := &asynq.QueueInfo{}
	for _, q := range c.queues {
		one, err := c.inspector.GetQueueInfo(q)
		if err != nil {
			// a queue no task was ever enqueued to is not in Redis yet: all zeros
			if names, lerr := c.inspector.Queues(); lerr != nil || slices.Contains(names, q) {
				c.log.Warn("queue: cannot read the queue's size", "queue", q, "err", err)
				return
			}
			continue
		}
		qi.Pending, qi.Active, qi.Scheduled = qi.Pending+one.Pending, qi.Active+one.Active, qi.Scheduled+one.Scheduled
		qi.Retry, qi.Archived, qi.Completed = qi.Retry+one.Retry, qi.Archived+one.Archived, qi.Completed+one.Completed
		qi.Latency = max(qi.Latency, one.Latency)
	}
	for _, s := range []struct {
		state string
		n     int
	}{{"pending", qi.Pending}, {"active", qi.Active}, {"scheduled", qi.Scheduled}, {"retry", qi.Retry},
		{"archived", qi.Archived}, {"completed", qi.Completed}} {
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(s.n), s.state)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, qi.Latency.Seconds())
}
