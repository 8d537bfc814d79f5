package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// public returns c without its unexported bookkeeping, for comparisons.
func public(c Config) Config {
	c.dir, c.file, c.lines, c.env = "", "", nil, nil
	return c
}

func TestDefaultValidates(t *testing.T) {
	t.Parallel()
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Default().Validate():\n%v", err)
	}
	loaded, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load without a file: %v", err)
	}
	if err := loaded.Validate(); err != nil {
		t.Fatalf("Load without a file, Validate:\n%v", err)
	}
	if !reflect.DeepEqual(public(loaded), Default()) {
		t.Errorf("Load without a file or env = %+v, want the defaults", public(loaded))
	}
}

func TestLoadFull(t *testing.T) {
	t.Parallel()
	cfg, err := Load("testdata/valid/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Log: Log{Level: "debug", Format: "json"},
		API: API{
			Addr: "0.0.0.0:9443", TLSCertFile: "../secrets/tls.crt", TLSKeyFile: "../secrets/tls.key",
			ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 15 * time.Second,
			WriteTimeout: time.Minute, IdleTimeout: 3 * time.Minute,
			MaxBodyBytes: 1 << 20, MaxInFlight: 512, BulkMaxInFlight: 4, KeyCacheTTL: 30 * time.Second,
			RateLimits: RateLimits{
				UsersTrack:     Limit{Requests: 6000, Window: 3 * time.Second},
				UsersTrackBulk: Limit{Requests: 300, Window: 3 * time.Second},
				UsersExport:    Limit{Requests: 1000, Window: time.Minute},
				UsersIdentity:  Limit{Requests: 5000, Window: time.Minute},
				Default:        Limit{Requests: 0, Window: time.Hour}, // window keeps its default
			},
		},
		Store: Store{
			Driver:      "postgres",
			AutoMigrate: true,
			SQLite:      SQLite{Path: "/var/lib/herald/herald.db", BusyTimeout: 10 * time.Second, ReadConns: 8},
			Postgres:    Postgres{DSN: "postgres://herald@db.internal:5432/herald?sslmode=verify-full", MaxConns: 32},
		},
		Redis: Redis{
			Addr: "redis.internal:6380", Username: "herald", PasswordFile: "../secrets/redis.password",
			DB: 3, TLS: true, KeyPrefix: "herald-prod:", CheckNoEviction: false,
		},
		Security:         Security{EncryptionKeyFile: "../secrets/encryption.key"},
		Lifecycle:        Lifecycle{DrainTimeout: 40 * time.Second},
		Ingest:           Ingest{MaxObjects: 100, MaxArrayLength: 50, Writers: 8, MaxGroupObjects: 3000},
		Providers:        Default().Providers,
		Templates:        Default().Templates,
		Exports:          Exports{Dir: "/var/lib/herald/exports", RowsPerFile: 50000},
		Queue:            Queue{Name: "herald-prod", Concurrency: 100, Shards: 1, ShutdownTimeout: 30 * time.Second, Retention: 72 * time.Hour},
		Delivery:         Delivery{Lease: 5 * time.Minute, MaxAttempts: 10, ReconcileAfter: 2 * time.Minute, LedgerRetention: 30 * 24 * time.Hour},
		Scheduler:        Scheduler{Tick: 2 * time.Second, Grace: 30 * time.Minute, TimeZone: "America/New_York"},
		SDK:              SDK{InAppMinInterval: 45 * time.Second},
		FrequencyCapping: []FrequencyCap{{Channel: "any", Limit: 3, Window: "1d"}, {Channel: "web_push", Limit: 1, Window: "12h"}},
		Ops:              Ops{Addr: "0.0.0.0:9100", Pprof: true},
		Apps: []App{
			{ID: "ios-main", Name: "Example iOS", Platform: "ios", APNs: &APNs{
				KeyFile: "../secrets/AuthKey_ABC123DEFG.p8", KeyID: "ABC123DEFG", TeamID: "DEF123GHIJ",
				Topic: "com.example.app", Environment: "sandbox",
			}},
			{ID: "ios-legacy", Platform: "ios", APNs: &APNs{
				CertificateFile: "../secrets/apns.p12", CertificatePasswordFile: "../secrets/apns.password",
				Topic: "com.example.legacy", Host: "https://apns.proxy.internal",
			}},
			{ID: "android-main", Platform: "android", FCM: &FCM{
				ServiceAccountFile: "../secrets/fcm-service-account.json", ProjectID: "example-project",
				Endpoint: "https://fcm.proxy.internal",
			}},
			{ID: "web-main", Platform: "web", WebPush: &WebPush{
				VAPIDPublicKey:      "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
				VAPIDPrivateKeyFile: "../secrets/vapid_private.key", Subject: "ops@example.com",
			}},
		},
	}
	if got := public(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("Load(full.yaml) =\n%+v\nwant\n%+v", got, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate:\n%v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load("testdata/no-such-file.yaml", nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want an error wrapping fs.ErrNotExist", err)
	}
}

// TestDecodeProblem checks the fields of a decoding problem, not only its text.
func TestDecodeProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       Problem
	}{
		{"unknown top-level key", "log:\n  level: info\nloging: {}\n",
			Problem{Path: "loging", File: "herald.yaml", Line: 3, Reason: "unknown key"}},
		{"unknown nested key", "api:\n  addr: 127.0.0.1:80\n  raed_timeout: 10s\n",
			Problem{Path: "api.raed_timeout", File: "herald.yaml", Line: 3, Reason: "unknown key"}},
		{"unknown key in a list item", "apps:\n  - id: a\n    platfrom: ios\n",
			Problem{Path: "apps[0].platfrom", File: "herald.yaml", Line: 3, Reason: "unknown key"}},
		{"duplicate key names the second occurrence", "log:\n  level: info\n  level: debug\n",
			Problem{Path: "log.level", File: "herald.yaml", Line: 3, Reason: "duplicate key"}},
		{"bad duration", "lifecycle:\n  drain_timeout: 5\n",
			Problem{Path: "lifecycle.drain_timeout", File: "herald.yaml", Line: 2, Reason: `invalid duration "5" (use e.g. 500ms, 30s, 5m, 1h)`}},
		{"bad int", "redis:\n  db: one\n",
			Problem{Path: "redis.db", File: "herald.yaml", Line: 2, Reason: `invalid integer "one"`}},
		{"bad int64", "api:\n  max_body_bytes: 4MiB\n",
			Problem{Path: "api.max_body_bytes", File: "herald.yaml", Line: 2, Reason: `invalid integer "4MiB"`}},
		{"bad bool", "redis:\n  tls: yes\n",
			Problem{Path: "redis.tls", File: "herald.yaml", Line: 2, Reason: `invalid boolean "yes" (use true or false)`}},
		{"mapping where a scalar is expected", "store:\n  driver: {name: sqlite}\n",
			Problem{Path: "store.driver", File: "herald.yaml", Line: 2, Reason: "expected a single value, got a mapping"}},
		{"scalar where a mapping is expected", "store:\n  sqlite: herald.db\n",
			Problem{Path: "store.sqlite", File: "herald.yaml", Line: 2, Reason: `expected a mapping, got "herald.db"`}},
		{"mapping where a list is expected", "apps:\n  id: a\n",
			Problem{Path: "apps", File: "herald.yaml", Line: 2, Reason: "expected a list, got a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.yaml), "herald.yaml")
			ps := problems(t, err)
			if len(ps) != 1 {
				t.Fatalf("Parse = %v, want exactly one problem", err)
			}
			if *ps[0] != tt.want {
				t.Errorf("problem = %#v, want %#v", *ps[0], tt.want)
			}
		})
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	t.Parallel()
	const doc = "api:\n  raed_timeout: 1s\n  max_in_flight: many\n  addr: 0.0.0.0:1\nredis:\n  tls: maybe\n"
	cfg, err := Parse([]byte(doc), "herald.yaml")
	want := []string{
		"herald.yaml:2: api.raed_timeout: unknown key",
		`herald.yaml:3: api.max_in_flight: invalid integer "many"`,
		`herald.yaml:6: redis.tls: invalid boolean "maybe" (use true or false)`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Parse error =\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
	if cfg.API.Addr != "0.0.0.0:1" {
		t.Errorf("api.addr = %q: decoding stopped at the first problem", cfg.API.Addr)
	}
}

func TestDecodeEmptyValueKeepsDefault(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte("api:\n  addr:\n  max_in_flight: ~\nredis:\n"), "herald.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(public(cfg), Default()) {
		t.Errorf("empty values changed the defaults: %+v", public(cfg))
	}
}

func TestPath(t *testing.T) {
	t.Parallel()
	cfg, err := Load("testdata/valid/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", cfg.Dir(), dir)
	}
	abs := filepath.Join(string(filepath.Separator), "etc", "herald", "tls.crt")
	tests := []struct{ name, want string }{
		{cfg.API.TLSCertFile, filepath.Join(dir, "..", "secrets", "tls.crt")},
		{"herald.db", filepath.Join(dir, "herald.db")},
		{abs, abs},
		{"", ""},
	}
	for _, tt := range tests {
		if got := cfg.Path(tt.name); got != tt.want {
			t.Errorf("Path(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, err := os.Stat(cfg.Path(cfg.API.TLSCertFile)); err != nil {
		t.Errorf("resolved path does not exist: %v", err)
	}

	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	noFile, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if noFile.Dir() != wd {
		t.Errorf("Load(\"\").Dir() = %q, want the working directory %q", noFile.Dir(), wd)
	}
}

// TestValidateResolvesAgainstConfigDir proves that credential files are looked up
// next to the config file: the same document with another directory fails.
func TestValidateResolvesAgainstConfigDir(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, "full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetDir(dir)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate with the file's directory:\n%v", err)
	}
	cfg.SetDir(t.TempDir())
	err = cfg.Validate()
	// every credential file of full.yaml is now missing
	for _, path := range []string{
		"api.tls_cert_file", "api.tls_key_file", "redis.password_file", "security.encryption_key_file",
		"apps[0].apns.key_file", "apps[1].apns.certificate_file", "apps[1].apns.certificate_password_file",
		"apps[2].fcm.service_account_file", "apps[3].webpush.vapid_private_key_file",
	} {
		if err == nil || !strings.Contains(err.Error(), path+": ") {
			t.Errorf("Validate in another directory: no problem for %s in\n%v", path, err)
		}
	}
}
