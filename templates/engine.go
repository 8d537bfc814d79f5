package templates

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/filters"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/tags"

	_ "time/tzdata" // time_zone works on hosts without a zoneinfo database
)

// Options configure an Engine.
type Options struct {
	// Now is the clock behind 'now' and 'today' in date filters (default time.Now).
	Now func() time.Time
	// Logger receives connected content failures (default: discard).
	Logger *slog.Logger
	// ConnectedContent configures {% connected_content %}.
	ConnectedContent ConnectedOptions
	// Metrics are optional hooks; nil reports nothing.
	Metrics *Metrics
}

// ConnectedOptions configure {% connected_content %}.
type ConnectedOptions struct {
	// AllowedHosts lists the hosts templates may call: "api.example.com", or
	// "*.example.com" for any subdomain of example.com. Empty (and no
	// AllowLoopback) disables connected content: every call renders empty and
	// is logged.
	AllowedHosts []string
	// AllowLoopback also allows localhost and loopback addresses, on any port
	// (tests, development). Without it loopback addresses are refused even when
	// a name resolves to one.
	AllowLoopback bool
	// Timeout bounds each HTTP attempt (default 2s).
	Timeout time.Duration
	// MaxBodyBytes caps a response body; a larger one is a failure (default 1 MiB).
	MaxBodyBytes int64
	// DefaultCacheMaxAge is how long a GET response is cached when the tag has
	// no :cache_max_age (default 5 min, as Braze); any age is capped at 4 h.
	DefaultCacheMaxAge time.Duration
	// CacheMaxBytes bounds the memory of cached responses (default 64 MiB);
	// the least recently used are evicted first.
	CacheMaxBytes int64
	// BasicAuth holds the credentials :basic_auth <name> refers to.
	BasicAuth map[string]BasicAuth
	// HTTPClient replaces the default client (tests pass one trusting a TLS
	// test server). Redirects are not followed.
	HTTPClient *http.Client
	// MaxRetries is the number of attempts, the first included, of a call with
	// :retry (default 5, as Braze).
	MaxRetries int
}

// BasicAuth is a user name and password for :basic_auth.
type BasicAuth struct{ Username, Password string }

// Metrics are hooks an Engine calls; every field may be nil.
type Metrics struct {
	// ConnectedContent is called once per connected content call with the
	// URL's host, the outcome (ok, error, cached or refused) and the time
	// taken. A refused host may be any host a template names.
	ConnectedContent func(host string, outcome string, d time.Duration)
}

// Vars are the variables a template sees, exactly as it sees them:
// {"first_name": "Ada", "custom_attribute": {...}, "event_properties": {...}}.
// ProfileVars builds them from a profile.
type Vars map[string]any

// maxOutputBytes caps what one template renders; a message is far smaller.
const maxOutputBytes = 1 << 20

var errOutputTooLarge = errors.New("output is larger than 1 MiB")

// Engine parses and renders templates. It is safe for concurrent use; build
// one per configuration.
type Engine struct {
	cfg     render.Config
	now     func() time.Time
	log     *slog.Logger
	filters map[string]bool // every filter name templates may use
	zones   sync.Map        // time zone name -> *time.Location (nil when unknown)
	cc      *connector
	buffers sync.Pool
}

// New returns an Engine with the standard Liquid tags and filters, Braze's
// tags (abort_message, connected_content) and Braze's filters.
func New(opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg:     render.NewConfig(),
		now:     opts.Now,
		log:     opts.Logger,
		filters: make(map[string]bool),
	}
	e.buffers.New = func() any { return &limitedBuffer{} }
	filters.AddStandardFilters(&e.cfg)
	tags.AddStandardTags(e.cfg)
	for _, name := range standardFilterNames() {
		e.filters[name] = true
	}
	e.addShopifyFilters()
	e.addFilter("join", joinFilter)
	e.addBrazeFilters()
	e.cfg.AddTag("include", func(string) (func(io.Writer, render.Context) error, error) {
		return nil, errors.New("include is not supported")
	})
	e.cfg.AddTag("abort_message", abortTag)
	e.cfg.AddTag(rawTagName, rawTag)
	e.cfg.AddTag(outputTagName, outputTag)
	e.cfg.AddTag(tickTagName, tickTag)
	e.cc = newConnector(opts.ConnectedContent, opts.Logger, opts.Metrics, opts.Now)
	e.cfg.AddTag("connected_content", e.connectedTag)
	return e
}

// addFilter registers a filter and makes its name valid in templates.
func (e *Engine) addFilter(name string, fn any) {
	e.cfg.AddFilter(name, fn)
	e.filters[name] = true
}

// standardFilterNames are the filters osteele/liquid v1.6.0 defines.
func standardFilterNames() []string {
	return []string{
		"abs", "append", "capitalize", "ceil", "compact", "concat", "date", "default",
		"divided_by", "downcase", "escape", "escape_once", "first", "floor", "inspect",
		"join", "json", "last", "lstrip", "map", "minus", "modulo", "newline_to_br",
		"plus", "prepend", "remove", "remove_first", "replace", "replace_first",
		"reverse", "round", "rstrip", "size", "slice", "sort", "sort_natural", "split",
		"strip", "strip_html", "strip_newlines", "times", "truncate", "truncatewords",
		"type", "uniq", "upcase", "url_decode", "url_encode",
	}
}

// abortTag compiles {% abort_message('reason') %}, {% abort_message() %} and
// {% abort_message %}.
func abortTag(args string) (func(io.Writer, render.Context) error, error) {
	args = strings.TrimSpace(args)
	if strings.HasPrefix(args, "(") && strings.HasSuffix(args, ")") {
		args = strings.TrimSpace(args[1 : len(args)-1])
	}
	if args == "" {
		return func(io.Writer, render.Context) error { return &AbortError{} }, nil
	}
	expr, err := expressions.Parse(args)
	if err != nil {
		return nil, err
	}
	return func(_ io.Writer, ctx render.Context) error {
		v, err := ctx.Evaluate(expr)
		if err != nil {
			return err
		}
		return &AbortError{Reason: liquidString(v)}
	}, nil
}

// maxLoopIterations bounds the loop iterations of one render, nested loops
// included, so that {% for i in (1..n) %} with a huge n cannot hold a sender
// for minutes.
const maxLoopIterations = 1_000_000

// tickTagName is the internal tag Parse puts at the start of every loop body;
// ticksKey is where a render counts the iterations. Templates cannot name
// either.
const (
	tickTagName = "_herald_tick"
	ticksKey    = "\x00ticks"
)

var errTooManyIterations = errors.New("more than 1000000 loop iterations")

// tickTag counts one loop iteration and stops the render past maxLoopIterations.
func tickTag(string) (func(io.Writer, render.Context) error, error) {
	return func(_ io.Writer, ctx render.Context) error {
		n, _ := ctx.Get(ticksKey).(int)
		if n >= maxLoopIterations {
			return errTooManyIterations
		}
		ctx.Set(ticksKey, n+1)
		return nil
	}, nil
}

// rawTag outputs the base64-encoded content of a raw block verbatim.
func rawTag(args string) (func(io.Writer, render.Context) error, error) {
	content, err := base64.StdEncoding.DecodeString(strings.TrimSpace(args))
	if err != nil {
		return nil, err
	}
	return func(w io.Writer, _ render.Context) error {
		_, err := w.Write(content)
		return err
	}, nil
}

// limitedBuffer is a render buffer that refuses to grow past maxOutputBytes.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxOutputBytes {
		return 0, errOutputTooLarge
	}
	return b.Buffer.Write(p)
}

func (b *limitedBuffer) WriteString(s string) (int, error) {
	if b.Len()+len(s) > maxOutputBytes {
		return 0, errOutputTooLarge
	}
	return b.Buffer.WriteString(s)
}

func (e *Engine) getBuffer() *limitedBuffer {
	b := e.buffers.Get().(*limitedBuffer)
	b.Reset()
	return b
}

func (e *Engine) putBuffer(b *limitedBuffer) {
	if b.Cap() <= 64<<10 {
		e.buffers.Put(b)
	}
}

// contextOrBackground is ctx, or context.Background() when ctx is nil.
func contextOrBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
