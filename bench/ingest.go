package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// ingestParams are the ingest scenario's flags.
type ingestParams struct {
	env         envFlags
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	users       int
	attributes  int
	events      int
	purchases   int
}

// maxTrackObjects is Braze's (and Herald's default) cap per /users/track array.
const maxTrackObjects = 75

func parseIngest(args []string, stderr io.Writer) (ingestParams, error) {
	var p ingestParams
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	p.env.register(fs)
	fs.IntVar(&p.concurrency, "concurrency", 16, "concurrent workers, each with one request in flight")
	fs.DurationVar(&p.duration, "duration", 20*time.Second, "measured duration")
	fs.DurationVar(&p.warmup, "warmup", 3*time.Second, "load before the measured window, not measured")
	fs.IntVar(&p.users, "users", 100000, "size of the user population requests pick from")
	fs.IntVar(&p.attributes, "attributes", 50, "attribute objects per request (0-75)")
	fs.IntVar(&p.events, "events", 25, "event objects per request (0-75)")
	fs.IntVar(&p.purchases, "purchases", 0, "purchase objects per request (0-75)")
	if err := parseFlags(fs, args); err != nil {
		return p, err
	}
	if err := p.env.validate(); err != nil {
		return p, err
	}
	switch {
	case p.concurrency < 1:
		return p, usageErr("--concurrency must be at least 1")
	case p.duration <= 0:
		return p, usageErr("--duration must be positive")
	case p.warmup < 0:
		return p, usageErr("--warmup must not be negative")
	case p.users < 1:
		return p, usageErr("--users must be at least 1")
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"attributes", p.attributes}, {"events", p.events}, {"purchases", p.purchases}} {
		if f.n < 0 || f.n > maxTrackObjects {
			return p, usageErr("--%s must be between 0 and %d, got %d", f.name, maxTrackObjects, f.n)
		}
	}
	if p.attributes+p.events+p.purchases == 0 {
		return p, usageErr("--attributes, --events and --purchases are all 0: nothing to send")
	}
	return p, nil
}

func runIngest(ctx context.Context, args []string, out outputs) (err error) {
	p, err := parseIngest(args, out.stderr)
	if err != nil {
		return err
	}
	e, err := launch(ctx, p.env, launchOptions{MaxInFlight: max(256, 4*p.concurrency)}, out.stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, e.close()) }()
	h := e.herald

	client := newHTTPClient(p.concurrency)
	defer client.CloseIdleConnections()
	url := h.baseURL() + "/users/track"
	var (
		mu   sync.Mutex
		cpu0 time.Duration
	)
	spec := loadSpec{Concurrency: p.concurrency, Warmup: p.warmup, Duration: p.duration, OnMeasure: func() {
		fmt.Fprintf(out.stderr, "measuring for %s ...\n", p.duration)
		c, _ := h.cpuTime()
		mu.Lock()
		cpu0 = c
		mu.Unlock()
	}}
	fmt.Fprintf(out.stderr, "warming up for %s with %d workers ...\n", p.warmup, p.concurrency)
	load := runLoad(ctx, spec, func(worker int) request {
		return newIngestRequest(client, url, h.apiKey, p, uint64(worker))
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted, nothing reported: %w", err)
	}
	if err := h.alive(); err != nil {
		return err
	}
	rss, err := h.peakRSS()
	if err != nil {
		return fmt.Errorf("read herald peak RSS: %w", err)
	}
	cpu1, err := h.cpuTime()
	if err != nil {
		return fmt.Errorf("read herald CPU time: %w", err)
	}
	mu.Lock()
	cpu := cpu1 - cpu0
	mu.Unlock()

	res := newIngestResult(p, load, rss, cpu)
	if err := writeReport(out.stdout, res, p.env.json); err != nil {
		return err
	}
	switch {
	case load.failures()+load.Warmup.failures() > 0 || load.ObjectErrors+load.Warmup.ObjectErrors > 0:
		return errFailures
	case load.Requests == 0:
		return errors.New("no request started and finished inside the measured window (the server stalled?)")
	}
	return nil
}

// trackBody is a /users/track request; empty arrays are left out.
type trackBody struct {
	Attributes []attributeObject `json:"attributes,omitempty"`
	Events     []eventObject     `json:"events,omitempty"`
	Purchases  []purchaseObject  `json:"purchases,omitempty"`
}

// attributeObject sets standard attributes and custom ones that change on every
// write, so each object is a real update.
type attributeObject struct {
	ExternalID string  `json:"external_id"`
	FirstName  string  `json:"first_name"`
	Country    string  `json:"country"`
	Plan       string  `json:"plan"`
	LoginCount incOp   `json:"login_count"`
	Score      float64 `json:"score"`
	LastSeen   string  `json:"last_seen"`
}

type incOp struct {
	Inc int `json:"inc"`
}

type eventObject struct {
	ExternalID string          `json:"external_id"`
	Name       string          `json:"name"`
	Time       string          `json:"time"`
	Properties eventProperties `json:"properties"`
}

type eventProperties struct {
	ItemID string  `json:"item_id"`
	Price  float64 `json:"price"`
	Source string  `json:"source"`
}

type purchaseObject struct {
	ExternalID string  `json:"external_id"`
	ProductID  string  `json:"product_id"`
	Currency   string  `json:"currency"`
	Price      float64 `json:"price"`
	Quantity   int     `json:"quantity"`
	Time       string  `json:"time"`
}

// trackReply is the part of the /users/track answer the harness reads.
type trackReply struct {
	AttributesProcessed int               `json:"attributes_processed"`
	EventsProcessed     int               `json:"events_processed"`
	PurchasesProcessed  int               `json:"purchases_processed"`
	Errors              []json.RawMessage `json:"errors"`
}

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis"}
	countries  = []string{"US", "DE", "FR", "BR", "JP", "IN", "GB", "NG"}
	plans      = []string{"free", "basic", "pro", "team", "enterprise"}
	eventNames = []string{"app_open", "view_item", "add_to_cart", "search", "share"}
	sources    = []string{"push", "email", "organic", "ad"}
	products   = []string{"sku-basic", "sku-pro", "sku-addon", "sku-gift"}
)

// timeLayout is ISO 8601 with milliseconds in UTC.
const timeLayout = "2006-01-02T15:04:05.000Z"

// newIngestRequest returns worker's request function: it builds a fresh body
// with random users each time, reusing its buffers.
func newIngestRequest(client *http.Client, url, apiKey string, p ingestParams, worker uint64) request {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), worker))
	auth := "Bearer " + apiKey
	var (
		body  trackBody
		buf   bytes.Buffer
		reply trackReply
	)
	user := func() string { return "bench-user-" + strconv.Itoa(rng.IntN(p.users)) }
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	price := func() float64 { return float64(rng.IntN(10000)) / 100 }
	return func(ctx context.Context) outcome {
		now := time.Now().UTC().Format(timeLayout)
		body.Attributes, body.Events, body.Purchases = body.Attributes[:0], body.Events[:0], body.Purchases[:0]
		for range p.attributes {
			body.Attributes = append(body.Attributes, attributeObject{ExternalID: user(), FirstName: pick(firstNames),
				Country: pick(countries), Plan: pick(plans), LoginCount: incOp{Inc: 1}, Score: price(), LastSeen: now})
		}
		for range p.events {
			body.Events = append(body.Events, eventObject{ExternalID: user(), Name: pick(eventNames), Time: now,
				Properties: eventProperties{ItemID: "item-" + strconv.Itoa(rng.IntN(1000)), Price: price(), Source: pick(sources)}})
		}
		for range p.purchases {
			body.Purchases = append(body.Purchases, purchaseObject{ExternalID: user(), ProductID: pick(products),
				Currency: "USD", Price: price(), Quantity: 1, Time: now})
		}
		buf.Reset()
		if err := json.NewEncoder(&buf).Encode(&body); err != nil {
			return outcome{failure: "encode request: " + err.Error()}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(buf.Bytes()))
		if err != nil {
			return outcome{failure: err.Error()}
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return outcome{failure: err.Error()}
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return outcome{status: resp.StatusCode, failure: fmt.Sprintf("HTTP %d, reading body: %v", resp.StatusCode, err)}
		}
		if resp.StatusCode != http.StatusCreated {
			return outcome{status: resp.StatusCode, failure: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, truncate(raw, 1000))}
		}
		reply = trackReply{}
		if err := json.Unmarshal(raw, &reply); err != nil {
			return outcome{status: resp.StatusCode, failure: fmt.Sprintf("HTTP 201 with an unreadable body (%v): %s", err, truncate(raw, 1000))}
		}
		o := outcome{status: resp.StatusCode, objects: reply.AttributesProcessed + reply.EventsProcessed + reply.PurchasesProcessed,
			objectErrors: len(reply.Errors)}
		if len(reply.Errors) > 0 {
			o.objectError = truncate(reply.Errors[0], 1000)
		}
		return o
	}
}

// truncate returns b without surrounding space, cut to n bytes.
func truncate(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

// ingestResult is the ingest scenario's report.
type ingestResult struct {
	Scenario    string `json:"scenario"`
	Store       string `json:"store"`
	Concurrency int    `json:"concurrency"`
	Users       int    `json:"users"`
	PerRequest  struct {
		Attributes int `json:"attributes"`
		Events     int `json:"events"`
		Purchases  int `json:"purchases"`
	} `json:"per_request"`
	WarmupS          float64   `json:"warmup_s"`
	ElapsedS         float64   `json:"elapsed_s"`
	Requests         int       `json:"requests"`
	Objects          int64     `json:"objects_processed"`
	ObjectsPerSec    float64   `json:"objects_per_s"`
	RequestsPerSec   float64   `json:"requests_per_s"`
	Latency          latencies `json:"latency"`
	Non201           int       `json:"non_201"`
	TransportErrors  int       `json:"transport_errors"`
	ObjectErrors     int64     `json:"object_errors"`
	WarmupRequests   int       `json:"warmup_requests"`
	WarmupFailures   int       `json:"warmup_failures"`
	FirstError       string    `json:"first_error,omitempty"`
	FirstObjectError string    `json:"first_object_error,omitempty"`
	PeakRSSMB        float64   `json:"herald_peak_rss_mb"`
	HeraldCPUCores   float64   `json:"herald_cpu_cores"`
	HostCPUs         int       `json:"host_cpus"`
}

func newIngestResult(p ingestParams, l *loadResult, rss int64, cpu time.Duration) *ingestResult {
	r := &ingestResult{
		Scenario: "ingest", Store: p.env.store, Concurrency: p.concurrency, Users: p.users,
		WarmupS: p.warmup.Seconds(), ElapsedS: round(l.Elapsed.Seconds(), 2),
		Requests: l.Requests, Objects: l.Objects,
		ObjectsPerSec: rate(l.Objects, l.Elapsed), RequestsPerSec: rate(int64(l.Requests), l.Elapsed),
		Latency: summarize(l.Latencies), Non201: l.BadStatus, TransportErrors: l.TransportErrors,
		ObjectErrors: l.ObjectErrors + l.Warmup.ObjectErrors, WarmupRequests: l.Warmup.Requests, WarmupFailures: l.Warmup.failures(),
		FirstError: l.firstFailure(), FirstObjectError: cmp.Or(l.Warmup.FirstObjectError, l.FirstObjectError),
		PeakRSSMB: mb(rss), HostCPUs: runtime.NumCPU(),
	}
	r.PerRequest.Attributes, r.PerRequest.Events, r.PerRequest.Purchases = p.attributes, p.events, p.purchases
	if l.Elapsed > 0 {
		r.HeraldCPUCores = round(cpu.Seconds()/l.Elapsed.Seconds(), 2)
	}
	return r
}

func (r *ingestResult) rows() []row {
	rows := []row{
		{"scenario", r.Scenario},
		{"store", r.Store},
		{"concurrency", strconv.Itoa(r.Concurrency)},
		{"users", strconv.Itoa(r.Users)},
		{"objects/request", fmt.Sprintf("%d attributes + %d events + %d purchases", r.PerRequest.Attributes, r.PerRequest.Events, r.PerRequest.Purchases)},
		{"measured", fmt.Sprintf("%ss (after %ss warm-up)", num(r.ElapsedS), num(r.WarmupS))},
		{"requests", strconv.Itoa(r.Requests)},
		{"objects processed", strconv.FormatInt(r.Objects, 10)},
		{"objects/s", num(r.ObjectsPerSec)},
		{"requests/s", num(r.RequestsPerSec)},
		{"latency p50", num(r.Latency.P50) + " ms"},
		{"latency p90", num(r.Latency.P90) + " ms"},
		{"latency p99", num(r.Latency.P99) + " ms"},
		{"latency max", num(r.Latency.Max) + " ms"},
		{"non-201 responses", strconv.Itoa(r.Non201)},
		{"transport errors", strconv.Itoa(r.TransportErrors)},
		{"object errors", strconv.FormatInt(r.ObjectErrors, 10) + " (warm-up included)"},
		{"warm-up requests", fmt.Sprintf("%d (%d failed)", r.WarmupRequests, r.WarmupFailures)},
	}
	if r.FirstError != "" {
		rows = append(rows, row{"first error", r.FirstError})
	}
	if r.FirstObjectError != "" {
		rows = append(rows, row{"first object error", r.FirstObjectError})
	}
	return append(rows,
		row{"herald peak RSS", num(r.PeakRSSMB) + " MB"},
		row{"herald CPU", num(r.HeraldCPUCores) + " cores (measured window)"},
		row{"host CPUs", strconv.Itoa(r.HostCPUs)},
	)
}
