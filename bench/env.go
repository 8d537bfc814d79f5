package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"
)

// envFlags are the flags every scenario shares: where the store and Redis are and
// how to print the report.
type envFlags struct {
	store       string
	postgresDSN string
	redisAddr   string
	json        bool
}

func (e *envFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.store, "store", "sqlite", "store driver: sqlite (herald all) or postgres (herald serve)")
	fs.StringVar(&e.postgresDSN, "postgres-dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"PostgreSQL database; the harness creates a fresh schema bench_<random> in it and drops it at the end")
	fs.StringVar(&e.redisAddr, "redis", "127.0.0.1:6379", "Redis host:port (a unique key prefix is used and cleaned up)")
	fs.BoolVar(&e.json, "json", false, "print the results as JSON instead of a table")
}

func (e *envFlags) validate() error {
	if e.store != "sqlite" && e.store != "postgres" {
		return usageErr("--store must be sqlite or postgres, got %q", e.store)
	}
	if _, _, err := net.SplitHostPort(e.redisAddr); err != nil {
		return usageErr("--redis must be host:port: %v", err)
	}
	return nil
}

// launchOptions tune the generated herald config for one scenario.
type launchOptions struct {
	// MaxInFlight is api.max_in_flight.
	MaxInFlight int
}

// env is one running herald with its isolated store and Redis prefix; close
// stops herald and removes everything the harness created.
type env struct {
	herald   *instance
	progress io.Writer
	cleanups []func(context.Context) error
}

// launch builds herald, gives it a fresh store and Redis prefix, migrates, creates
// an API key with every scope and starts the process (herald all on SQLite,
// herald serve on PostgreSQL). On error everything created so far is removed.
func launch(ctx context.Context, flags envFlags, opts launchOptions, progress io.Writer) (_ *env, err error) {
	e := &env{progress: progress}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.close())
		}
	}()
	dir, err := os.MkdirTemp("", "herald-bench-")
	if err != nil {
		return nil, err
	}
	e.cleanups = append(e.cleanups, func(context.Context) error { return os.RemoveAll(dir) })

	if err := pingRedis(ctx, flags.redisAddr); err != nil {
		return nil, err
	}
	fmt.Fprintln(progress, "building herald ...")
	bin, err := buildHerald(ctx, dir)
	if err != nil {
		return nil, err
	}

	suffix := randomHex(6)
	cfg := heraldConfig{store: flags.store, sqlitePath: filepath.Join(dir, "herald.db"), redisAddr: flags.redisAddr,
		redisPrefix: "herald-bench:" + suffix + ":", maxInFlight: opts.MaxInFlight}
	e.cleanups = append(e.cleanups, func(ctx context.Context) error { return cleanRedisPrefix(ctx, flags.redisAddr, cfg.redisPrefix) })
	role := "all"
	if flags.store == "postgres" {
		role = "serve"
		schema := "bench_" + suffix
		dsn, drop, err := createSchema(ctx, flags.postgresDSN, schema)
		if err != nil {
			return nil, err
		}
		e.cleanups = append(e.cleanups, drop)
		cfg.postgresDSN = dsn
		fmt.Fprintf(progress, "created PostgreSQL schema %s\n", schema)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg.addr = addr
	cfgPath := filepath.Join(dir, "herald.yaml")
	if err := cfg.write(cfgPath); err != nil {
		return nil, err
	}

	e.herald = newInstance(bin, cfgPath, addr, filepath.Join(dir, "herald.log"))
	if _, err := e.herald.command(ctx, "migrate"); err != nil {
		return nil, err
	}
	key, err := e.herald.command(ctx, "keys", "create", "--name", "bench", "--scopes", "all")
	if err != nil {
		return nil, err
	}
	e.herald.apiKey = strings.TrimSpace(key)
	fmt.Fprintf(progress, "starting herald %s (%s) on %s ...\n", role, flags.store, addr)
	e.cleanups = append(e.cleanups, func(ctx context.Context) error { return e.herald.stop(30 * time.Second) })
	if err := e.herald.start(ctx, role); err != nil {
		return nil, err
	}
	return e, nil
}

// close stops herald and removes the schema, Redis keys and temporary directory,
// in reverse order of creation. It works even when ctx was cancelled (Ctrl-C).
func (e *env) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		if err := e.cleanups[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	e.cleanups = nil
	return errors.Join(errs...)
}

// heraldConfig is what the generated config file varies.
type heraldConfig struct {
	store, sqlitePath, postgresDSN string
	redisAddr, redisPrefix         string
	addr                           string
	maxInFlight                    int
}

// write renders the config as YAML: rate limits off, warn-level text logs.
func (c heraldConfig) write(path string) error {
	off := map[string]any{"requests": 0}
	store := map[string]any{"driver": c.store, "auto_migrate": false}
	if c.store == "postgres" {
		store["postgres"] = map[string]any{"dsn": c.postgresDSN}
	} else {
		store["sqlite"] = map[string]any{"path": c.sqlitePath}
	}
	doc := map[string]any{
		"log": map[string]any{"level": "warn", "format": "text"},
		"api": map[string]any{
			"addr":          c.addr,
			"max_in_flight": c.maxInFlight,
			"rate_limits": map[string]any{
				"users_track": off, "users_track_bulk": off, "users_export": off, "users_identity": off, "default": off,
			},
		},
		"store":     store,
		"redis":     map[string]any{"addr": c.redisAddr, "key_prefix": c.redisPrefix},
		"lifecycle": map[string]any{"drain_timeout": "10s"},
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// createSchema creates a fresh schema and returns a DSN whose search_path is that
// schema, and a function that drops it.
func createSchema(ctx context.Context, base, schema string) (string, func(context.Context) error, error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("postgres: create schema %s: %w", schema, err)
	}
	drop := func(ctx context.Context) error {
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			return fmt.Errorf("postgres: drop schema %s: %w", schema, err)
		}
		return nil
	}
	return withSearchPath(base, schema), drop, nil
}

// withSearchPath sets search_path in a URL or key=value DSN.
func withSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// pingRedis checks that Redis answers before anything is built or started.
func pingRedis(ctx context.Context, addr string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", addr, err)
	}
	return nil
}

// cleanRedisPrefix deletes every key under prefix (the prefix holds no glob
// characters).
func cleanRedisPrefix(ctx context.Context, addr, prefix string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("redis: scan %s*: %w", prefix, err)
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := rdb.Del(ctx, keys[:n]...).Err(); err != nil {
			return fmt.Errorf("redis: delete %s*: %w", prefix, err)
		}
		keys = keys[n:]
	}
	return nil
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
