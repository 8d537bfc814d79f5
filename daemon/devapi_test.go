package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// apiCall sends a request with the dev API key and decodes the answer into
// out; it returns the status code.
type apiCall func(method, path, body string, out any) int

// startDevAPI runs herald dev (embedded Redis, SQLite in a temporary
// directory, the fakes) until the test ends and returns a caller of its API
// and its node.
func startDevAPI(t *testing.T) (apiCall, *node) {
	t.Helper()
	call, n, _ := startDev(t)
	return call, n
}

// startDev is startDevAPI with more command-line arguments, also returning
// the API's base URL.
func startDev(t *testing.T, extra ...string) (apiCall, *node, string) {
	t.Helper()
	type started struct {
		n   *node
		url string
	}
	ready := make(chan started, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	const key = devTestKey
	c := &cli{stdout: &out, stderr: &errb, env: NewEnv(nil),
		devStarted: func(n *node, url string) { ready <- started{n, url} }}
	done := make(chan error, 1)
	go func() {
		done <- c.dev(ctx, append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--api-key", key}, extra...))
	}()
	var dev started
	select {
	case dev = <-ready:
	case err := <-done:
		t.Fatalf("dev exited: %v\n%s", err, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev: %v", err)
		}
	})
	call := func(method, path, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, dev.url+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
			}
		}
		if res.StatusCode >= 300 {
			t.Logf("%s %s: %d %s", method, path, res.StatusCode, data)
		}
		return res.StatusCode
	}
	return call, dev.n, dev.url
}

// devTestKey is the admin API key the dev tests run herald dev with.
const devTestKey = "dev-e2e-key-0123456789abcdef0123456789"
