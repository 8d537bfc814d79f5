package templates

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// goldenNow is the clock of tests that format 'now'.
var goldenNow = time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC)

// clock is an adjustable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// metricsRecorder records connected content outcomes.
type metricsRecorder struct {
	mu       sync.Mutex
	outcomes []string // "host outcome"
}

func (m *metricsRecorder) metrics() *Metrics {
	return &Metrics{ConnectedContent: func(host, outcome string, _ time.Duration) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.outcomes = append(m.outcomes, host+" "+outcome)
	}}
}

func (m *metricsRecorder) list() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.outcomes...)
}

// mustParse parses src or fails the test.
func mustParse(t testing.TB, e *Engine, src string) *Template {
	t.Helper()
	tpl, err := e.Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return tpl
}

// renderString parses and renders src.
func renderString(t testing.TB, e *Engine, src string, vars Vars) (string, error) {
	t.Helper()
	return mustParse(t, e, src).Render(context.Background(), vars)
}
