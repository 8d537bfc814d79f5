package apnsfake

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/herald-oss/herald/channels/fake"
)

// Server is a Fake listening on loopback with HTTP/2 over TLS, its certificate
// signed by a throw-away CA.
type Server struct {
	// URL is the https://127.0.0.1:port base to give a sender as its host.
	URL  string
	CA   *fake.CA
	Fake *Fake
	l    *fake.Listener
}

// StartServer starts a Fake on 127.0.0.1 (a free port), serving APNs' routes
// and the recorder at /_fake/messages. It requests (but does not require) a
// client certificate, for certificate auth.
func StartServer(cfg Config) (*Server, error) {
	f := New(cfg)
	l, err := fake.Listen(fake.ListenOptions{
		ClientAuth: tls.RequestClientCert,
		// APNs allows 1000 concurrent streams per connection (Go's default is 250).
		MaxConcurrentStreams: 1000,
	}, func(_ string, mux *http.ServeMux) {
		f.Register(mux)
		mux.Handle("/_fake/messages", f.Recorder().Handler())
	})
	if err != nil {
		return nil, fmt.Errorf("apnsfake: %w", err)
	}
	return &Server{URL: l.URL, CA: l.CA, Fake: f, l: l}, nil
}

// Pool returns a certificate pool trusting the server.
func (s *Server) Pool() *x509.CertPool { return s.CA.Pool() }

// Recorder returns the recorder of accepted notifications.
func (s *Server) Recorder() *fake.Recorder { return s.Fake.Recorder() }

// Close stops the server, ending open connections.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.l.Shutdown(ctx)
}
