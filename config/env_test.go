package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		env  []string
		get  func(Config) any
		want any
	}{
		{"api addr", "", []string{"HERALD_API_ADDR=0.0.0.0:9000"},
			func(c Config) any { return c.API.Addr }, "0.0.0.0:9000"},
		{"postgres dsn", "", []string{"HERALD_STORE_POSTGRES_DSN=postgres://herald:s3cret@db/herald"},
			func(c Config) any { return c.Store.Postgres.DSN }, "postgres://herald:s3cret@db/herald"},
		{"nested rate limit", "", []string{"HERALD_API_RATE_LIMITS_USERS_TRACK_REQUESTS=6000"},
			func(c Config) any { return c.API.RateLimits.UsersTrack }, Limit{Requests: 6000, Window: 3 * time.Second}},
		{"sibling with a longer name is distinct", "", []string{"HERALD_API_RATE_LIMITS_USERS_TRACK_BULK_REQUESTS=7"},
			func(c Config) any {
				return [2]int{c.API.RateLimits.UsersTrack.Requests, c.API.RateLimits.UsersTrackBulk.Requests}
			},
			[2]int{3000, 7}},
		{"duration", "", []string{"HERALD_LIFECYCLE_DRAIN_TIMEOUT=1m30s"},
			func(c Config) any { return c.Lifecycle.DrainTimeout }, 90 * time.Second},
		{"bool", "", []string{"HERALD_REDIS_CHECK_NOEVICTION=false", "HERALD_REDIS_TLS=true"},
			func(c Config) any { return [2]bool{c.Redis.CheckNoEviction, c.Redis.TLS} }, [2]bool{false, true}},
		{"int64", "", []string{"HERALD_API_MAX_BODY_BYTES=1048576"},
			func(c Config) any { return c.API.MaxBodyBytes }, int64(1 << 20)},
		{"env overrides the file", "testdata/valid/full.yaml", []string{"HERALD_LOG_LEVEL=warn"},
			func(c Config) any { return [2]string{c.Log.Level, c.Log.Format} }, [2]string{"warn", "json"}},
		{"last assignment wins", "", []string{"HERALD_REDIS_DB=1", "HERALD_REDIS_DB=2"},
			func(c Config) any { return c.Redis.DB }, 2},
		{"empty value sets an empty string", "testdata/valid/full.yaml", []string{"HERALD_REDIS_USERNAME="},
			func(c Config) any { return c.Redis.Username }, ""},
		{"other variables are ignored", "", []string{"PATH=/bin", "HERALD_NOPE=1", "HERALD_API_ADDR", "api_addr=x"},
			func(c Config) any { return public(c) }, Default()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(tt.file, tt.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadEnvProblems(t *testing.T) {
	t.Parallel()
	env := []string{
		"HERALD_API_READ_TIMEOUT=soon",
		"HERALD_API_MAX_IN_FLIGHT=lots",
		"HERALD_STORE_AUTO_MIGRATE=yes",
		"HERALD_API_ADDR=0.0.0.0:9000", // good ones still apply
	}
	cfg, err := Load("testdata/invalid/decode_bad_int.yaml", env)
	want := []Problem{
		{Path: "api.max_in_flight", File: "testdata/invalid/decode_bad_int.yaml", Line: 3, Reason: `invalid integer "lots"`},
		{Path: "api.read_timeout", File: "$HERALD_API_READ_TIMEOUT", Reason: `invalid duration "soon" (use e.g. 500ms, 30s, 5m, 1h)`},
		{Path: "api.max_in_flight", File: "$HERALD_API_MAX_IN_FLIGHT", Reason: `invalid integer "lots"`},
		{Path: "store.auto_migrate", File: "$HERALD_STORE_AUTO_MIGRATE", Reason: `invalid boolean "yes" (use true or false)`},
	}
	var got []Problem
	for _, p := range problems(t, err) {
		got = append(got, *p)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems =\n%#v\nwant\n%#v", got, want)
	}
	if !strings.Contains(err.Error(), `$HERALD_API_READ_TIMEOUT: api.read_timeout: invalid duration "soon"`) {
		t.Errorf("error text does not name the variable and key path:\n%v", err)
	}
	if cfg.API.Addr != "0.0.0.0:9000" {
		t.Errorf("api.addr = %q, want the valid override applied", cfg.API.Addr)
	}
}

// TestValidateNamesEnvSource: a value from the environment that fails validation is
// reported against its variable, not against the file line it overrode.
func TestValidateNamesEnvSource(t *testing.T) {
	t.Parallel()
	cfg, err := Load("testdata/valid/full.yaml", []string{"HERALD_API_ADDR=nowhere", "HERALD_REDIS_DB=99"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{
		{Path: "api.addr", File: "$HERALD_API_ADDR", Reason: "must be host:port: address nowhere: missing port in address"},
		{Path: "redis.db", File: "$HERALD_REDIS_DB", Reason: "must be between 0 and 15"},
	}
	var got []Problem
	for _, p := range problems(t, cfg.Validate()) {
		got = append(got, *p)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems =\n%#v\nwant\n%#v", got, want)
	}
}

func TestEnvKeys(t *testing.T) {
	t.Parallel()
	keys := EnvKeys()
	for name, path := range map[string]string{
		"HERALD_LOG_LEVEL":                                 "log.level",
		"HERALD_API_ADDR":                                  "api.addr",
		"HERALD_API_TLS_CERT_FILE":                         "api.tls_cert_file",
		"HERALD_API_RATE_LIMITS_USERS_TRACK_REQUESTS":      "api.rate_limits.users_track.requests",
		"HERALD_API_RATE_LIMITS_USERS_TRACK_BULK_WINDOW":   "api.rate_limits.users_track_bulk.window",
		"HERALD_API_RATE_LIMITS_DEFAULT_REQUESTS":          "api.rate_limits.default.requests",
		"HERALD_STORE_DRIVER":                              "store.driver",
		"HERALD_STORE_SQLITE_PATH":                         "store.sqlite.path",
		"HERALD_STORE_POSTGRES_DSN":                        "store.postgres.dsn",
		"HERALD_STORE_POSTGRES_DSN_FILE":                   "store.postgres.dsn_file",
		"HERALD_REDIS_PASSWORD_FILE":                       "redis.password_file",
		"HERALD_REDIS_CHECK_NOEVICTION":                    "redis.check_noeviction",
		"HERALD_SECURITY_ENCRYPTION_KEY":                   "security.encryption_key",
		"HERALD_SECURITY_ENCRYPTION_KEY_FILE":              "security.encryption_key_file",
		"HERALD_LIFECYCLE_DRAIN_TIMEOUT":                   "lifecycle.drain_timeout",
		"HERALD_INGEST_MAX_ARRAY_LENGTH":                   "ingest.max_array_length",
		"HERALD_API_RATE_LIMITS_USERS_IDENTITY_REQUESTS":   "api.rate_limits.users_identity.requests",
		"HERALD_API_RATE_LIMITS_USERS_EXPORT_WINDOW":       "api.rate_limits.users_export.window",
		"HERALD_API_RATE_LIMITS_USERS_TRACK_BULK_REQUESTS": "api.rate_limits.users_track_bulk.requests",
	} {
		if got, ok := keys[name]; !ok || got != path {
			t.Errorf("EnvKeys()[%s] = %q, %v; want %q", name, got, ok, path)
		}
	}
	paths := map[string]string{}
	for name, path := range keys {
		if want := EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_")); name != want {
			t.Errorf("EnvKeys()[%s] = %q: name does not follow the key path (want %s)", name, path, want)
		}
		if strings.HasPrefix(path, "apps") {
			t.Errorf("EnvKeys() lists %s -> %s: apps are file-only", name, path)
		}
		if other, dup := paths[path]; dup {
			t.Errorf("key path %s has two variables, %s and %s", path, name, other)
		}
		paths[path] = name
	}
	for name := range envOnly {
		if _, ok := keys[name]; ok {
			t.Errorf("command variable %s collides with a config key", name)
		}
	}
}

// TestEveryEnvKeyApplies sets each variable to a value of its field's type and
// checks that Load accepts it and that it lands on the named key path.
func TestEveryEnvKeyApplies(t *testing.T) {
	t.Parallel()
	for name, path := range EnvKeys() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			def := Default()
			field := fieldByPath(t, reflect.ValueOf(&def).Elem(), path)
			var val string
			switch {
			case field.Type() == durationType:
				val = "7s"
			case field.Kind() == reflect.String:
				val = "from-env"
			case field.Kind() == reflect.Bool:
				val = "true"
				if field.Bool() {
					val = "false"
				}
			default:
				val = "7"
			}
			cfg, err := Load("", []string{name + "=" + val})
			if err != nil {
				t.Fatalf("Load(%s=%s): %v", name, val, err)
			}
			got := fieldByPath(t, reflect.ValueOf(&cfg).Elem(), path)
			if reflect.DeepEqual(got.Interface(), field.Interface()) {
				t.Errorf("%s=%s left %s at its default %v", name, val, path, got)
			}
		})
	}
}

// fieldByPath walks a key path (no list indexes) down from v by yaml tag.
func fieldByPath(t *testing.T, v reflect.Value, path string) reflect.Value {
	t.Helper()
	for _, key := range strings.Split(path, ".") {
		idx, ok := yamlFields(v.Type())[key]
		if !ok {
			t.Fatalf("key path %s: no field %q in %s", path, key, v.Type())
		}
		v = v.Field(idx)
	}
	return v
}

func TestUnknownEnv(t *testing.T) {
	t.Parallel()
	env := []string{
		"HOME=/root",
		"HERALD_API_ADDR=127.0.0.1:1",       // a config key
		"HERALD_CONFIG=/etc/herald.yaml",    // a command option
		"HERALD_DEV_API_KEY=k",              // a command option
		"HERALD_TEST_POSTGRES_DSN=postgres", // test harness
		"HERALD_API_ADRR=127.0.0.1:1",       // typo
		"HERALD_APPS=ios",                   // apps are file-only
		"HERALD_API_RATE_LIMITS=1",          // a section, not a key
		"herald_api_addr=x",                 // not upper case
	}
	want := []string{"HERALD_API_ADRR", "HERALD_APPS", "HERALD_API_RATE_LIMITS"}
	if got := UnknownEnv(env); !reflect.DeepEqual(got, want) {
		t.Errorf("UnknownEnv = %q, want %q", got, want)
	}
	if got := UnknownEnv(nil); got != nil {
		t.Errorf("UnknownEnv(nil) = %q, want nil", got)
	}
}
