package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/api"
	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/audiences"
	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/sdkauth"
	"github.com/herald-oss/herald/seal"
	"github.com/herald-oss/herald/store"
)

// newLogger returns the process logger: JSON under systemd (or when asked), text otherwise.
func newLogger(cfg config.Log, w io.Writer, env map[string]string) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.Format
	if format == "auto" {
		format = "text"
		if env["JOURNAL_STREAM"] != "" || env["INVOCATION_ID"] != "" {
			format = "json"
		}
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// readSecret returns a value given inline or in a file (trimmed).
func readSecret(cfg *config.Config, inline, file string) (string, error) {
	if file == "" {
		return inline, nil
	}
	b, err := os.ReadFile(cfg.Path(file))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// openStore opens the configured database.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	o := store.Options{Driver: cfg.Store.Driver, Logger: log,
		SQLitePath: cfg.Path(cfg.Store.SQLite.Path), SQLiteBusyTimeout: cfg.Store.SQLite.BusyTimeout, SQLiteReadConns: cfg.Store.SQLite.ReadConns,
		PostgresMaxConns: cfg.Store.Postgres.MaxConns}
	if cfg.Store.Driver == "postgres" {
		dsn, err := readSecret(cfg, cfg.Store.Postgres.DSN, cfg.Store.Postgres.DSNFile)
		if err != nil {
			return nil, fmt.Errorf("store.postgres.dsn_file: %w", err)
		}
		o.PostgresDSN = dsn
	}
	return store.Open(ctx, o)
}

// redisOptions builds go-redis options from the config.
func redisOptions(cfg *config.Config) (*redis.Options, error) {
	pw, err := readSecret(cfg, cfg.Redis.Password, cfg.Redis.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("redis.password_file: %w", err)
	}
	o := &redis.Options{Addr: cfg.Redis.Addr, Username: cfg.Redis.Username, Password: pw, DB: cfg.Redis.DB,
		DialTimeout: 3 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second}
	if cfg.Redis.TLS {
		o.TLSConfig = tlsConfig()
	}
	return o, nil
}

// redisClient connects to the configured Redis: a Redis Cluster when
// redis.cluster_addrs is set, else the one at redis.addr.
func redisClient(cfg *config.Config) (redis.UniversalClient, error) {
	ro, err := redisOptions(cfg)
	if err != nil {
		return nil, err
	}
	if len(cfg.Redis.ClusterAddrs) == 0 {
		return redis.NewClient(ro), nil
	}
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: cfg.Redis.ClusterAddrs, Username: ro.Username, Password: ro.Password,
		TLSConfig: ro.TLSConfig, DialTimeout: ro.DialTimeout, ReadTimeout: ro.ReadTimeout, WriteTimeout: ro.WriteTimeout}), nil
}

// redisAddrs names the configured Redis for messages.
func redisAddrs(cfg *config.Config) string {
	if len(cfg.Redis.ClusterAddrs) > 0 {
		return "cluster " + strings.Join(cfg.Redis.ClusterAddrs, ",")
	}
	return cfg.Redis.Addr
}

// checkNoEviction refuses a Redis that may evict keys: an evicted queue key
// loses work. On a cluster every master is asked.
func checkNoEviction(ctx context.Context, rdb redis.UniversalClient, log *slog.Logger) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return checkNoEviction(ctx, m, log) })
	}
	res, err := rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		// managed Redis services often refuse CONFIG; say so and go on
		log.Warn("cannot read Redis maxmemory-policy; make sure it is noeviction", "err", err)
		return nil
	}
	if p := res["maxmemory-policy"]; p != "" && p != "noeviction" {
		return fmt.Errorf("redis maxmemory-policy is %q: Herald needs noeviction (an evicted queue key loses work); set it with CONFIG SET maxmemory-policy noeviction and in redis.conf, or set redis.check_noeviction: false to override", p)
	}
	return nil
}

// sealer returns the credential box, or nil when no key is configured.
func sealer(cfg *config.Config) (*seal.Box, error) {
	raw, err := readSecret(cfg, cfg.Security.EncryptionKey, cfg.Security.EncryptionKeyFile)
	if err != nil {
		return nil, fmt.Errorf("security.encryption_key_file: %w", err)
	}
	if raw == "" {
		return nil, nil
	}
	key, err := config.DecodeKey(raw)
	if err != nil {
		return nil, fmt.Errorf("security.encryption_key: %w", err)
	}
	return seal.New(key)
}

// appService builds the app service with the configured sealer.
func appService(cfg *config.Config, st *store.Store) (*profiles.AppService, error) {
	box, err := sealer(cfg)
	if err != nil {
		return nil, err
	}
	if box == nil {
		return profiles.NewAppService(st, nil, nil), nil
	}
	return profiles.NewAppService(st, box, nil), nil
}

// declareApps creates or updates the apps of the config file, reading their
// credential files.
func declareApps(ctx context.Context, cfg *config.Config, apps *profiles.AppService) error {
	var errs []error
	for i, a := range cfg.Apps {
		creds, err := appCredentials(cfg, a)
		var auth *profiles.SDKAuthSettings
		if err == nil {
			auth, err = appSDKAuth(cfg, a)
		}
		if err == nil {
			err = apps.DeclareApp(ctx, profiles.AppDeclaration{ID: a.ID, Name: a.Name, Platform: a.Platform, Credentials: creds, SDKAuth: auth})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("apps[%d] (%s): %w", i, a.ID, err))
		}
	}
	return errors.Join(errs...)
}

// appSDKAuth reads an app's declared SDK authentication key; nil when the app
// declares none.
func appSDKAuth(cfg *config.Config, a config.App) (*profiles.SDKAuthSettings, error) {
	if a.SDKAuth == nil {
		return nil, nil
	}
	in := &profiles.SDKAuthSettings{Mode: sdkauth.Mode(a.SDKAuth.Mode), Algorithm: a.SDKAuth.Algorithm}
	var err error
	if in.Secret, err = readSecret(cfg, "", a.SDKAuth.SecretFile); err != nil {
		return nil, fmt.Errorf("sdk_auth.secret_file: %w", err)
	}
	if a.SDKAuth.PublicKeyFile != "" {
		b, err := os.ReadFile(cfg.Path(a.SDKAuth.PublicKeyFile))
		if err != nil {
			return nil, fmt.Errorf("sdk_auth.public_key_file: %w", err)
		}
		in.PublicKey = string(b)
	}
	return in, nil
}

func appCredentials(cfg *config.Config, a config.App) (*profiles.Credentials, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(cfg.Path(name)) }
	switch {
	case a.APNs != nil:
		c := &profiles.APNsCredentials{KeyID: a.APNs.KeyID, TeamID: a.APNs.TeamID, Topic: a.APNs.Topic,
			Environment: a.APNs.Environment, Host: a.APNs.Host}
		if a.APNs.KeyFile != "" {
			b, err := read(a.APNs.KeyFile)
			if err != nil {
				return nil, err
			}
			c.KeyP8 = string(b)
		}
		if a.APNs.CertificateFile != "" {
			b, err := read(a.APNs.CertificateFile)
			if err != nil {
				return nil, err
			}
			if strings.Contains(string(b), "-----BEGIN") {
				c.CertificatePEM = string(b)
			} else {
				c.CertificateP12 = b
			}
			if a.APNs.CertificatePasswordFile != "" {
				pw, err := readSecret(cfg, "", a.APNs.CertificatePasswordFile)
				if err != nil {
					return nil, err
				}
				c.CertificatePassword = pw
			}
		}
		return &profiles.Credentials{APNs: c}, nil
	case a.FCM != nil:
		b, err := read(a.FCM.ServiceAccountFile)
		if err != nil {
			return nil, err
		}
		return &profiles.Credentials{FCM: &profiles.FCMCredentials{ServiceAccountJSON: b, ProjectID: a.FCM.ProjectID, Endpoint: a.FCM.Endpoint}}, nil
	case a.WebPush != nil:
		priv, err := readSecret(cfg, "", a.WebPush.VAPIDPrivateKeyFile)
		if err != nil {
			return nil, err
		}
		return &profiles.Credentials{WebPush: &profiles.WebPushCredentials{VAPIDPublicKey: a.WebPush.VAPIDPublicKey,
			VAPIDPrivateKey: priv, Subject: a.WebPush.Subject}}, nil
	}
	return nil, nil
}

// node is the set of components one Herald process runs.
type node struct {
	cfg       *config.Config
	log       *slog.Logger
	store     *store.Store
	rdb       redis.UniversalClient
	queue     *queue.Client // enqueues to the configured queue
	registry  *prometheus.Registry
	profiles  *profiles.Service
	apps      *profiles.AppService
	keys      *apikeys.Verifier
	api       *api.Server
	senders   *senders
	segments  *audiences.Service
	exports   *audiences.Exporter
	campaigns *campaigns.Service
	pipeline  *campaigns.Pipeline
	inapp     *campaigns.InApp
	caps      []campaigns.CapRule // frequency_capping
	zone      *time.Location      // scheduler.time_zone: the company zone
}

// buildNode opens the store and Redis and wires the services and the API.
func buildNode(ctx context.Context, cfg *config.Config, log *slog.Logger, checkEviction bool) (*node, error) {
	n := &node{cfg: cfg, log: log}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	n.store = st
	if cfg.Store.AutoMigrate {
		applied, err := st.Migrate(ctx)
		if err != nil {
			n.close()
			return nil, err
		}
		for _, m := range applied {
			log.Info("applied migration", "migration", m)
		}
	} else if pending, err := st.MigrationsPending(ctx); err != nil {
		n.close()
		return nil, err
	} else if pending {
		n.close()
		return nil, errors.New("the database has pending migrations: run `herald migrate` first (or set store.auto_migrate: true)")
	}
	if n.rdb, err = redisClient(cfg); err != nil {
		n.close()
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.rdb.Ping(pctx).Err(); err != nil {
		n.close()
		return nil, fmt.Errorf("connect to Redis at %s: %w", redisAddrs(cfg), err)
	}
	if checkEviction && cfg.Redis.CheckNoEviction {
		if err := checkNoEviction(pctx, n.rdb, log); err != nil {
			n.close()
			return nil, err
		}
	}
	n.queue = queue.NewClient(n.rdb, queue.ClientOptions{Queue: cfg.Queue.Name, Shards: cfg.Queue.Shards, Retention: cfg.Queue.Retention,
		Timeout: cfg.Delivery.Lease / 2})
	n.apps, err = appService(cfg, st)
	if err != nil {
		n.close()
		return nil, err
	}
	if err := declareApps(ctx, cfg, n.apps); err != nil {
		n.close()
		return nil, err
	}
	n.registry = prometheus.NewRegistry()
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	writers := cfg.Ingest.Writers
	if cfg.Store.Driver == "sqlite" {
		writers = 1 // SQLite has one writer; more would only contend for its lock
	}
	zone, err := time.LoadLocation(cfg.Scheduler.TimeZone) // validated with the config
	if err != nil {
		n.close()
		return nil, fmt.Errorf("scheduler.time_zone: %w", err)
	}
	n.zone = zone
	// Custom events trigger action-based campaigns in their own transaction.
	triggers := campaigns.NewTriggers(st, campaigns.TriggerOptions{DefaultZone: zone, Logger: log})
	n.profiles = profiles.NewService(st, profiles.Options{
		Limits:  profiles.Limits{MaxObjects: cfg.Ingest.MaxObjects, MaxArrayLength: cfg.Ingest.MaxArrayLength},
		Writers: writers, MaxGroupObjects: cfg.Ingest.MaxGroupObjects,
		CheckEndpoint: webPolicy(cfg).Check, OnEvents: triggers.OnEvents, OnSessions: triggers.OnSessions})
	if n.senders, err = newSenders(cfg, n.apps, log, n.registry); err != nil {
		n.close()
		return nil, err
	}
	n.segments = audiences.NewService(st, audiences.Options{})
	n.exports, err = audiences.NewExporter(n.segments, n.profiles, audiences.ExporterOptions{
		Dir: cfg.Path(cfg.Exports.Dir), RowsPerFile: cfg.Exports.RowsPerFile, Logger: log})
	if err != nil {
		n.close()
		return nil, err
	}
	if err := n.buildCampaigns(); err != nil {
		n.close()
		return nil, err
	}
	n.keys = apikeys.NewVerifier(st, cfg.API.KeyCacheTTL, nil)
	rl := cfg.API.RateLimits
	lim := func(l config.Limit) api.Limit { return api.Limit{Requests: l.Requests, Window: l.Window} }
	// /sdk/v1/data hands the SDK's engagement to the campaign service when it
	// records engagement (without it, engagement items are refused one by one).
	engagement, _ := any(n.campaigns).(api.EngagementRecorder)
	n.api = api.New(api.Deps{
		Profiles: n.profiles, Apps: n.apps, Keys: n.keys, Audiences: n.segments, Exports: n.exports,
		Campaigns: n.campaigns, CampaignUsers: campaignUsers{n}, Engagement: engagement, InApp: n.inapp,
		Limiter: api.NewLimiter(n.rdb, cfg.Redis.KeyPrefix, nil, log),
		Ready:   n.ready, Logger: log, Registry: n.registry,
		Metrics: promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{Registry: n.registry}),
	}, api.Options{
		MaxBodyBytes: cfg.API.MaxBodyBytes, MaxInFlight: cfg.API.MaxInFlight, BulkMaxInFlight: cfg.API.BulkMaxInFlight,
		Limits: api.Limits{UsersTrack: lim(rl.UsersTrack), UsersTrackBulk: lim(rl.UsersTrackBulk),
			UsersExport: lim(rl.UsersExport), UsersIdentity: lim(rl.UsersIdentity), Default: lim(rl.Default)},
	})
	return n, nil
}

// ready reports whether the store and Redis are reachable and migrations current.
func (n *node) ready(ctx context.Context) error {
	if err := n.store.Ping(ctx); err != nil {
		return &api.NotReady{Reason: "store unreachable", Err: err}
	}
	if pending, err := n.store.MigrationsPending(ctx); err != nil {
		return &api.NotReady{Reason: "store unreachable", Err: err}
	} else if pending {
		return &api.NotReady{Reason: "migrations pending", Err: errors.New("run herald migrate")}
	}
	if err := n.rdb.Ping(ctx).Err(); err != nil {
		return &api.NotReady{Reason: "redis unreachable", Err: err}
	}
	return nil
}

func (n *node) close() {
	if n.senders != nil {
		n.senders.Close()
	}
	if n.rdb != nil {
		_ = n.rdb.Close()
	}
	if n.store != nil {
		_ = n.store.Close()
	}
}

// defaultLog is the logging config of commands that run without a config file.
func defaultLog() config.Log { return config.Default().Log }
