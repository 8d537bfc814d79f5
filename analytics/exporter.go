package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the exporter needs of the database.
type Store interface {
	ExportRead(ctx context.Context, source string, after int64, storedBefore time.Time, limit int) ([]Record, error)
	ExportOldest(ctx context.Context, c Cursor) (time.Time, bool, error)
	ExportLease(ctx context.Context, connector, owner string, now, until time.Time) (Cursor, bool, error)
	ExportAdvance(ctx context.Context, connector, owner string, c Cursor) (bool, error)
	ExportRelease(ctx context.Context, connector, owner string) error
	ExportCursor(ctx context.Context, connector string) (Cursor, error)
}

// Connector is one HTTP receiver.
type Connector struct {
	Name          string
	URL           string
	Token         string
	BatchSize     int
	FlushInterval time.Duration
}

// Options tune an exporter; zero values take the defaults.
type Options struct {
	Owner      string        // this process's lease owner id
	SafetyLag  time.Duration // PostgreSQL rows are read once this old (default 5s)
	MinBackoff time.Duration // default 1s
	MaxBackoff time.Duration // default 1m
	Client     *http.Client  // default: a client with a 30s timeout
	Log        *slog.Logger
}

// Metrics are the stream's Prometheus metrics.
type Metrics struct {
	Events  *prometheus.CounterVec // herald_export_events_total{connector,result}
	Batches *prometheus.CounterVec // herald_export_batches_total{connector,outcome}
	Lag     *prometheus.GaugeVec   // herald_export_lag_seconds{connector}
}

// NewMetrics makes the metrics and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_export_events_total",
			Help: "Events exported, by connector and result (exported, skipped: no event type)."}, []string{"connector", "result"}),
		Batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_export_batches_total",
			Help: "Batches posted, by connector and outcome (ok, failed)."}, []string{"connector", "outcome"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "herald_export_lag_seconds",
			Help: "Age of the oldest event a connector has not exported (0 when caught up)."}, []string{"connector"}),
	}
	if reg != nil {
		reg.MustRegister(m.Events, m.Batches, m.Lag)
	}
	return m
}

// Exporter streams events to its connectors, one goroutine each.
type Exporter struct {
	store      Store
	connectors []Connector
	opt        Options
	metrics    *Metrics
	cancel     context.CancelFunc
	done       chan struct{}
}

// New makes an exporter.
func New(st Store, connectors []Connector, m *Metrics, opt Options) *Exporter {
	if opt.SafetyLag == 0 {
		opt.SafetyLag = 5 * time.Second
	}
	if opt.MinBackoff == 0 {
		opt.MinBackoff = time.Second
	}
	if opt.MaxBackoff == 0 {
		opt.MaxBackoff = time.Minute
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Owner == "" {
		opt.Owner = fmt.Sprintf("herald-%016x", rand.Uint64())
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	for _, c := range connectors {
		for _, r := range []string{"exported", "skipped"} {
			m.Events.WithLabelValues(c.Name, r)
		}
		for _, o := range []string{"ok", "failed"} {
			m.Batches.WithLabelValues(c.Name, o)
		}
		m.Lag.WithLabelValues(c.Name)
	}
	return &Exporter{store: st, connectors: connectors, opt: opt, metrics: m}
}

// Name is the component's name.
func (e *Exporter) Name() string { return "export stream" }

// Start runs one loop per connector.
func (e *Exporter) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		ch := make(chan struct{}, len(e.connectors))
		for _, c := range e.connectors {
			go func() { e.run(ctx, c); ch <- struct{}{} }()
		}
		for range e.connectors {
			<-ch
		}
	}()
	return nil
}

// Stop ends the loops (a batch in flight is abandoned: it is sent again).
func (e *Exporter) Stop(ctx context.Context) error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Exporter) run(ctx context.Context, c Connector) {
	failures := 0
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.store.ExportRelease(rctx, c.Name, e.opt.Owner)
	}()
	for {
		full, err := e.once(ctx, c)
		wait := c.FlushInterval
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			failures++
			wait = e.backoff(failures)
			e.opt.Log.Warn("export batch failed", "connector", c.Name, "error", err, "retry_in", wait)
		case full:
			failures, wait = 0, 0
		default:
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// backoff is exponential from MinBackoff, capped at MaxBackoff, with full
// jitter over its upper half.
func (e *Exporter) backoff(failures int) time.Duration {
	d := e.opt.MinBackoff << min(failures-1, 20)
	if d > e.opt.MaxBackoff || d <= 0 {
		d = e.opt.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// once exports one batch; full reports a full batch (more may wait).
func (e *Exporter) once(ctx context.Context, c Connector) (full bool, err error) {
	now := time.Now()
	cur, ok, err := e.store.ExportLease(ctx, c.Name, e.opt.Owner, now, now.Add(max(30*time.Second, 3*c.FlushInterval, 2*e.opt.MaxBackoff)))
	if err != nil || !ok {
		return false, err
	}
	defer e.updateLag(ctx, c.Name)
	next := cur
	var recs []Record
	for _, src := range []struct {
		name string
		seq  *int64
	}{{SourceEngagement, &next.Engagement}, {SourceEvents, &next.Events}, {SourcePurchases, &next.Purchases}} {
		if len(recs) >= c.BatchSize {
			break
		}
		rs, err := e.store.ExportRead(ctx, src.name, *src.seq, now.Add(-e.opt.SafetyLag), c.BatchSize-len(recs))
		if err != nil {
			return false, err
		}
		if len(rs) > 0 {
			*src.seq = rs[len(rs)-1].Seq
		}
		recs = append(recs, rs...)
	}
	if len(recs) == 0 {
		return false, nil
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	n, skipped := 0, 0
	for _, r := range recs {
		evs := ToEvents(r)
		if len(evs) == 0 {
			skipped++
			continue
		}
		for _, ev := range evs {
			if err := enc.Encode(ev); err != nil {
				return false, fmt.Errorf("analytics: encode: %w", err)
			}
			n++
		}
	}
	if n > 0 {
		if err := e.post(ctx, c, body.Bytes()); err != nil {
			e.metrics.Batches.WithLabelValues(c.Name, "failed").Inc()
			return false, err
		}
		e.metrics.Batches.WithLabelValues(c.Name, "ok").Inc()
	}
	if ok, err := e.store.ExportAdvance(ctx, c.Name, e.opt.Owner, next); err != nil || !ok {
		return false, err
	}
	e.metrics.Events.WithLabelValues(c.Name, "exported").Add(float64(n))
	e.metrics.Events.WithLabelValues(c.Name, "skipped").Add(float64(skipped))
	return len(recs) >= c.BatchSize, nil
}

func (e *Exporter) updateLag(ctx context.Context, connector string) {
	cur, err := e.store.ExportCursor(ctx, connector)
	if err != nil {
		return
	}
	oldest, ok, err := e.store.ExportOldest(ctx, cur)
	if err != nil {
		return
	}
	lag := 0.0
	if ok {
		lag = max(time.Since(oldest).Seconds(), 0)
	}
	e.metrics.Lag.WithLabelValues(connector).Set(lag)
}

// post sends one NDJSON batch; any status but 2xx is an error.
func (e *Exporter) post(ctx context.Context, c Connector, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("analytics: connector %s: %w", c.Name, err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := e.opt.Client.Do(req)
	if err != nil {
		return fmt.Errorf("analytics: connector %s: %w", c.Name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("analytics: connector %s: status %d", c.Name, resp.StatusCode)
	}
	return nil
}
