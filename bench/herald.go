package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildHerald builds ./cmd/herald of the enclosing module into dir and returns
// the binary's path.
func buildHerald(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return "", errors.New("run the harness inside the herald module (go run ./bench from its root)")
	}
	bin := filepath.Join(dir, "herald")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/herald")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/herald: %w\n%s", err, out)
	}
	return bin, nil
}

// instance is one herald process started from a config file.
type instance struct {
	bin, cfgPath, addr, logPath string
	// apiKey is a secret with every scope, set once `keys create` ran.
	apiKey string
	// env is added to the process's environment (HERALD_OPS_ADDR=… for a worker).
	env []string

	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{} // closed when the process has exited
	waitErr error         // the process's exit status, valid once done is closed
	// reported is set once an early exit was returned as an error, so stop does
	// not report it again
	reported bool
}

func newInstance(bin, cfgPath, addr, logPath string) *instance {
	return &instance{bin: bin, cfgPath: cfgPath, addr: addr, logPath: logPath}
}

// baseURL is the API's root URL.
func (h *instance) baseURL() string { return "http://" + h.addr }

// environ is the harness's environment without HERALD_* variables, which would
// override keys of the generated config.
func environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HERALD_") {
			out = append(out, kv)
		}
	}
	return out
}

// command runs a one-shot subcommand (migrate, keys create, …) with -c and
// returns its stdout.
func (h *instance) command(ctx context.Context, args ...string) (string, error) {
	args = append(args, "-c", h.cfgPath)
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("herald %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// start runs `herald <role> -c FILE` with its output in the log file and waits
// until /readyz answers 200.
func (h *instance) start(ctx context.Context, role string) error {
	f, err := os.Create(h.logPath)
	if err != nil {
		return err
	}
	h.logFile = f
	cmd := exec.Command(h.bin, role, "-c", h.cfgPath)
	cmd.Env = append(environ(), h.env...)
	cmd.Stdout, cmd.Stderr = f, f
	// own process group, so Ctrl-C reaches only the harness, which then stops
	// herald with SIGTERM; killed if the harness dies
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start herald %s: %w", role, err)
	}
	h.cmd = cmd
	h.done = make(chan struct{})
	go func() {
		h.waitErr = cmd.Wait()
		close(h.done)
	}()
	return h.waitReady(ctx, 60*time.Second)
}

// waitReady polls /readyz until it answers 200, the process exits or the timeout passes.
func (h *instance) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.baseURL()+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("herald not ready after %s; log tail:\n%s", timeout, h.logTail(20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-h.done:
			h.reported = true
			return fmt.Errorf("herald exited before it was ready (%v); log tail:\n%s", h.waitErr, h.logTail(20))
		case <-tick.C:
		}
	}
}

// exited reports whether the process has exited, and how.
func (h *instance) exited() (bool, error) {
	select {
	case <-h.done:
		return true, h.waitErr
	default:
		return false, nil
	}
}

// alive returns an error with the log tail if the process has exited (after a
// run, before reading its /proc figures).
func (h *instance) alive() error {
	if done, err := h.exited(); done {
		h.reported = true
		return fmt.Errorf("herald exited during the run (%v); log tail:\n%s", err, h.logTail(20))
	}
	return nil
}

// stop sends SIGTERM and waits up to timeout for a clean exit, then kills. A
// non-zero exit status is an error carrying the log tail.
func (h *instance) stop(timeout time.Duration) error {
	if h.cmd == nil {
		return nil
	}
	defer h.logFile.Close()
	if done, err := h.exited(); done {
		if err != nil && !h.reported {
			return fmt.Errorf("herald had exited: %w; log tail:\n%s", err, h.logTail(20))
		}
		return nil
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(timeout):
		_ = h.cmd.Process.Kill()
		<-h.done
		return fmt.Errorf("herald did not stop within %s of SIGTERM; killed", timeout)
	}
	if h.waitErr != nil {
		return fmt.Errorf("herald stopped with %w; log tail:\n%s", h.waitErr, h.logTail(20))
	}
	return nil
}

// logTail returns the last n lines herald wrote.
func (h *instance) logTail(n int) string {
	b, err := os.ReadFile(h.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "  (herald wrote nothing)"
	}
	return "  " + strings.Join(lastLines(b, n), "\n  ")
}

// lastLines returns the last n lines of b.
func lastLines(b []byte, n int) []string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// peakRSS is the process's resident set high-water mark (VmHWM), in bytes. It
// must be read while the process runs.
func (h *instance) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmHWM %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}

// resetPeakRSS resets the process's VmHWM to its current RSS (clear_refs "5",
// Linux 4.0 and later), so a later peakRSS covers only what came after.
func (h *instance) resetPeakRSS() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", h.cmd.Process.Pid), []byte("5"), 0)
}

// pid is the running process's id.
func (h *instance) pid() int { return h.cmd.Process.Pid }

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on every Linux
// architecture Go supports).
const clockTick = 10 * time.Millisecond

// cpuTime is the process's user plus system CPU time so far.
func (h *instance) cpuTime() (time.Duration, error) {
	_, t, err := procCPU(h.cmd.Process.Pid)
	return t, err
}

// kill sends SIGKILL and waits for the process to be gone; its exit is not
// reported as an error afterwards.
func (h *instance) kill() error {
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-h.done
	h.reported = true
	return nil
}
