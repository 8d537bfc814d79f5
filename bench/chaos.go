package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// chaosScenarios are the chaos scenarios, in the order the usage text lists
// them.
var chaosScenarios = []string{"kill-worker", "dead-tokens", "provider-storm", "redis-restart", "postgres-restart"}

// chaosDelivery is the delivery section of the chaos runs' config: the
// shortest lease and reconcile delay Herald accepts, so that a claim left by
// a killed worker is re-sent, and a page whose task Redis lost is
// re-enqueued, within seconds to a minute instead of 5 and 2 minutes.
var chaosDelivery = map[string]any{"lease": "1m", "reconcile_after": "10s"}

// chaosParams are the chaos scenario's flags.
type chaosParams struct {
	env      envFlags
	scenario string
	devices  int
	mix      [numChannels]int
	mixText  string
	workers  int
	// at is the share of live devices reached before the fault.
	at       float64
	storm    time.Duration
	down     time.Duration
	hard     bool
	deadPct  float64
	timeout  time.Duration
	progress io.Writer
}

func parseChaos(args []string, stderr io.Writer) (chaosParams, error) {
	var p chaosParams
	fs := flag.NewFlagSet("bench chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	p.env.register(fs)
	p.env.registerCluster(fs)
	p.env.store = "postgres"
	fs.Lookup("store").DefValue = "postgres"
	fs.StringVar(&p.scenario, "scenario", "", "one of "+strings.Join(chaosScenarios, ", "))
	fs.IntVar(&p.devices, "devices", 10000, "users in the audience, one device each")
	fs.StringVar(&p.mixText, "mix", "ios:50,android:35,web:15", "device platforms and their weights")
	fs.IntVar(&p.workers, "workers", 2, "herald worker processes beside herald serve (PostgreSQL)")
	fs.Float64Var(&p.at, "at", 0.3, "the fault strikes once this share of the live devices has been reached")
	fs.DurationVar(&p.storm, "storm", time.Minute, "provider-storm: how long the fakes refuse a third of the attempts")
	fs.DurationVar(&p.down, "down", 2*time.Second, "redis-restart, postgres-restart: how long the service stays down")
	fs.BoolVar(&p.hard, "hard", true, "redis-restart: SIGKILL (else SIGTERM); postgres-restart: pg_ctl stop -m immediate (else fast)")
	fs.DurationVar(&p.timeout, "timeout", 10*time.Minute, "how long to wait for the dispatch to finish")
	if err := parseFlags(fs, args); err != nil {
		return p, err
	}
	var err error
	if p.mix, err = checkEnvAndMix(&p.env, p.mixText); err != nil {
		return p, err
	}
	workersSet := flagSet(fs, "workers")
	if p.scenario == "dead-tokens" {
		p.deadPct = 20
	}
	needsPG := p.scenario == "kill-worker" || p.scenario == "postgres-restart"
	switch {
	case !slices.Contains(chaosScenarios, p.scenario):
		return p, usageErr("--scenario must be one of %s, got %q", strings.Join(chaosScenarios, ", "), p.scenario)
	case p.env.redisCluster && p.scenario == "redis-restart":
		return p, usageErr("redis-restart runs its own single Redis: --redis-cluster does not apply")
	case p.devices < 10 || p.devices > 1<<24:
		return p, usageErr("--devices must be between 10 and %d", 1<<24)
	case needsPG && p.env.store != "postgres":
		return p, usageErr("%s needs --store postgres", p.scenario)
	case p.workers < 1 || p.scenario == "kill-worker" && p.workers < 2:
		return p, usageErr("--workers must be at least 1 (2 for kill-worker, so one survives)")
	case workersSet && p.env.store != "postgres":
		return p, usageErr("--workers needs --store postgres (SQLite runs one herald all)")
	case p.at <= 0 || p.at >= 1:
		return p, usageErr("--at must be between 0 and 1")
	case p.storm <= 0 || p.down < 0 || p.timeout <= 0:
		return p, usageErr("--storm and --timeout must be positive, --down not negative")
	}
	if p.env.store != "postgres" {
		p.workers = 0
	}
	return p, nil
}

// errChaos reports that a chaos run lost, doubled or misdirected messages;
// the report has already been printed.
var errChaos = errors.New("chaos check failed (see the report)")

func runChaos(ctx context.Context, args []string, out outputs) error {
	p, err := parseChaos(args, out.stderr)
	if err != nil {
		return err
	}
	p.progress = out.stderr
	res, err := chaos(ctx, p)
	if err != nil {
		return err
	}
	if err := writeReport(out.stdout, res, p.env.json); err != nil {
		return err
	}
	if !p.env.json {
		fmt.Fprintf(out.stdout, "lost=%d duplicates=%d\n", res.Lost, res.Duplicates)
	}
	if !res.ok() {
		return errChaos
	}
	return nil
}

// chaos runs one scenario: the fakes and the audience, the scenario's own
// services, Herald on them, one campaign launched, the fault injected once
// the share p.at of the live devices was reached, and the dispatch followed
// to its end. Everything is removed on return, even on error or Ctrl-C.
func chaos(ctx context.Context, p chaosParams) (res *chaosResult, err error) {
	res = &chaosResult{runSetup: runSetup{Scenario: p.scenario, Store: p.env.store, Workers: p.workers, Devices: p.devices,
		Mix: p.mixText, DeadPct: p.deadPct}, Delivery: chaosDelivery, HostCPUs: runtime.NumCPU(), Date: time.Now().UTC().Format(time.RFC3339)}
	a, err := newAudience(p.devices, p.mix, p.mixText, p.deadPct, p.progress)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, a.close()) }()

	flags := p.env
	fault, stopService, err := ownService(ctx, p, &flags)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, stopService()) }()

	opts := launchOptions{MaxInFlight: 256, Workers: p.workers, Delivery: chaosDelivery}
	e, _, err := a.startHerald(ctx, flags, opts, 4, p.progress)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, e.close()) }()
	switch p.scenario {
	case "kill-worker":
		fault = killWorker(e)
	case "provider-storm":
		fault = providerStorm(a.f, p)
	}

	api := newAPIClient(e.herald.baseURL(), e.herald.apiKey)
	campaignID, err := api.createCampaign(ctx)
	if err != nil {
		return nil, err
	}
	hooks := waitHooks{}
	threshold := int(p.at * float64(a.set.totalLive()))
	if fault != nil {
		hooks.outage = fault.outage
		hooks.tick = func(ctx context.Context, reached int) error {
			switch {
			case fault.struck.IsZero() && reached >= threshold:
				fault.struck = time.Now()
				fmt.Fprintf(p.progress, "  fault at %d of %d live devices reached: %s\n", reached, a.set.totalLive(), fault.what)
				return fault.strike(ctx)
			}
			return nil
		}
		if fault.cleanup != nil {
			defer func() { err = errors.Join(err, fault.cleanup()) }()
		}
	}
	req0 := a.f.requestCounts()
	run, err := runDispatch(ctx, e, api, a.col, a.set, campaignID, p.timeout, hooks, p.progress)
	if err != nil {
		return nil, err
	}
	res.Herald = run.result(a.f.requestCounts(), req0, a.set, p.timeout)
	res.Lost, res.Duplicates = res.Herald.Lost, res.Herald.Duplicates
	if res.Redis, err = e.queueSpread(ctx); err != nil {
		return nil, err
	}
	res.DurationS = res.Herald.DoneS
	if fault != nil {
		if fault.struck.IsZero() {
			res.Problems = append(res.Problems, "the dispatch ended before the fault struck: use more --devices")
		} else {
			res.FaultAtS = round(fault.struck.Sub(run.start).Seconds(), 2)
		}
	}
	if fault != nil {
		res.Fault = fault.what
	}
	res.Stormed = a.f.stormedCount()
	if p.deadPct > 0 {
		if res.Dead, err = checkDeadTokens(ctx, e, a.set, a.f.deadAttemptCounts()); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// ownService starts the scenario's own Redis (redis-restart) or PostgreSQL
// (postgres-restart), points flags at it and returns the fault restarting it
// and a function stopping and removing it.
func ownService(ctx context.Context, p chaosParams, flags *envFlags) (*chaosFault, func() error, error) {
	switch p.scenario {
	case "redis-restart":
		rs, err := startRedisServer(ctx)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(p.progress, "started redis-server on %s (AOF everysec) in %s\n", rs.addr, rs.dir)
		flags.redisAddr = rs.addr
		return redisRestart(rs, p), rs.stop, nil
	case "postgres-restart":
		pg, err := startPGCluster(ctx)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(p.progress, "started PostgreSQL on 127.0.0.1:%s in %s\n", pg.port, pg.dir)
		flags.postgresDSN = pg.dsn()
		return postgresRestart(pg, p), pg.stop, nil
	}
	return nil, func() error { return nil }, nil
}

// chaosFault is one scenario's fault.
type chaosFault struct {
	what string
	// strike injects the fault (on the poll that saw the threshold reached).
	strike func(ctx context.Context) error
	// cleanup, when set, undoes what strike left in place.
	cleanup func() error
	// outage is how long the API may fail meanwhile.
	outage time.Duration
	struck time.Time
}

// killWorker: SIGKILL the worker that used the most CPU since the fault was
// armed (the one busiest with the dispatch), start another.
func killWorker(e *env) *chaosFault {
	cpu0 := make([]time.Duration, len(e.workers))
	for i, w := range e.workers {
		cpu0[i], _ = w.cpuTime()
	}
	f := &chaosFault{what: "SIGKILL the busiest herald worker, start another"}
	f.strike = func(ctx context.Context) error {
		busiest, most := 0, time.Duration(-1)
		for i, w := range e.workers[:len(cpu0)] {
			if cpu, err := w.cpuTime(); err == nil && cpu-cpu0[i] > most {
				busiest, most = i, cpu-cpu0[i]
			}
		}
		w := e.workers[busiest]
		f.what = fmt.Sprintf("SIGKILL the busiest herald worker (pid %d, %s CPU since the launch), start another", w.pid(), most.Round(time.Millisecond))
		if err := w.kill(); err != nil {
			return err
		}
		e.workers = slices.Delete(e.workers, busiest, busiest+1)
		_, err := e.startWorker(ctx)
		return err
	}
	return f
}

// providerStorm: the fakes refuse a third of the attempts for p.storm.
func providerStorm(f *fakes, p chaosParams) *chaosFault {
	timer := (*time.Timer)(nil)
	return &chaosFault{what: fmt.Sprintf("the fakes answer 429 (Retry-After: 1) or 503 to a third of the attempts for %s", p.storm),
		strike: func(context.Context) error {
			f.setStorm(true)
			timer = time.AfterFunc(p.storm, func() { f.setStorm(false) })
			return nil
		},
		cleanup: func() error {
			if timer != nil {
				timer.Stop()
			}
			f.setStorm(false)
			return nil
		}}
}

// redisRestart: stop the scenario's Redis, wait p.down, start it again on
// the same port and directory.
func redisRestart(rs *redisServer, p chaosParams) *chaosFault {
	sig, name := syscall.SIGKILL, "SIGKILL"
	if !p.hard {
		sig, name = syscall.SIGTERM, "SIGTERM"
	}
	return &chaosFault{what: fmt.Sprintf("%s redis-server, down %s, start it again (AOF)", name, p.down), outage: time.Minute,
		strike: func(ctx context.Context) error {
			if err := rs.halt(sig); err != nil {
				return err
			}
			sleep(ctx, p.down)
			return rs.start(ctx)
		}}
}

// postgresRestart: pg_ctl stop, wait p.down, pg_ctl start.
func postgresRestart(pg *pgCluster, p chaosParams) *chaosFault {
	mode := "immediate"
	if !p.hard {
		mode = "fast"
	}
	return &chaosFault{what: fmt.Sprintf("pg_ctl stop -m %s, down %s, pg_ctl start", mode, p.down), outage: 2 * time.Minute,
		strike: func(ctx context.Context) error {
			if err := pg.halt(ctx, mode); err != nil {
				return err
			}
			sleep(ctx, p.down)
			return pg.start(ctx)
		}}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
