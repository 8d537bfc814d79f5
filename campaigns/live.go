package campaigns

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
)

// LiveCounter keeps real-time counters per campaign for the live views
// (queue.LiveCounters, in Redis): field -> count, by campaign id.
type LiveCounter interface {
	Add(ctx context.Context, counts map[string]map[string]int64) error
	Get(ctx context.Context, campaignID string) (map[string]int64, error)
	// MarkPushes keeps each user's latest delivered push per channel for
	// window; RecentPush reads one back (influenced opens).
	MarkPushes(ctx context.Context, marks []queue.PushMark, window time.Duration) error
	RecentPush(ctx context.Context, userID int64, channel string) (queue.PushMark, bool, error)
}

// InfluenceWindow is how long after a push was delivered an app opened
// without opening the push counts as an influenced open.
const InfluenceWindow = 12 * time.Hour

// Live counter fields: "<channel>.<kind>" counts engagement events as they
// are recorded (a delivery or a bounce also counts a send); and
// "latency.<channel>.<bound>" counts provider round trips that took at most
// <bound> milliseconds (and more than the bound before it; "inf" above the
// last).
const latencyField = "latency."

// latencyBounds are the latency buckets' upper bounds, in milliseconds.
var latencyBounds = []int64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// latencyBucket names the bucket of d.
func latencyBucket(d time.Duration) string {
	for _, b := range latencyBounds {
		if d <= time.Duration(b)*time.Millisecond {
			return strconv.FormatInt(b, 10)
		}
	}
	return "inf"
}

// latencies counts one channel's round trips by bucket; safe for the
// senders' goroutines.
type latencies struct {
	mu     sync.Mutex
	counts map[string]int64
}

func (l *latencies) record(d time.Duration) {
	b := latencyBucket(d)
	l.mu.Lock()
	if l.counts == nil {
		l.counts = map[string]int64{}
	}
	l.counts[b]++
	l.mu.Unlock()
}

// liveFields adds events (of any campaigns) to counts, by campaign.
func liveFields(counts map[string]map[string]int64, events []Engagement) map[string]map[string]int64 {
	if counts == nil {
		counts = map[string]map[string]int64{}
	}
	for _, e := range events {
		if e.CampaignID == "" {
			continue
		}
		c := counts[e.CampaignID]
		if c == nil {
			c = map[string]int64{}
			counts[e.CampaignID] = c
		}
		c[e.Channel+"."+e.Kind]++
		if e.Kind == EventDelivery || e.Kind == EventBounce {
			c[e.Channel+"."+EventSend]++
		}
	}
	return counts
}

// Live is a campaign's real-time view.
type Live struct {
	// Counts are engagement events by channel and kind, as recorded.
	Counts map[string]map[string]int64 `json:"counts"`
	// Latency are provider round-trip percentiles by channel, in
	// milliseconds: the upper bound of the bucket holding the percentile
	// (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000; -1 for
	// a round trip above 10 s), with the number of round trips.
	Latency map[string]LatencyPercentiles `json:"provider_latency_ms"`
}

// LatencyPercentiles summarize one channel's provider round trips.
type LatencyPercentiles struct {
	Count int64 `json:"count"`
	P50   int64 `json:"p50"`
	P90   int64 `json:"p90"`
	P99   int64 `json:"p99"`
}

// parseLive turns a campaign's counter fields into its live view.
func parseLive(fields map[string]int64) *Live {
	out := &Live{Counts: map[string]map[string]int64{}, Latency: map[string]LatencyPercentiles{}}
	buckets := map[string]map[string]int64{}
	for f, n := range fields {
		if rest, ok := strings.CutPrefix(f, latencyField); ok {
			ch, b, ok := strings.Cut(rest, ".")
			if ok {
				if buckets[ch] == nil {
					buckets[ch] = map[string]int64{}
				}
				buckets[ch][b] += n
			}
			continue
		}
		ch, kind, ok := strings.Cut(f, ".")
		if !ok {
			continue
		}
		if out.Counts[ch] == nil {
			out.Counts[ch] = map[string]int64{}
		}
		out.Counts[ch][kind] += n
	}
	for ch, bs := range buckets {
		out.Latency[ch] = percentiles(bs)
	}
	return out
}

// percentiles reads p50, p90 and p99 off bucket counts.
func percentiles(bs map[string]int64) LatencyPercentiles {
	bounds := append(append([]int64{}, latencyBounds...), -1)
	counts := make([]int64, len(bounds))
	var total int64
	for i, b := range bounds {
		name := "inf"
		if b >= 0 {
			name = strconv.FormatInt(b, 10)
		}
		counts[i] = bs[name]
		total += counts[i]
	}
	at := func(q float64) int64 {
		rank := int64(math.Ceil(q * float64(total))) // the ceil(q*total)-th round trip
		var seen int64
		for i, c := range counts {
			seen += c
			if seen >= rank && c > 0 {
				return bounds[i]
			}
		}
		return 0
	}
	if total == 0 {
		return LatencyPercentiles{}
	}
	return LatencyPercentiles{Count: total, P50: at(0.50), P90: at(0.90), P99: at(0.99)}
}

// Live returns a campaign's real-time counters (nil counters: an empty view).
func (s *Service) Live(ctx context.Context, campaignID string) (*Live, error) {
	if _, err := s.st.Campaign(ctx, campaignID); err != nil {
		return nil, err
	}
	if s.live == nil {
		return parseLive(nil), nil
	}
	fields, err := s.live.Get(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	return parseLive(fields), nil
}

// UseLive makes the service count SDK engagement in live counters and
// answer Live from them.
func (s *Service) UseLive(l LiveCounter) { s.live = l }

// countLive adds what a page recorded to the live counters: the events of
// its claimed messages (exact whatever the page's re-runs: only a claim is
// recorded once) and its provider latencies; a failure is logged (the
// counters are a view, the ledger is the record).
func (p *Pipeline) countLive(ctx context.Context, r *run) {
	if p.opts.Live == nil {
		return
	}
	sent := make([]Engagement, 0, len(r.outcomes))
	for _, o := range r.outcomes {
		if e, ok := OutcomeEvent(o, r.now); ok && o.Claimed {
			sent = append(sent, e)
		}
	}
	if len(sent) == 0 && len(r.latency) == 0 {
		return
	}
	counts := liveFields(nil, sent)
	for ch, l := range r.latency {
		if counts[r.d.CampaignID] == nil {
			counts[r.d.CampaignID] = map[string]int64{}
		}
		for b, n := range l.counts {
			counts[r.d.CampaignID][latencyField+ch+"."+b] += n
		}
	}
	if err := p.opts.Live.Add(ctx, counts); err != nil {
		p.log.Warn("live counters", "dispatch", r.d.ID, "error", err)
	}
	marks := make([]queue.PushMark, 0, len(sent))
	for _, e := range sent {
		if _, push := pushPlatforms[e.Channel]; push && e.Kind == EventDelivery {
			marks = append(marks, queue.PushMark{UserID: e.UserID, Channel: e.Channel, DispatchID: e.DispatchID, CampaignID: e.CampaignID, At: e.At})
		}
	}
	if err := p.opts.Live.MarkPushes(ctx, marks, InfluenceWindow); err != nil {
		p.log.Warn("push marks", "dispatch", r.d.ID, "error", err)
	}
}

// RecordSessionStarts records influenced opens for the session starts an
// app's SDK reported for a user: a session started within InfluenceWindow
// after the latest push delivered to the user on the app's platform,
// without a direct open of that push (in this batch, opened, or before), is
// an influenced_open of its dispatch, once.
func (s *Service) RecordSessionStarts(ctx context.Context, app *profiles.App, userID int64, starts []time.Time, opened map[string]bool) error {
	channel := pushChannels[app.Platform]
	if s.live == nil || channel == "" || len(starts) == 0 {
		return nil
	}
	m, ok, err := s.live.RecentPush(ctx, userID, channel)
	if err != nil || !ok || opened[m.DispatchID] {
		return err
	}
	var events []Engagement
	for _, at := range starts {
		if at.Before(m.At) || at.After(m.At.Add(InfluenceWindow)) {
			continue
		}
		k := LedgerKey{DispatchID: m.DispatchID, UserID: userID, Channel: channel}
		direct, err := s.st.HasEngagement(ctx, k, EngageOpen)
		if err != nil {
			return err
		}
		if !direct {
			events = append(events, Engagement{LedgerKey: k, CampaignID: m.CampaignID, Kind: EngageInfluencedOpen, At: at.UTC()})
		}
		break
	}
	if len(events) == 0 {
		return nil
	}
	return s.recordCounted(ctx, nil, events, s.now())
}

// recordCounted records outcomes and events and counts the events stored
// (not those stored before) in the live counters; a counter failure is
// ignored (the counters are a view, the rows are the record).
func (s *Service) recordCounted(ctx context.Context, outcomes []Outcome, events []Engagement, now time.Time) error {
	if s.live == nil && s.engaged == nil {
		return s.st.Record(ctx, outcomes, events, "", now)
	}
	added, err := s.st.RecordEvents(ctx, outcomes, events, "", now)
	if err != nil {
		return err
	}
	if s.engaged != nil {
		for _, e := range added {
			s.engaged.WithLabelValues(e.Channel, e.Kind).Inc()
		}
	}
	if s.live != nil {
		_ = s.live.Add(ctx, liveFields(nil, added)) // a view: the rows are stored
	}
	return nil
}

// UseMetrics registers the service's counter with reg:
// herald_engagement_events_total{channel, kind}, the engagement events it
// stores (SDK reports, influenced opens, first-impression cards; the
// pipeline's deliveries are herald_deliveries_total).
func (s *Service) UseMetrics(reg prometheus.Registerer) error {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_engagement_events_total",
		Help: "Engagement events stored from SDK reports and session starts, by channel and kind."}, []string{"channel", "kind"})
	if err := reg.Register(c); err != nil {
		return err
	}
	s.engaged = c
	return nil
}
