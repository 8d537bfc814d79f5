package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	rateLimited   *prometheus.CounterVec
	overloaded    prometheus.Counter
	limiterErrors prometheus.Counter
	objects       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "herald_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_http_rate_limited_total", Help: "Requests answered 429, by rate limit class.",
		}, []string{"class"}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_http_overloaded_total", Help: "Requests answered 503 because every lane slot was busy.",
		}),
		limiterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_rate_limiter_errors_total", Help: "Rate limiter failures (Redis unreachable); requests were allowed.",
		}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_ingest_objects_total", Help: "/users/track objects by array and result.",
		}, []string{"array", "result"}),
	}
	for _, c := range []string{classUsersTrack, classUsersTrackBulk, classUsersExport, classUsersIdentity, classDefault} {
		m.rateLimited.WithLabelValues(c)
	}
	for _, a := range []string{"attributes", "events", "purchases"} {
		m.objects.WithLabelValues(a, "processed")
	}
	m.objects.WithLabelValues("any", "error")
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.rateLimited, m.overloaded, m.limiterErrors, m.objects)
	}
	return m
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}
