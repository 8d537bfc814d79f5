package apns

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"

	"github.com/sideshow/apns2"
)

// conns dials the client's connections and keeps the open ones, so that Close
// can end each: the transport's CloseIdleConnections skips a connection whose
// last stream it has not yet released, and one left open is kept alive by the
// transport's PINGs.
type conns struct {
	mu   sync.Mutex
	open map[*trackedConn]struct{}
}

func newConns() *conns { return &conns{open: make(map[*trackedConn]struct{})} }

// dial is the transport's DialTLSContext: apns2's dial (TLSDialTimeout for
// dial and handshake, TCPKeepAlive), over a TCP connection whose Close is
// tracked, and with the HTTP/2 check the transport makes of its own dials.
func (c *conns) dial(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, apns2.TLSDialTimeout)
	defer cancel()
	d := net.Dialer{KeepAlive: apns2.TCPKeepAlive}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: raw, owner: c}
	c.mu.Lock()
	c.open[tc] = struct{}{}
	c.mu.Unlock()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	conn := tls.Client(tc, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = tc.Close()
		return nil, err
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		_ = tc.Close()
		return nil, fmt.Errorf("apns: %s negotiated protocol %q, not h2", addr, p)
	}
	return conn, nil
}

// count returns how many connections are open.
func (c *conns) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

// closeAll closes every open connection (the TCP connection under TLS: it
// cannot block on a peer).
func (c *conns) closeAll() {
	c.mu.Lock()
	open := make([]*trackedConn, 0, len(c.open))
	for tc := range c.open {
		open = append(open, tc)
	}
	c.mu.Unlock()
	for _, tc := range open {
		_ = tc.Close()
	}
}

// trackedConn is a TCP connection that leaves its conns when closed.
type trackedConn struct {
	net.Conn
	owner *conns
	once  sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() {
		t.owner.mu.Lock()
		delete(t.owner.open, t)
		t.owner.mu.Unlock()
	})
	return t.Conn.Close()
}
