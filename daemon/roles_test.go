package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/queue"
)

// herald dev declares its apps with credentials for the in-process fakes, so
// a send through any dev app is delivered; /dev/outbox lists what the fakes
// accepted (newest last; DELETE clears it) and /dev/webpush/subscribe mints a
// subscription dev-web can push to.
func TestDevOutboxAndWebPushSubscribe(t *testing.T) {
	t.Parallel()
	type started struct {
		n   *node
		url string
	}
	ready := make(chan started, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	c := &cli{stdout: &out, stderr: &errb, env: NewEnv(nil),
		devStarted: func(n *node, url string) { ready <- started{n, url} }}
	done := make(chan error, 1)
	go func() { done <- c.dev(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}) }()
	var dev started
	select {
	case dev = <-ready:
	case err := <-done:
		t.Fatalf("dev exited: %v\n%s", err, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not start")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev: %v", err)
		}
	}()

	call := func(method, path string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, dev.url+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
			}
		}
		return res.StatusCode
	}
	var outbox []map[string]any
	if code := call("GET", "/dev/outbox", &outbox); code != 200 || len(outbox) != 0 {
		t.Fatalf("empty outbox: %d %v", code, outbox)
	}
	var sub struct {
		Endpoint string `json:"endpoint"`
		Keys     struct{ P256dh, Auth string }
	}
	if code := call("POST", "/dev/webpush/subscribe", &sub); code != 200 || !strings.HasPrefix(sub.Endpoint, "https://127.0.0.1:") || sub.Keys.Auth == "" {
		t.Fatalf("subscribe: %d %+v", code, sub)
	}
	subJSON, _ := json.Marshal(map[string]any{"endpoint": sub.Endpoint, "keys": map[string]string{"p256dh": sub.Keys.P256dh, "auth": sub.Keys.Auth}})
	if code := call("GET", "/dev/webpush/subscribe", nil); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("GET /dev/webpush/subscribe: %d", code)
	}

	// one message through each dev app, as the delivery pipeline sends them
	sends := []struct{ app, token, body string }{
		{"dev-ios", "ios-device-1", "Hello iOS"},
		{"dev-android", "android-device-1", "Hello Android"},
		{"dev-web", string(subJSON), "Hello web"},
	}
	for i, s := range sends {
		snd, _, err := dev.n.senders.For(context.Background(), s.app)
		if err != nil {
			t.Fatalf("%s: %v", s.app, err)
		}
		object := map[string]any{"title": "Hi", "alert": s.body}
		if s.app == "dev-ios" {
			object = map[string]any{"alert": map[string]any{"title": "Hi", "body": s.body}}
		}
		msg := channels.Message{ID: fmt.Sprint("m", i), DispatchID: "t", AppID: s.app, Token: s.token, CollapseID: fmt.Sprint("c", i), Object: object}
		if r := snd.Send(context.Background(), []channels.Message{msg})[0]; r.Outcome != channels.Delivered {
			t.Fatalf("%s: %s %s %v", s.app, r.Outcome, r.Reason, r.Err)
		}
	}
	if code := call("GET", "/dev/outbox", &outbox); code != 200 || len(outbox) != 3 {
		t.Fatalf("outbox: %d %v", code, outbox)
	}
	for i, want := range []struct{ channel, app string }{{"apns", "dev-ios"}, {"fcm", "dev-android"}, {"webpush", "dev-web"}} {
		rec := outbox[i]
		payload, _ := json.Marshal(rec["payload"])
		// (Web Push's Topic is a digest of the collapse id: a Topic is at most 32 characters)
		if rec["channel"] != want.channel || rec["app_id"] != want.app || rec["collapse_id"] == "" ||
			!strings.Contains(string(payload), sends[i].body) {
			t.Errorf("outbox[%d] = %v, want %s from %s with %q", i, rec, want.channel, want.app, sends[i].body)
		}
	}
	if rec := outbox[0]; rec["token"] != "ios-device-1" {
		t.Errorf("APNs record token %v", rec["token"])
	}
	if code := call("DELETE", "/dev/outbox", nil); code != http.StatusNoContent {
		t.Fatalf("DELETE /dev/outbox: %d", code)
	}
	if call("GET", "/dev/outbox", &outbox); len(outbox) != 0 {
		t.Fatalf("outbox after DELETE: %v", outbox)
	}
	// the API is still served beside the dev routes, and the worker runs
	if code := call("GET", "/readyz", nil); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	var metrics string
	res, err := http.Get(dev.url + "/metrics")
	if err == nil {
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		metrics = string(data)
	}
	if !strings.Contains(metrics, `herald_queue_tasks_total{outcome="succeeded",type="campaign:dispatch"} 0`) {
		t.Fatalf("no queue metrics:\n%.2000s", metrics)
	}
}

// roleConfig writes a PostgreSQL config with a queue and Redis prefix of the
// test's own, and migrates.
func roleConfig(t *testing.T) (cfg, redisAddr, queueName string) {
	t.Helper()
	dsn := testdeps.Postgres(t)
	redisAddr, prefix := testdeps.RedisOrMini(t)
	queueName = "test-" + testdeps.Random(6)
	cfg = writeFile(t, filepath.Join(t.TempDir(), "herald.yaml"), fmt.Sprintf(`store:
  driver: postgres
  postgres:
    dsn: %q
redis:
  addr: %s
  key_prefix: %q
  check_noeviction: false
queue:
  name: %s
  shutdown_timeout: 5s
ops:
  addr: 127.0.0.1:0
`, dsn, redisAddr, prefix, queueName))
	if code, out, errs := run(t, nil, "migrate", "-c", cfg); code != 0 {
		t.Fatalf("migrate: %s %s", out, errs)
	}
	return cfg, redisAddr, queueName
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

// herald worker starts, reports ready on ops.addr, runs the queue's tasks
// (the handlers are not wired yet: a task is archived), and stops cleanly on
// SIGTERM.
func TestWorkerRole(t *testing.T) {
	t.Parallel()
	cfg, redisAddr, queueName := roleConfig(t)
	c := startChildArgs(t, "worker -c "+cfg)
	if code, body := get(t, "http://"+c.addr+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d %s", code, body)
	}
	if code, _ := get(t, "http://"+c.addr+"/users/track"); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Fatalf("the ops listener serves the API: %d", code)
	}
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rc.Close()
	if err := queue.NewClient(rc, queue.ClientOptions{Queue: queueName}).EnqueueDispatch(context.Background(), queue.DispatchPayload{DispatchID: "d-1"}); err != nil {
		t.Fatal(err)
	}
	skipped := regexp.MustCompile(`herald_queue_tasks_total\{outcome="skipped",type="campaign:dispatch"\} 1\b`)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, metrics := get(t, "http://"+c.addr+"/metrics")
		if skipped.MatchString(metrics) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not run the task:\n%s", metrics)
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("worker exit code %d after SIGTERM", code)
	}
}

// herald scheduler starts, reports ready and stops; the single roles refuse
// SQLite.
func TestSchedulerRoleAndSQLiteRefused(t *testing.T) {
	t.Parallel()
	cfg, _, _ := roleConfig(t)
	r := start(t, nil, "scheduler", "-c", cfg)
	addr := r.waitFor(t, regexp.MustCompile(`msg=listening addr=(\S+) tls=false listener=ops`), true)
	if code, body := get(t, "http://"+addr+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d %s", code, body)
	}
	r.waitFor(t, regexp.MustCompile(`(scheduler started)`), true)
	if code := r.stop(t); code != 0 {
		t.Fatalf("scheduler exit %d: %s", code, r.errb)
	}
	sqlite := sqliteConfig(t, "")
	for _, role := range []string{"worker", "scheduler", "serve"} {
		if code, _, errs := run(t, nil, role, "-c", sqlite); code != 1 || !strings.Contains(errs, "needs PostgreSQL") {
			t.Errorf("%s on SQLite: %d %s", role, code, errs)
		}
	}
}

// A process running the worker collects garbage at workerGCPercent unless
// the environment sets GOGC. (Not parallel: the GC target is the process's.)
func TestWorkerGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	log := slog.New(slog.DiscardHandler)
	(&cli{env: NewEnv(nil)}).tuneGC(log)
	if got := debug.SetGCPercent(100); got != workerGCPercent {
		t.Errorf("GC percent %d, want %d", got, workerGCPercent)
	}
	(&cli{env: NewEnv([]string{"GOGC=150"})}).tuneGC(log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d with GOGC set, want it left alone (100)", got)
	}
}

// herald worker on a Redis Cluster (redis.cluster_addrs) serves every shard
// of its queue (queue.shards): a task enqueued to any shard runs.
func TestWorkerOnRedisCluster(t *testing.T) {
	t.Parallel()
	addrs := testdeps.RedisCluster(t)
	dsn := testdeps.Postgres(t)
	queueName := "test-" + testdeps.Random(6)
	cfg := writeFile(t, filepath.Join(t.TempDir(), "herald.yaml"), fmt.Sprintf(`store:
  driver: postgres
  postgres:
    dsn: %q
redis:
  cluster_addrs: [%s]
  key_prefix: "cluster-test:"
queue:
  name: %s
  shards: 4
  shutdown_timeout: 5s
ops:
  addr: 127.0.0.1:0
`, dsn, strings.Join(addrs, ", "), queueName))
	if code, out, errs := run(t, nil, "migrate", "-c", cfg); code != 0 {
		t.Fatalf("migrate: %s %s", out, errs)
	}
	c := startChildArgs(t, "worker -c "+cfg)
	if code, body := get(t, "http://"+c.addr+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d %s", code, body)
	}
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer rc.Close()
	qc := queue.NewClient(rc, queue.ClientOptions{Queue: queueName, Shards: 4})
	const n = 8
	for i := range n { // task ids that land on several shards
		if err := qc.EnqueueDispatch(context.Background(), queue.DispatchPayload{DispatchID: fmt.Sprintf("d-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	skipped := regexp.MustCompile(fmt.Sprintf(`herald_queue_tasks_total\{outcome="skipped",type="campaign:dispatch"\} %d\b`, n))
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, metrics := get(t, "http://"+c.addr+"/metrics")
		if skipped.MatchString(metrics) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not run the %d tasks:\n%s", n, metrics)
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("worker exit code %d after SIGTERM", code)
	}
}
