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
	"gopkg.in/yaml.v3"
)

// envFlags are the flags every scenario shares: where the store and Redis are and
// how to print the report.
type envFlags struct {
	store       string
	postgresDSN string
	redisAddr   string
	heraldBin   string
	json        bool
	// redisCluster runs Herald on a Redis Cluster of clusterMasters masters
	// the harness starts (registerCluster); queueShards is queue.shards, 0
	// for the default (shards()).
	redisCluster bool
	queueShards  int
}

func (e *envFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.store, "store", "sqlite", "store driver: sqlite (herald all) or postgres (herald serve)")
	fs.StringVar(&e.postgresDSN, "postgres-dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"PostgreSQL database; the harness creates a fresh schema bench_<random> in it and drops it at the end")
	fs.StringVar(&e.redisAddr, "redis", "127.0.0.1:6379", "Redis host:port (a unique key prefix is used and cleaned up)")
	fs.StringVar(&e.heraldBin, "herald", "", "a herald binary to run instead of building ./cmd/herald")
	fs.BoolVar(&e.json, "json", false, "print the results as JSON instead of a table")
}

// clusterMasters is how many masters --redis-cluster starts.
const clusterMasters = 3

// registerCluster adds --redis-cluster and --queue-shards (fanout, chaos).
func (e *envFlags) registerCluster(fs *flag.FlagSet) {
	fs.BoolVar(&e.redisCluster, "redis-cluster", false, fmt.Sprintf(
		"run Herald on a Redis Cluster of %d masters the harness starts on free loopback ports (instead of --redis)", clusterMasters))
	fs.IntVar(&e.queueShards, "queue-shards", 0, "queue.shards: the queue spread over that many asynq queues (0: 6 with --redis-cluster, else 1)")
}

// shards is the queue.shards of the run.
func (e *envFlags) shards() int {
	switch {
	case e.queueShards > 0:
		return e.queueShards
	case e.redisCluster:
		return 6
	}
	return 1
}

func (e *envFlags) validate() error {
	if e.store != "sqlite" && e.store != "postgres" {
		return usageErr("--store must be sqlite or postgres, got %q", e.store)
	}
	if _, _, err := net.SplitHostPort(e.redisAddr); err != nil {
		return usageErr("--redis must be host:port: %v", err)
	}
	if e.queueShards < 0 || e.queueShards > 64 {
		return usageErr("--queue-shards must be between 1 and 64 (0: the default)")
	}
	return nil
}

// launchOptions tune the generated herald config for one scenario.
type launchOptions struct {
	// MaxInFlight is api.max_in_flight.
	MaxInFlight int
	// BulkMaxInFlight is api.bulk_max_in_flight; 0 keeps Herald's default.
	BulkMaxInFlight int
	// Workers is how many `herald worker` processes run beside `herald serve`
	// on PostgreSQL (SQLite always runs one `herald all`).
	Workers int
	// QueueConcurrency is queue.concurrency; 0 keeps Herald's default.
	QueueConcurrency int
	// Apps, when set, writes the apps' credential files into dir and returns
	// the config sections that declare them.
	Apps func(dir string) (*appsConfig, error)
	// Pprof turns on ops.pprof in every Herald process.
	Pprof bool
	// Delivery, when set, is the config's delivery section (lease,
	// reconcile_after, …); unset keeps Herald's defaults.
	Delivery map[string]any
}

// appsConfig is the part of the generated config that declares apps and how
// to reach their providers.
type appsConfig struct {
	Apps      []map[string]any
	Providers map[string]any
	Security  map[string]any
}

// env is one running herald (plus its workers, if any) with its isolated
// store, Redis prefix and queue; close stops every process and removes
// everything the harness created.
type env struct {
	herald *instance
	// workers are the `herald worker` processes (PostgreSQL only).
	workers []*instance
	// redis is the Redis the processes use (a server or a cluster), with
	// their queue's name and shards; postgresDSN reaches the throw-away
	// schema (empty on SQLite).
	redis       redisTarget
	queueName   string
	queueShards int
	postgresDSN string
	// sqlitePath is the SQLite store (empty on PostgreSQL).
	sqlitePath string
	// bin, cfgPath and dir start further workers (startWorker); started
	// counts the workers started so far.
	bin, cfgPath, dir string
	started           int
	progress          io.Writer
	cleanups          []func(context.Context) error
}

// processes returns every herald process: the API (or all-in-one) first.
func (e *env) processes() []*instance { return append([]*instance{e.herald}, e.workers...) }

// launch builds herald, gives it a fresh store, Redis prefix and queue name
// (on a Redis Cluster of its own with flags.redisCluster), migrates, creates
// an API key with every scope and starts the processes (herald all on SQLite;
// herald serve and opts.Workers herald worker on PostgreSQL). On error
// everything created so far is removed.
func launch(ctx context.Context, flags envFlags, opts launchOptions, progress io.Writer) (_ *env, err error) {
	e := &env{progress: progress, redis: redisTarget{addr: flags.redisAddr}, queueShards: flags.shards()}
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

	if flags.redisCluster {
		fmt.Fprintf(progress, "starting a Redis Cluster of %d masters ...\n", clusterMasters)
		rc, err := startRedisCluster(ctx, clusterMasters)
		if err != nil {
			return nil, err
		}
		e.cleanups = append(e.cleanups, func(context.Context) error { return rc.stop() })
		e.redis = redisTarget{cluster: rc.addrs()}
		fmt.Fprintf(progress, "started the Redis Cluster on %s in %s; queue.shards %d\n", strings.Join(rc.addrs(), " "), rc.dir, e.queueShards)
	}
	if err := pingRedis(ctx, e.redis); err != nil {
		return nil, err
	}
	bin := flags.heraldBin
	if bin == "" {
		fmt.Fprintln(progress, "building herald ...")
		if bin, err = buildHerald(ctx, dir); err != nil {
			return nil, err
		}
	}

	suffix, err := runSuffix(ctx, e.redis, e.queueShards)
	if err != nil {
		return nil, err
	}
	e.queueName = queueNameOf(suffix)
	cfg := heraldConfig{store: flags.store, sqlitePath: filepath.Join(dir, "herald.db"), redis: e.redis,
		redisPrefix: "herald-bench:" + suffix + ":", maxInFlight: opts.MaxInFlight, bulkMaxInFlight: opts.BulkMaxInFlight,
		queueName: e.queueName, queueShards: e.queueShards, queueConcurrency: opts.QueueConcurrency, pprof: opts.Pprof,
		delivery: opts.Delivery}
	e.cleanups = append(e.cleanups, func(ctx context.Context) error {
		rdb := e.redis.client()
		defer rdb.Close()
		return errors.Join(cleanRedisPrefix(ctx, rdb, cfg.redisPrefix), cleanQueue(ctx, rdb, e.queueName, e.queueShards))
	})
	if opts.Apps != nil {
		if cfg.apps, err = opts.Apps(dir); err != nil {
			return nil, err
		}
	}
	role := "all"
	if flags.store == "postgres" {
		role = "serve"
		schema := "bench_" + suffix
		dsn, drop, err := createSchema(ctx, flags.postgresDSN, schema)
		if err != nil {
			return nil, err
		}
		e.cleanups = append(e.cleanups, drop)
		cfg.postgresDSN, e.postgresDSN = dsn, dsn
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
	if flags.store != "postgres" {
		e.sqlitePath = cfg.sqlitePath
		return e, nil
	}
	e.bin, e.cfgPath, e.dir = bin, cfgPath, dir
	for range opts.Workers {
		if _, err := e.startWorker(ctx); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// startWorker starts one more `herald worker` (PostgreSQL) with its ops
// listener on a free port, and adds it to e.workers.
func (e *env) startWorker(ctx context.Context) (*instance, error) {
	ops, err := freeAddr()
	if err != nil {
		return nil, err
	}
	e.started++
	n := e.started
	w := newInstance(e.bin, e.cfgPath, ops, filepath.Join(e.dir, fmt.Sprintf("worker-%d.log", n)))
	w.env = []string{"HERALD_OPS_ADDR=" + ops}
	fmt.Fprintf(e.progress, "starting herald worker %d (ops on %s) ...\n", n, ops)
	e.workers = append(e.workers, w)
	e.cleanups = append(e.cleanups, func(ctx context.Context) error { return w.stop(30 * time.Second) })
	return w, w.start(ctx, "worker")
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
	redis                          redisTarget
	redisPrefix                    string
	addr                           string
	maxInFlight, bulkMaxInFlight   int
	queueName                      string
	queueShards, queueConcurrency  int
	apps                           *appsConfig
	pprof                          bool
	delivery                       map[string]any
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
	api := map[string]any{
		"addr":          c.addr,
		"max_in_flight": c.maxInFlight,
		"rate_limits": map[string]any{
			"users_track": off, "users_track_bulk": off, "users_export": off, "users_identity": off, "default": off,
		},
	}
	if c.bulkMaxInFlight > 0 {
		api["bulk_max_in_flight"] = c.bulkMaxInFlight
	}
	queue := map[string]any{"name": c.queueName}
	if c.queueShards > 1 {
		queue["shards"] = c.queueShards
	}
	if c.queueConcurrency > 0 {
		queue["concurrency"] = c.queueConcurrency
	}
	doc := map[string]any{
		"log":       map[string]any{"level": "warn", "format": "text"},
		"api":       api,
		"store":     store,
		"redis":     c.redisSection(),
		"queue":     queue,
		"lifecycle": map[string]any{"drain_timeout": "10s"},
	}
	if c.delivery != nil {
		doc["delivery"] = c.delivery
	}
	if c.pprof {
		doc["ops"] = map[string]any{"pprof": true}
	}
	if c.apps != nil {
		doc["apps"], doc["providers"], doc["security"] = c.apps.Apps, c.apps.Providers, c.apps.Security
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// redisSection is the config's redis section: addr, or a cluster's
// cluster_addrs.
func (c heraldConfig) redisSection() map[string]any {
	if len(c.redis.cluster) > 0 {
		return map[string]any{"cluster_addrs": c.redis.cluster, "key_prefix": c.redisPrefix}
	}
	return map[string]any{"addr": c.redis.addr, "key_prefix": c.redisPrefix}
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

// analyze runs ANALYZE on the throw-away schema (PostgreSQL), as autovacuum
// eventually would.
func (e *env) analyze(ctx context.Context) error {
	db, err := sql.Open("pgx", e.postgresDSN)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("postgres: analyze: %w", err)
	}
	return nil
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

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// queueNameOf is the queue name of a run with suffix.
func queueNameOf(suffix string) string { return "bench_" + suffix }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
