package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fanoutParams are the fanout scenario's flags.
type fanoutParams struct {
	env               envFlags
	devices           int
	mix               [numChannels]int
	mixText           string
	workers           int
	deadPct           float64
	ingestConcurrency int
	queueConcurrency  int
	timeout           time.Duration
	bare              bool
	analyze           bool
	profileDir        string
}

func parseFanout(args []string, stderr io.Writer) (fanoutParams, error) {
	var p fanoutParams
	fs := flag.NewFlagSet("bench fanout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	p.env.register(fs)
	p.env.registerCluster(fs)
	fs.IntVar(&p.devices, "devices", 10000, "users in the audience, one device each")
	fs.StringVar(&p.mixText, "mix", "ios:50,android:35,web:15", "device platforms and their weights")
	fs.IntVar(&p.workers, "workers", 1, "herald worker processes beside herald serve (PostgreSQL); SQLite runs one herald all")
	fs.Float64Var(&p.deadPct, "dead", 3, "per cent of devices whose token the fakes answer as unregistered")
	fs.IntVar(&p.ingestConcurrency, "ingest-concurrency", 4, "concurrent /users/track clients creating the audience")
	fs.IntVar(&p.queueConcurrency, "queue-concurrency", 0, "queue.concurrency of every worker (0: Herald's default)")
	fs.DurationVar(&p.timeout, "timeout", 10*time.Minute, "how long to wait for the dispatch to finish")
	fs.BoolVar(&p.bare, "bare", true, "also run the bare-library loop to the same fakes and print the ratio")
	fs.BoolVar(&p.analyze, "analyze", false, "run ANALYZE after creating the users, before the launch (PostgreSQL)")
	fs.StringVar(&p.profileDir, "profile", "", "write CPU profiles of every Herald process during the fan-out into this directory (10 s each; go tool pprof merges them)")
	if err := parseFlags(fs, args); err != nil {
		return p, err
	}
	var err error
	if p.mix, err = checkEnvAndMix(&p.env, p.mixText); err != nil {
		return p, err
	}
	if p.profileDir != "" {
		if err := checkProfileDir(p.profileDir); err != nil {
			return p, usageErr("%v", err)
		}
	}
	switch {
	case p.devices < 1 || p.devices > 1<<24:
		return p, usageErr("--devices must be between 1 and %d", 1<<24)
	case p.workers < 1:
		return p, usageErr("--workers must be at least 1")
	case p.workers > 1 && p.env.store != "postgres":
		return p, usageErr("--workers above 1 needs --store postgres (SQLite runs one herald all)")
	case p.analyze && p.env.store != "postgres":
		return p, usageErr("--analyze needs --store postgres")
	case p.deadPct < 0 || p.deadPct > 100:
		return p, usageErr("--dead must be a percentage")
	case p.ingestConcurrency < 1:
		return p, usageErr("--ingest-concurrency must be at least 1")
	case p.queueConcurrency < 0:
		return p, usageErr("--queue-concurrency must not be negative")
	case p.timeout <= 0:
		return p, usageErr("--timeout must be positive")
	}
	return p, nil
}

// parseMix reads "ios:50,android:35,web:15" (any subset, any order).
func parseMix(s string) ([numChannels]int, error) {
	var mix [numChannels]int
	names := map[string]int{"ios": chAPNs, "android": chFCM, "web": chWeb}
	seen := map[string]bool{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), ":")
		ch, known := names[name]
		w, err := strconv.Atoi(weight)
		switch {
		case !ok || !known:
			return mix, fmt.Errorf("want platform:weight with platform ios, android or web, got %q", part)
		case err != nil || w < 0:
			return mix, fmt.Errorf("weight of %s must be a non-negative integer, got %q", name, weight)
		case seen[name]:
			return mix, fmt.Errorf("%s given twice", name)
		}
		seen[name] = true
		mix[ch] = w
		total += w
	}
	if total == 0 {
		return mix, errors.New("the weights add up to 0")
	}
	return mix, nil
}

// errIncorrect reports that the fan-out lost, doubled or garbled messages;
// the report has already been printed.
var errIncorrect = errors.New("correctness check failed (see lost, duplicates and wrong content in the report)")

func runFanout(ctx context.Context, args []string, out outputs) (err error) {
	p, err := parseFanout(args, out.stderr)
	if err != nil {
		return err
	}
	res := &fanoutResult{runSetup: runSetup{Scenario: "fanout", Store: p.env.store, Workers: p.workers, Devices: p.devices,
		Mix: p.mixText, DeadPct: p.deadPct}, Analyzed: p.analyze, LoadBefore: loadAvg()}

	a, err := newAudience(p.devices, p.mix, p.mixText, p.deadPct, out.stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, a.close()) }()
	f, col, set := a.f, a.col, a.set
	res.setAudience(set)

	if p.bare {
		fmt.Fprintf(out.stderr, "bare loop: %d messages straight to the fakes ...\n", p.devices)
		if res.Bare, err = barePhase(ctx, f, col, set); err != nil {
			return err
		}
	}

	opts := launchOptions{MaxInFlight: 256, Workers: p.workers, QueueConcurrency: p.queueConcurrency, Pprof: p.profileDir != ""}
	e, ingest, err := a.startHerald(ctx, p.env, opts, p.ingestConcurrency, out.stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, e.close()) }()
	res.Ingest = ingest
	if p.analyze {
		fmt.Fprintln(out.stderr, "ANALYZE ...")
		if err := e.analyze(ctx); err != nil {
			return err
		}
	}
	if res.Herald, err = heraldPhase(ctx, e, f, col, set, p.timeout, p.profileDir, out.stderr); err != nil {
		return err
	}
	if res.Redis, err = e.queueSpread(ctx); err != nil {
		return err
	}
	var closeErr error
	if p.bare {
		// Herald stops, so the second bare run has the machine as the
		// first had it; a failure to stop is reported after the results.
		closeErr = e.close()
		fmt.Fprintf(out.stderr, "bare loop again, after Herald: %d messages ...\n", p.devices)
		if res.BareAfter, err = barePhase(ctx, f, col, set); err != nil {
			return err
		}
		res.setRatios()
	}
	res.LoadAfter = loadAvg()
	if err := writeReport(out.stdout, res, p.env.json); err != nil {
		return err
	}
	if closeErr != nil {
		return fmt.Errorf("stopping herald: %w", closeErr)
	}
	if !res.Herald.correct() || res.Bare != nil && !res.Bare.correct() || res.BareAfter != nil && !res.BareAfter.correct() {
		return errIncorrect
	}
	return nil
}

// audience is a fan-out's fakes, the collector draining them and the
// devices, one per user.
type audience struct {
	f   *fakes
	col *collector
	set *deviceSet
}

// newAudience starts the fakes and makes the devices (deadPct per cent with
// unregistered tokens).
func newAudience(devices int, mix [numChannels]int, mixText string, deadPct float64, progress io.Writer) (*audience, error) {
	f, err := startFakes()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "making %d devices (%s, %.1f%% dead) ...\n", devices, mixText, deadPct)
	set, err := newDeviceSet(devices, mix, deadPct, f.web)
	if err != nil {
		return nil, errors.Join(err, f.close())
	}
	return &audience{f: f, col: newCollector(f, 100*time.Millisecond), set: set}, nil
}

func (a *audience) close() error {
	a.col.close()
	return a.f.close()
}

// startHerald launches Herald with apps pointed at the fakes and creates one
// user per device through bulk /users/track from concurrency clients. On
// error everything launched is removed.
func (a *audience) startHerald(ctx context.Context, flags envFlags, opts launchOptions, concurrency int,
	progress io.Writer) (*env, ingestStats, error) {
	opts.Apps, opts.BulkMaxInFlight = a.f.appsConfig, concurrency
	e, err := launch(ctx, flags, opts, progress)
	if err != nil {
		return nil, ingestStats{}, err
	}
	fmt.Fprintf(progress, "creating %d users through /users/track (bulk, %d clients) ...\n", len(a.set.devices), concurrency)
	st, err := createUsers(ctx, e.herald.baseURL(), e.herald.apiKey, a.set, concurrency)
	if err != nil {
		return nil, st, errors.Join(err, e.close())
	}
	return e, st, nil
}

// barePhase runs the bare loop and tallies what the fakes accepted.
func barePhase(ctx context.Context, f *fakes, col *collector, set *deviceSet) (*phaseResult, error) {
	req0 := f.requestCounts()
	cpu0 := selfCPU()
	start := time.Now()
	t := newTally(set, start, "")
	col.begin(t)
	br, err := runBare(ctx, f, set)
	col.end()
	if err != nil {
		return nil, err
	}
	r := newPhaseResult(t, f.requestCounts(), req0, set)
	r.ClientFailures = br.Failed[chAPNs] + br.Failed[chFCM] + br.Failed[chWeb]
	r.FirstClientError = br.FirstError
	r.HarnessCPUS = round((selfCPU() - cpu0).Seconds(), 2)
	return r, nil
}

// heraldPhase creates the campaign, launches it, waits for its dispatch to
// finish and tallies what the fakes accepted, with every Herald process's
// peak RSS and CPU time during the fan-out.
func heraldPhase(ctx context.Context, e *env, f *fakes, col *collector, set *deviceSet, timeout time.Duration,
	profileDir string, progress io.Writer) (*phaseResult, error) {
	procs := e.processes()
	api := newAPIClient(e.herald.baseURL(), e.herald.apiKey)
	campaignID, err := api.createCampaign(ctx)
	if err != nil {
		return nil, err
	}
	ingestRSS := make([]int64, len(procs))
	cpu0 := make([]time.Duration, len(procs))
	for i, h := range procs {
		if ingestRSS[i], err = h.peakRSS(); err != nil {
			return nil, err
		}
		if err := h.resetPeakRSS(); err != nil {
			ingestRSS[i] = -1 // cannot reset: the fan-out figure includes the ingest
		}
		if cpu0[i], err = h.cpuTime(); err != nil {
			return nil, err
		}
	}
	redis0 := redisCPU(ctx, e)
	pg0 := time.Duration(-1)
	if e.postgresDSN != "" {
		pg0 = postgresCPU()
	}
	var prof *profiler
	if profileDir != "" {
		roles := make([]string, len(procs))
		for i, h := range procs {
			roles[i] = processRole(e, h)
		}
		if prof, err = startProfiler(ctx, profileDir, procs, roles); err != nil {
			return nil, err
		}
	}
	req0 := f.requestCounts()
	cpuSelf0 := selfCPU()

	run, err := runDispatch(ctx, e, api, col, set, campaignID, timeout, waitHooks{}, progress)
	var profiles []string
	if prof != nil {
		profiles = prof.stop(progress)
	}
	if err != nil {
		return nil, err
	}
	r := run.result(f.requestCounts(), req0, set, timeout)
	r.HarnessCPUS = round((selfCPU() - cpuSelf0).Seconds(), 2)
	for i, h := range procs {
		if err := h.alive(); err != nil {
			return nil, err
		}
		rss, err := h.peakRSS()
		if err != nil {
			return nil, err
		}
		cpu, err := h.cpuTime()
		if err != nil {
			return nil, err
		}
		pr := processResult{Role: processRole(e, h), PID: h.pid(), FanoutPeakRSSMB: mb(rss), CPUS: round((cpu - cpu0[i]).Seconds(), 2)}
		if ingestRSS[i] >= 0 {
			pr.IngestPeakRSSMB = mb(ingestRSS[i])
		}
		pr.Deliveries = scrapeDeliveries(ctx, h.baseURL()+"/metrics")
		r.Processes = append(r.Processes, pr)
		r.HeraldCPUS += pr.CPUS
	}
	r.HeraldCPUS = round(r.HeraldCPUS, 2)
	if pg0 >= 0 {
		if pg1 := postgresCPU(); pg1 >= 0 {
			r.PostgresCPUS = round((pg1 - pg0).Seconds(), 2)
		}
	}
	r.Profiles = profiles
	if redis0 >= 0 {
		if redis1 := redisCPU(ctx, e); redis1 >= 0 {
			r.RedisCPUS = round(redis1-redis0, 2)
		}
	}
	return r, nil
}

var errTimedOut = errors.New("timed out")

// processRole names a Herald process of the run: all (SQLite), serve or worker.
func processRole(e *env, h *instance) string {
	switch {
	case e.herald != h:
		return "worker"
	case len(e.workers) > 0:
		return "serve"
	}
	return "all"
}

// dispatchRun is one launched campaign followed until its dispatch ended.
type dispatchRun struct {
	tally      *tally
	dispatchID string
	view       dispatchView
	start      time.Time
	doneAt     time.Time
	// timedOut: the dispatch was still running at the deadline.
	timedOut bool
}

// runDispatch launches the campaign, tallies what the fakes accept under the
// dispatch id and waits until the dispatch is done (or stopped) or timeout
// has passed since the launch.
func runDispatch(ctx context.Context, e *env, api *apiClient, col *collector, set *deviceSet, campaignID string,
	timeout time.Duration, hooks waitHooks, progress io.Writer) (*dispatchRun, error) {
	fmt.Fprintf(progress, "launching campaign %s ...\n", campaignID)
	run := &dispatchRun{start: time.Now()}
	run.tally = newTally(set, run.start, "")
	col.begin(run.tally)
	var err error
	if run.dispatchID, err = api.launch(ctx, campaignID); err != nil {
		col.end()
		return nil, err
	}
	col.snapshot(func(t *tally) { t.mark = []byte(run.dispatchID) })
	run.view, err = waitDispatch(ctx, api, e, col, campaignID, run.dispatchID, set, run.start.Add(timeout), hooks, progress)
	run.doneAt = time.Now()
	col.end()
	if errors.Is(err, errTimedOut) {
		run.timedOut, err = true, nil
	}
	return run, err
}

// result is the phase's figures as the fakes saw them; req1 and req0 are the
// fakes' request counts after and before.
func (run *dispatchRun) result(req1, req0 [numChannels]int64, set *deviceSet, timeout time.Duration) *phaseResult {
	r := newPhaseResult(run.tally, req1, req0, set)
	d := run.view
	r.DispatchID, r.DispatchStatus, r.Pages, r.PagesDone = run.dispatchID, d.Status, d.Pages, d.PagesDone
	r.DoneS = round(run.doneAt.Sub(run.start).Seconds(), 2)
	if run.timedOut {
		r.DispatchStatus += " (timed out after " + timeout.String() + ")"
	}
	return r
}

// waitHooks let a scenario act while a dispatch runs.
type waitHooks struct {
	// tick, when set, runs on every poll (every 200 ms) with the live
	// devices reached so far; it may stop and start Herald's processes or
	// its services. An error ends the wait.
	tick func(ctx context.Context, reached int) error
	// outage is how long polls of the API may keep failing (a store or
	// Redis being restarted) before the wait gives up; 0 fails at once.
	outage time.Duration
}

// waitDispatch polls the campaign until its dispatch is done (or stopped),
// printing progress every few seconds; errTimedOut past deadline.
func waitDispatch(ctx context.Context, api *apiClient, e *env, col *collector, campaignID, dispatchID string,
	set *deviceSet, deadline time.Time, hooks waitHooks, progress io.Writer) (dispatchView, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastPrint := time.Now()
	var d dispatchView
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-tick.C:
		}
		if hooks.tick != nil {
			reached := 0
			col.snapshot(func(t *tally) { reached = t.total() })
			if err := hooks.tick(ctx, reached); err != nil {
				return d, err
			}
		}
		for _, h := range e.processes() {
			if err := h.alive(); err != nil {
				return d, err
			}
		}
		v, err := api.dispatch(ctx, campaignID, dispatchID)
		switch {
		case err == nil:
			d, failingSince = v, time.Time{}
		case ctx.Err() != nil:
			return d, ctx.Err()
		case failingSince.IsZero() && hooks.outage > 0:
			failingSince = time.Now()
			fmt.Fprintf(progress, "  polling the dispatch failed (tolerated for %s): %v\n", hooks.outage, err)
		case time.Since(failingSince) > hooks.outage:
			return d, err
		}
		if err == nil && (d.Status == "done" || d.Status == "stopped") {
			return d, nil
		}
		if time.Now().After(deadline) {
			return d, errTimedOut
		}
		if time.Since(lastPrint) >= 5*time.Second {
			lastPrint = time.Now()
			col.snapshot(func(t *tally) {
				fmt.Fprintf(progress, "  %s: pages %d/%d, %d of %d live devices reached\n", d.Status, d.PagesDone, d.Pages,
					t.total(), set.totalLive())
			})
		}
	}
}

// selfCPU is the harness's own user+system CPU time (the fakes, and the bare
// loop's clients).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
