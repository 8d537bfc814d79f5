package apns

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/apns/apnsfake"
)

const (
	testKID   = "KEY1234567"
	testTeam  = "TEAM123456"
	testTopic = "com.example.app"
	testApp   = "app-ios"
)

// env is one test's fake APNs and the credentials that it accepts.
type env struct {
	srv   *apnsfake.Server
	key   *ecdsa.PrivateKey
	creds Credentials
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// p8 encodes a key as the content of an Apple .p8 file.
func p8(t testing.TB, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// newEnv starts a fake trusting one key and the topic testTopic (and its
// .voip form).
func newEnv(t testing.TB, mod func(*apnsfake.Config)) *env {
	t.Helper()
	key := newP256(t)
	cfg := apnsfake.Config{
		Keys:     map[string]*ecdsa.PublicKey{testKID: &key.PublicKey},
		TeamID:   testTeam,
		Topics:   map[string]string{testTopic: testApp, testTopic + ".voip": testApp},
		Recorder: nil,
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := apnsfake.StartServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &env{srv: srv, key: key, creds: Credentials{
		KeyP8: p8(t, key), KeyID: testKID, TeamID: testTeam, Topic: testTopic, Host: srv.URL,
	}}
}

// sender builds a Sender for the env's credentials (changed by mod).
func (e *env) sender(t testing.TB, mod func(*Credentials, *Options)) *Sender {
	t.Helper()
	creds := e.creds
	opts := Options{RootCAs: e.srv.Pool(), Timeout: 5 * time.Second}
	if mod != nil {
		mod(&creds, &opts)
	}
	s, err := New(context.Background(), creds, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// alert is a simple rendered apple_push object.
func alert(body string) map[string]any {
	return map[string]any{"alert": map[string]any{"title": "Hi", "body": body}}
}

func message(id, token string, obj map[string]any) channels.Message {
	return channels.Message{ID: id, DispatchID: "d1", AppID: testApp, Token: token, Object: obj}
}

// object decodes JSON into a rendered object, as the template stage hands it over.
func object(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
