package fcmfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testProject = "herald-test"

// start runs a fake server for a test.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Projects == nil {
		cfg.Projects = map[string]string{testProject: "app-1"}
	}
	srv, err := StartServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// httpClient trusts the server's CA.
func httpClient(srv *Server) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = srv.Pool()
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// newKey makes an RSA key and trusts it for email.
func newKey(t *testing.T, srv *Server, email string) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv.Fake.AddServiceAccount(email, &key.PublicKey)
	return key
}

// signJWT signs header and claims with key (RS256).
func signJWT(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// postToken posts a grant and decodes the JSON answer.
func postToken(t *testing.T, srv *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := httpClient(srv).PostForm(srv.TokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{})
	email := "sender@" + testProject + ".iam.gserviceaccount.com"
	key := newKey(t, srv, email)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rs256 := map[string]any{"alg": "RS256", "typ": "JWT"}
	good := func() map[string]any {
		return map[string]any{"iss": email, "scope": ScopeMessaging, "aud": srv.TokenURL,
			"iat": now.Add(-10 * time.Second).Unix(), "exp": now.Add(time.Hour - 10*time.Second).Unix()}
	}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	cases := []struct {
		name      string
		grant     string
		assertion string
		status    int
		errCode   string
	}{
		{"valid", jwtBearer, signJWT(t, key, rs256, good()), 200, ""},
		{"cloud-platform scope", jwtBearer, signJWT(t, key, rs256, with("scope", "openid "+ScopeCloudPlatform)), 200, ""},
		{"wrong grant type", "client_credentials", signJWT(t, key, rs256, good()), 400, "unsupported_grant_type"},
		{"signed by another key", jwtBearer, signJWT(t, other, rs256, good()), 400, "invalid_grant"},
		{"unknown account", jwtBearer, signJWT(t, key, rs256, with("iss", "nobody@x.iam.gserviceaccount.com")), 400, "invalid_grant"},
		{"wrong audience", jwtBearer, signJWT(t, key, rs256, with("aud", "https://oauth2.googleapis.com/token")), 400, "invalid_grant"},
		{"expired", jwtBearer, signJWT(t, key, rs256, with("exp", now.Add(-time.Minute).Unix())), 400, "invalid_grant"},
		{"issued in the future", jwtBearer, signJWT(t, key, rs256, with("iat", now.Add(time.Hour).Unix())), 400, "invalid_grant"},
		{"lives too long", jwtBearer, signJWT(t, key, rs256, with("exp", now.Add(3*time.Hour).Unix())), 400, "invalid_grant"},
		{"no scope", jwtBearer, signJWT(t, key, rs256, with("scope", nil)), 400, "invalid_scope"},
		{"other scope", jwtBearer, signJWT(t, key, rs256, with("scope", "https://www.googleapis.com/auth/userinfo.email")), 400, "invalid_scope"},
		{"alg none", jwtBearer, signJWT(t, key, map[string]any{"alg": "none"}, good()), 400, "invalid_grant"},
		{"garbage", jwtBearer, "not.a.jwt", 400, "invalid_grant"},
		{"tampered claims", jwtBearer, tamper(signJWT(t, key, rs256, good()), good()), 400, "invalid_grant"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := postToken(t, srv, url.Values{"grant_type": {c.grant}, "assertion": {c.assertion}})
			if status != c.status {
				t.Fatalf("status %d, want %d (%v)", status, c.status, body)
			}
			if c.errCode != "" {
				if body["error"] != c.errCode {
					t.Fatalf("error %v, want %s", body["error"], c.errCode)
				}
				return
			}
			tok, _ := body["access_token"].(string)
			if !strings.HasPrefix(tok, "ya29.") || body["token_type"] != "Bearer" || body["expires_in"].(float64) <= 0 {
				t.Fatalf("token answer %v", body)
			}
		})
	}
	if n := srv.Fake.TokensIssued(); n != 2 {
		t.Errorf("issued %d tokens, want 2", n)
	}
}

// tamper swaps a signed JWT's claims for others (with a higher scope), keeping
// the signature.
func tamper(jwt string, claims map[string]any) string {
	parts := strings.Split(jwt, ".")
	claims["scope"] = ScopeCloudPlatform + " " + ScopeMessaging
	b, _ := json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

func TestTokenEndpointNeedsForm(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{})
	resp, err := httpClient(srv).Post(srv.TokenURL, "application/json", strings.NewReader(`{"grant_type":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}
