package fcm

import (
	"context"
	"fmt"
	"testing"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
)

const (
	testProject = "herald-test"
	testApp     = "app-1"
)

// env is a fake FCM server and a service account it trusts.
type env struct {
	srv   *fcmfake.Server
	key   []byte // the service account JSON key
	email string
}

// newEnv starts a fake serving testProject (plus cfg's projects).
func newEnv(tb testing.TB, cfg fcmfake.Config) *env {
	tb.Helper()
	if cfg.Projects == nil {
		cfg.Projects = map[string]string{}
	}
	cfg.Projects[testProject] = testApp
	srv, err := fcmfake.StartServer(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	key, email, err := srv.NewServiceAccount(testProject)
	if err != nil {
		tb.Fatal(err)
	}
	return &env{srv: srv, key: key, email: email}
}

// creds are the service account's credentials pointed at the fake.
func (e *env) creds() Credentials {
	return Credentials{ServiceAccountJSON: e.key, Endpoint: e.srv.Endpoint}
}

// sender returns a Sender for creds trusting the fake's CA.
func (e *env) sender(tb testing.TB, creds Credentials, opts Options) *Sender {
	tb.Helper()
	if opts.RootCAs == nil {
		opts.RootCAs = e.srv.Pool()
	}
	s, err := New(context.Background(), creds, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// message is a valid message for token.
func message(token string) channels.Message {
	return channels.Message{ID: "msg-" + token, DispatchID: "disp-1", AppID: testApp, Token: token,
		Object: map[string]any{"title": "Hello", "alert": "A message for " + token}}
}

// messages makes n messages with tokens prefix-0 … prefix-(n-1).
func messages(prefix string, n int) []channels.Message {
	out := make([]channels.Message, n)
	for i := range out {
		out[i] = message(fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}
