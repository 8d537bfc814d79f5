package fcmfake

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/herald-oss/herald/channels/fake"
)

// Server is a Fake listening on 127.0.0.1 with HTTP/2 over TLS, signed by a
// throw-away CA, for tests, benchmarks and dev mode.
type Server struct {
	// URL is the base URL (https://127.0.0.1:port).
	URL string
	// Endpoint is the FCM API base to give a sender (URL + "/v1").
	Endpoint string
	// TokenURL is the OAuth token endpoint, for a service account's token_uri.
	TokenURL string
	// CA signed the server's certificate; clients must trust it.
	CA *fake.CA
	// Fake is the provider behind the listener.
	Fake *Fake

	srv *http.Server
}

// StartServer starts a Fake built from cfg on a loopback port. It also serves
// the recorder at /_fake/messages. Close stops it.
func StartServer(cfg Config) (*Server, error) {
	ca, err := fake.NewCA()
	if err != nil {
		return nil, fmt.Errorf("fcmfake: %w", err)
	}
	tlsCfg, err := ca.ServerConfig()
	if err != nil {
		return nil, fmt.Errorf("fcmfake: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fcmfake: listen: %w", err)
	}
	f := New(cfg)
	mux := http.NewServeMux()
	f.Register(mux)
	mux.Handle("/_fake/messages", f.Recorder().Handler())
	srv := &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)} // clients that hang up mid-handshake are not news
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	base := "https://" + ln.Addr().String()
	return &Server{URL: base, Endpoint: base + "/v1", TokenURL: base + f.TokenPath(), CA: ca, Fake: f, srv: srv}, nil
}

// Pool returns a certificate pool trusting the server.
func (s *Server) Pool() *x509.CertPool { return s.CA.Pool() }

// Recorder returns the recorder of accepted messages.
func (s *Server) Recorder() *fake.Recorder { return s.Fake.Recorder() }

// NewServiceAccount generates a service account key for projectID whose
// token_uri is this server's token endpoint, and trusts it. It returns the
// JSON key file and the account's email.
func (s *Server) NewServiceAccount(projectID string) (jsonKey []byte, email string, err error) {
	jsonKey, email, pub, err := NewServiceAccount(projectID, s.TokenURL)
	if err != nil {
		return nil, "", err
	}
	s.Fake.AddServiceAccount(email, pub)
	return jsonKey, email, nil
}

// Close stops the server and closes its connections.
func (s *Server) Close() error {
	if err := s.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fcmfake: close: %w", err)
	}
	return nil
}
