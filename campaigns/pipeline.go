package campaigns

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/scheduler"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

// PipelineOptions configure the delivery pipeline.
type PipelineOptions struct {
	// Lease is how long a claim is held before another worker may take it
	// over: longer than a deliver task may run. Default 5m.
	Lease time.Duration
	// MaxAttempts is how many times a message is tried before it fails as
	// exhausted_retries. Default 10.
	MaxAttempts int
	// PageRetry is the wait before a page with busy or retried rows runs
	// again. Default 10s.
	PageRetry time.Duration
	// SendTimeout bounds one channel batch. Default 60s.
	SendTimeout time.Duration
	// FrequencyCaps are the global frequency capping rules (config
	// frequency_capping); a campaign may override them.
	FrequencyCaps []CapRule
	// DefaultZone places users without a time zone (capping days, quiet
	// hours). Default UTC.
	DefaultZone *time.Location
	// Limiter shares campaign rate limits between workers; nil: rate limits
	// are not enforced (a campaign with one is still sent).
	Limiter RateLimiter
	// Webhook sends webhook messages (one per user, no app); nil: a
	// webhook message is retried until one is configured.
	Webhook channels.Sender
	// Live, when set, counts what each page recorded and its provider
	// latencies in real-time counters (queue.LiveCounters).
	Live    LiveCounter
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics prometheus.Registerer
}

// Pipeline runs the queue's campaign tasks: dispatch pages the audience,
// deliver sends one page. It is safe for concurrent use.
type Pipeline struct {
	st       Store
	senders  Senders
	enqueue  Enqueuer
	tmpl     *templates.Engine
	resolver segments.Resolver
	opts     PipelineOptions
	log      *slog.Logger
	metrics  *pipelineMetrics

	zones    scheduler.Zones // users' zones, loaded once each
	mu       sync.Mutex
	compiled map[string]*compiled // by dispatch id
}

// NewPipeline returns a pipeline. resolver gives saved segments' filters.
func NewPipeline(st Store, senders Senders, enq Enqueuer, eng *templates.Engine, resolver segments.Resolver, o PipelineOptions) (*Pipeline, error) {
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.PageRetry <= 0 {
		o.PageRetry = 10 * time.Second
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DefaultZone == nil {
		o.DefaultZone = time.UTC
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newPipelineMetrics(o.Metrics)
	if err != nil {
		return nil, err
	}
	return &Pipeline{st: st, senders: senders, enqueue: enq, tmpl: eng, resolver: resolver, opts: o,
		log: o.Logger, metrics: m, compiled: map[string]*compiled{}}, nil
}

// compiled is a dispatch's parsed filter and message objects.
type compiled struct {
	filter   *segments.Filter // nil: explicit recipients
	needs    segments.Needs   // what filter reads beyond users, devices and apps
	variants []compiledVariant
	channels []string // every variant's channels (a control group abort each)
}

// maxCompiled bounds the cache of compiled dispatches.
const maxCompiled = 256

// compile returns the dispatch's compiled filter and templates, parsed once.
// What cannot parse is wrapped with asynq.SkipRetry; a segment that cannot
// be read now (the store) is an error to retry.
func (p *Pipeline) compile(ctx context.Context, d *Dispatch) (*compiled, error) {
	p.mu.Lock()
	c, ok := p.compiled[d.ID]
	p.mu.Unlock()
	if ok {
		return c, nil
	}
	c = &compiled{}
	if len(d.Spec.Filter) > 0 {
		f, err := segments.Parse(d.Spec.Filter)
		if err != nil {
			return nil, fmt.Errorf("dispatch %s filter: %w: %w", d.ID, err, asynq.SkipRetry)
		}
		if c.filter, err = f.Resolve(ctx, p.resolver); err != nil {
			return nil, fmt.Errorf("dispatch %s audience: %w", d.ID, err)
		}
		c.needs = c.filter.Needs()
	}
	for _, v := range variantsOf(d.Spec) {
		cv := compiledVariant{id: v.ID, percent: v.Percent, objects: map[string]*templates.Object{}}
		for ch, obj := range v.Messages {
			o, err := p.tmpl.ParseObject(obj)
			if err != nil {
				return nil, fmt.Errorf("dispatch %s %s: %w: %w", d.ID, ch, err, asynq.SkipRetry)
			}
			cv.objects[ch] = o
			cv.vars |= o.Vars()
		}
		c.variants = append(c.variants, cv)
	}
	c.channels = channelsOf(c.variants)
	p.mu.Lock()
	if len(p.compiled) >= maxCompiled {
		for k := range p.compiled { // evict one at random
			delete(p.compiled, k)
			break
		}
	}
	p.compiled[d.ID] = c
	p.mu.Unlock()
	return c, nil
}

// messageID is the stable id of one ledger row: the same on every claim of
// the row, so a re-send carries the same collapse id.
func messageID(k LedgerKey) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%s\x00%s", k.DispatchID, k.UserID, k.Channel, k.Device))
	return hex.EncodeToString(h[:12])
}

// newToken is a worker's claim token for one page run.
func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
