package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Version is set at build time with -ldflags "-X github.com/herald-oss/herald/daemon.Version=v1.2.3".
var Version = ""

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// Env is the process environment as a lookup map plus the raw list.
type Env struct {
	List []string
	Map  map[string]string
}

// NewEnv builds an Env from os.Environ() form.
func NewEnv(list []string) Env {
	m := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return Env{List: list, Map: m}
}

// cli carries a command's streams and environment.
type cli struct {
	stdout, stderr io.Writer
	env            Env
	// devStarted, when set (by tests), is called once herald dev runs, with its
	// node and API URL.
	devStarted func(n *node, url string)
}

const usage = `herald: a self-hosted messaging delivery daemon (Braze-compatible API)

Usage:
  herald dev [--addr ADDR] [--data-dir DIR] [--redis ADDR|URL] [--api-key KEY] [-c FILE]
                          run everything embedded (SQLite, in-process Redis): for trying and developing
  herald serve -c FILE    run the API role (PostgreSQL)
  herald worker -c FILE   run the worker role: the queue's tasks (PostgreSQL)
  herald scheduler -c FILE
                          run the scheduler role (PostgreSQL)
  herald all -c FILE      run every role in one process (SQLite or PostgreSQL)
  herald migrate -c FILE [--status]
                          apply (or list) database migrations
  herald keys create -c FILE --name NAME --scopes a,b|all
  herald keys list -c FILE
  herald keys revoke -c FILE ID
  herald keys vapid       print a new VAPID key pair for Web Push
  herald apps create -c FILE --name NAME --platform ios|android|web [--id ID]
  herald apps list -c FILE
  herald fakes [--addr HOST:PORT] [--write-config FILE]
                          run fake APNs, FCM and Web Push providers (tests, development)
  herald send-test -c FILE (--app ID | --platform P) (--token T | --subscription JSON) [--title T] [--body B]
                          send one message through an app's provider; exit 0 only when delivered
  herald campaign apply -c FILE -f CAMPAIGN.yaml | herald campaign get -c FILE ID [-o yaml|json]
                          create or update a campaign declared in a file (idempotent); print one
  herald template render [-c FILE] [--context CONTEXT.json] [--now TIME] [FILE]
                          render a Liquid template (FILE or stdin) for the variables in CONTEXT.json;
                          exit 3 and "aborted: REASON" on abort_message, exit 2 and "line:col: message" on a syntax error
  herald config check -c FILE
                          print every configuration problem with its key path
  herald version

The config file may also be named by HERALD_CONFIG; HERALD_* variables override its
keys (HERALD_API_ADDR overrides api.addr). See herald.example.yaml.
`

// Main runs the herald command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	c := &cli{stdout: stdout, stderr: stderr, env: NewEnv(environ)}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "dev":
		err = c.dev(ctx, rest)
	case roleAPI, roleWorker, roleScheduler, roleAll:
		err = c.runRole(ctx, rest, cmd)
	case "migrate":
		err = c.migrate(ctx, rest)
	case "keys":
		err = c.keys(ctx, rest)
	case "apps":
		err = c.appsCmd(ctx, rest)
	case "config":
		err = c.configCmd(rest)
	case "fakes":
		err = c.fakesCmd(ctx, rest)
	case "send-test":
		err = c.sendTest(ctx, rest)
	case "template":
		err = c.templateCmd(ctx, rest)
	case "campaign":
		err = c.campaignCmd(ctx, rest)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "herald", version())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "herald: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	var (
		ue     *usageError
		abort  *abortedError
		syntax *templateSyntaxError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &abort):
		fmt.Fprintf(stderr, "aborted: %s\n", abort.reason)
		return exitAborted
	case errors.As(err, &syntax):
		for _, e := range syntax.errs {
			fmt.Fprintln(stderr, e.Error())
		}
		return exitUsage
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "herald %s: %v\n", cmd, ue.msg)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "herald %s: %v\n", cmd, err)
		return exitFailure
	}
}

// usageError is a command-line mistake (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return v + " (" + s.Value[:12] + ")"
			}
		}
		return v
	}
	return "devel"
}

// flags returns a FlagSet for a subcommand writing errors to stderr.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("herald "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErr("%v", err)
	}
	return nil
}

// configPath returns -c, else HERALD_CONFIG.
func (c *cli) configPath(flagVal string) string {
	if flagVal != "" {
		return flagVal
	}
	return c.env.Map["HERALD_CONFIG"]
}
