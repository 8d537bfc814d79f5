package fcm

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
)

// withField returns key with one field replaced (nil deletes it).
func withField(t *testing.T, key []byte, field string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(key, &m); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		delete(m, field)
	} else {
		m[field] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// privateKeyBody is the base64 body of the key's PEM private key.
func privateKeyBody(t *testing.T, key []byte) string {
	t.Helper()
	var m struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(key, &m); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(m.PrivateKey), "\n")
	return strings.Join(lines[1:len(lines)-1], "")
}

func TestNewRefusesBadCredentials(t *testing.T) {
	t.Parallel()
	key, _, _, err := fcmfake.NewServiceAccount(testProject, "https://127.0.0.1:1/token")
	if err != nil {
		t.Fatal(err)
	}
	secret := privateKeyBody(t, key)
	truncatedKey := "-----BEGIN PRIVATE KEY-----\n" + secret[:64] + "\n-----END PRIVATE KEY-----\n"
	cases := []struct {
		name      string
		creds     Credentials
		wantInErr string
	}{
		{"empty", Credentials{}, "empty"},
		{"not JSON", Credentials{ServiceAccountJSON: []byte(`{"type":"service_account","private_key":"` + secret[:40])}, "malformed"},
		{"wrong type", Credentials{ServiceAccountJSON: withField(t, key, "type", "authorized_user")}, "authorized_user"},
		{"no email", Credentials{ServiceAccountJSON: withField(t, key, "client_email", nil)}, "client_email"},
		{"key not PEM", Credentials{ServiceAccountJSON: withField(t, key, "private_key", secret)}, "PEM"},
		{"key truncated", Credentials{ServiceAccountJSON: withField(t, key, "private_key", truncatedKey)}, "RSA"},
		{"key wrong type", Credentials{ServiceAccountJSON: withField(t, key, "private_key", 42)}, "wrong type"},
		{"no project", Credentials{ServiceAccountJSON: withField(t, key, "project_id", nil)}, "project"},
		{"bad endpoint", Credentials{ServiceAccountJSON: key, Endpoint: "ftp://fcm.example.com/v1"}, "endpoint"},
	}
	for _, c := range cases {
		_, err := New(context.Background(), c.creds, Options{})
		if err == nil || !strings.Contains(err.Error(), c.wantInErr) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.wantInErr)
			continue
		}
		if strings.Contains(err.Error(), secret[:40]) || strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: the error quotes the private key: %v", c.name, err)
		}
	}
}

func TestProjectDefaultsToTheKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	s := e.sender(t, e.creds(), Options{}) // no ProjectID: the key's project_id
	if s.project != testProject {
		t.Fatalf("project %q, want %q", s.project, testProject)
	}
	if r := s.Send(context.Background(), messages("ok", 1))[0]; r.Outcome != channels.Delivered {
		t.Errorf("%s %v", r.Outcome, r.Err)
	}
}

// No private key, access token or Authorization header reaches a log line or
// a result's error, whatever happens.
func TestNoSecretInLogsOrErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	untrusted, _, _, err := fcmfake.NewServiceAccount(testProject, e.srv.TokenURL)
	if err != nil {
		t.Fatal(err)
	}
	var results []channels.Result
	good := e.sender(t, e.creds(), Options{Logger: logger})
	results = append(results, good.Send(context.Background(), messages("ok", 2))...)
	e.srv.Fake.RevokeTokens()
	results = append(results, good.Send(context.Background(), append(messages("unregistered", 1), message("baddevice-1")))...)
	bad := e.sender(t, Credentials{ServiceAccountJSON: untrusted, Endpoint: e.srv.Endpoint}, Options{Logger: logger})
	results = append(results, bad.Send(context.Background(), messages("ok", 2))...)

	var text strings.Builder
	text.Write(logs.Bytes())
	for _, r := range results {
		if r.Err != nil {
			text.WriteString(r.Err.Error() + "\n")
		}
	}
	if !strings.Contains(text.String(), "invalid_grant") {
		t.Fatalf("the refused credentials left no trace:\n%s", text.String())
	}
	for _, secret := range []string{privateKeyBody(t, e.key)[:40], privateKeyBody(t, untrusted)[:40], "PRIVATE KEY", "ya29.", "Bearer"} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("%q leaked into logs or errors:\n%s", secret, text.String())
		}
	}
}

// The endpoint must be https, but for a loopback host (tests, dev mode).
func TestNewEndpointMustBeHTTPS(t *testing.T) {
	t.Parallel()
	key, _, _, err := fcmfake.NewServiceAccount(testProject, "https://127.0.0.1:1/token")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		endpoint string
		ok       bool
	}{
		{"https://fcm.googleapis.com/v1", true},
		{"https://fcm.example.com:8443/v1", true},
		{"http://127.0.0.1:8080/v1", true},
		{"http://127.1.2.3/v1", true},
		{"http://localhost:8080/v1", true},
		{"http://LOCALHOST/v1", true},
		{"http://[::1]:8080/v1", true},
		{"http://fcm.googleapis.com/v1", false},
		{"http://10.0.0.1:8080/v1", false},
		{"http://localhost.example.com/v1", false},
		{"http://[::ffff:10.0.0.1]/v1", false},
		{"ftp://127.0.0.1/v1", false},
		{"//fcm.example.com/v1", false},
	} {
		s, err := New(context.Background(), Credentials{ServiceAccountJSON: key, Endpoint: c.endpoint}, Options{})
		if s != nil {
			_ = s.Close()
		}
		if c.ok != (err == nil) {
			t.Errorf("%s: error %v, want ok %v", c.endpoint, err, c.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "https") || !strings.Contains(err.Error(), c.endpoint)) {
			t.Errorf("%s: error %q should name the endpoint and https", c.endpoint, err)
		}
	}
}
