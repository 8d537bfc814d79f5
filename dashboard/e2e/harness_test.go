package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/herald-oss/herald/internal/browsertest"
)

// adminKey is the dev admin key the test starts herald dev with.
const adminKey = "e2e-dashboard-admin-0123456789abcdef01234567"

// findChromium returns the browser's path (browsertest.Chromium).
func findChromium(t *testing.T) string { return browsertest.Chromium(t) }

// runDev builds herald from this checkout and runs `herald dev` until the
// test ends; it returns the base URL.
func runDev(t *testing.T) string {
	t.Helper()
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	return browsertest.RunDev(t, root, raceEnabled, adminKey)
}

// api calls herald's REST API with the admin key; a status of 300 or more
// fails the test.
func api(t *testing.T, base, method, path, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// startBrowser runs headless Chromium for the test (browsertest.Start).
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	return browsertest.Start(t, path, 1280, 1000)
}

// run runs browser actions with a deadline, failing the test on error.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v\npage: %s", what, err, pageText(ctx))
	}
}

// click clicks the first element sel matches, waiting up to 15 s for one,
// in one script: chromedp.Click resolves a DOM node id first and acts on it
// after, and a page still settling (the navigation after a sign-in, a
// re-render) can drop that node in between ("Could not find node with given
// id").
func click(sel string) chromedp.Action[chromedp.Void] {
	q, _ := json.Marshal(sel)
	return chromedp.Evaluate[chromedp.Void](`new Promise((resolve, reject) => {
	const t0 = Date.now();
	const tick = () => {
		const el = document.querySelector(`+string(q)+`);
		if (el) { el.click(); resolve(); }
		else if (Date.now() - t0 > 15000) reject(new Error("no element matches " + `+string(q)+`));
		else setTimeout(tick, 50);
	};
	tick();
})`, chromedp.EvalAwaitPromise)
}

// until polls a JavaScript predicate until it holds. A failed evaluation
// (the page navigating after a click) is retried, not fatal.
func until(t *testing.T, ctx context.Context, what, predicate string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](predicate))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: not true in 20 s (last error: %v)\npage: %s", what, last, pageText(ctx))
}

// pageText is the page's URL and visible text, for failure messages.
func pageText(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 3000)`))
	if err != nil {
		return err.Error()
	}
	return s
}

// shoot saves a full-page PNG screenshot (quality 100: less is JPEG)
// among the test's artifacts.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// a page that just navigated may not be laid out yet ("0 width")
	until(t, ctx, "the page to load before "+name, `document.readyState === 'complete' && document.body.getBoundingClientRect().width > 0`)
	var png []byte
	var err error
	for range 3 {
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		png, err = chromedp.Run(c, chromedp.FullScreenshot(100))
		cancel()
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}
