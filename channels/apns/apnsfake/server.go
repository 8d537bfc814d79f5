package apnsfake

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
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
	srv  *http.Server
	done chan struct{}
}

// StartServer starts a Fake on 127.0.0.1 (a free port), serving APNs' routes
// and the recorder at /_fake/messages. It requests (but does not require) a
// client certificate, for certificate auth.
func StartServer(cfg Config) (*Server, error) {
	ca, err := fake.NewCA()
	if err != nil {
		return nil, fmt.Errorf("apnsfake: %w", err)
	}
	tlsCfg, err := ca.ServerConfig()
	if err != nil {
		return nil, fmt.Errorf("apnsfake: %w", err)
	}
	tlsCfg.ClientAuth = tls.RequestClientCert
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("apnsfake: %w", err)
	}
	f := New(cfg)
	mux := http.NewServeMux()
	f.Register(mux)
	mux.Handle("/_fake/messages", f.Recorder().Handler())
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		// APNs allows 1000 concurrent streams per connection (Go's default is 250).
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 1000},
	}
	s := &Server{URL: "https://" + ln.Addr().String(), CA: ca, Fake: f, srv: srv, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		// ServeTLS returns http.ErrServerClosed after Close; any other failure
		// shows as failed requests.
		_ = srv.ServeTLS(ln, "", "")
	}()
	return s, nil
}

// Pool returns a certificate pool trusting the server.
func (s *Server) Pool() *x509.CertPool { return s.CA.Pool() }

// Recorder returns the recorder of accepted notifications.
func (s *Server) Recorder() *fake.Recorder { return s.Fake.Recorder() }

// Close stops the server, ending open connections.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
