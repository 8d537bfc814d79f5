package config

import (
	"time"
)

// Config is the root of the configuration tree. Field comments state the default.
type Config struct {
	Log       Log       `yaml:"log"`
	API       API       `yaml:"api"`
	Store     Store     `yaml:"store"`
	Redis     Redis     `yaml:"redis"`
	Security  Security  `yaml:"security"`
	Lifecycle Lifecycle `yaml:"lifecycle"`
	Ingest    Ingest    `yaml:"ingest"`
	Providers Providers `yaml:"providers"`
	Templates Templates `yaml:"templates"`
	Exports   Exports   `yaml:"exports"`
	// ExportStream posts every engagement and behaviour event to HTTP
	// connectors (docs/export-stream.md). Default: no connectors.
	ExportStream ExportStream `yaml:"export_stream"`
	Queue        Queue        `yaml:"queue"`
	Delivery     Delivery     `yaml:"delivery"`
	Scheduler    Scheduler    `yaml:"scheduler"`
	SDK          SDK          `yaml:"sdk"`
	// FrequencyCapping rules hold for every campaign that does not override
	// them (override_frequency_capping). Default: none.
	FrequencyCapping []FrequencyCap `yaml:"frequency_capping"`
	Ops              Ops            `yaml:"ops"`
	// Apps declared here are created or updated in the store at start-up. Default: none.
	Apps []App `yaml:"apps"`

	// dir is the directory of the file the config was loaded from; relative file
	// paths inside the config are resolved against it. file and lines locate each
	// key path in that file, so validation problems can name the line; env maps a
	// key path set by an environment override to its variable, which then names it.
	dir   string
	file  string
	lines map[string]int
	env   map[string]string
}

// Log configures structured logging.
type Log struct {
	// Level is debug, info, warn or error. Default: info.
	Level string `yaml:"level"`
	// Format is auto, json or text. auto means json when started by systemd
	// (JOURNAL_STREAM or INVOCATION_ID set) and text otherwise. Default: auto.
	Format string `yaml:"format"`
}

// API configures the HTTP server.
type API struct {
	// Addr is the listen address. Default: 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// TLSCertFile and TLSKeyFile make the server terminate TLS itself. Default: none
	// (plain HTTP, e.g. behind a reverse proxy).
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// ReadHeaderTimeout default: 5s. ReadTimeout default: 30s. WriteTimeout default:
	// 60s. IdleTimeout default: 120s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// MaxBodyBytes caps every request body; larger bodies get 413. Default: 4194304 (4 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxInFlight caps concurrently served requests on the live lane; past it the
	// server answers 503 with Retry-After. Default: 256.
	MaxInFlight int `yaml:"max_in_flight"`
	// BulkMaxInFlight caps concurrently served bulk requests (X-Braze-Bulk: true),
	// so backfills never starve live traffic. Default: 2.
	BulkMaxInFlight int `yaml:"bulk_max_in_flight"`
	// RateLimits are per API key, shared by every API node through Redis.
	RateLimits RateLimits `yaml:"rate_limits"`
	// KeyCacheTTL is how long a verified API key is cached in memory (a revoked key
	// stops working within this time). Default: 10s.
	KeyCacheTTL time.Duration `yaml:"key_cache_ttl"`
}

// RateLimits holds one limit per endpoint class. Defaults follow Braze's documented limits.
type RateLimits struct {
	// UsersTrack: /users/track. Default: 3000 requests per 3s.
	UsersTrack Limit `yaml:"users_track"`
	// UsersTrackBulk: /users/track with X-Braze-Bulk: true. Default: 150 requests per 3s.
	UsersTrackBulk Limit `yaml:"users_track_bulk"`
	// UsersExport: /users/export/*. Default: 2500 requests per 1m.
	UsersExport Limit `yaml:"users_export"`
	// UsersIdentity: /users/delete, /users/alias/new, /users/identify. Default: 20000 per 1m.
	UsersIdentity Limit `yaml:"users_identity"`
	// Default: every other endpoint. Default: 250000 requests per 1h.
	Default Limit `yaml:"default"`
}

// Limit is a number of requests per window; Requests 0 disables the limit.
type Limit struct {
	Requests int           `yaml:"requests"`
	Window   time.Duration `yaml:"window"`
}

// Store selects and configures the database.
type Store struct {
	// Driver is sqlite (embedded, one process) or postgres. Default: sqlite.
	Driver   string   `yaml:"driver"`
	SQLite   SQLite   `yaml:"sqlite"`
	Postgres Postgres `yaml:"postgres"`
	// AutoMigrate applies pending migrations at start-up. Default: false (run
	// `herald migrate`); herald dev always migrates.
	AutoMigrate bool `yaml:"auto_migrate"`
}

// SQLite configures the embedded database.
type SQLite struct {
	// Path of the database file. Default: ./herald-data/herald.db.
	Path string `yaml:"path"`
	// BusyTimeout is how long a writer waits for the lock. Default: 5s.
	BusyTimeout time.Duration `yaml:"busy_timeout"`
	// ReadConns is the number of reader connections. Default: 4.
	ReadConns int `yaml:"read_conns"`
}

// Postgres configures the production database.
type Postgres struct {
	// DSN is a libpq URL or key=value string. DSNFile reads it from a file instead.
	// Default: none (required when driver is postgres).
	DSN     string `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
	// MaxConns caps the connection pool. Default: 16.
	MaxConns int `yaml:"max_conns"`
}

// Redis configures the Redis server used for the queue and shared rate limits.
type Redis struct {
	// Addr is host:port. Default: 127.0.0.1:6379.
	Addr string `yaml:"addr"`
	// ClusterAddrs, when set, are host:port seeds of a Redis Cluster, used
	// instead of Addr (db must be 0); set queue.shards so the queue uses
	// every master. Default: none.
	ClusterAddrs []string `yaml:"cluster_addrs"`
	Username     string   `yaml:"username"`
	// Password or PasswordFile. Default: none.
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// DB is the database number. Default: 0.
	DB int `yaml:"db"`
	// TLS connects with TLS. Default: false.
	TLS bool `yaml:"tls"`
	// KeyPrefix prefixes every key Herald itself writes (not asynq's). Default: herald:.
	KeyPrefix string `yaml:"key_prefix"`
	// CheckNoEviction refuses to start unless Redis runs with maxmemory-policy
	// noeviction (evicted queue keys lose work). Default: true.
	CheckNoEviction bool `yaml:"check_noeviction"`
}

// Security holds the key that encrypts provider credentials at rest.
type Security struct {
	// EncryptionKey is 32 bytes, base64 (std or url) encoded; EncryptionKeyFile reads
	// it from a file. Required as soon as any app has credentials. Default: none.
	EncryptionKey     string `yaml:"encryption_key"`
	EncryptionKeyFile string `yaml:"encryption_key_file"`
}

// Lifecycle configures start and stop.
type Lifecycle struct {
	// DrainTimeout is how long SIGTERM waits for in-flight work before a hard stop.
	// Default: 25s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// Ingest configures user data ingestion limits.
type Ingest struct {
	// MaxObjects caps each of attributes, events and purchases in one /users/track
	// request. Default: 75.
	MaxObjects int `yaml:"max_objects"`
	// MaxArrayLength caps array custom attributes; `add` past it drops the oldest
	// elements. Default: 25.
	MaxArrayLength int `yaml:"max_array_length"`
	// Writers is the number of transactions applying /users/track at once on
	// PostgreSQL; requests arriving while a writer is busy join its next
	// transaction (group commit). SQLite always uses one. Default: 4.
	Writers int `yaml:"writers"`
	// MaxGroupObjects caps the objects one group-commit transaction applies.
	// Default: 1500.
	MaxGroupObjects int `yaml:"max_group_objects"`
}

// Exports configures segment exports (/users/export/segment), written by the
// API process in the background.
type Exports struct {
	// Dir holds the export files, one directory per export, relative to the
	// config file's directory. With several API nodes, share it between them
	// (or read an export's files on the node that wrote them).
	// Default: ./herald-data/exports.
	Dir string `yaml:"dir"`
	// RowsPerFile caps the users in one gzipped NDJSON file. Default: 100000.
	RowsPerFile int `yaml:"rows_per_file"`
}

// ExportStream configures the event export stream, run by the worker role.
type ExportStream struct {
	// Connectors each receive every event. Default: none.
	Connectors []StreamConnector `yaml:"connectors"`
}

// StreamConnector is one HTTP receiver of the export stream.
type StreamConnector struct {
	// Name identifies the connector (its cursor and metrics label): 1-64
	// letters, digits, '.', '_' or '-', unique. Required.
	Name string `yaml:"name"`
	// URL receives the NDJSON batches (POST), http or https. Required.
	URL string `yaml:"url"`
	// Token is sent as "Authorization: Bearer <token>"; or TokenFile, a file
	// holding it. One of them is required.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// BatchSize caps the events in one batch (1 to 10000; 0 means the
	// default). Default: 500.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is how often a partial batch is sent (100ms to 1h; 0
	// means the default).
	// Default: 5s.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// Queue configures the task queue (asynq on Redis) the API enqueues to and
// workers run.
type Queue struct {
	// Name of the queue; every process of one deployment uses the same one.
	// Deployments sharing one Redis need different names (the queue's keys are
	// asynq:{name}:…, not under redis.key_prefix). Default: herald.
	Name string `yaml:"name"`
	// Concurrency is how many tasks one worker process runs at once.
	// Default: 20.
	Concurrency int `yaml:"concurrency"`
	// Shards spreads the queue's tasks over that many asynq queues (name,
	// name-1, …), each on its own Redis Cluster hash slot, so a cluster's
	// masters share the queue; every process of a deployment uses the same
	// number. 1 to 64. Default: 1.
	Shards int `yaml:"shards"`
	// ShutdownTimeout is how long a stopping worker waits for its running
	// tasks; those still running then go back to the queue. Capped at
	// lifecycle.drain_timeout, which bounds the whole stop. Default: 20s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Retention is how long a completed task is remembered, so that enqueueing
	// the same dispatch or page again is a no-op. Default: 24h.
	Retention time.Duration `yaml:"retention"`
}

// Delivery configures the delivery pipeline.
type Delivery struct {
	// Lease is how long a worker holds a claimed message before another may
	// send it again (with the same collapse id): the longest a page may take.
	// A deliver task times out at half of it. Default: 5m.
	Lease time.Duration `yaml:"lease"`
	// MaxAttempts is how many times a message is tried before it is recorded
	// as failed (exhausted_retries). Default: 10.
	MaxAttempts int `yaml:"max_attempts"`
	// ReconcileAfter is how long a page may stay unfinished before a worker
	// enqueues it again (a task lost by Redis). Default: 2m.
	ReconcileAfter time.Duration `yaml:"reconcile_after"`
	// LedgerRetention is how long the ledger rows of finished dispatches are
	// kept. Default: 720h.
	LedgerRetention time.Duration `yaml:"ledger_retention"`
}

// Scheduler configures the scheduler role: scheduled, recurring and
// action-based campaigns.
type Scheduler struct {
	// Tick is how often the scheduler looks for due sends. Default: 1s.
	Tick time.Duration `yaml:"tick"`
	// Grace is how late a missed recurring occurrence still fires after
	// downtime; older ones are logged as skipped. Default: 1h.
	Grace time.Duration `yaml:"grace"`
	// TimeZone is the company time zone (IANA name): it places users without
	// a time zone of their own ("next day at 09:00" delays). Default: UTC.
	TimeZone string `yaml:"time_zone"`
}

// SDK configures what the SDK endpoints tell and give the app SDKs.
type SDK struct {
	// InAppMinInterval is the shortest time between two in-app messages an
	// SDK shows (sent to it as configuration). Default: 30s.
	InAppMinInterval time.Duration `yaml:"in_app_min_interval"`
}

// FrequencyCap is a global frequency capping rule: at most Limit push
// messages on Channel per Window. Content cards are exempt.
type FrequencyCap struct {
	// Channel is any (every push channel), push (the same), apple_push,
	// android_push or web_push.
	Channel string `yaml:"channel"`
	Limit   int    `yaml:"limit"`
	// Window is N minutes or hours ("30m", "12h": rolling) or N days or
	// weeks ("1d", "2w": calendar days in the user's time zone).
	Window string `yaml:"window"`
}

// Ops configures the health and metrics listener of the worker and scheduler
// roles.
type Ops struct {
	// Addr is where herald worker and herald scheduler serve /healthz, /readyz
	// and /metrics (the API role serves them on api.addr; herald all and herald
	// dev on api.addr only). Empty: no listener. Default: 127.0.0.1:9091.
	Addr string `yaml:"addr"`
	// Pprof serves Go's profiler at /debug/pprof/ on the ops listener, and on
	// api.addr for herald serve, all and dev. For diagnosis only: the
	// profiles show internals and cost CPU; never on a public address.
	// Default: false.
	Pprof bool `yaml:"pprof"`
}

// Templates configures Liquid rendering.
type Templates struct {
	ConnectedContent ConnectedContent `yaml:"connected_content"`
}

// ConnectedContent configures {% connected_content %}: the hosts templates may
// call (outside input reaches them through template variables, so the list is
// closed by default).
type ConnectedContent struct {
	// AllowedHosts are the hosts templates may call ("*.example.com" matches
	// subdomains), on ports 80 and 443. Default: none (connected content
	// renders empty and is logged).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AllowLoopback also allows loopback hosts on any port (tests, dev).
	// Default: false.
	AllowLoopback bool `yaml:"allow_loopback"`
	// Timeout bounds one call. Default: 2s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBodyBytes caps a response. Default: 1048576 (1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// CacheMaxAge is how long a GET response is reused unless the tag sets
	// :cache_max_age or :no_cache. Default: 5m (at most 4h).
	CacheMaxAge time.Duration `yaml:"cache_max_age"`
	// BasicAuth lists the credentials a tag names with :basic_auth NAME.
	// Default: none.
	BasicAuth []BasicAuth `yaml:"basic_auth"`
}

// BasicAuth is a named HTTP basic-auth credential for connected content.
type BasicAuth struct {
	Name         string `yaml:"name"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
}

// Providers configures the connections to APNs, FCM and Web Push services.
type Providers struct {
	// CAFile holds extra PEM CA certificates trusted for provider connections
	// (fake providers, TLS-intercepting proxies). Default: none (system roots).
	CAFile string `yaml:"ca_file"`
	// Pause is how long an app's channel stays paused after its provider refused
	// Herald's credentials or environment. Default: 5m.
	Pause   time.Duration  `yaml:"pause"`
	APNs    ProviderLimits `yaml:"apns"`
	FCM     ProviderLimits `yaml:"fcm"`
	WebPush WebPushLimits  `yaml:"webpush"`
	Webhook WebhookLimits  `yaml:"webhook"`
}

// WebhookLimits configures the webhook channel's requests.
type WebhookLimits struct {
	// Timeout bounds one request. Default: 15s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxInFlight caps concurrent webhook requests per worker. Default: 64.
	MaxInFlight int `yaml:"max_in_flight"`
	// AllowPrivate lets a rendered webhook URL reach loopback, private and
	// link-local addresses (receivers on the local network, herald dev,
	// tests). Default: false.
	AllowPrivate bool `yaml:"allow_private"`
}

// ProviderLimits bound one provider's connections.
type ProviderLimits struct {
	// MaxInFlight caps concurrent requests per app. Default: 256 (APNs), 500 (FCM).
	MaxInFlight int `yaml:"max_in_flight"`
	// Timeout bounds one request. Default: 15s.
	Timeout time.Duration `yaml:"timeout"`
}

// WebPushLimits configures Web Push connections and the push services Herald
// may contact (a subscription endpoint comes from a browser: outside input).
type WebPushLimits struct {
	// MaxInFlight caps concurrent requests per app. Default: 256.
	MaxInFlight int `yaml:"max_in_flight"`
	// Timeout bounds one request. Default: 15s.
	Timeout time.Duration `yaml:"timeout"`
	// AllowedHosts are the push service hosts subscriptions may point at (https
	// only); "*.example.com" matches subdomains. Default: the major browsers'
	// push services.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AllowLoopback also accepts loopback endpoints (http or https): for herald
	// dev, herald fakes and tests. Default: false.
	AllowLoopback bool `yaml:"allow_loopback"`
	// DefaultTTL is the TTL of a message that sets none. Default: 672h (4 weeks).
	DefaultTTL time.Duration `yaml:"default_ttl"`
}

// App declares an app and the provider credentials used for its tokens. Credential
// values are file paths, resolved relative to the config file.
type App struct {
	// ID is the app identifier used in push_tokens and events. Required.
	ID string `yaml:"id"`
	// Name defaults to the ID.
	Name string `yaml:"name"`
	// Platform is ios, android or web. Required.
	Platform string   `yaml:"platform"`
	APNs     *APNs    `yaml:"apns"`
	FCM      *FCM     `yaml:"fcm"`
	WebPush  *WebPush `yaml:"webpush"`
	// SDKAuth declares the app's SDK authentication (docs/sdk-auth.md).
	// Default: none, and the settings made through the API are kept.
	SDKAuth *SDKAuth `yaml:"sdk_auth"`
}

// SDKAuth is an app's SDK authentication: SDK requests carry a JWT naming the
// user, signed by the customer's backend with the HS256 secret or the RSA key
// whose public half is given here.
type SDKAuth struct {
	// Mode is disabled, optional (a token sent must be valid and for the
	// request's user) or required (every request for an identified user
	// carries one). Required.
	Mode string `yaml:"mode"`
	// Algorithm is HS256 (with SecretFile) or RS256 (with PublicKeyFile).
	// Required unless Mode is disabled.
	Algorithm string `yaml:"algorithm"`
	// SecretFile holds the HS256 shared secret, at least 32 bytes (surrounding
	// whitespace is trimmed); it is sealed with the encryption key. Default: none.
	SecretFile string `yaml:"secret_file"`
	// PublicKeyFile holds the RS256 public key in PEM. Default: none.
	PublicKeyFile string `yaml:"public_key_file"`
}

// APNs credentials: either token auth (KeyFile, KeyID, TeamID) or certificate auth
// (CertificateFile, optional CertificatePasswordFile).
type APNs struct {
	KeyFile                 string `yaml:"key_file"`
	KeyID                   string `yaml:"key_id"`
	TeamID                  string `yaml:"team_id"`
	CertificateFile         string `yaml:"certificate_file"`
	CertificatePasswordFile string `yaml:"certificate_password_file"`
	// Topic is the app's bundle id. Required.
	Topic string `yaml:"topic"`
	// Environment is production or sandbox. Default: production.
	Environment string `yaml:"environment"`
	// Host overrides the APNs host (tests, proxies). Default: none.
	Host string `yaml:"host"`
}

// FCM credentials: a Google service-account JSON file.
type FCM struct {
	ServiceAccountFile string `yaml:"service_account_file"`
	// ProjectID defaults to the service account's project_id.
	ProjectID string `yaml:"project_id"`
	// Endpoint overrides the FCM endpoint (tests, proxies). Default: none.
	Endpoint string `yaml:"endpoint"`
}

// WebPush credentials: a VAPID key pair and the subject (bare e-mail or https URL).
type WebPush struct {
	VAPIDPublicKey      string `yaml:"vapid_public_key"`
	VAPIDPrivateKeyFile string `yaml:"vapid_private_key_file"`
	Subject             string `yaml:"subject"`
}

// Default returns a Config with every field at its documented default.
func Default() Config {
	return Config{
		Log: Log{Level: "info", Format: "auto"},
		API: API{
			Addr:              "127.0.0.1:8080",
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxBodyBytes:      4 << 20,
			MaxInFlight:       256,
			BulkMaxInFlight:   2,
			KeyCacheTTL:       10 * time.Second,
			RateLimits: RateLimits{
				UsersTrack:     Limit{Requests: 3000, Window: 3 * time.Second},
				UsersTrackBulk: Limit{Requests: 150, Window: 3 * time.Second},
				UsersExport:    Limit{Requests: 2500, Window: time.Minute},
				UsersIdentity:  Limit{Requests: 20000, Window: time.Minute},
				Default:        Limit{Requests: 250000, Window: time.Hour},
			},
		},
		Store: Store{
			Driver:   "sqlite",
			SQLite:   SQLite{Path: "./herald-data/herald.db", BusyTimeout: 5 * time.Second, ReadConns: 4},
			Postgres: Postgres{MaxConns: 16},
		},
		Redis:     Redis{Addr: "127.0.0.1:6379", KeyPrefix: "herald:", CheckNoEviction: true},
		Lifecycle: Lifecycle{DrainTimeout: 25 * time.Second},
		Ingest:    Ingest{MaxObjects: 75, MaxArrayLength: 25, Writers: 4, MaxGroupObjects: 1500},
		Exports:   Exports{Dir: "./herald-data/exports", RowsPerFile: 100000},
		Queue:     Queue{Name: "herald", Concurrency: 20, Shards: 1, ShutdownTimeout: 20 * time.Second, Retention: 24 * time.Hour},
		Delivery:  Delivery{Lease: 5 * time.Minute, MaxAttempts: 10, ReconcileAfter: 2 * time.Minute, LedgerRetention: 30 * 24 * time.Hour},
		Scheduler: Scheduler{Tick: time.Second, Grace: time.Hour, TimeZone: "UTC"},
		SDK:       SDK{InAppMinInterval: 30 * time.Second},
		Ops:       Ops{Addr: "127.0.0.1:9091"},
		Templates: Templates{ConnectedContent: ConnectedContent{Timeout: 2 * time.Second, MaxBodyBytes: 1 << 20, CacheMaxAge: 5 * time.Minute}},
		Providers: Providers{
			Pause: 5 * time.Minute,
			APNs:  ProviderLimits{MaxInFlight: 256, Timeout: 15 * time.Second},
			FCM:   ProviderLimits{MaxInFlight: 500, Timeout: 15 * time.Second},
			WebPush: WebPushLimits{MaxInFlight: 256, Timeout: 15 * time.Second, DefaultTTL: 672 * time.Hour,
				AllowedHosts: DefaultPushHosts()},
			Webhook: WebhookLimits{MaxInFlight: 64, Timeout: 15 * time.Second},
		},
	}
}

// Dir is the directory relative paths in the config are resolved against.
func (c *Config) Dir() string { return c.dir }

// SetDir sets the directory relative paths are resolved against.
func (c *Config) SetDir(dir string) { c.dir = dir }

// DefaultPushHosts are the browsers' push services: Chrome and Edge (FCM),
// Firefox (Mozilla autopush), Windows (WNS) and Safari (Apple).
func DefaultPushHosts() []string {
	return []string{"fcm.googleapis.com", "updates.push.services.mozilla.com", "*.push.services.mozilla.com",
		"*.notify.windows.com", "web.push.apple.com", "*.push.apple.com"}
}
