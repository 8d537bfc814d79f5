package config

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestDecodeKey(t *testing.T) {
	t.Parallel()
	// bytes chosen so the std and URL alphabets differ (+/ against -_)
	key := bytes.Repeat([]byte{0xfb, 0xff, 0xbf, 0x3e}, 8)
	if std, url := base64.StdEncoding.EncodeToString(key), base64.URLEncoding.EncodeToString(key); !strings.ContainsAny(std, "+/") || std == url {
		t.Fatalf("test key does not exercise both alphabets: %s %s", std, url)
	}
	tests := []struct {
		name, in string
		want     []byte
		err      string
	}{
		{"std padded", base64.StdEncoding.EncodeToString(key), key, ""},
		{"std unpadded", base64.RawStdEncoding.EncodeToString(key), key, ""},
		{"url padded", base64.URLEncoding.EncodeToString(key), key, ""},
		{"url unpadded", base64.RawURLEncoding.EncodeToString(key), key, ""},
		{"surrounding whitespace (a key file)", "  " + base64.StdEncoding.EncodeToString(key) + "\n", key, ""},
		{"openssl rand -base64 32", "1QM9bLajxswIhT9vSDSZWg68b5y86Ntlq22o9+3Q5UA=\n", nil, ""},
		{"too short", base64.StdEncoding.EncodeToString(key[:31]), nil, "must decode to 32 bytes, got 31"},
		{"too short unpadded", base64.RawURLEncoding.EncodeToString(key[:16]), nil, "must decode to 32 bytes, got 16"},
		{"too long", base64.StdEncoding.EncodeToString(append(key, 1)), nil, "must decode to 32 bytes, got 33"},
		{"hex is not base64 of 32 bytes", strings.Repeat("ab", 32), nil, "must decode to 32 bytes, got 48"},
		{"empty", "", nil, "must decode to 32 bytes, got 0"},
		{"not base64", "this is not base64!", nil, "not valid base64"},
		{"mixed alphabets", "-" + base64.StdEncoding.EncodeToString(key)[1:], nil, "not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeKey(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("DecodeKey(%q) = %x, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeKey(%q): %v", tt.in, err)
			}
			if len(got) != 32 || (tt.want != nil && !bytes.Equal(got, tt.want)) {
				t.Errorf("DecodeKey(%q) = %x, want %x", tt.in, got, tt.want)
			}
		})
	}
}

func TestProblemError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "herald.yaml", Line: 7, Path: "api.addr", Reason: "bad"}, "herald.yaml:7: api.addr: bad"},
		{Problem{File: "herald.yaml", Path: "security.encryption_key", Reason: "bad"}, "herald.yaml: security.encryption_key: bad"},
		{Problem{File: "$HERALD_API_ADDR", Path: "api.addr", Reason: "bad"}, "$HERALD_API_ADDR: api.addr: bad"},
		{Problem{Path: "api.addr", Reason: "bad"}, "api.addr: bad"},
		{Problem{File: "herald.yaml", Reason: "yaml: line 2: bad"}, "herald.yaml: yaml: line 2: bad"},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// TestValidateStableOrder: problems come out in the same order every time, so
// `herald config check` output and golden files are reproducible.
func TestValidateStableOrder(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.API.RateLimits = RateLimits{
		UsersTrack: Limit{Requests: -1}, UsersTrackBulk: Limit{Requests: 1},
		UsersExport: Limit{Requests: -1}, UsersIdentity: Limit{Requests: 1}, Default: Limit{Requests: 1, Window: time.Millisecond},
	}
	want := strings.Join([]string{
		"api.rate_limits.users_track.requests: must not be negative (0 disables the limit)",
		"api.rate_limits.users_track_bulk.window: must be at least 1s, got 0s",
		"api.rate_limits.users_export.requests: must not be negative (0 disables the limit)",
		"api.rate_limits.users_identity.window: must be at least 1s, got 0s",
		"api.rate_limits.default.window: must be at least 1s, got 1ms",
	}, "\n")
	for range 20 {
		if err := cfg.Validate(); err == nil || err.Error() != want {
			t.Fatalf("Validate =\n%v\nwant\n%s", err, want)
		}
	}
}

func TestEncryptionKeyRequiredOnlyWithCredentials(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.Apps = []App{{ID: "ios-main", Platform: "ios"}, {ID: "web-main", Platform: "web"}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("apps without credentials, no key: %v", err)
	}
	cfg.Apps[0].APNs = &APNs{CertificateFile: "apns.p12", Topic: "com.example.app"}
	cfg.SetDir("testdata/secrets")
	const want = "security.encryption_key: required when apps declare credentials or an sdk_auth secret_file (32 random bytes, base64; `openssl rand -base64 32`)"
	err := cfg.Validate()
	if err == nil || err.Error() != want {
		t.Errorf("an app with credentials, no key: %v", err)
	}
	// SDK auth: an RS256 public key is not sealed, an HS256 secret is
	cfg.Apps[0].APNs = nil
	cfg.Apps[1].SDKAuth = &SDKAuth{Mode: "required", Algorithm: "RS256", PublicKeyFile: "sdk_auth_public.pem"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("an app with an RS256 sdk_auth, no key: %v", err)
	}
	cfg.Apps[1].SDKAuth = &SDKAuth{Mode: "required", Algorithm: "HS256", SecretFile: "sdk_auth.secret"}
	if err := cfg.Validate(); err == nil || err.Error() != want {
		t.Errorf("an app with an HS256 sdk_auth, no key: %v", err)
	}
}
