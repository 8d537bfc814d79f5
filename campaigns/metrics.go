package campaigns

import "github.com/prometheus/client_golang/prometheus"

// pipelineMetrics are the delivery pipeline's counters; labels are bounded
// (channels, outcomes, the abort reasons table).
type pipelineMetrics struct {
	deliveries *prometheus.CounterVec // channel, outcome
	aborts     *prometheus.CounterVec // reason
	claims     *prometheus.CounterVec // state
	prunes     *prometheus.CounterVec // channel
	pages      *prometheus.CounterVec // result
}

func newPipelineMetrics(reg prometheus.Registerer) (*pipelineMetrics, error) {
	m := &pipelineMetrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_deliveries_total",
			Help: "Messages sent to providers, by channel and outcome (delivered, retry, drop_token, permanent)."}, []string{"channel", "outcome"}),
		aborts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_aborts_total",
			Help: "Messages not sent, by abort reason."}, []string{"reason"}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_ledger_claims_total",
			Help: "Ledger claims, by result (claimed, finished, busy)."}, []string{"result"}),
		prunes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_token_prunes_total",
			Help: "Device tokens marked invalid after a provider answer, by channel."}, []string{"channel"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_pages_total",
			Help: "Deliver tasks run, by result (done, retry, skipped)."}, []string{"result"}),
	}
	for _, r := range AbortReasons() {
		m.aborts.WithLabelValues(r)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.deliveries, m.aborts, m.claims, m.prunes, m.pages} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
