package webpush

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
	"github.com/herald-oss/herald/internal/testdeps"
)

// env is a sender wired to a fake push service over TLS on loopback.
type env struct {
	srv    *webpushfake.Server
	sender *Sender
	creds  Credentials
	logs   *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer = testdeps.SyncBuffer

// newEnv starts a fake knowing the sender's VAPID key as app "app-1" (unless
// cfg.VAPIDKeys says otherwise) and a sender trusting it, loopback allowed
// unless opts.Policy has allowed hosts of its own.
func newEnv(t testing.TB, cfg webpushfake.Config, opts Options) *env {
	t.Helper()
	pub, priv, err := GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VAPIDKeys == nil {
		cfg.VAPIDKeys = map[string]string{pub: "app-1"}
	}
	srv := webpushfake.Start(t, cfg)
	opts.RootCAs = srv.Pool()
	if opts.Policy.AllowedHosts == nil {
		opts.Policy.AllowLoopback = true
	}
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	creds := Credentials{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "mailto:ops@example.com"}
	s, err := New(context.Background(), creds, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &env{srv: srv, sender: s, creds: creds, logs: logs}
}

func (e *env) subscribe(t testing.TB, behavior string) string {
	t.Helper()
	tok, err := e.srv.Subscribe(behavior)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// message is a valid web push to token.
func message(id, token string) channels.Message {
	return channels.Message{
		ID: id, DispatchID: "dispatch-1", AppID: "app-1", Token: token, CollapseID: "collapse-" + id,
		Object: map[string]any{"title": "Hello", "alert": "World " + id, "custom_uri": "https://example.com/x"},
	}
}

// subscriptionID is the endpoint's last path segment.
func subscriptionID(t testing.TB, token string) string {
	t.Helper()
	var s struct{ Endpoint string }
	if err := json.Unmarshal([]byte(token), &s); err != nil {
		t.Fatal(err)
	}
	return s.Endpoint[strings.LastIndexByte(s.Endpoint, '/')+1:]
}
