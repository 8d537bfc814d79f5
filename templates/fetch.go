package templates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Connected content defaults.
const (
	defaultCCTimeout     = 2 * time.Second
	defaultCCMaxBody     = 1 << 20
	defaultCCCacheMaxAge = 5 * time.Minute
	defaultCCCacheBytes  = 64 << 20
	defaultCCAttempts    = 5
	userAgent            = "Herald-ConnectedContent/1"
)

var (
	errTooLarge       = errors.New("response is larger than the limit")
	errRefusedAddress = errors.New("address not allowed")
)

// ccRequest is one rendered connected content call.
type ccRequest struct {
	method, url, host, body, contentType, auth string
	headers                                    [][2]string
	maxAge                                     time.Duration
	noCache, retry                             bool
	maxAgeSet                                  bool // :cache_max_age given: POST is cached too
}

// key identifies a call for the per-render memo and the cache: everything that
// may change the response, with the credentials by name.
func (r *ccRequest) key() string {
	var b strings.Builder
	for _, s := range []string{r.method, r.url, r.auth, r.contentType, r.body} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	for _, h := range r.headers {
		b.WriteString(h[0])
		b.WriteByte(1)
		b.WriteString(h[1])
		b.WriteByte(0)
	}
	return b.String()
}

// fetchResult is a successful response as a template sees it: a JSON object or
// array (an object gains __http_status_code__, as in Braze), or a string.
type fetchResult struct {
	value  any
	isJSON bool
}

func decodeResponse(status int, body []byte) *fetchResult {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var v any
		if json.Unmarshal(trimmed, &v) == nil {
			if m, ok := v.(map[string]any); ok {
				m["__http_status_code__"] = status
			}
			return &fetchResult{value: v, isJSON: true}
		}
	}
	return &fetchResult{value: string(body)}
}

// connector makes connected content calls: allow-list, timeouts, size cap,
// retries, the response cache, logs and metrics.
type connector struct {
	opts    ConnectedOptions
	client  *http.Client
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	cache   *responseCache
	backoff time.Duration // first retry delay, doubled per attempt

	mu       sync.Mutex
	inflight map[string]*flight
}

// flight is a cacheable call in progress that other renders wait for.
type flight struct {
	done   chan struct{}
	status int
	body   []byte
	ok     bool
}

func newConnector(opts ConnectedOptions, log *slog.Logger, m *Metrics, now func() time.Time) *connector {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultCCTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = defaultCCMaxBody
	}
	if opts.DefaultCacheMaxAge <= 0 {
		opts.DefaultCacheMaxAge = defaultCCCacheMaxAge
	}
	opts.DefaultCacheMaxAge = min(opts.DefaultCacheMaxAge, maxCacheMaxAge)
	if opts.CacheMaxBytes <= 0 {
		opts.CacheMaxBytes = defaultCCCacheBytes
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = defaultCCAttempts
	}
	c := &connector{opts: opts, log: log, metrics: m, now: now,
		cache: newResponseCache(opts.CacheMaxBytes), backoff: 50 * time.Millisecond,
		inflight: make(map[string]*flight)}
	base := opts.HTTPClient
	if base == nil {
		base = c.defaultClient()
	}
	client := *base
	// Braze does not follow redirects: a 3xx is a failure like any non-2xx.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.client = &client
	return c
}

// defaultClient refuses to connect to link-local, multicast and unspecified
// addresses (cloud metadata services), and to loopback unless allowed, whatever
// name resolved to them.
func (c *connector) defaultClient() *http.Client {
	dialer := &net.Dialer{Timeout: c.opts.Timeout, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil {
				return nil
			}
			if ip.IsLoopback() && !c.opts.AllowLoopback || ip.IsUnspecified() || ip.IsLinkLocalUnicast() ||
				ip.IsLinkLocalMulticast() || ip.IsMulticast() {
				return errRefusedAddress
			}
			return nil
		}}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   c.opts.Timeout,
		ResponseHeaderTimeout: c.opts.Timeout,
	}}
}

// allowed reports whether a URL may be called: http or https, a host on the
// allow-list on port 80 or 443, or a loopback host on any port when
// AllowLoopback is set.
func (c *connector) allowed(u *url.URL) bool {
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return false
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return c.opts.AllowLoopback
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return c.opts.AllowLoopback
	}
	if p := u.Port(); p != "" && p != "80" && p != "443" {
		return false
	}
	for _, pat := range c.opts.AllowedHosts {
		pat = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(pat), "."))
		if suffix, ok := strings.CutPrefix(pat, "*"); ok {
			if strings.HasPrefix(suffix, ".") && strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
				return true
			}
		} else if host == pat {
			return true
		}
	}
	return false
}

// call returns the response for req, fetched at most once per render.
func (c *connector) call(st *renderState, req *ccRequest) *fetchResult {
	key := req.key()
	st.mu.Lock()
	if r, ok := st.memo[key]; ok {
		st.mu.Unlock()
		return r
	}
	st.mu.Unlock()
	r := c.fetch(st.ctx, req, key)
	st.mu.Lock()
	if st.memo == nil {
		st.memo = make(map[string]*fetchResult)
	}
	st.memo[key] = r
	st.mu.Unlock()
	return r
}

// fetch makes the call (or answers from the cache) and returns nil on any
// failure, which it logs and reports.
func (c *connector) fetch(ctx context.Context, req *ccRequest, key string) *fetchResult {
	start := time.Now()
	u, err := url.Parse(req.url)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		c.failed(req, "error", 0, 0, errors.New("not an http or https URL"), time.Since(start))
		return nil
	}
	if !c.allowed(u) {
		c.failed(req, "refused", 0, 0, errors.New("host not allowed"), time.Since(start))
		return nil
	}
	cacheable := (req.method == http.MethodGet || req.maxAgeSet) && !req.noCache && req.maxAge > 0
	if !cacheable {
		status, body, attempts, err := c.do(ctx, req)
		return c.result(req, status, body, attempts, err, start)
	}
	if ent := c.cache.get(key, c.now()); ent != nil {
		c.report(req.host, "cached", time.Since(start))
		return decodeResponse(ent.status, ent.body)
	}
	c.mu.Lock()
	if f, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			c.failed(req, "error", 0, 0, ctx.Err(), time.Since(start))
			return nil
		}
		if !f.ok {
			return nil // the call that was waited for logged and reported its failure
		}
		c.report(req.host, "cached", time.Since(start))
		return decodeResponse(f.status, f.body)
	}
	f := &flight{done: make(chan struct{})}
	c.inflight[key] = f
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.inflight, key)
		c.mu.Unlock()
		close(f.done)
	}()
	status, body, attempts, err := c.do(ctx, req)
	res := c.result(req, status, body, attempts, err, start)
	if res != nil {
		f.status, f.body, f.ok = status, body, true
		c.cache.put(key, status, body, c.now().Add(req.maxAge))
	}
	return res
}

// result classifies a finished call.
func (c *connector) result(req *ccRequest, status int, body []byte, attempts int, err error, start time.Time) *fetchResult {
	d := time.Since(start)
	if err == nil && (status < 200 || status > 299) {
		err = fmt.Errorf("status %d", status)
	}
	if err != nil {
		c.failed(req, "error", status, attempts, err, d)
		return nil
	}
	c.report(req.host, "ok", d)
	c.log.Debug("connected content", "host", req.host, "method", req.method, "status", status, "attempts", attempts, "duration", d)
	return decodeResponse(status, body)
}

// do makes the call, retrying network errors and 5xx responses with :retry.
func (c *connector) do(ctx context.Context, req *ccRequest) (status int, body []byte, attempts int, err error) {
	max := 1
	if req.retry {
		max = c.opts.MaxRetries
	}
	delay := c.backoff
	for attempts = 1; ; attempts++ {
		status, body, err = c.attempt(ctx, req)
		retryable := err != nil && !errors.Is(err, errTooLarge) || status >= 500
		if !retryable || attempts >= max || ctx.Err() != nil {
			return status, body, attempts, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return status, body, attempts, ctx.Err()
		}
		delay = min(2*delay, time.Second)
	}
}

func (c *connector) attempt(ctx context.Context, req *ccRequest) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var rd io.Reader
	if req.body != "" {
		rd = strings.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, req.url, rd)
	if err != nil {
		return 0, nil, errors.New("bad request")
	}
	// As Braze: a GET says it sends JSON, a POST a form, and both accept
	// anything; :content_type sets both headers, and :headers come last.
	hr.Header.Set("User-Agent", userAgent)
	hr.Header.Set("Accept", "*/*")
	hr.Header.Set("Content-Type", "application/json")
	if req.method == http.MethodPost {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
		hr.Header.Set("Accept", req.contentType)
	}
	for _, h := range req.headers {
		hr.Header.Set(h[0], h[1])
	}
	if req.auth != "" {
		cred := c.opts.BasicAuth[req.auth]
		hr.SetBasicAuth(cred.Username, cred.Password)
	}
	resp, err := c.client.Do(hr)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.opts.MaxBodyBytes {
		return resp.StatusCode, nil, errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBodyBytes+1))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if int64(len(data)) > c.opts.MaxBodyBytes {
		return resp.StatusCode, nil, errTooLarge
	}
	return resp.StatusCode, data, nil
}

// failed logs a failed call and reports it. The log names the host, never the
// URL (its query may hold secrets) nor credentials.
func (c *connector) failed(req *ccRequest, outcome string, status, attempts int, err error, d time.Duration) {
	host, method := "", ""
	if req != nil {
		host, method = req.host, req.method
	}
	if outcome == "" {
		outcome = "error"
	}
	c.log.Warn("connected content failed", "host", host, "method", method, "outcome", outcome,
		"status", status, "attempts", attempts, "error", describeError(err), "duration", d)
	c.report(host, outcome, d)
}

func (c *connector) report(host, outcome string, d time.Duration) {
	if c.metrics != nil && c.metrics.ConnectedContent != nil {
		c.metrics.ConnectedContent(host, outcome, d)
	}
}

// describeError says what went wrong without the URL that net/http puts in
// its errors.
func describeError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return err.Error()
}
