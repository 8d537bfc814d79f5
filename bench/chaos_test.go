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

// kill-worker on a Redis Cluster of three masters the harness starts
// (--redis-cluster), the queue over 6 shards: every master holds shard
// queues (the harness picks such a queue name), and the shards processed at
// least one task per page.
func TestChaosKillWorkerRedisCluster(t *testing.T) {
	t.Parallel()
	res := runChaosTest(t, "kill-worker", "--devices", "3000", "--workers", "2", "--redis-cluster")
	r := res.Redis
	if r == nil || !r.Cluster || len(r.Servers) != clusterMasters || r.QueueShards != 6 || len(r.Spread) != clusterMasters {
		t.Fatalf("redis report %+v, want a cluster of %d masters and 6 shards", r, clusterMasters)
	}
	queues, tasks := 0, int64(0)
	for _, s := range r.Spread {
		if len(s.Queues) == 0 {
			t.Errorf("master %s holds no shard queue: %+v", s.Server, r.Spread)
		}
		queues += len(s.Queues)
		tasks += s.Tasks
	}
	if queues != 6 || tasks < int64(res.Herald.Pages) {
		t.Fatalf("spread %+v: %d shard queues, %d tasks processed, want 6 and at least the %d pages", r.Spread, queues, tasks, res.Herald.Pages)
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
		shards  int
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
		{args: []string{"--scenario", "kill-worker", "--redis-cluster"}, workers: 2, shards: 6},
		{args: []string{"--scenario", "postgres-restart", "--redis-cluster", "--queue-shards", "3"}, workers: 2, shards: 3},
		{args: []string{"--scenario", "dead-tokens", "--queue-shards", "4"}, workers: 2, dead: 20, shards: 4},
		{args: []string{"--scenario", "redis-restart", "--redis-cluster"}, err: "--redis-cluster does not apply"},
		{args: []string{"--scenario", "kill-worker", "--queue-shards", "65"}, err: "--queue-shards"},
	} {
		if tc.shards == 0 {
			tc.shards = 1
		}
		p, err := parseChaos(tc.args, io.Discard)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseChaos(%q) error = %v, want one about %q", tc.args, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("parseChaos(%q): %v", tc.args, err)
		case tc.err == "" && (p.workers != tc.workers || p.deadPct != tc.dead || p.env.shards() != tc.shards):
			t.Errorf("parseChaos(%q): workers %d dead %v shards %d, want %d, %v and %d", tc.args, p.workers, p.deadPct,
				p.env.shards(), tc.workers, tc.dead, tc.shards)
		}
	}
}
