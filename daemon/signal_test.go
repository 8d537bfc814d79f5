package daemon

import (
	"bufio"
	"errors"
	"fmt"
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
)

// child is herald running as a separate process, so it can get real signals.
type child struct {
	cmd    *exec.Cmd
	addr   string
	exited chan error
}

func startChild(t *testing.T, cfg string) *child { return startChildArgs(t, "all -c "+cfg) }

// startChildArgs runs herald with the space-separated args and waits until it listens.
func startChildArgs(t *testing.T, args string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HERALD_TEST_MAIN_ARGS="+args)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, exited: make(chan error, 1)}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	listening := regexp.MustCompile(`msg=listening addr=(\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		c.exited <- cmd.Wait()
	}()
	select {
	case c.addr = <-found:
	case err := <-c.exited:
		t.Fatalf("herald exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("herald did not start")
	}
	return c
}

func (c *child) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-c.exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("herald did not exit within %s", within)
		return -1
	}
}

// slowTrack starts a /users/track request whose body is not finished: the
// request is in flight until finish is called.
func slowTrack(t *testing.T, addr, key, user string) (finish, abort func(), result <-chan int) {
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+addr+"/users/track", pr)
	req.Header.Set("Authorization", "Bearer "+key)
	out := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- -1
			return
		}
		res.Body.Close()
		out <- res.StatusCode
	}()
	if _, err := pw.Write([]byte(`{"attributes":[{"external_id":"` + user + `",`)); err != nil {
		t.Fatal(err)
	}
	finish = func() {
		_, _ = pw.Write([]byte(`"first_name":"Drained"}]}`))
		pw.Close()
	}
	abort = func() { pw.CloseWithError(errors.New("aborted by the test")) }
	t.Cleanup(abort)
	return finish, abort, out
}

func drainConfig(t *testing.T, drain string) (cfg, key string) {
	dir := t.TempDir()
	redisAddr, prefix := redisAddrForTest(t)
	cfg = writeFile(t, filepath.Join(dir, "herald.yaml"), fmt.Sprintf(`api:
  addr: 127.0.0.1:0
store:
  driver: sqlite
  sqlite:
    path: h.db
redis:
  addr: %s
  key_prefix: %q
  check_noeviction: false
lifecycle:
  drain_timeout: %s
`, redisAddr, prefix, drain))
	if code, out, errs := run(t, nil, "migrate", "-c", cfg); code != 0 {
		t.Fatalf("migrate: %s %s", out, errs)
	}
	code, out, _ := run(t, nil, "keys", "create", "-c", cfg, "--name", "t", "--scopes", "all")
	if code != 0 {
		t.Fatal("keys create failed")
	}
	return cfg, strings.TrimSpace(out)
}

// SIGTERM stops taking new connections and lets in-flight requests finish.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	cfg, key := drainConfig(t, "20s")
	c := startChild(t, cfg)
	finish, _, result := slowTrack(t, c.addr, key, "drained-user")
	time.Sleep(300 * time.Millisecond) // the request is being served
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := http.Get("http://" + c.addr + "/healthz"); err == nil {
		t.Fatal("new connections are still accepted while draining")
	}
	finish()
	if status := <-result; status != 201 {
		t.Fatalf("in-flight request during drain: status %d", status)
	}
	if code := c.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d after a clean drain", code)
	}
	// the drained request's write is durable
	c2 := startChild(t, cfg)
	if code, body := post(t, "http://"+c2.addr+"/users/export/ids", key, `{"external_ids":["drained-user"]}`); code != 201 || !strings.Contains(fmt.Sprint(body), "Drained") {
		t.Fatalf("export after drain: %d %v", code, body)
	}
	_ = c2.cmd.Process.Signal(syscall.SIGTERM)
	c2.wait(t, 20*time.Second)
}

// A request still running when the drain timeout passes is cut off and herald
// stops anyway, with a non-zero exit code.
func TestSIGTERMHardStopsAfterTheDrainTimeout(t *testing.T) {
	t.Parallel()
	cfg, key := drainConfig(t, "1s")
	c := startChild(t, cfg)
	_, abort, result := slowTrack(t, c.addr, key, "never-finished")
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := c.wait(t, 15*time.Second)
	if code == 0 {
		t.Fatal("exit code 0 although a request was cut off")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("hard stop took %s with a 1s drain timeout", d)
	}
	abort() // the client gives up its body; its request must not have succeeded
	if status := <-result; status == 201 {
		t.Fatal("the unfinished request succeeded")
	}
}
