package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/herald-oss/herald/internal/browsertest"
)

// repoRoot is the repository's root, from this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "herald")); err != nil {
		t.Fatalf("repository root not found from %s: %v", root, err)
	}
	return root
}

// chromium finds the browser (browsertest.Chromium).
func chromium(t *testing.T) string { return browsertest.Chromium(t) }

// artifacts is the directory screenshots are kept in.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HERALD_E2E_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("artifacts", time.Now().Format("20060102-150405"))
	}
	dir, _ = filepath.Abs(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir)
	return dir
}

// dev is a running `herald dev`.
type dev struct {
	t   *testing.T
	url string
	key string
}

// startDev builds herald and runs `herald dev` (SQLite in a temporary
// directory, the in-process Redis, the fake providers) until the test ends.
func startDev(t *testing.T) *dev {
	t.Helper()
	const key = "e2e-admin-key-0123456789abcdef0123456789"
	return &dev{t: t, url: browsertest.RunDev(t, repoRoot(t), raceEnabled, key), key: key}
}

// call sends a request to the REST API with the admin key and decodes the
// answer into out; a status of 300 or more fails the test.
func (d *dev) call(method, path string, body any, out any) {
	d.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			d.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, d.url+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		d.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			d.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// site serves the test page at / and the SDK under /sdk/ from another
// origin than Herald's, so the SDK's requests are cross-origin as on a
// customer's site.
func site(t *testing.T) *httptest.Server {
	t.Helper()
	sdkDir := filepath.Join(repoRoot(t), "sdk", "web")
	page, err := os.ReadFile(filepath.Join("testdata", "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/sdk/", http.StripPrefix("/sdk/", http.FileServer(http.Dir(sdkDir))))
	mux.HandleFunc("/herald-sw.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(sdkDir, "herald-sw.js"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(page)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// browser starts headless Chromium for the test (browsertest.Start).
func browser(t *testing.T) context.Context {
	t.Helper()
	return browsertest.Start(t, chromium(t), 1280, 900)
}

// eval evaluates a JavaScript expression (promises awaited) and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript predicate until it is true.
func waitJS(t *testing.T, ctx context.Context, what, predicate string, timeout time.Duration) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](predicate, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s (%s): %v\n%s", what, predicate, err, pageState(ctx))
	}
}

// pageState describes the SDK's state in the page, for failure messages.
func pageState(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](`JSON.stringify({
		queue: window.herald && herald.getInstance().initialized ? herald.getInstance().queue.items().map((e) => [e.user_id, e.item.type, e.item.data]) : null,
		in_app_messages: window.herald && herald.getInstance().messages,
		answers: window.heraldAnswers,
	}, null, 1)`))
	if err != nil {
		return "page state: " + err.Error()
	}
	return "page state: " + s
}

// screenshot saves the page as dir/name.png.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
