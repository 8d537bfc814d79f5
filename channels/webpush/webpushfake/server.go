package webpushfake

import (
	"crypto/x509"
	"fmt"
	"net/http"

	"github.com/herald-oss/herald/channels/fake"
)

// Server is a Fake listening on 127.0.0.1 over TLS (HTTP/2 and HTTP/1.1) with
// a throw-away CA, for tests and benchmarks. Its mux also serves the recorder
// at /_fake/messages.
type Server struct {
	// URL is the server's origin, https://127.0.0.1:<port>.
	URL  string
	CA   *fake.CA
	Fake *Fake
	l    *fake.Listener
}

// StartServer starts a Fake on a free loopback port; cfg.BaseURL is set to the
// server's URL.
func StartServer(cfg Config) (*Server, error) {
	var f *Fake
	l, err := fake.Listen(fake.ListenOptions{}, func(origin string, mux *http.ServeMux) {
		cfg.BaseURL = origin
		f = New(cfg)
		f.Register(mux)
		mux.Handle("/_fake/messages", f.Recorder().Handler())
	})
	if err != nil {
		return nil, fmt.Errorf("webpushfake: %w", err)
	}
	return &Server{URL: l.URL, CA: l.CA, Fake: f, l: l}, nil
}

// TB is the part of testing.TB that Start uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start is StartServer for a test: it fails the test on error and closes the
// server when the test ends.
func Start(t TB, cfg Config) *Server {
	t.Helper()
	s, err := StartServer(cfg)
	if err != nil {
		t.Fatalf("webpushfake: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Pool returns a certificate pool trusting the server.
func (s *Server) Pool() *x509.CertPool { return s.CA.Pool() }

// Recorder returns the recorder of accepted messages.
func (s *Server) Recorder() *fake.Recorder { return s.Fake.Recorder() }

// Subscribe mints a subscription (see Fake.NewSubscription).
func (s *Server) Subscribe(behavior string) (string, error) { return s.Fake.NewSubscription(behavior) }

// Close stops the server at once, ending connections (and requests) under way.
func (s *Server) Close() error { return s.l.Close() }
