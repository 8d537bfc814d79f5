package main

import (
	"context"
	"fmt"
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
	// Grace is how long requests still running when the measured window ends may
	// take; then they are cut off and count as failures. Default: 30s.
	Grace time.Duration
	// OnMeasure, when set, is called as the measured window begins (to sample
	// the server's CPU time, for example).
	OnMeasure func()
}

// phase aggregates the requests that started in one phase (warm-up or measured).
type phase struct {
	Requests        int
	Objects         int64
	ObjectErrors    int64
	BadStatus       int // answered with an unexpected status
	TransportErrors int // no answer at all (or cut off after the grace period)
	FirstFailure    string
	// FirstObjectError is a per-object error the server reported, if any.
	FirstObjectError string
	// Latencies are sorted ascending once merged.
	Latencies []time.Duration

	firstAt time.Time // when FirstFailure happened, to keep the earliest overall
	lastEnd time.Time
}

// failures is every failed request.
func (p *phase) failures() int { return p.BadStatus + p.TransportErrors }

// loadResult is the measured phase (requests that started inside the measured
// window) plus what happened during the warm-up.
type loadResult struct {
	phase
	Warmup phase
	// Elapsed runs from the start of the measured window to the end of the last
	// measured request.
	Elapsed time.Duration
}

// firstFailure is the earliest failure of either phase, labelled with its phase.
func (r *loadResult) firstFailure() string {
	switch {
	case r.Warmup.FirstFailure != "" && (r.FirstFailure == "" || r.Warmup.firstAt.Before(r.firstAt)):
		return "(warm-up) " + r.Warmup.FirstFailure
	default:
		return r.FirstFailure
	}
}

// runLoad runs spec with one request function per worker (newRequest(i) for
// worker i). A cancelled ctx stops the load early; requests it cut off are not
// counted.
func runLoad(ctx context.Context, spec loadSpec, newRequest func(worker int) request) *loadResult {
	if spec.Grace <= 0 {
		spec.Grace = 30 * time.Second
	}
	start := time.Now()
	measureFrom := start.Add(spec.Warmup)
	until := measureFrom.Add(spec.Duration)
	loadCtx, cancel := context.WithDeadline(ctx, until.Add(spec.Grace))
	defer cancel()
	if spec.OnMeasure != nil {
		t := time.AfterFunc(spec.Warmup, spec.OnMeasure)
		defer t.Stop()
	}
	type stats struct{ warmup, measured phase }
	all := make([]stats, spec.Concurrency)
	var wg sync.WaitGroup
	for i := range spec.Concurrency {
		do := newRequest(i)
		st := &all[i]
		wg.Go(func() {
			for {
				t0 := time.Now()
				if !t0.Before(until) || ctx.Err() != nil {
					return
				}
				o := do(loadCtx)
				t1 := time.Now()
				if ctx.Err() != nil {
					return
				}
				if loadCtx.Err() != nil && o.failure != "" {
					o = outcome{failure: fmt.Sprintf("cut off: still running %s after the measured window ended", spec.Grace)}
				}
				if t0.Before(measureFrom) {
					st.warmup.add(o, t0, t1)
				} else {
					st.measured.add(o, t0, t1)
				}
			}
		})
	}
	wg.Wait()
	r := &loadResult{Elapsed: spec.Duration}
	for i := range all {
		r.phase.merge(&all[i].measured)
		r.Warmup.merge(&all[i].warmup)
	}
	slices.Sort(r.Latencies)
	slices.Sort(r.Warmup.Latencies)
	if !r.lastEnd.IsZero() {
		r.Elapsed = r.lastEnd.Sub(measureFrom)
	}
	return r
}

func (p *phase) add(o outcome, t0, t1 time.Time) {
	p.Requests++
	p.Latencies = append(p.Latencies, t1.Sub(t0))
	p.Objects += int64(o.objects)
	p.ObjectErrors += int64(o.objectErrors)
	if t1.After(p.lastEnd) {
		p.lastEnd = t1
	}
	if p.FirstObjectError == "" {
		p.FirstObjectError = o.objectError
	}
	if o.failure == "" {
		return
	}
	if o.status == 0 {
		p.TransportErrors++
	} else {
		p.BadStatus++
	}
	if p.FirstFailure == "" {
		p.FirstFailure, p.firstAt = o.failure, t0
	}
}

// merge adds one worker's phase into p.
func (p *phase) merge(w *phase) {
	p.Requests += w.Requests
	p.Objects += w.Objects
	p.ObjectErrors += w.ObjectErrors
	p.BadStatus += w.BadStatus
	p.TransportErrors += w.TransportErrors
	p.Latencies = append(p.Latencies, w.Latencies...)
	if w.lastEnd.After(p.lastEnd) {
		p.lastEnd = w.lastEnd
	}
	if p.FirstObjectError == "" {
		p.FirstObjectError = w.FirstObjectError
	}
	if w.FirstFailure != "" && (p.FirstFailure == "" || w.firstAt.Before(p.firstAt)) {
		p.FirstFailure, p.firstAt = w.FirstFailure, w.firstAt
	}
}

// newHTTPClient returns one keep-alive client for all workers, with enough idle
// connections that every worker keeps its own.
func newHTTPClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Minute, // the load's own deadline cuts requests off first
		Transport: &http.Transport{
			MaxIdleConns:        2 * concurrency,
			MaxIdleConnsPerHost: 2 * concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}
