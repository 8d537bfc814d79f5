package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/herald-oss/herald/internal/browsertest"
	"github.com/herald-oss/herald/internal/testdeps"
)

// adminKey is the dev admin key the test starts herald dev with.
const adminKey = "e2e-dashboard-admin-0123456789abcdef01234567"

// findChromium returns the browser's path, or skips (fails when services
// are required).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HERALD_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("HERALD_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal("no Chromium found (HERALD_TEST_REQUIRE_SERVICES=1): apt-get install chromium, or set HERALD_TEST_CHROMIUM")
	}
	t.Skip("no Chromium found: apt-get install chromium, or set HERALD_TEST_CHROMIUM")
	return ""
}

var apiLine = regexp.MustCompile(`^\s*API\s+(http://\S+)`)

// runDev builds herald from this checkout and runs `herald dev` until the
// test ends; it returns the base URL.
func runDev(t *testing.T) string {
	t.Helper()
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	bin := filepath.Join(t.TempDir(), "herald")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/herald")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build herald: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "dev", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--api-key", adminKey)
	var log testdeps.SyncBuffer
	cmd.Stderr = &log
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := apiLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			s := log.String()
			t.Logf("herald dev log (end):\n%s", s[max(0, len(s)-8<<10):])
		}
	})
	select {
	case u := <-addr:
		return u
	case <-time.After(60 * time.Second):
		t.Fatalf("herald dev printed no API address in 60 s:\n%s", log.String())
	}
	return ""
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
