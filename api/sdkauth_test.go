package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/sdkauth"
	"github.com/herald-oss/herald/seal"
	"github.com/herald-oss/herald/store"
)

// These tests build the SDK request context with sdkContext, the code path
// handleSDK runs before every SDK handler, and check users with sdkCheckUser,
// as the handlers do.

var authNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

const hsSecret = "the-app-shared-secret-0123456789abcdef"

type authEnv struct {
	t    *testing.T
	s    *Server
	apps *profiles.AppService
	priv *rsa.PrivateKey
	keys map[string]string // app id → SDK key
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "herald.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	box, err := seal.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	apps := profiles.NewAppService(st, box, func() time.Time { return authNow })
	e := &authEnv{t: t, s: &Server{deps: Deps{Apps: apps}}, apps: apps, priv: priv, keys: map[string]string{}}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	for id, in := range map[string]*profiles.SDKAuthSettings{
		"hs-required": {Mode: sdkauth.Required, Algorithm: sdkauth.HS256, Secret: hsSecret},
		"rs-required": {Mode: sdkauth.Required, Algorithm: sdkauth.RS256, PublicKey: pub},
		"hs-optional": {Mode: sdkauth.Optional, Algorithm: sdkauth.HS256, Secret: hsSecret},
		"hs-disabled": {Mode: sdkauth.Disabled, Algorithm: sdkauth.HS256, Secret: hsSecret},
		"plain":       nil,
	} {
		a, err := apps.Create(context.Background(), id, id, profiles.PlatformWeb)
		if err != nil {
			t.Fatal(err)
		}
		if in != nil {
			if _, err := apps.SetSDKAuth(context.Background(), id, in); err != nil {
				t.Fatal(err)
			}
		}
		e.keys[id] = a.SDKKey
	}
	return e
}

func (e *authEnv) token(m jwt.SigningMethod, key any, sub string, over ...any) string {
	e.t.Helper()
	c := jwt.MapClaims{"sub": sub, "iat": authNow.Add(-time.Minute).Unix(), "exp": authNow.Add(time.Hour).Unix()}
	for i := 0; i+1 < len(over); i += 2 {
		c[over[i].(string)] = over[i+1]
	}
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *authEnv) hs(sub string, over ...any) string {
	return e.token(jwt.SigningMethodHS256, []byte(hsSecret), sub, over...)
}

// context runs sdkContext for a request of app with the token ("" for none).
func (e *authEnv) context(app, token string) (context.Context, error) {
	r := httptest.NewRequest("POST", "/sdk/v1/data", strings.NewReader("{}"))
	if app != "" {
		r.Header.Set(sdkKeyHeader, e.keys[app])
	}
	if token != "" {
		r.Header.Set(sdkAuthHeader, token)
	}
	return e.s.sdkContext(r)
}

func TestSDKAuthEnforcement(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	der, _ := x509.MarshalPKIXPublicKey(&e.priv.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	rs := func(sub string) string { return e.token(jwt.SigningMethodRS256, e.priv, sub) }
	none := e.token(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "u1")

	cases := []struct {
		name, app, token, user string
		denied                 string // a substring of sdkContext's 401 message
		refused                error  // sdkCheckUser's error
	}{
		{name: "hs256 valid", app: "hs-required", token: e.hs("u1"), user: "u1"},
		{name: "rs256 valid", app: "rs-required", token: rs("u1"), user: "u1"},
		{name: "bearer prefix", app: "hs-required", token: "Bearer " + e.hs("u1"), user: "u1"},
		{name: "wrong subject", app: "hs-required", token: e.hs("u1"), user: "u2", refused: sdkauth.ErrWrongSubject},
		{name: "rs256 wrong subject", app: "rs-required", token: rs("u2"), user: "u1", refused: sdkauth.ErrWrongSubject},
		{name: "required without token", app: "hs-required", user: "u1", refused: sdkauth.ErrMissing},
		{name: "required anonymous", app: "hs-required", user: ""},
		{name: "required anonymous with token", app: "hs-required", token: e.hs("u1"), user: ""},
		{name: "expired", app: "hs-required", token: e.hs("u1", "exp", authNow.Add(-5*time.Minute).Unix()), denied: "token expired"},
		{name: "not yet valid", app: "hs-required", token: e.hs("u1", "nbf", authNow.Add(5*time.Minute).Unix()), denied: "not yet valid"},
		{name: "lifetime over 24h", app: "hs-required", token: e.hs("u1", "exp", authNow.Add(48*time.Hour).Unix()), denied: "at most 24h"},
		{name: "bad signature", app: "hs-required", token: e.token(jwt.SigningMethodHS256, []byte(hsSecret+"!"), "u1"), denied: "bad signature"},
		{name: "alg none", app: "hs-required", token: none, denied: "wrong signing algorithm"},
		{name: "alg none on rs256", app: "rs-required", token: none, denied: "wrong signing algorithm"},
		{name: "rs256 token on hs256 app", app: "hs-required", token: rs("u1"), denied: "accepts HS256 only"},
		{name: "hs256 token on rs256 app", app: "rs-required", token: e.hs("u1"), denied: "accepts RS256 only"},
		{name: "public key as hmac secret", app: "rs-required", token: e.token(jwt.SigningMethodHS256, pubPEM, "u1"), denied: "accepts RS256 only"},
		{name: "garbage", app: "hs-required", token: "garbage", denied: "malformed token"},
		{name: "optional without token", app: "hs-optional", user: "u1"},
		{name: "optional valid", app: "hs-optional", token: e.hs("u1"), user: "u1"},
		{name: "optional wrong subject", app: "hs-optional", token: e.hs("u1"), user: "u2", refused: sdkauth.ErrWrongSubject},
		{name: "optional garbage", app: "hs-optional", token: "garbage", denied: "malformed token"},
		{name: "optional expired", app: "hs-optional", token: e.hs("u1", "exp", authNow.Add(-time.Hour).Unix()), denied: "token expired"},
		// disabled: the header is not read, even with a key configured
		{name: "disabled ignores garbage", app: "hs-disabled", token: "garbage", user: "u1"},
		{name: "disabled ignores another user's token", app: "hs-disabled", token: e.hs("u2"), user: "u1"},
		{name: "no settings", app: "plain", token: "garbage", user: "u1"},
		{name: "missing SDK key", app: "", denied: "missing X-Herald-Api-Key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, err := e.context(c.app, c.token)
			if c.denied != "" {
				var d *sdkDenied
				if !errors.As(err, &d) || !strings.Contains(d.Message, c.denied) {
					t.Fatalf("sdkContext = %v, want 401 saying %q", err, c.denied)
				}
				if !strings.HasPrefix(d.Message, "missing") && !strings.HasPrefix(d.Message, sdkAuthHeader+": ") {
					t.Errorf("message %q does not name the header", d.Message)
				}
				if strings.Contains(d.Message, hsSecret) {
					t.Errorf("message %q leaks the secret", d.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("sdkContext: %v", err)
			}
			if a := sdkApp(ctx); a == nil || a.ID != c.app {
				t.Fatalf("sdkApp = %+v, want %s", a, c.app)
			}
			err = sdkCheckUser(ctx, c.user)
			if c.refused == nil && err != nil || c.refused != nil && !errors.Is(err, c.refused) {
				t.Fatalf("sdkCheckUser(%q) = %v, want %v", c.user, err, c.refused)
			}
		})
	}
}

func TestSDKAuthUnknownKeyAndUncheckedContext(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	r := httptest.NewRequest("POST", "/sdk/v1/data", nil)
	r.Header.Set(sdkKeyHeader, "hsk_unknown")
	var d *sdkDenied
	if _, err := e.s.sdkContext(r); !errors.As(err, &d) || d.Message != "unknown SDK key" {
		t.Fatalf("unknown key: %v", err)
	}
	// a handler reached without handleSDK refuses rather than serves unchecked
	if err := sdkCheckUser(context.Background(), "u1"); err == nil {
		t.Fatal("sdkCheckUser without the SDK context allowed the user")
	}
}

// TestSDKAuthKeyChange: a new key applies to the next request (the cached
// verifier follows the stored key).
func TestSDKAuthKeyChange(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	old := e.hs("u1")
	if _, err := e.context("hs-required", old); err != nil {
		t.Fatal(err)
	}
	const next = "the-next-shared-secret-0123456789abcdef"
	if _, err := e.apps.SetSDKAuth(context.Background(), "hs-required", &profiles.SDKAuthSettings{Mode: sdkauth.Required, Algorithm: sdkauth.HS256, Secret: next}); err != nil {
		t.Fatal(err)
	}
	var d *sdkDenied
	if _, err := e.context("hs-required", old); !errors.As(err, &d) || !strings.Contains(d.Message, "bad signature") {
		t.Fatalf("old secret after rotation: %v", err)
	}
	if _, err := e.context("hs-required", e.token(jwt.SigningMethodHS256, []byte(next), "u1")); err != nil {
		t.Fatalf("new secret: %v", err)
	}
}
