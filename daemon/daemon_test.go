package daemon

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/internal/testdeps"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer = testdeps.SyncBuffer

// running is a herald command running in-process.
type running struct {
	cancel context.CancelFunc
	done   chan int
	out    *syncBuffer
	errb   *syncBuffer
}

func start(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan int, 1), out: &syncBuffer{}, errb: &syncBuffer{}}
	go func() { r.done <- Main(ctx, args, r.out, r.errb, env) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) int {
	r.cancel()
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("herald did not stop within 30s")
		return -1
	}
}

// waitFor polls the output until re matches and returns the first group.
func (r *running) waitFor(t *testing.T, re *regexp.Regexp, errStream bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s := r.out.String()
		if errStream {
			s = r.errb.String()
		}
		if m := re.FindStringSubmatch(s); m != nil {
			return m[1]
		}
		select {
		case code := <-r.done:
			r.done <- code
			t.Fatalf("herald exited with %d before %s:\nstdout:\n%s\nstderr:\n%s", code, re, r.out, r.errb)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("timed out waiting for %s:\nstdout:\n%s\nstderr:\n%s", re, r.out, r.errb)
	return ""
}

func post(t *testing.T, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	data, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(data, &m)
	return res.StatusCode, m
}

var (
	apiLine = regexp.MustCompile(`API\s+(http://\S+)`)
	keyLine = regexp.MustCompile(`Admin key\s+(\S+)`)
)

// The README's first command: herald dev, then a Braze /users/track and an export.
func TestDevEndToEnd(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, nil, "dev", "--addr", "127.0.0.1:0", "--data-dir", dir)
	url := r.waitFor(t, apiLine, false)
	key := r.waitFor(t, keyLine, false)
	if !strings.Contains(r.out.String(), "DEVELOPMENT MODE") {
		t.Fatalf("no development banner:\n%s", r.out)
	}
	code, body := post(t, url+"/users/track", key, `{"attributes":[{"external_id":"user-1","first_name":"Ada",
	  "push_tokens":[{"app_id":"dev-android","token":"fcm-token-1"}]}]}`)
	if code != 201 || body["attributes_processed"] != 1.0 {
		t.Fatalf("track: %d %v", code, body)
	}
	// a Web Push subscription must point at an allowed push service (loopback is
	// allowed in dev for the fake provider)
	code, body = post(t, url+"/users/track", key, `{"attributes":[{"external_id":"user-1","push_tokens":[{"app_id":"dev-web",
	  "token":"{\"endpoint\":\"https://evil.example.com/push/1\",\"keys\":{\"p256dh\":\"BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM\",\"auth\":\"tBHItJI5svbpez7KI4CCXg\"}}"}]}]}`)
	if errs, _ := body["errors"].([]any); code != 201 || len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "not allowed") {
		t.Fatalf("subscription to a host off the allow-list: %d %v", code, body)
	}
	code, body = post(t, url+"/users/export/ids", key, `{"external_ids":["user-1"]}`)
	users, _ := body["users"].([]any)
	if code != 201 || len(users) != 1 || users[0].(map[string]any)["first_name"] != "Ada" {
		t.Fatalf("export: %d %v", code, body)
	}
	res, err := http.Get(url + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()

	// a second process on the same data dir is refused
	second := start(t, nil, "dev", "--addr", "127.0.0.1:0", "--data-dir", dir)
	select {
	case code := <-second.done:
		second.done <- code
		if code != 1 || !strings.Contains(second.errb.String(), "in use") {
			t.Fatalf("second dev: exit %d, stderr %s", code, second.errb)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("second dev on the same data dir did not exit")
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("dev exit code %d; stderr:\n%s", code, r.errb)
	}
	// restarting keeps the data and the generated key
	again := start(t, nil, "dev", "--addr", "127.0.0.1:0", "--data-dir", dir)
	url = again.waitFor(t, apiLine, false)
	if k := again.waitFor(t, keyLine, false); k != key {
		t.Fatalf("dev key changed across restarts: %s -> %s", key, k)
	}
	code, body = post(t, url+"/users/export/ids", key, `{"external_ids":["user-1"]}`)
	if users, _ := body["users"].([]any); code != 201 || len(users) != 1 {
		t.Fatalf("export after restart: %d %v", code, body)
	}
}

func TestDevFixedAPIKeyFromEnv(t *testing.T) {
	t.Parallel()
	key := "my-fixed-dev-key-1234"
	r := start(t, []string{"HERALD_DEV_API_KEY=" + key}, "dev", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	url := r.waitFor(t, apiLine, false)
	if got := r.waitFor(t, keyLine, false); got != key {
		t.Fatalf("banner key %q, want %q", got, key)
	}
	if code, body := post(t, url+"/users/track", key, `{"events":[{"external_id":"x","name":"e","time":"2026-01-01T00:00:00Z"}]}`); code != 201 {
		t.Fatalf("track with the fixed key: %d %v", code, body)
	}
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb, env)
	return code, out.String(), errb.String()
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), `api:
  addr: "nowhere"
  read_timeout: soon
store:
  driver: postgres
log:
  levl: info
`)
	code, out, errs := run(t, nil, "config", "check", "-c", bad)
	if code != 1 {
		t.Fatalf("config check of a bad file: exit %d, stdout %s, stderr %s", code, out, errs)
	}
	for _, want := range []string{"bad.yaml:3: api.read_timeout: invalid duration", "bad.yaml:7: log.levl: unknown key"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
	good := writeFile(t, filepath.Join(dir, "good.yaml"), "api:\n  addr: 127.0.0.1:9999\n")
	code, out, _ = run(t, []string{"HERALD_NOT_A_KEY=1"}, "config", "check", "-c", good)
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("config check of a good file: exit %d %s", code, out)
	}
	// every validation problem is listed at once
	code, out, _ = run(t, []string{"HERALD_API_ADDR=nowhere"}, "config", "check", "-c", good)
	if code != 1 || !strings.Contains(out, "api.addr") {
		t.Fatalf("env override not validated: %d %s", code, out)
	}
	if code, _, _ := run(t, nil, "config", "check"); code != 2 {
		t.Fatalf("config check without -c: exit %d, want 2", code)
	}
}

func sqliteConfig(t *testing.T, extra string) string {
	dir := t.TempDir()
	return writeFile(t, filepath.Join(dir, "herald.yaml"), fmt.Sprintf(`store:
  driver: sqlite
  sqlite:
    path: %s
%s`, filepath.Join(dir, "h.db"), extra))
}

func TestMigrateKeysAndAppsCommands(t *testing.T) {
	t.Parallel()
	cfg := sqliteConfig(t, "")
	code, out, errs := run(t, nil, "migrate", "-c", cfg)
	if code != 0 || !strings.Contains(out, "up to date") || !strings.Contains(out, "00001_init.sql") {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	if code, out, _ := run(t, nil, "migrate", "-c", cfg, "--status"); code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("migrate --status: %d %s", code, out)
	}
	code, out, errs = run(t, nil, "keys", "create", "-c", cfg, "--name", "ci", "--scopes", "users.track,users.export.ids")
	secret := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(secret, "hk_") || !strings.Contains(errs, "shown only once") {
		t.Fatalf("keys create: %d %q %s", code, out, errs)
	}
	if code, _, errs := run(t, nil, "keys", "create", "-c", cfg, "--name", "x", "--scopes", "users.fly"); code != 2 || !strings.Contains(errs, "unknown scope") {
		t.Fatalf("keys create with a bad scope: %d %s", code, errs)
	}
	code, out, _ = run(t, nil, "keys", "list", "-c", cfg)
	if code != 0 || !strings.Contains(out, "ci") || strings.Contains(out, secret) {
		t.Fatalf("keys list: %d %s", code, out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if code, out, _ := run(t, nil, "keys", "revoke", "-c", cfg, id); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("keys revoke: %d %s", code, out)
	}
	code, out, _ = run(t, nil, "apps", "create", "-c", cfg, "--name", "Shop", "--platform", "android", "--id", "shop-android")
	if code != 0 || !strings.Contains(out, "id: shop-android") || !strings.Contains(out, "sdk_key: hsk_") {
		t.Fatalf("apps create: %d %s", code, out)
	}
	if code, _, errs := run(t, nil, "apps", "create", "-c", cfg, "--name", "Bad", "--platform", "symbian"); code != 1 || !strings.Contains(errs, "platform") {
		t.Fatalf("apps create with a bad platform: %d %s", code, errs)
	}
	if code, out, _ := run(t, nil, "apps", "list", "-c", cfg); code != 0 || !strings.Contains(out, "shop-android") {
		t.Fatalf("apps list: %d %s", code, out)
	}
	if code, out, _ := run(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "herald ") {
		t.Fatalf("version: %d %s", code, out)
	}
	if code, _, _ := run(t, nil, "frobnicate"); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
}

func TestServeNeedsPostgresAndMigrations(t *testing.T) {
	t.Parallel()
	cfg := sqliteConfig(t, "")
	if code, _, errs := run(t, nil, "serve", "-c", cfg); code != 1 || !strings.Contains(errs, "needs PostgreSQL") {
		t.Fatalf("serve on sqlite: %d %s", code, errs)
	}
	if code, _, errs := run(t, nil, "all", "-c", cfg); code != 1 || !strings.Contains(errs, "herald migrate") {
		t.Fatalf("all without migrations: %d %s", code, errs)
	}
}

// herald all on PostgreSQL with apps declared in the config file.
func TestAllWithPostgresAndDeclaredApps(t *testing.T) {
	t.Parallel()
	dsn := testdeps.Postgres(t)
	redisAddr, prefix := testdeps.RedisOrMini(t)
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	writeFile(t, filepath.Join(dir, "AuthKey.p8"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	writeFile(t, filepath.Join(dir, "enc.key"), "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n")
	cfg := writeFile(t, filepath.Join(dir, "herald.yaml"), fmt.Sprintf(`log:
  level: debug
api:
  addr: 127.0.0.1:0
store:
  driver: postgres
  postgres:
    dsn: %q
redis:
  addr: %s
  key_prefix: %q
queue:
  name: %q
security:
  encryption_key_file: enc.key
apps:
  - id: shop-ios
    name: Shop
    platform: ios
    apns:
      key_file: AuthKey.p8
      key_id: ABC123DEFG
      team_id: TEAM123456
      topic: com.example.shop
`, dsn, redisAddr, prefix, "test-"+testdeps.Random(6)))
	if code, out, errs := run(t, nil, "migrate", "-c", cfg); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	code, out, _ := run(t, nil, "keys", "create", "-c", cfg, "--name", "t", "--scopes", "all")
	if code != 0 {
		t.Fatalf("keys create: %d", code)
	}
	key := strings.TrimSpace(out)
	r := start(t, nil, "all", "-c", cfg)
	addr := r.waitFor(t, regexp.MustCompile(`msg=listening addr=(\S+)`), true)
	req, _ := http.NewRequest("GET", "http://"+addr+"/manage/apps", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(data), `"id":"shop-ios"`) || !strings.Contains(string(data), `"apns":true`) || strings.Contains(string(data), "PRIVATE") {
		t.Fatalf("declared app: %d %s", res.StatusCode, data)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.errb)
	}
	logs := r.errb.String()
	if !strings.Contains(logs, "msg=stopped") {
		t.Fatalf("no clean stop logged:\n%s", logs)
	}
	// no secret reaches the logs: API key, encryption key, credential file contents
	for _, secret := range []string{key, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "PRIVATE KEY"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs contain a secret (%.12s…):\n%s", secret, logs)
		}
	}
}

// redisAddrForTest returns a Redis address (real, or in-process outside CI).
func redisAddrForTest(t *testing.T) (string, string) {
	return testdeps.RedisOrMini(t)
}
