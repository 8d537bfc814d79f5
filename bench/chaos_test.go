package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
)

// The short version of every chaos scenario, through the same code path as
// `go run ./bench chaos`: small audiences, a few seconds of storm or outage.
// They need the shared Redis and PostgreSQL (HERALD_TEST_REDIS_ADDR,
// HERALD_TEST_POSTGRES_DSN); a missing service fails them. They run in
// parallel: kill-worker alone waits out the 1-minute lease.

// heraldBuild builds ./cmd/herald once for every chaos test.
var heraldBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if heraldBuild.dir != "" {
		_ = os.RemoveAll(heraldBuild.dir)
	}
	os.Exit(code)
}

func heraldBinary(t *testing.T) string {
	t.Helper()
	heraldBuild.once.Do(func() {
		if heraldBuild.dir, heraldBuild.err = os.MkdirTemp("", "herald-chaos-test-"); heraldBuild.err != nil {
			return
		}
		heraldBuild.bin, heraldBuild.err = buildHerald(context.Background(), heraldBuild.dir)
	})
	if heraldBuild.err != nil {
		t.Fatal(heraldBuild.err)
	}
	return heraldBuild.bin
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// logWriter sends a run's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// runChaosTest runs `bench chaos --scenario S --json` with args and returns
// its report, failing the test unless it reports lost=0 duplicates=0 and
// exits cleanly.
func runChaosTest(t *testing.T, scenario string, args ...string) *chaosResult {
	t.Helper()
	bin := heraldBinary(t)
	args = append([]string{"--scenario", scenario, "--json", "--herald", bin, "--timeout", "3m",
		"--redis", envOr("HERALD_TEST_REDIS_ADDR", "127.0.0.1:6379"),
		"--postgres-dsn", envOr("HERALD_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")}, args...)
	var stdout bytes.Buffer
	err := runChaos(t.Context(), args, outputs{stdout: &stdout, stderr: logWriter{t}})
	var res chaosResult
	if stdout.Len() > 0 {
		if jerr := json.Unmarshal(stdout.Bytes(), &res); jerr != nil {
			t.Fatalf("report: %v\n%s", jerr, stdout.String())
		}
		t.Logf("report:\n%s", stdout.String())
	}
	if err != nil {
		t.Fatalf("bench chaos %v: %v", args, err)
	}
	if res.Herald == nil || res.Lost != 0 || res.Duplicates != 0 || !res.ok() {
		t.Fatalf("lost=%d duplicates=%d, report %s", res.Lost, res.Duplicates, stdout.String())
	}
	if res.Fault != "" && res.FaultAtS == 0 {
		t.Fatalf("the fault %q never struck", res.Fault)
	}
	return &res
}

func TestChaosKillWorker(t *testing.T) {
	t.Parallel()
	res := runChaosTest(t, "kill-worker", "--devices", "3000", "--workers", "2")
	if res.Herald.Resends == 0 {
		t.Log("no re-send: the killed worker held no unrecorded claim")
	}
}

func TestChaosDeadTokens(t *testing.T) {
	t.Parallel()
	res := runChaosTest(t, "dead-tokens", "--devices", "3000")
	d := res.Dead
	if d == nil || d.Tokens == 0 || d.Pruned != d.Tokens || d.Attempts != d.Tokens || d.Retried != 0 || d.LivePruned != 0 {
		t.Fatalf("dead tokens: %+v, want every one pruned after one attempt", d)
	}
}

func TestChaosProviderStorm(t *testing.T) {
	t.Parallel()
	res := runChaosTest(t, "provider-storm", "--devices", "3000", "--storm", "3s")
	if res.Stormed == 0 {
		t.Fatal("the storm refused no attempt")
	}
}

func TestChaosRedisRestart(t *testing.T) {
	t.Parallel()
	runChaosTest(t, "redis-restart", "--devices", "5000", "--down", "1s")
}

func TestChaosPostgresRestart(t *testing.T) {
	t.Parallel()
	runChaosTest(t, "postgres-restart", "--devices", "5000", "--down", "1s")
}

func TestParseChaos(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		err     string
		workers int
		dead    float64
	}{
		{args: []string{"--scenario", "kill-worker"}, workers: 2},
		{args: []string{"--scenario", "dead-tokens", "--store", "sqlite"}, workers: 0, dead: 20},
		{args: []string{"--scenario", "provider-storm", "--workers", "3"}, workers: 3},
		{args: []string{"--scenario", "kill-worker", "--workers", "1"}, err: "2 for kill-worker"},
		{args: []string{"--scenario", "kill-worker", "--store", "sqlite"}, err: "needs --store postgres"},
		{args: []string{"--scenario", "postgres-restart", "--store", "sqlite"}, err: "needs --store postgres"},
		{args: []string{"--scenario", "redis-restart", "--store", "sqlite", "--workers", "2"}, err: "--workers needs"},
		{args: []string{"--scenario", "earthquake"}, err: "--scenario must be one of"},
		{args: []string{}, err: "--scenario must be one of"},
		{args: []string{"--scenario", "redis-restart", "--at", "1"}, err: "--at"},
		{args: []string{"--scenario", "provider-storm", "--storm", "0s"}, err: "--storm"},
	} {
		p, err := parseChaos(tc.args, io.Discard)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseChaos(%q) error = %v, want one about %q", tc.args, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("parseChaos(%q): %v", tc.args, err)
		case tc.err == "" && (p.workers != tc.workers || p.deadPct != tc.dead):
			t.Errorf("parseChaos(%q): workers %d dead %v, want %d and %v", tc.args, p.workers, p.deadPct, tc.workers, tc.dead)
		}
	}
}
