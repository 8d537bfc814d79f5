// Package browsertest starts headless Chromium (chromedp) and `herald dev`
// for the end-to-end tests of the web SDK and the dashboard.
package browsertest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/herald-oss/herald/internal/testdeps"
)

// Start runs the headless Chromium at path for the test, in a window of
// width x height, and returns its tab's context. The page's console
// messages and uncaught exceptions go to the test log until the test ends,
// when the browser is stopped.
func Start(t testing.TB, path string, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI containers
		chromedp.WindowSize(width, height), chromedp.Flag("disable-gpu", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	var mu sync.Mutex
	ended := false
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf(format, args...)
		}
	}
	t.Cleanup(func() {
		mu.Lock()
		ended = true
		mu.Unlock()
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser and the tab
		t.Fatalf("start Chromium: %v", err)
	}
	go func() {
		for ev, err := range chromedp.Events(ctx, runtime.ConsoleAPICalled) {
			if err != nil {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			logf("browser console.%s: %s", ev.Type, strings.Join(parts, " "))
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, runtime.ExceptionThrown) {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			logf("browser exception: %s", msg)
		}
	}()
	return ctx
}

// Chromium returns the browser's path (HERALD_TEST_CHROMIUM, else chromium,
// chromium-browser or google-chrome on the PATH), or skips the test (fails
// it when HERALD_TEST_REQUIRE_SERVICES=1).
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HERALD_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found: apt-get install chromium, or set HERALD_TEST_CHROMIUM"
	if testdeps.Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

var bannerAPI = regexp.MustCompile(`^\s*API\s+(http://\S+)`)

// RunDev builds herald from the repository at root (with -race when race)
// and runs `herald dev` (SQLite in a temporary directory, the in-process
// Redis, the fake providers) with apiKey as its admin key until the test
// ends; it returns the API's base URL. The end of its log is printed when
// the test fails.
func RunDev(t testing.TB, root string, race bool, apiKey string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "herald")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/herald")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/herald: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "dev", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--api-key", apiKey)
	var logs testdeps.SyncBuffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := bannerAPI.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	tail := func() string { s := logs.String(); return s[max(0, len(s)-8<<10):] }
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("herald dev log (last 8 KiB):\n%s", tail())
		}
	})
	select {
	case u := <-found:
		return u
	case <-time.After(60 * time.Second):
		t.Fatalf("herald dev did not print its API address in 60 s:\n%s", tail())
	}
	return ""
}
