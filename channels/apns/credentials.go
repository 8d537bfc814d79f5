package apns

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/certificate"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"
)

// Environments of Credentials.Environment.
const (
	Production = "production"
	Sandbox    = "sandbox"
)

// Credentials are one app's APNs credentials: token auth (KeyP8, KeyID,
// TeamID) or certificate auth (CertificateP12 or CertificatePEM, with
// CertificatePassword when the key is encrypted), never both.
type Credentials struct {
	// KeyP8 is the content of the .p8 signing key (PEM, PKCS#8 ECDSA P-256).
	KeyP8 string
	// KeyID is the key's 10-character id (the JWT's kid).
	KeyID string
	// TeamID is the developer team id (the JWT's iss).
	TeamID string
	// CertificateP12 is a PKCS#12 push certificate with its private key.
	CertificateP12 []byte
	// CertificatePEM holds a push certificate and its private key as PEM.
	CertificatePEM string
	// CertificatePassword decrypts the .p12 or the PEM key; empty when none.
	CertificatePassword string
	// Topic is the app's bundle id. Required.
	Topic string
	// Environment is Production or Sandbox. Default: Production.
	Environment string
	// Host overrides the environment's host with an https URL (a fake, a
	// proxy). Default: none.
	Host string
}

// Options tune a Sender.
type Options struct {
	// RootCAs are the roots trusted for the APNs connection, used as given:
	// to add a CA (a fake, a TLS-intercepting proxy) to the system roots, pass
	// x509.SystemCertPool() with the CA appended. Default: nil, the system roots.
	RootCAs *x509.CertPool
	// MaxInFlight bounds the requests in flight at once. Default: 256.
	MaxInFlight int
	// Timeout bounds one request. Default: 15s.
	Timeout time.Duration
	// Now is the clock (token refresh, Retry-After dates, relative expiry).
	// Default: time.Now.
	Now func() time.Time
	// Observe, when set, is called with each APNs round trip's latency.
	Observe func(time.Duration)
	// Logger receives warnings. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 256
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// validate checks the credentials' shape and returns the APNs host.
func (c Credentials) validate() (string, error) {
	var problems []error
	if strings.TrimSpace(c.Topic) == "" {
		problems = append(problems, errors.New("topic (the bundle id) is required"))
	}
	tokenAuth := c.KeyP8 != "" || c.KeyID != "" || c.TeamID != ""
	certAuth := len(c.CertificateP12) > 0 || c.CertificatePEM != ""
	switch {
	case tokenAuth && certAuth:
		problems = append(problems, errors.New("give either a token key or a certificate, not both"))
	case tokenAuth:
		if c.KeyP8 == "" || c.KeyID == "" || c.TeamID == "" {
			problems = append(problems, errors.New("token auth needs the .p8 key, the key id and the team id"))
		}
	case certAuth:
		if len(c.CertificateP12) > 0 && c.CertificatePEM != "" {
			problems = append(problems, errors.New("give the certificate as .p12 or as PEM, not both"))
		}
	default:
		problems = append(problems, errors.New("no credentials: give a .p8 key (with key id and team id) or a certificate"))
	}
	host := apns2.HostProduction
	switch c.Environment {
	case "", Production:
	case Sandbox, "development":
		host = apns2.HostDevelopment
	default:
		problems = append(problems, fmt.Errorf("environment %q is not %s or %s", c.Environment, Production, Sandbox))
	}
	if c.Host != "" {
		u, err := url.Parse(c.Host)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			problems = append(problems, fmt.Errorf("host %q is not an https://host[:port] URL", c.Host))
		}
		host = strings.TrimSuffix(c.Host, "/")
	}
	return host, errors.Join(problems...)
}

// idleConnTimeout closes an APNs connection that has carried no request for
// this long. apns2's transport sets none, and its PINGs keep an idle connection
// up forever; Close closes the sender's connections itself, so this is only a
// backstop (a connection left busy past Close's wait).
const idleConnTimeout = 5 * time.Minute

// newClient builds the app's one APNs client (and its shared token for token
// auth), keeping the HTTP/2 transport apns2 makes (PING health checks after
// 15 s idle) with opts' roots, an IdleConnTimeout and dial's connections, and
// a transport hook that reads Retry-After.
func newClient(c Credentials, host string, opts Options, dial *conns) (*apns2.Client, *token.Token, error) {
	var client *apns2.Client
	var tok *token.Token
	if c.KeyP8 != "" {
		key, err := token.AuthKeyFromBytes([]byte(c.KeyP8))
		if err != nil {
			return nil, nil, fmt.Errorf("apns: the .p8 key: %w", err)
		}
		tok = &token.Token{AuthKey: key, KeyID: c.KeyID, TeamID: c.TeamID}
		// apns2 ignores a failure to sign when it refreshes; sign once now so
		// a bad key fails here, not as 403s later.
		if _, err := tok.Generate(); err != nil {
			return nil, nil, fmt.Errorf("apns: signing a provider token with the .p8 key: %w", err)
		}
		client = apns2.NewTokenClient(tok)
	} else {
		var cert tls.Certificate
		var err error
		if len(c.CertificateP12) > 0 {
			cert, err = certificate.FromP12Bytes(c.CertificateP12, c.CertificatePassword)
		} else {
			cert, err = certificate.FromPemBytes([]byte(c.CertificatePEM), c.CertificatePassword)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("apns: the certificate: %w", err)
		}
		if cert.Leaf != nil && opts.Now().After(cert.Leaf.NotAfter) {
			return nil, nil, fmt.Errorf("apns: the certificate expired on %s", cert.Leaf.NotAfter.UTC().Format(time.DateOnly))
		}
		client = apns2.NewClient(cert)
	}
	tr, ok := client.HTTPClient.Transport.(*http2.Transport)
	if !ok {
		return nil, nil, fmt.Errorf("apns: unexpected transport %T", client.HTTPClient.Transport)
	}
	if tr.IdleConnTimeout == 0 {
		tr.IdleConnTimeout = idleConnTimeout
	}
	tr.DialTLSContext = dial.dial
	if opts.RootCAs != nil {
		cfg := &tls.Config{}
		if tr.TLSClientConfig != nil {
			cfg = tr.TLSClientConfig.Clone()
		}
		cfg.RootCAs = opts.RootCAs
		tr.TLSClientConfig = cfg
	}
	client.HTTPClient = &http.Client{Transport: tapTransport{tr}, Timeout: opts.Timeout}
	client.Host = host
	return client, tok, nil
}
