package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Validate checks the whole tree and returns every problem, joined, each naming its
// key path (and file and line when the key came from a file).
func (c *Config) Validate() error {
	v := &validator{cfg: c}
	v.log()
	v.api()
	v.store()
	v.redis()
	v.security()
	v.ingest()
	v.providers()
	v.templates()
	v.exports()
	v.exportStream()
	v.queue()
	v.delivery()
	v.scheduler()
	v.frequencyCapping()
	if d := v.cfg.SDK.InAppMinInterval; d < 0 || d > 24*time.Hour {
		v.add("sdk.in_app_min_interval", "must be between 0s and 24h, got %s", d)
	}
	v.apps()
	if c.Lifecycle.DrainTimeout <= 0 {
		v.add("lifecycle.drain_timeout", "must be positive")
	}
	return errors.Join(v.errs...)
}

type validator struct {
	cfg  *Config
	errs []error
}

func (v *validator) add(path, format string, args ...any) {
	p := &Problem{Path: path, Reason: fmt.Sprintf(format, args...)}
	if name, ok := v.cfg.env[path]; ok {
		// the value came from the environment, not from the line that wrote the key
		p.File = "$" + name
	} else if line, ok := v.cfg.lines[path]; ok {
		p.File, p.Line = v.cfg.file, line
	} else if v.cfg.file != "" {
		// the key was not in the file (a default): locate it by its
		// closest written parent, if any
		for parent := path; parent != ""; {
			i := strings.LastIndexAny(parent, ".[")
			if i < 0 {
				break
			}
			parent = parent[:i]
			if line, ok := v.cfg.lines[parent]; ok {
				p.File, p.Line = v.cfg.file, line
				break
			}
		}
	}
	v.errs = append(v.errs, p)
}

func (v *validator) oneOf(path, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.add(path, "%q is not one of %s", val, strings.Join(allowed, ", "))
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration, got %s", d)
	}
}

func (v *validator) log() {
	v.oneOf("log.level", v.cfg.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", v.cfg.Log.Format, "auto", "json", "text")
}

func (v *validator) api() {
	a := &v.cfg.API
	if _, _, err := net.SplitHostPort(a.Addr); err != nil {
		v.add("api.addr", "must be host:port: %v", err)
	}
	if (a.TLSCertFile == "") != (a.TLSKeyFile == "") {
		v.add("api.tls_cert_file", "tls_cert_file and tls_key_file must be set together")
	}
	v.fileExists("api.tls_cert_file", a.TLSCertFile)
	v.fileExists("api.tls_key_file", a.TLSKeyFile)
	v.positive("api.read_header_timeout", a.ReadHeaderTimeout)
	v.positive("api.read_timeout", a.ReadTimeout)
	v.positive("api.write_timeout", a.WriteTimeout)
	v.positive("api.idle_timeout", a.IdleTimeout)
	v.positive("api.key_cache_ttl", a.KeyCacheTTL)
	if a.MaxBodyBytes < 1024 {
		v.add("api.max_body_bytes", "must be at least 1024, got %d", a.MaxBodyBytes)
	}
	if a.MaxInFlight < 1 {
		v.add("api.max_in_flight", "must be at least 1, got %d", a.MaxInFlight)
	}
	if a.BulkMaxInFlight < 1 {
		v.add("api.bulk_max_in_flight", "must be at least 1, got %d", a.BulkMaxInFlight)
	}
	// a slice, not a map: problems are reported in a stable order
	for _, rl := range []struct {
		name string
		l    Limit
	}{
		{"users_track", a.RateLimits.UsersTrack}, {"users_track_bulk", a.RateLimits.UsersTrackBulk},
		{"users_export", a.RateLimits.UsersExport}, {"users_identity", a.RateLimits.UsersIdentity},
		{"default", a.RateLimits.Default},
	} {
		p, l := "api.rate_limits."+rl.name, rl.l
		if l.Requests < 0 {
			v.add(p+".requests", "must not be negative (0 disables the limit)")
		}
		if l.Requests > 0 && l.Window < time.Second {
			v.add(p+".window", "must be at least 1s, got %s", l.Window)
		}
	}
}

func (v *validator) store() {
	s := &v.cfg.Store
	v.oneOf("store.driver", s.Driver, "sqlite", "postgres")
	switch s.Driver {
	case "sqlite":
		if s.SQLite.Path == "" {
			v.add("store.sqlite.path", "required when store.driver is sqlite")
		}
		v.positive("store.sqlite.busy_timeout", s.SQLite.BusyTimeout)
		if s.SQLite.ReadConns < 1 {
			v.add("store.sqlite.read_conns", "must be at least 1")
		}
	case "postgres":
		if s.Postgres.DSN == "" && s.Postgres.DSNFile == "" {
			v.add("store.postgres.dsn", "required when store.driver is postgres (or set dsn_file)")
		}
		if s.Postgres.DSN != "" && s.Postgres.DSNFile != "" {
			v.add("store.postgres.dsn_file", "set dsn or dsn_file, not both")
		}
		v.fileExists("store.postgres.dsn_file", s.Postgres.DSNFile)
		if s.Postgres.MaxConns < 1 {
			v.add("store.postgres.max_conns", "must be at least 1")
		}
	}
}

func (v *validator) redis() {
	r := &v.cfg.Redis
	if _, _, err := net.SplitHostPort(r.Addr); err != nil && len(r.ClusterAddrs) == 0 {
		v.add("redis.addr", "must be host:port: %v", err)
	}
	for i, a := range r.ClusterAddrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			v.add(fmt.Sprintf("redis.cluster_addrs[%d]", i), "must be host:port: %v", err)
		}
	}
	if len(r.ClusterAddrs) > 0 && r.DB != 0 {
		v.add("redis.db", "must be 0 with redis.cluster_addrs (a Redis Cluster has one database)")
	}
	if r.Password != "" && r.PasswordFile != "" {
		v.add("redis.password_file", "set password or password_file, not both")
	}
	v.fileExists("redis.password_file", r.PasswordFile)
	if r.DB < 0 || r.DB > 15 {
		v.add("redis.db", "must be between 0 and 15")
	}
}

func (v *validator) security() {
	s := &v.cfg.Security
	if s.EncryptionKey != "" && s.EncryptionKeyFile != "" {
		v.add("security.encryption_key_file", "set encryption_key or encryption_key_file, not both")
		return
	}
	if s.EncryptionKey != "" {
		if _, err := DecodeKey(s.EncryptionKey); err != nil {
			v.add("security.encryption_key", "%v", err)
		}
	}
	if s.EncryptionKeyFile != "" {
		data, err := os.ReadFile(v.cfg.Path(s.EncryptionKeyFile))
		if err != nil {
			v.add("security.encryption_key_file", "%v", err)
		} else if _, err := DecodeKey(string(data)); err != nil {
			v.add("security.encryption_key_file", "%v", err)
		}
	}
	if v.appsHaveCredentials() && s.EncryptionKey == "" && s.EncryptionKeyFile == "" {
		v.add("security.encryption_key", "required when apps declare credentials or an sdk_auth secret_file (32 random bytes, base64; `openssl rand -base64 32`)")
	}
}

// appsHaveCredentials reports whether any declared app carries credentials or
// an SDK auth secret, which are sealed with the encryption key; an app without
// them needs no key.
func (v *validator) appsHaveCredentials() bool {
	for _, app := range v.cfg.Apps {
		if app.APNs != nil || app.FCM != nil || app.WebPush != nil || (app.SDKAuth != nil && app.SDKAuth.SecretFile != "") {
			return true
		}
	}
	return false
}

func (v *validator) ingest() {
	if n := v.cfg.Ingest.MaxObjects; n < 1 || n > 1000 {
		v.add("ingest.max_objects", "must be between 1 and 1000, got %d", n)
	}
	if n := v.cfg.Ingest.MaxArrayLength; n < 1 || n > 500 {
		v.add("ingest.max_array_length", "must be between 1 and 500, got %d", n)
	}
	if n := v.cfg.Ingest.Writers; n < 1 || n > 64 {
		v.add("ingest.writers", "must be between 1 and 64, got %d", n)
	}
	if n, m := v.cfg.Ingest.MaxGroupObjects, v.cfg.Ingest.MaxObjects; m >= 1 && m <= 1000 && (n < m*3 || n > 100000) {
		v.add("ingest.max_group_objects", "must hold at least one full request (3 × max_objects = %d) and at most 100000, got %d", v.cfg.Ingest.MaxObjects*3, n)
	}
}

func (v *validator) exports() {
	e := &v.cfg.Exports
	if e.Dir == "" {
		v.add("exports.dir", "required")
	} else if fi, err := os.Stat(v.cfg.Path(e.Dir)); err == nil && !fi.IsDir() {
		v.add("exports.dir", "%s is not a directory", e.Dir)
	}
	if n := e.RowsPerFile; n < 1 || n > 10000000 {
		v.add("exports.rows_per_file", "must be between 1 and 10000000, got %d", n)
	}
}

func (v *validator) exportStream() {
	seen := map[string]bool{}
	for i := range v.cfg.ExportStream.Connectors {
		c := &v.cfg.ExportStream.Connectors[i]
		p := fmt.Sprintf("export_stream.connectors[%d]", i)
		v.uniqueID(p+".name", c.Name, seen, "%q names another connector too")
		if u, err := url.Parse(c.URL); c.URL == "" {
			v.add(p+".url", "required")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(p+".url", "must be an absolute http or https URL")
		}
		switch {
		case c.Token == "" && c.TokenFile == "":
			v.add(p+".token_file", "required (or token)")
		case c.Token != "" && c.TokenFile != "":
			v.add(p+".token_file", "set token or token_file, not both")
		default:
			v.fileExists(p+".token_file", c.TokenFile)
		}
		if c.BatchSize != 0 && (c.BatchSize < 1 || c.BatchSize > 10000) {
			v.add(p+".batch_size", "must be between 1 and 10000, got %d", c.BatchSize)
		}
		if c.FlushInterval != 0 && (c.FlushInterval < 100*time.Millisecond || c.FlushInterval > time.Hour) {
			v.add(p+".flush_interval", "must be between 100ms and 1h, got %s", c.FlushInterval)
		}
	}
}

// queueNamePattern keeps queue names plain: asynq puts them inside a Redis
// Cluster hash tag, asynq:{name}:….
var queueNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (v *validator) delivery() {
	d := &v.cfg.Delivery
	if d.Lease < time.Minute || d.Lease > 24*time.Hour {
		v.add("delivery.lease", "must be between 1m and 24h, got %s", d.Lease)
	}
	if d.MaxAttempts < 1 || d.MaxAttempts > 100 {
		v.add("delivery.max_attempts", "must be between 1 and 100, got %d", d.MaxAttempts)
	}
	if d.ReconcileAfter < 10*time.Second {
		v.add("delivery.reconcile_after", "must be at least 10s, got %s", d.ReconcileAfter)
	}
	if d.LedgerRetention < time.Hour {
		v.add("delivery.ledger_retention", "must be at least 1h, got %s", d.LedgerRetention)
	}
}

func (v *validator) scheduler() {
	s := &v.cfg.Scheduler
	if s.Tick < 100*time.Millisecond || s.Tick > time.Minute {
		v.add("scheduler.tick", "must be between 100ms and 1m, got %s", s.Tick)
	}
	if s.Grace < 0 || s.Grace > 7*24*time.Hour {
		v.add("scheduler.grace", "must be between 0 and 168h, got %s", s.Grace)
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "" || s.TimeZone == "Local" {
		v.add("scheduler.time_zone", "want an IANA time zone such as Europe/Berlin, got %q", s.TimeZone)
	}
}

// capWindow is a frequency capping window: N minutes, hours, days or weeks.
var capWindow = regexp.MustCompile(`^[1-9][0-9]{0,4}[mhdw]$`)

var capUnits = map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}

func (v *validator) frequencyCapping() {
	for i, c := range v.cfg.FrequencyCapping {
		path := fmt.Sprintf("frequency_capping[%d]", i)
		switch c.Channel {
		case "any", "push", "apple_push", "android_push", "web_push":
		default:
			v.add(path+".channel", "want any, push, apple_push, android_push or web_push, got %q", c.Channel)
		}
		if c.Limit < 1 || c.Limit > 1000 {
			v.add(path+".limit", "must be between 1 and 1000, got %d", c.Limit)
		}
		if !capWindow.MatchString(c.Window) {
			v.add(path+".window", `want a number and a unit m, h, d or w ("30m", "1d", "2w"), got %q`, c.Window)
		} else if n, _ := strconv.Atoi(c.Window[:len(c.Window)-1]); time.Duration(n)*capUnits[c.Window[len(c.Window)-1]] > 366*24*time.Hour {
			v.add(path+".window", "at most a year, got %q", c.Window)
		}
	}
}

func (v *validator) queue() {
	q := &v.cfg.Queue
	if !queueNamePattern.MatchString(q.Name) {
		v.add("queue.name", "%q must be 1-64 letters, digits, '.', '_' or '-'", q.Name)
	}
	if q.Concurrency < 1 || q.Concurrency > 10000 {
		v.add("queue.concurrency", "must be between 1 and 10000, got %d", q.Concurrency)
	}
	if q.Shards < 1 || q.Shards > 64 {
		v.add("queue.shards", "must be between 1 and 64, got %d", q.Shards)
	}
	v.positive("queue.shutdown_timeout", q.ShutdownTimeout)
	if q.Retention < time.Minute || q.Retention > 30*24*time.Hour {
		v.add("queue.retention", "must be between 1m and 720h, got %s", q.Retention)
	}
	if a := v.cfg.Ops.Addr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			v.add("ops.addr", "must be host:port or empty: %v", err)
		}
	}
}

func (v *validator) providers() {
	p := &v.cfg.Providers
	v.fileExists("providers.ca_file", p.CAFile)
	if p.CAFile != "" {
		if data, err := os.ReadFile(v.cfg.Path(p.CAFile)); err == nil && !strings.Contains(string(data), "BEGIN CERTIFICATE") {
			v.add("providers.ca_file", "holds no PEM certificate")
		}
	}
	v.positive("providers.pause", p.Pause)
	for name, l := range []struct {
		path     string
		inFlight int
		timeout  time.Duration
	}{{"providers.apns", p.APNs.MaxInFlight, p.APNs.Timeout}, {"providers.fcm", p.FCM.MaxInFlight, p.FCM.Timeout},
		{"providers.webpush", p.WebPush.MaxInFlight, p.WebPush.Timeout}, {"providers.webhook", p.Webhook.MaxInFlight, p.Webhook.Timeout}} {
		_ = name
		if l.inFlight < 1 || l.inFlight > 10000 {
			v.add(l.path+".max_in_flight", "must be between 1 and 10000, got %d", l.inFlight)
		}
		v.positive(l.path+".timeout", l.timeout)
	}
	v.positive("providers.webpush.default_ttl", p.WebPush.DefaultTTL)
	if p.WebPush.DefaultTTL > 28*24*time.Hour {
		v.add("providers.webpush.default_ttl", "must be at most 672h (push services keep messages at most 4 weeks)")
	}
	if len(p.WebPush.AllowedHosts) == 0 && !p.WebPush.AllowLoopback {
		v.add("providers.webpush.allowed_hosts", "is empty: no web push subscription could be accepted")
	}
	for i, h := range p.WebPush.AllowedHosts {
		if !validHostPattern(h) {
			v.add(fmt.Sprintf("providers.webpush.allowed_hosts[%d]", i), "%q is not a host name or *.domain", h)
		}
	}
}

func (v *validator) templates() {
	c := &v.cfg.Templates.ConnectedContent
	v.positive("templates.connected_content.timeout", c.Timeout)
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		v.add("templates.connected_content.max_body_bytes", "must be between 1024 and 67108864, got %d", c.MaxBodyBytes)
	}
	if c.CacheMaxAge < 0 || c.CacheMaxAge > 4*time.Hour {
		v.add("templates.connected_content.cache_max_age", "must be between 0s and 4h, got %s", c.CacheMaxAge)
	}
	for i, h := range c.AllowedHosts {
		if !validHostPattern(h) {
			v.add(fmt.Sprintf("templates.connected_content.allowed_hosts[%d]", i), "%q is not a host name or *.domain", h)
		}
	}
	names := map[string]bool{}
	for i, b := range c.BasicAuth {
		p := fmt.Sprintf("templates.connected_content.basic_auth[%d]", i)
		switch {
		case b.Name == "":
			v.add(p+".name", "required")
		case names[b.Name]:
			v.add(p+".name", "duplicate name %q", b.Name)
		}
		names[b.Name] = true
		if b.Username == "" {
			v.add(p+".username", "required")
		}
		if b.PasswordFile == "" {
			v.add(p+".password_file", "required")
		}
		v.fileExists(p+".password_file", b.PasswordFile)
	}
}

// validHostPattern accepts a host name or "*.domain.tld".
func validHostPattern(h string) bool {
	return h != "" && !strings.ContainsAny(h, "/: ") && strings.Count(h, "*") <= 1 &&
		(!strings.Contains(h, "*") || strings.HasPrefix(h, "*.")) && (!strings.HasPrefix(h, "*.") || strings.Contains(h[2:], "."))
}

var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// uniqueID checks a required identifier at path (1-64 letters, digits, '.',
// '_' or '-') not given before (seen, which it adds to); dup formats the
// complaint about a repeated one.
func (v *validator) uniqueID(path, id string, seen map[string]bool, dup string) {
	switch {
	case id == "":
		v.add(path, "required")
	case !appIDPattern.MatchString(id):
		v.add(path, "%q must be 1-64 letters, digits, '.', '_' or '-'", id)
	case seen[id]:
		v.add(path, dup, id)
	}
	seen[id] = true
}

func (v *validator) apps() {
	seen := map[string]bool{}
	for i, app := range v.cfg.Apps {
		p := fmt.Sprintf("apps[%d]", i)
		v.uniqueID(p+".id", app.ID, seen, "duplicate app id %q")
		v.oneOf(p+".platform", app.Platform, "ios", "android", "web")
		if app.APNs != nil {
			if app.Platform != "ios" {
				v.add(p+".apns", "APNs credentials need platform ios")
			}
			v.apns(p+".apns", app.APNs)
		}
		if app.FCM != nil {
			if app.Platform != "android" {
				v.add(p+".fcm", "FCM credentials need platform android")
			}
			if app.FCM.ServiceAccountFile == "" {
				v.add(p+".fcm.service_account_file", "required")
			}
			v.fileExists(p+".fcm.service_account_file", app.FCM.ServiceAccountFile)
		}
		if app.WebPush != nil {
			if app.Platform != "web" {
				v.add(p+".webpush", "Web Push credentials need platform web")
			}
			w := app.WebPush
			if w.VAPIDPublicKey == "" {
				v.add(p+".webpush.vapid_public_key", "required")
			}
			if w.VAPIDPrivateKeyFile == "" {
				v.add(p+".webpush.vapid_private_key_file", "required")
			}
			v.fileExists(p+".webpush.vapid_private_key_file", w.VAPIDPrivateKeyFile)
			if w.Subject == "" {
				v.add(p+".webpush.subject", "required (a bare e-mail address or an https URL)")
			} else if strings.HasPrefix(w.Subject, "mailto:") {
				v.add(p+".webpush.subject", "give the bare address without mailto: (the library adds it)")
			}
		}
		if app.SDKAuth != nil {
			v.sdkAuth(p+".sdk_auth", app.SDKAuth)
		}
	}
}

// minSDKSecretBytes is the shortest HS256 secret (sdkauth.MinSecretBytes).
const minSDKSecretBytes = 32

func (v *validator) sdkAuth(p string, a *SDKAuth) {
	v.oneOf(p+".mode", a.Mode, "disabled", "optional", "required")
	switch a.Algorithm {
	case "":
		if a.SecretFile != "" || a.PublicKeyFile != "" {
			v.add(p+".algorithm", "required with a key: HS256 (secret_file) or RS256 (public_key_file)")
		} else if a.Mode == "optional" || a.Mode == "required" {
			v.add(p+".algorithm", "required in mode %s: HS256 (secret_file) or RS256 (public_key_file)", a.Mode)
		}
	case "HS256":
		if a.PublicKeyFile != "" {
			v.add(p+".public_key_file", "HS256 takes a secret_file, not a public key")
		}
		if a.SecretFile == "" {
			v.add(p+".secret_file", "required for HS256")
			break
		}
		data, err := os.ReadFile(v.cfg.Path(a.SecretFile))
		if err != nil {
			v.add(p+".secret_file", "%v", err)
		} else if n := len(strings.TrimSpace(string(data))); n < minSDKSecretBytes {
			v.add(p+".secret_file", "the secret must be at least %d bytes, the file holds %d (`openssl rand -base64 48`)", minSDKSecretBytes, n)
		}
	case "RS256":
		if a.SecretFile != "" {
			v.add(p+".secret_file", "RS256 takes a public_key_file, not a secret")
		}
		if a.PublicKeyFile == "" {
			v.add(p+".public_key_file", "required for RS256 (the PEM of the RSA public key)")
		}
		v.fileExists(p+".public_key_file", a.PublicKeyFile)
	default:
		v.add(p+".algorithm", "%q is not one of HS256, RS256", a.Algorithm)
	}
}

func (v *validator) apns(p string, a *APNs) {
	token := a.KeyFile != "" || a.KeyID != "" || a.TeamID != ""
	cert := a.CertificateFile != ""
	switch {
	case token && cert:
		v.add(p, "use token auth (key_file, key_id, team_id) or certificate auth (certificate_file), not both")
	case token:
		if a.KeyFile == "" {
			v.add(p+".key_file", "required for token auth")
		}
		if a.KeyID == "" {
			v.add(p+".key_id", "required for token auth")
		}
		if a.TeamID == "" {
			v.add(p+".team_id", "required for token auth")
		}
	case cert:
	default:
		v.add(p, "needs token auth (key_file, key_id, team_id) or certificate_file")
	}
	v.fileExists(p+".key_file", a.KeyFile)
	v.fileExists(p+".certificate_file", a.CertificateFile)
	v.fileExists(p+".certificate_password_file", a.CertificatePasswordFile)
	if a.Topic == "" {
		v.add(p+".topic", "required (the app's bundle id)")
	}
	if a.Environment != "" {
		v.oneOf(p+".environment", a.Environment, "production", "sandbox")
	}
}

func (v *validator) fileExists(path, name string) {
	if name == "" {
		return
	}
	if _, err := os.Stat(v.cfg.Path(name)); err != nil {
		v.add(path, "%v", err)
	}
}

// Path resolves a file path from the config relative to the config file's directory.
func (c *Config) Path(name string) string {
	if name == "" || filepath.IsAbs(name) || c.dir == "" {
		return name
	}
	return filepath.Join(c.dir, name)
}

// DecodeKey decodes a 32-byte key given in base64 (standard or URL alphabet, padded
// or not), ignoring surrounding whitespace.
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("must decode to 32 bytes, got %d", len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("not valid base64")
}
