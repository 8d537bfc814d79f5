package fcmfake

import (
	"crypto/x509"
	"fmt"
	"net/http"

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

	l *fake.Listener
}

// StartServer starts a Fake built from cfg on a loopback port. It also serves
// the recorder at /_fake/messages. Close stops it.
func StartServer(cfg Config) (*Server, error) {
	f := New(cfg)
	l, err := fake.Listen(fake.ListenOptions{}, func(_ string, mux *http.ServeMux) {
		f.Register(mux)
		mux.Handle("/_fake/messages", f.Recorder().Handler())
	})
	if err != nil {
		return nil, fmt.Errorf("fcmfake: %w", err)
	}
	return &Server{URL: l.URL, Endpoint: l.URL + "/v1", TokenURL: l.URL + f.TokenPath(), CA: l.CA, Fake: f, l: l}, nil
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
	if err := s.l.Close(); err != nil {
		return fmt.Errorf("fcmfake: close: %w", err)
	}
	return nil
}
