package fake

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

// Listener serves a fake's routes over TLS (HTTP/2 and HTTP/1.1) on a listener
// of its own, with a certificate from a fresh CA.
type Listener struct {
	// URL is the listener's origin, https://host:port.
	URL string
	// CA signed the certificate; clients must trust it.
	CA   *CA
	srv  *http.Server
	done chan error
}

// ListenOptions configure a Listener.
type ListenOptions struct {
	// Addr is the address to listen on. Default 127.0.0.1:0 (a free port).
	Addr string
	// ClientAuth asks clients for a certificate (APNs certificate auth).
	ClientAuth tls.ClientAuthType
	// MaxConcurrentStreams per HTTP/2 connection; default Go's (250).
	MaxConcurrentStreams int
	// ErrorLog receives the server's errors; default discards them (clients
	// that hang up mid-handshake are not news).
	ErrorLog *log.Logger
}

// Listen listens, calls mount with the origin and a mux to mount routes on, then
// serves the mux until Close.
func Listen(o ListenOptions, mount func(origin string, mux *http.ServeMux)) (*Listener, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.ErrorLog == nil {
		o.ErrorLog = log.New(io.Discard, "", 0)
	}
	ca, err := NewCA()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("fake: listen on %s: %w", o.Addr, err)
	}
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	tlsCfg, err := ca.ServerConfig(host)
	if err != nil {
		ln.Close()
		return nil, err
	}
	tlsCfg.ClientAuth = o.ClientAuth
	l := &Listener{URL: "https://" + ln.Addr().String(), CA: ca, done: make(chan error, 1)}
	mux := http.NewServeMux()
	mount(l.URL, mux)
	l.srv = &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second, ErrorLog: o.ErrorLog}
	if o.MaxConcurrentStreams > 0 {
		l.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: o.MaxConcurrentStreams}
	}
	go func() {
		if err := l.srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			l.done <- err
		}
	}()
	return l, nil
}

// Pool returns a certificate pool trusting the listener.
func (l *Listener) Pool() *x509.CertPool { return l.CA.Pool() }

// Failed reports a serve error; closing the listener is not one.
func (l *Listener) Failed() <-chan error { return l.done }

// Shutdown stops accepting and waits for requests in flight, until ctx is done.
func (l *Listener) Shutdown(ctx context.Context) error {
	if err := l.srv.Shutdown(ctx); err != nil {
		return errors.Join(err, l.srv.Close())
	}
	return nil
}

// Close stops the listener at once, ending connections under way.
func (l *Listener) Close() error {
	err := l.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
