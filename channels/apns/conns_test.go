package apns

import (
	"context"
	"crypto/tls"
	"io"
	"strings"
	"testing"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fake"
)

func TestDialTracksConnections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := e.sender(t, nil)
	if n := s.conns.count(); n != 0 {
		t.Fatalf("%d connections before the first send (New does not connect)", n)
	}
	msgs := make([]channels.Message, 20)
	for i := range msgs {
		msgs[i] = message("m", "tok-ok", alert("x"))
	}
	for _, r := range s.Send(context.Background(), msgs) {
		if r.Outcome != channels.Delivered {
			t.Fatalf("%s %q (%v)", r.Outcome, r.Reason, r.Err)
		}
	}
	if n := s.conns.count(); n != 1 {
		t.Errorf("%d connections after a batch, want the one long-lived connection", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.count(); n != 0 {
		t.Errorf("%d connections after Close", n)
	}

	// A TLS server that does not negotiate HTTP/2 (no ALPN) is refused at the
	// dial, and the connection is not kept.
	ca, err := fake.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = nil
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); _ = c.Close() }()
		}
	}()
	s1 := e.sender(t, func(c *Credentials, o *Options) { c.Host = "https://" + ln.Addr().String(); o.RootCAs = ca.Pool() })
	r := s1.Send(context.Background(), []channels.Message{message("m", "tok-ok", alert("x"))})[0]
	if r.Outcome != channels.Retry || r.Reason != ReasonTransportError || !strings.Contains(r.Err.Error(), `negotiated protocol "", not h2`) {
		t.Errorf("a server without HTTP/2: %s %q (%v)", r.Outcome, r.Reason, r.Err)
	}
	if n := s1.conns.count(); n != 0 {
		t.Errorf("%d connections kept after a refused dial", n)
	}
}
