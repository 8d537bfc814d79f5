package api

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-oss/herald/apikeys"
)

// isBulk reports whether a request marks itself as a backfill.
func isBulk(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("X-Braze-Bulk"), "true") || strings.EqualFold(r.Header.Get("X-Herald-Bulk"), "true")
}

// handle registers an authenticated, rate-limited route.
func (s *Server) handle(pattern string, ep endpoint, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		bulk := ep.bulk && isBulk(r)
		release, ok := s.acquire(w, r, bulk)
		if !ok {
			return
		}
		defer release()

		key, ok := s.authenticate(w, r, ep.scope)
		if !ok {
			return
		}
		class := ep.class
		if bulk {
			class = classUsersTrackBulk
		}
		if !s.rateLimit(w, r, key, class) {
			return
		}
		body, err := requestBody(w, r, s.opts.MaxBodyBytes)
		if err != nil {
			writeMessage(w, http.StatusBadRequest, err.Error())
			return
		}
		r.Body = body
		h(w, r)
	})
}

// acquire takes a slot on the live or bulk lane. A full live lane answers 503 at
// once; a bulk request waits up to BulkWait for its lane.
func (s *Server) acquire(w http.ResponseWriter, r *http.Request, bulk bool) (func(), bool) {
	lane := s.live
	if bulk {
		lane = s.bulk
	}
	select {
	case lane <- struct{}{}:
		return func() { <-lane }, true
	default:
	}
	if bulk {
		t := time.NewTimer(s.opts.BulkWait)
		defer t.Stop()
		select {
		case lane <- struct{}{}:
			return func() { <-lane }, true
		case <-t.C:
		case <-r.Context().Done():
			return nil, false
		}
	}
	s.metrics.overloaded.Inc()
	w.Header().Set("Retry-After", "1")
	writeMessage(w, http.StatusServiceUnavailable, "server overloaded, retry later")
	return nil, false
}

// authenticate checks the bearer key and its scope: 401 for a missing or unknown
// key, 403 for a key without the scope.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, scope string) (*apikeys.Key, bool) {
	secret := bearer(r)
	if secret == "" {
		writeMessage(w, http.StatusUnauthorized, "Unauthorized: missing API key (send Authorization: Bearer <key>)")
		return nil, false
	}
	key, err := s.deps.Keys.Verify(r.Context(), secret)
	if errors.Is(err, apikeys.ErrUnknownKey) {
		writeMessage(w, http.StatusUnauthorized, "Unauthorized: unknown or revoked API key")
		return nil, false
	}
	if err != nil {
		s.log.Error("verify API key", "err", err)
		w.Header().Set("Retry-After", "1")
		writeMessage(w, http.StatusServiceUnavailable, "cannot verify the API key right now")
		return nil, false
	}
	if !key.Allows(scope) {
		writeMessage(w, http.StatusForbidden, fmt.Sprintf("Access Denied: this API key lacks the %q permission", scope))
		return nil, false
	}
	return key, true
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// requestBody caps the body at limit bytes (after gzip decoding, when the client
// sent Content-Encoding: gzip; the compressed stream is capped too).
func requestBody(w http.ResponseWriter, r *http.Request, limit int64) (io.ReadCloser, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, &bodyError{err: err}
		}
		return &limitedGzip{Reader: zr, body: body, left: limit, limit: limit}, nil
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q (use gzip or none)", r.Header.Get("Content-Encoding"))
	}
}

type limitedGzip struct {
	*gzip.Reader
	body  io.ReadCloser
	left  int64
	limit int64
}

func (l *limitedGzip) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// exactly at the limit is fine if the stream ends here
		var one [1]byte
		if n, err := l.Reader.Read(one[:]); n == 0 && errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, &http.MaxBytesError{Limit: l.limit}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.Reader.Read(p)
	l.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = &bodyError{err: err} // a corrupt or truncated gzip stream
		}
	}
	return n, err
}

// bodyError is a request body that cannot be decoded (bad gzip): a 400, not a
// server error.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "invalid gzip body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

func (l *limitedGzip) Close() error { return l.body.Close() }

func retryAfterSeconds(d time.Duration) string {
	sec := int64((d + time.Second - 1) / time.Second)
	if sec < 1 {
		sec = 1
	}
	return strconv.FormatInt(sec, 10)
}
