package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// scenario is one benchmark: its name on the command line, a one-line summary for
// the usage text and the function that parses its flags and runs it.
type scenario struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, out outputs) error
}

// outputs are where a scenario writes: the report on stdout, progress on stderr.
type outputs struct {
	stdout, stderr io.Writer
}

// scenarios lists every scenario in the order the usage text shows them.
var scenarios = []scenario{
	{name: "ingest", summary: "POST /users/track (attributes, events, purchases) from N workers; objects/s and latency", run: runIngest},
	{name: "session", summary: "SDK session starts (POST /sdk/v1/data) at a fixed rate with live in-app campaigns; latency p50/p99", run: runSession},
	{name: "fanout", summary: "one personalized campaign to N devices through the fakes; msgs/s, latency, RSS, correctness, ratio to a bare loop", run: runFanout},
	{name: "scale", summary: "the fan-out with 1, 2, 3… workers against one Redis and PostgreSQL (--workers 1,2,3); msgs/s per worker count", run: runScale},
	{name: "audience", summary: "the fan-out to audiences of growing size (--sizes 10000,100000,1000000); time and peak RSS per size", run: runAudience},
	{name: "chaos", summary: "one campaign while a fault strikes (--scenario kill-worker, dead-tokens, provider-storm, redis-restart, postgres-restart); lost and duplicates", run: runChaos},
}

// errFailures reports that the run completed but some requests failed; the
// report has already been printed.
var errFailures = errors.New("some requests failed (see first_error in the report)")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], outputs{stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

func usage(w io.Writer) {
	fmt.Fprint(w, "bench: Herald's benchmark harness\n\nUsage:\n  go run ./bench <scenario> [flags]\n  go run ./bench <scenario> -h   (the scenario's flags)\n\nScenarios:\n")
	for _, s := range scenarios {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
	}
}

// run dispatches to a scenario and returns the process exit code: 0 on success,
// 1 when the run failed or some requests failed, 2 on a command-line mistake.
func run(ctx context.Context, args []string, out outputs) int {
	if len(args) == 0 {
		usage(out.stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(out.stdout)
		return 0
	}
	for _, s := range scenarios {
		if s.name != name {
			continue
		}
		err := s.run(ctx, rest, out)
		var ue *usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(out.stderr, "bench %s: %v\n", name, err)
			return 2
		default:
			fmt.Fprintf(out.stderr, "bench %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(out.stderr, "bench: unknown scenario %q\n\n", name)
	usage(out.stderr)
	return 2
}

// usageError is a command-line mistake (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// parseFlags parses a scenario's flags; a parse error is a usage error (the flag
// package has already printed it with the flag list).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q", fs.Args())
	}
	return nil
}
