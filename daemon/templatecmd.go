package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/templates"
)

// exitAborted is herald template render's exit code when the template ran
// {% abort_message %}.
const exitAborted = 3

// abortedError carries an abort to Main's exit code.
type abortedError struct{ reason string }

func (e *abortedError) Error() string { return "aborted: " + e.reason }

// templateSyntaxError carries a template's syntax errors to Main's exit code.
type templateSyntaxError struct{ errs []*templates.SyntaxError }

func (e *templateSyntaxError) Error() string { return fmt.Sprintf("%d syntax errors", len(e.errs)) }

// templateCmd runs herald template SUBCOMMAND.
func (c *cli) templateCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "render" {
		return usageErr("usage: herald template render [-c FILE] [--context CONTEXT.json] [--now TIME] [FILE]")
	}
	return c.templateRender(ctx, args[1:])
}

// templateRender renders one template for the variables of a context file.
func (c *cli) templateRender(ctx context.Context, args []string) error {
	fs := c.flags("template render")
	file := fs.String("c", "", "config file (for templates.connected_content); default: built-in defaults")
	contextFile := fs.String("context", "", "JSON object of the variables, exactly as templates see them")
	now := fs.String("now", "", "the time 'now' stands for, RFC 3339 (default: the current time)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageErr("give at most one template FILE (default: stdin)")
	}
	opts := templates.Options{}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return usageErr("--now %q: want RFC 3339, like 2026-11-29T09:00:00Z", *now)
		}
		opts.Now = func() time.Time { return t }
	}
	cfg, err := c.loadConfig(c.configPath(*file))
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, c.stderr, c.env.Map)
	vars := templates.Vars{}
	if *contextFile != "" {
		if vars, err = readContext(*contextFile); err != nil {
			return err
		}
	}
	name, src := "stdin", io.Reader(os.Stdin)
	if fs.NArg() == 1 {
		name = fs.Arg(0)
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	body, err := io.ReadAll(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	eng, err := newTemplateEngine(cfg, log, nil, opts)
	if err != nil {
		return err
	}
	t, err := eng.Parse(string(body))
	if err != nil {
		if errs := templates.SyntaxErrors(err); len(errs) > 0 {
			return &templateSyntaxError{errs: errs}
		}
		return err
	}
	out, err := t.Render(ctx, vars)
	var abort *templates.AbortError
	switch {
	case errors.As(err, &abort):
		return &abortedError{reason: abort.Reason}
	case err != nil:
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = io.WriteString(c.stdout, out)
	return err
}

// readContext reads a JSON object of template variables. Numbers decode as
// float64, as attributes and trigger properties do in Herald, so they compare
// as numbers and 12 renders "12".
func readContext(path string) (templates.Vars, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var vars templates.Vars
	if err := dec.Decode(&vars); err != nil {
		return nil, fmt.Errorf("%s:%s", path, jsonErrorAt(data, err))
	}
	if vars == nil {
		return nil, fmt.Errorf("%s:1:1: want a JSON object of variables, got null", path)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s:%s", path, jsonErrorAt(data, errors.New("data after the JSON object")))
	}
	return vars, nil
}

// jsonErrorAt formats a JSON decoding error as "line:col: message".
func jsonErrorAt(data []byte, err error) string {
	off := int64(len(data))
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1 // Offset counts the byte that was wrong
	case errors.As(err, &te):
		off = te.Offset
	}
	line, col := 1, 1
	for _, b := range data[:min(off, int64(len(data)))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("%d:%d: %v", line, col, err)
}

// newTemplateEngine builds the templates engine of cfg: connected content as
// templates.connected_content says, with its basic-auth passwords read from
// their files. reg (optional) receives the connected content metrics.
func newTemplateEngine(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer, opts templates.Options) (*templates.Engine, error) {
	cc := cfg.Templates.ConnectedContent
	opts.Logger = log
	opts.ConnectedContent = templates.ConnectedOptions{
		AllowedHosts: cc.AllowedHosts, AllowLoopback: cc.AllowLoopback, Timeout: cc.Timeout,
		MaxBodyBytes: cc.MaxBodyBytes, DefaultCacheMaxAge: cc.CacheMaxAge,
	}
	if len(cc.BasicAuth) > 0 {
		opts.ConnectedContent.BasicAuth = make(map[string]templates.BasicAuth, len(cc.BasicAuth))
	}
	for i, b := range cc.BasicAuth {
		pw, err := readSecret(cfg, "", b.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("templates.connected_content.basic_auth[%d].password_file: %w", i, err)
		}
		opts.ConnectedContent.BasicAuth[b.Name] = templates.BasicAuth{Username: b.Username, Password: pw}
	}
	if reg != nil {
		calls := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_connected_content_calls_total",
			Help: "Connected content calls by outcome (ok, cached, error, refused).",
		}, []string{"outcome"})
		latency := prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "herald_connected_content_duration_seconds",
			Help:    "Time of connected content calls that reached the network.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 11),
		})
		for _, c := range []prometheus.Collector{calls, latency} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register connected content metrics: %w", err)
			}
		}
		opts.Metrics = &templates.Metrics{ConnectedContent: func(_ string, outcome string, d time.Duration) {
			calls.WithLabelValues(outcome).Inc()
			if outcome == "ok" || outcome == "error" {
				latency.Observe(d.Seconds())
			}
		}}
	}
	return templates.New(opts), nil
}
