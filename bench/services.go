package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The chaos scenarios that restart a service run their own instance of it on
// a free loopback port, with its data in a temporary directory, so the
// machine's shared Redis and PostgreSQL are never touched.

// redisServer is a redis-server child process in its own directory: with
// AOF on (appendonly yes, appendfsync everysec) for redis-restart, or a
// cluster node (cluster.go).
type redisServer struct {
	addr, dir string
	// args are added to the command line.
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// startRedisServer starts redis-server with AOF on, on a free loopback port
// in a new temporary directory; stop removes both.
func startRedisServer(ctx context.Context) (*redisServer, error) {
	dir, err := os.MkdirTemp("", "herald-chaos-redis-")
	if err != nil {
		return nil, err
	}
	return runRedisServer(ctx, dir, "--appendonly", "yes", "--appendfsync", "everysec")
}

// runRedisServer starts redis-server with args on a free loopback port in
// dir, which stop (or a failed start) removes.
func runRedisServer(ctx context.Context, dir string, args ...string) (*redisServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	r := &redisServer{addr: addr, dir: dir, args: args}
	if err := r.start(ctx); err != nil {
		return nil, errors.Join(err, r.stop())
	}
	return r, nil
}

// start runs redis-server on r.addr and r.dir (an AOF there is replayed) and
// waits until it answers PING.
func (r *redisServer) start(ctx context.Context) error {
	_, port, _ := net.SplitHostPort(r.addr)
	log, err := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	args := append([]string{"--bind", "127.0.0.1", "--port", port, "--dir", r.dir, "--save", "",
		"--maxmemory-policy", "noeviction", "--daemonize", "no"}, r.args...)
	cmd := exec.Command("redis-server", args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.cmd, r.log, r.done = cmd, log, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(r.done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := pingRedis(pctx, redisTarget{addr: r.addr})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("redis-server exited at start; log: %s", tailFile(filepath.Join(r.dir, "redis.log"), 10))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server at %s not answering: %w", r.addr, err)
		}
	}
}

// halt stops the server with sig (SIGTERM: it flushes the AOF; SIGKILL: up
// to a second of writes may be lost, as appendfsync everysec allows).
func (r *redisServer) halt(sig syscall.Signal) error {
	if r.cmd == nil {
		return nil
	}
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
	return r.log.Close()
}

// stop kills the server and removes its directory.
func (r *redisServer) stop() error {
	return errors.Join(r.halt(syscall.SIGKILL), os.RemoveAll(r.dir))
}

// pgCluster is a PostgreSQL cluster made with initdb (as the postgres user
// when the harness runs as root) in a temporary directory, listening on a
// free loopback port, trust authentication.
type pgCluster struct {
	dir, data, port string
	// asUser prefixes commands with runuser when running as root.
	asUser []string
	bin    string
}

// pgBinDir finds initdb: on PATH, else the newest /usr/lib/postgresql/*/bin.
func pgBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("initdb not found on PATH nor in /usr/lib/postgresql/*/bin")
}

// startPGCluster creates and starts a cluster; stop stops it and removes it.
func startPGCluster(ctx context.Context) (_ *pgCluster, err error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "herald-chaos-pg-")
	if err != nil {
		return nil, err
	}
	c := &pgCluster{dir: dir, data: filepath.Join(dir, "data"), bin: bin}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.stop())
		}
	}()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres OS user for initdb: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		c.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, c.port, _ = net.SplitHostPort(addr)
	if err := c.run(ctx, "initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		return nil, err
	}
	return c, c.start(ctx)
}

// run runs one of the cluster's PostgreSQL programs as its owner.
func (c *pgCluster) run(ctx context.Context, prog string, args ...string) error {
	argv := append(append(append([]string{}, c.asUser...), filepath.Join(c.bin, prog)), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", prog, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// start starts the server (crash recovery after an immediate stop) and waits
// until it accepts connections.
func (c *pgCluster) start(ctx context.Context) error {
	opts := fmt.Sprintf("-p %s -c listen_addresses=127.0.0.1 -k %s -c max_connections=200", c.port, c.dir)
	return c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.data, "-l", filepath.Join(c.dir, "postgres.log"), "-o", opts)
}

// halt stops the server with pg_ctl's mode (fast or immediate).
func (c *pgCluster) halt(ctx context.Context, mode string) error {
	return c.run(ctx, "pg_ctl", "stop", "-w", "-t", "60", "-D", c.data, "-m", mode)
}

// dsn is the cluster's postgres database.
func (c *pgCluster) dsn() string {
	return "postgres://postgres@127.0.0.1:" + c.port + "/postgres?sslmode=disable"
}

// stop stops the server (if running) and removes the cluster.
func (c *pgCluster) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if _, statErr := os.Stat(filepath.Join(c.data, "postmaster.pid")); statErr == nil {
		err = c.halt(ctx, "immediate")
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return strings.Join(lastLines(b, n), "\n")
}
