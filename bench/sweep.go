package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The sweeps run the fan-out once per configuration, each on a Herald of
// its own (a fresh schema, Redis prefix and queue): `scale` over numbers of
// workers (deliveries/s as workers are added against one Redis and
// PostgreSQL), `audience` over audience sizes (time and peak RSS, to show
// memory does not grow with N).

// sweepParams are the sweeps' flags.
type sweepParams struct {
	env               envFlags
	values            []int // workers (scale) or devices (audience)
	devices, workers  int
	mix               [numChannels]int
	mixText           string
	deadPct           float64
	ingestConcurrency int
	timeout           time.Duration
	bare              bool
}

func parseSweep(name string, args []string, stderr io.Writer) (sweepParams, error) {
	var p sweepParams
	fs := flag.NewFlagSet("bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	p.env.register(fs)
	var list string
	if name == "scale" {
		fs.StringVar(&list, "workers", "1,2,3", "numbers of herald worker processes, one run each")
		fs.IntVar(&p.devices, "devices", 100000, "users in the audience, one device each")
		fs.BoolVar(&p.bare, "bare", true, "also run the bare loop once and give each run's ratio to it")
	} else {
		fs.StringVar(&list, "sizes", "10000,100000,1000000", "audience sizes, one run each")
		fs.IntVar(&p.workers, "workers", 1, "herald worker processes")
	}
	fs.StringVar(&p.mixText, "mix", "ios:50,android:35,web:15", "device platforms and their weights")
	fs.Float64Var(&p.deadPct, "dead", 3, "per cent of devices whose token the fakes answer as unregistered")
	fs.IntVar(&p.ingestConcurrency, "ingest-concurrency", 4, "concurrent /users/track clients creating the audience")
	fs.DurationVar(&p.timeout, "timeout", 20*time.Minute, "how long to wait for each dispatch to finish")
	if err := parseFlags(fs, args); err != nil {
		return p, err
	}
	if p.env.store == "sqlite" && !flagSet(fs, "store") {
		p.env.store = "postgres" // the sweeps are about PostgreSQL deployments
	}
	var err error
	if p.mix, err = checkEnvAndMix(&p.env, p.mixText); err != nil {
		return p, err
	}
	for part := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 1<<24 {
			return p, usageErr("--%s: want positive integers separated by commas, got %q", map[bool]string{true: "workers", false: "sizes"}[name == "scale"], list)
		}
		p.values = append(p.values, n)
	}
	switch {
	case name == "scale" && p.env.store != "postgres":
		return p, usageErr("scale needs --store postgres (workers are separate processes)")
	case name == "audience" && p.workers > 1 && p.env.store != "postgres":
		return p, usageErr("--workers above 1 needs --store postgres")
	case p.deadPct < 0 || p.deadPct > 100:
		return p, usageErr("--dead must be a percentage")
	}
	return p, nil
}

// checkEnvAndMix validates the shared flags and reads --mix.
func checkEnvAndMix(env *envFlags, mixText string) ([numChannels]int, error) {
	if err := env.validate(); err != nil {
		return [numChannels]int{}, err
	}
	mix, err := parseMix(mixText)
	if err != nil {
		return mix, usageErr("--mix: %v", err)
	}
	return mix, nil
}

// flagSet reports whether the command line set the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// sweepRun is one configuration's fan-out.
type sweepRun struct {
	Workers int          `json:"workers"`
	Devices int          `json:"devices"`
	Ingest  ingestStats  `json:"ingest"`
	Herald  *phaseResult `json:"herald"`
	Ratio   float64      `json:"ratio,omitempty"`
}

// sweepResult is a sweep's report.
type sweepResult struct {
	Scenario string       `json:"scenario"`
	Store    string       `json:"store"`
	Mix      string       `json:"mix"`
	Bare     *phaseResult `json:"bare,omitempty"`
	Runs     []sweepRun   `json:"runs"`
	HostCPUs int          `json:"host_cpus"`
	Load     string       `json:"loadavg_before"`
}

func (r *sweepResult) rows() []row {
	out := []row{{"scenario", r.Scenario}, {"store", r.Store}, {"mix", r.Mix}, {"host CPUs", strconv.Itoa(r.HostCPUs)},
		{"load average before", r.Load}}
	if r.Bare != nil {
		out = append(out, row{"bare msgs/s", fmt.Sprint(r.Bare.MsgsPerS)})
	}
	for _, run := range r.Runs {
		h := run.Herald
		var rss []string
		for _, p := range h.Processes {
			rss = append(rss, fmt.Sprintf("%s %.0f MB", p.Role, p.FanoutPeakRSSMB))
		}
		v := fmt.Sprintf("%.0f msgs/s, launch → last accept %.2f s, CPU s Herald %.2f / PostgreSQL %s / Redis %s, peak RSS %s, lost=%d duplicates=%d",
			h.MsgsPerS, h.ElapsedS, h.HeraldCPUS, cpuText(h.PostgresCPUS), cpuText(h.RedisCPUS), strings.Join(rss, ", "), h.Lost, h.Duplicates)
		if run.Ratio > 0 {
			v += fmt.Sprintf(", ratio %.2f", run.Ratio)
		}
		out = append(out, row{fmt.Sprintf("%d devices, %d worker(s)", run.Devices, run.Workers), v})
	}
	return out
}

func runScale(ctx context.Context, args []string, out outputs) error {
	return runSweep(ctx, "scale", args, out)
}
func runAudience(ctx context.Context, args []string, out outputs) error {
	return runSweep(ctx, "audience", args, out)
}

// runSweep runs the fan-out once per value, the audience kept for scale
// (the same devices each run, after one bare loop) and made anew for each
// size for audience.
func runSweep(ctx context.Context, name string, args []string, out outputs) (err error) {
	p, err := parseSweep(name, args, out.stderr)
	if err != nil {
		return err
	}
	res := &sweepResult{Scenario: name, Store: p.env.store, Mix: p.mixText, HostCPUs: runtime.NumCPU(), Load: loadAvg()}
	var a *audience
	defer func() {
		if a != nil {
			err = errors.Join(err, a.close())
		}
	}()
	for _, v := range p.values {
		devices, workers := p.devices, v
		if name == "audience" {
			devices, workers = v, p.workers
		}
		if a == nil || name == "audience" {
			if a != nil {
				if err := a.close(); err != nil {
					return err
				}
			}
			if a, err = newAudience(devices, p.mix, p.mixText, p.deadPct, out.stderr); err != nil {
				return err
			}
			if p.bare && res.Bare == nil {
				fmt.Fprintf(out.stderr, "bare loop: %d messages straight to the fakes ...\n", devices)
				if res.Bare, err = barePhase(ctx, a.f, a.col, a.set); err != nil {
					return err
				}
			}
		}
		run, err := sweepOnce(ctx, a, p, workers, out.stderr)
		if err != nil {
			return err
		}
		run.Devices = devices
		if res.Bare != nil && res.Bare.MsgsPerS > 0 {
			run.Ratio = round(run.Herald.MsgsPerS/res.Bare.MsgsPerS, 2)
		}
		res.Runs = append(res.Runs, run)
	}
	if err := writeReport(out.stdout, res, p.env.json); err != nil {
		return err
	}
	for _, run := range res.Runs {
		if !run.Herald.correct() {
			return errIncorrect
		}
	}
	return nil
}

// sweepOnce runs one fan-out of the audience on a Herald of its own with
// workers worker processes (PostgreSQL; one herald all on SQLite).
func sweepOnce(ctx context.Context, a *audience, p sweepParams, workers int, progress io.Writer) (run sweepRun, err error) {
	run.Workers = workers
	opts := launchOptions{MaxInFlight: 256, Workers: workers}
	e, ingest, err := a.startHerald(ctx, p.env, opts, p.ingestConcurrency, progress)
	if err != nil {
		return run, err
	}
	defer func() { err = errors.Join(err, e.close()) }()
	run.Ingest = ingest
	if p.env.store == "postgres" {
		fmt.Fprintln(progress, "ANALYZE ...")
		if err := e.analyze(ctx); err != nil {
			return run, err
		}
	}
	run.Herald, err = heraldPhase(ctx, e, a.f, a.col, a.set, p.timeout, "", progress)
	return run, err
}

// cpuText is a server's CPU seconds, "n/a" when it could not be measured
// (a process that exited meanwhile makes the difference negative).
func cpuText(s float64) string {
	if s < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", s)
}
