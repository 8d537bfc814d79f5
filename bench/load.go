package main

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"
)

// outcome is what one request achieved.
type outcome struct {
	// objects counts the objects the server reported as processed.
	objects int
	// objectErrors counts per-object errors the server reported.
	objectErrors int
	// status is the HTTP status, 0 when the request failed in transport.
	status int
	// failure describes a failed request (unexpected status with its body, or
	// the transport error); empty on success.
	failure string
	// objectError is the first per-object error of an otherwise successful request.
	objectError string
}

// request issues one request; each worker owns one, so it may keep buffers and a
// random source without locking.
type request func(ctx context.Context) outcome

// loadSpec is a closed-loop load: Concurrency workers, each sending its next
// request as soon as the previous one answered, for Warmup (not measured) and
// then Duration.
type loadSpec struct {
	Concurrency int
	Warmup      time.Duration
	Duration    time.Duration
	// OnMeasure, when set, is called as the measured window begins (to sample
	// the server's CPU time, for example).
	OnMeasure func()
}

// loadResult aggregates the requests that started inside the measured window.
type loadResult struct {
	Requests        int
	Objects         int64
	ObjectErrors    int64
	BadStatus       int // answered with an unexpected status
	TransportErrors int // no answer at all
	FirstFailure    string
	// FirstObjectError is a per-object error the server reported, if any.
	FirstObjectError string
	// Elapsed runs from the start of the measured window to the end of the last
	// measured request.
	Elapsed time.Duration
	// Latencies are sorted ascending.
	Latencies []time.Duration
}

// failures is every failed request.
func (r *loadResult) failures() int { return r.BadStatus + r.TransportErrors }

type workerStats struct {
	loadResult
	firstAt time.Time // when FirstFailure happened, to keep the earliest overall
	lastEnd time.Time
}

// runLoad runs spec with one request function per worker (newRequest(i) for
// worker i). A cancelled ctx stops the load early; requests it cut off are not
// counted.
func runLoad(ctx context.Context, spec loadSpec, newRequest func(worker int) request) *loadResult {
	start := time.Now()
	measureFrom := start.Add(spec.Warmup)
	until := measureFrom.Add(spec.Duration)
	if spec.OnMeasure != nil {
		t := time.AfterFunc(spec.Warmup, spec.OnMeasure)
		defer t.Stop()
	}
	stats := make([]workerStats, spec.Concurrency)
	var wg sync.WaitGroup
	for i := range spec.Concurrency {
		do := newRequest(i)
		st := &stats[i]
		wg.Go(func() {
			for {
				t0 := time.Now()
				if !t0.Before(until) || ctx.Err() != nil {
					return
				}
				o := do(ctx)
				t1 := time.Now()
				if ctx.Err() != nil {
					return
				}
				if t0.Before(measureFrom) {
					continue
				}
				st.add(o, t0, t1)
			}
		})
	}
	wg.Wait()
	return merge(stats, measureFrom, spec.Duration)
}

func (s *workerStats) add(o outcome, t0, t1 time.Time) {
	s.Requests++
	s.Latencies = append(s.Latencies, t1.Sub(t0))
	s.Objects += int64(o.objects)
	s.ObjectErrors += int64(o.objectErrors)
	if t1.After(s.lastEnd) {
		s.lastEnd = t1
	}
	if s.FirstObjectError == "" {
		s.FirstObjectError = o.objectError
	}
	if o.failure == "" {
		return
	}
	if o.status == 0 {
		s.TransportErrors++
	} else {
		s.BadStatus++
	}
	if s.FirstFailure == "" {
		s.FirstFailure, s.firstAt = o.failure, t0
	}
}

func merge(stats []workerStats, measureFrom time.Time, duration time.Duration) *loadResult {
	r := &loadResult{}
	var lastEnd, firstAt time.Time
	for i := range stats {
		s := &stats[i]
		r.Requests += s.Requests
		r.Objects += s.Objects
		r.ObjectErrors += s.ObjectErrors
		r.BadStatus += s.BadStatus
		r.TransportErrors += s.TransportErrors
		r.Latencies = append(r.Latencies, s.Latencies...)
		if s.lastEnd.After(lastEnd) {
			lastEnd = s.lastEnd
		}
		if r.FirstObjectError == "" {
			r.FirstObjectError = s.FirstObjectError
		}
		if s.FirstFailure != "" && (r.FirstFailure == "" || s.firstAt.Before(firstAt)) {
			r.FirstFailure, firstAt = s.FirstFailure, s.firstAt
		}
	}
	slices.Sort(r.Latencies)
	r.Elapsed = duration
	if !lastEnd.IsZero() {
		r.Elapsed = lastEnd.Sub(measureFrom)
	}
	return r
}

// newHTTPClient returns one keep-alive client for all workers, with enough idle
// connections that every worker keeps its own.
func newHTTPClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        2 * concurrency,
			MaxIdleConnsPerHost: 2 * concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}
