package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// sessionParams are the flags of the session scenario.
type sessionParams struct {
	env       envFlags
	rate      int
	duration  time.Duration
	warmup    time.Duration
	campaigns int
	users     int
	inFlight  int
}

func parseSession(args []string, stderr io.Writer) (sessionParams, error) {
	var p sessionParams
	fs := flag.NewFlagSet("bench session", flag.ContinueOnError)
	fs.SetOutput(stderr)
	p.env.register(fs)
	fs.IntVar(&p.rate, "rate", 1000, "session starts per second, sent on schedule (open loop)")
	fs.DurationVar(&p.duration, "duration", 20*time.Second, "measured time")
	fs.DurationVar(&p.warmup, "warmup", 3*time.Second, "time at the rate before measuring")
	fs.IntVar(&p.campaigns, "campaigns", 50, "live in-app campaigns (session_start and custom_event triggers, audience filters)")
	fs.IntVar(&p.users, "users", 10000, "users created before the run; each session start is for one of them")
	fs.IntVar(&p.inFlight, "in-flight", 512, "most requests outstanding at once; a send that finds none free counts as late")
	if err := parseFlags(fs, args); err != nil {
		return p, err
	}
	if err := p.env.validate(); err != nil {
		return p, err
	}
	switch {
	case p.rate < 1 || p.rate > 100000:
		return p, usageErr("--rate must be between 1 and 100000")
	case p.campaigns < 0 || p.campaigns > 1000:
		return p, usageErr("--campaigns must be between 0 and 1000")
	case p.users < 1 || p.users > 1000000:
		return p, usageErr("--users must be between 1 and 1000000")
	case p.duration < time.Second:
		return p, usageErr("--duration must be at least 1s")
	}
	return p, nil
}

// sessionResult is the session scenario's report.
type sessionResult struct {
	Scenario        string    `json:"scenario"`
	Store           string    `json:"store"`
	Rate            int       `json:"rate_per_s"`
	Campaigns       int       `json:"in_app_campaigns"`
	Users           int       `json:"users"`
	ElapsedS        float64   `json:"elapsed_s"`
	Requests        int       `json:"requests"`
	AchievedPerS    float64   `json:"achieved_per_s"`
	Latency         latencies `json:"latency"`
	Late            int       `json:"late"`
	Failures        int       `json:"failures"`
	FirstFailure    string    `json:"first_failure,omitempty"`
	MessagesPerResp float64   `json:"in_app_messages_per_response"`
	PeakRSSMB       float64   `json:"herald_peak_rss_mb"`
	HeraldCPUCores  float64   `json:"herald_cpu_cores"`
	HostCPUs        int       `json:"host_cpus"`
}

func (r *sessionResult) rows() []row {
	rows := []row{
		{"scenario", r.Scenario},
		{"store", r.Store},
		{"target rate", strconv.Itoa(r.Rate) + " session starts/s (open loop)"},
		{"in-app campaigns", strconv.Itoa(r.Campaigns)},
		{"users", strconv.Itoa(r.Users)},
		{"measured", num(r.ElapsedS) + " s"},
		{"requests", strconv.Itoa(r.Requests)},
		{"achieved", num(r.AchievedPerS) + "/s"},
		{"latency p50", num(r.Latency.P50) + " ms"},
		{"latency p90", num(r.Latency.P90) + " ms"},
		{"latency p99", num(r.Latency.P99) + " ms"},
		{"latency max", num(r.Latency.Max) + " ms"},
		{"in-app messages per response", num(r.MessagesPerResp)},
		{"late sends", strconv.Itoa(r.Late) + " (no free request slot at their time)"},
		{"failures", strconv.Itoa(r.Failures)},
	}
	if r.FirstFailure != "" {
		rows = append(rows, row{"first failure", r.FirstFailure})
	}
	return append(rows,
		row{"herald peak RSS", num(r.PeakRSSMB) + " MB"},
		row{"herald CPU", num(r.HeraldCPUCores) + " cores (measured window)"},
		row{"host CPUs", strconv.Itoa(r.HostCPUs)})
}

// runSession measures SDK session starts: POST /sdk/v1/data with one
// session_start item for a random user, sent at a fixed rate, with live
// in-app campaigns evaluated for every one. Latency is measured from each
// request's scheduled time (a server that falls behind shows in it).
func runSession(ctx context.Context, args []string, out outputs) (err error) {
	p, err := parseSession(args, out.stderr)
	if err != nil {
		return err
	}
	e, err := launch(ctx, p.env, launchOptions{MaxInFlight: max(256, p.inFlight)}, out.stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, e.close()) }()
	h := e.herald
	api := newAPIClient(h.baseURL(), h.apiKey)
	var app struct {
		SDKKey string `json:"sdk_key"`
	}
	if err := api.do(ctx, http.MethodPost, "/manage/apps", map[string]string{"name": "bench web", "platform": "web"}, http.StatusCreated, &app); err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	fmt.Fprintf(out.stderr, "creating %d users and %d in-app campaigns ...\n", p.users, p.campaigns)
	if err := sessionUsers(ctx, api, p.users); err != nil {
		return err
	}
	if err := inAppCampaigns(ctx, api, p.campaigns); err != nil {
		return err
	}

	client := newHTTPClient(p.inFlight)
	defer client.CloseIdleConnections()
	url := h.baseURL() + "/sdk/v1/data"
	slots := make(chan struct{}, p.inFlight)
	var (
		mu       sync.Mutex
		lat      []time.Duration
		fails    int
		first    string
		late     int
		msgs     int64
		requests int
		seq      atomic.Int64
	)
	interval := time.Second / time.Duration(p.rate)
	start := time.Now()
	measureFrom, end := start.Add(p.warmup), start.Add(p.warmup+p.duration)
	var cpu0 time.Duration
	var wg sync.WaitGroup
	fmt.Fprintf(out.stderr, "sending %d session starts/s for %s (+%s warm-up) ...\n", p.rate, p.duration, p.warmup)
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(end) || ctx.Err() != nil {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		measured := !due.Before(measureFrom)
		if measured && cpu0 == 0 {
			cpu0, _ = h.cpuTime()
			cpu0 = max(cpu0, 1)
		}
		select {
		case slots <- struct{}{}:
		default:
			if measured {
				mu.Lock()
				late++
				mu.Unlock()
			}
			slots <- struct{}{}
		}
		n := seq.Add(1)
		wg.Go(func() {
			defer func() { <-slots }()
			body := sessionBody(n, p.users, time.Now())
			got, failure := postSession(ctx, client, url, app.SDKKey, body)
			done := time.Now()
			if !measured {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			requests++
			if failure != "" {
				if fails++; first == "" {
					first = failure
				}
				return
			}
			msgs += int64(got)
			lat = append(lat, done.Sub(due))
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted, nothing reported: %w", err)
	}
	if err := h.alive(); err != nil {
		return err
	}
	rss, err := h.peakRSS()
	if err != nil {
		return err
	}
	cpu1, err := h.cpuTime()
	if err != nil {
		return err
	}
	slices.Sort(lat)
	res := &sessionResult{Scenario: "session", Store: p.env.store, Rate: p.rate, Campaigns: p.campaigns, Users: p.users,
		ElapsedS: round(p.duration.Seconds(), 2), Requests: requests, AchievedPerS: rate(int64(requests), p.duration),
		Latency: summarize(lat), Late: late, Failures: fails, FirstFailure: first, PeakRSSMB: mb(rss),
		HeraldCPUCores: round((cpu1-cpu0).Seconds()/p.duration.Seconds(), 2), HostCPUs: runtime.NumCPU()}
	if len(lat) > 0 {
		res.MessagesPerResp = round(float64(msgs)/float64(len(lat)), 2)
	}
	if err := writeReport(out.stdout, res, p.env.json); err != nil {
		return err
	}
	if fails > 0 {
		return errFailures
	}
	return nil
}

// sessionBody is one /sdk/v1/data request: a session start of user n mod
// users on its own device.
func sessionBody(n int64, users int, now time.Time) []byte {
	u := n % int64(users)
	b, _ := json.Marshal(map[string]any{ // plain values: cannot fail
		"device":  map[string]any{"device_id": fmt.Sprintf("bench-device-%d", u), "os": "web", "sdk_version": "bench", "time_zone": "Europe/Berlin"},
		"user_id": fmt.Sprintf("bench-user-%d", u),
		"items":   []any{map[string]any{"id": fmt.Sprintf("s-%d", n), "type": "session_start", "time": now.UTC().Format(time.RFC3339Nano)}},
	})
	return b
}

// postSession sends one session start and returns how many in-app messages
// came back, or a failure.
func postSession(ctx context.Context, client *http.Client, url, key string, body []byte) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Herald-Api-Key", key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return 0, fmt.Sprintf("%s: %s", resp.Status, truncate(data, 200))
	}
	var r struct {
		InApp  []json.RawMessage `json:"in_app_messages"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, "bad answer: " + err.Error()
	}
	if len(r.Errors) > 0 {
		return 0, "item errors: " + truncate(data, 200)
	}
	return len(r.InApp), ""
}

// sessionUsers creates the users (75 per /users/track request) with the
// attributes the campaigns' audiences read.
func sessionUsers(ctx context.Context, api *apiClient, n int) error {
	for start := 0; start < n; start += 75 {
		var attrs []map[string]any
		for i := start; i < min(start+75, n); i++ {
			attrs = append(attrs, map[string]any{"external_id": fmt.Sprintf("bench-user-%d", i), "first_name": firstNames[i%len(firstNames)],
				"country": countries[i%len(countries)], "plan": plans[i%len(plans)], "vip": i%3 == 0})
		}
		if err := api.do(ctx, http.MethodPost, "/users/track", map[string]any{"attributes": attrs}, http.StatusCreated, nil); err != nil {
			return fmt.Errorf("create users: %w", err)
		}
	}
	return nil
}

// inAppCampaigns creates and launches n in-app campaigns: every other one on
// session start, the rest on a custom event, each with an audience filter on
// a custom or standard attribute and a personalized message.
func inAppCampaigns(ctx context.Context, api *apiClient, n int) error {
	for i := range n {
		filter := map[string]any{"custom_attribute": map[string]any{"custom_attribute_name": "plan", "comparison": "equals", "value": plans[i%len(plans)]}}
		if i%2 == 1 {
			filter = map[string]any{"attribute": map[string]any{"name": "country", "comparison": "equals", "value": countries[i%len(countries)]}}
		}
		schedule := map[string]any{"type": "action_based", "trigger_type": "session_start"}
		if i%2 == 1 {
			schedule = map[string]any{"type": "action_based", "event_name": eventNames[i%len(eventNames)]}
		}
		body := map[string]any{"name": fmt.Sprintf("in-app %d", i), "audience": map[string]any{"filter": filter}, "schedule": schedule,
			"messages": map[string]any{"in_app_message": map[string]any{"type": "slideup", "priority": i % 100,
				"message": "Hi {{${first_name} | default: 'there'}}, offer " + strconv.Itoa(i)}}}
		var c struct {
			ID string `json:"id"`
		}
		if err := api.do(ctx, http.MethodPost, "/manage/campaigns", body, http.StatusCreated, &c); err != nil {
			return fmt.Errorf("create in-app campaign: %w", err)
		}
		if err := api.do(ctx, http.MethodPost, "/manage/campaigns/"+c.ID+"/launch", nil, http.StatusOK, nil); err != nil {
			return fmt.Errorf("launch in-app campaign: %w", err)
		}
	}
	return nil
}
