package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The dashboard is a client of Herald's management API, served in process:
// campaigns, segments, apps and stats go through the same handlers, the same
// validation and the same error answers as GET/POST /manage/… with the
// signed-in key, so no business rule lives twice.

// apiError is a non-2xx answer of the management API.
type apiError struct {
	Status  int
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors"`
}

// fieldError names a field the API refused and why.
type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Errors {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Reason)
	}
	return b.String()
}

// recorder is a minimal in-memory http.ResponseWriter.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// call makes one management API request as the session's key: body (when
// not nil) is sent as JSON, a 2xx answer decodes into out (when not nil),
// anything else is an *apiError.
func (d *Dashboard) call(ctx context.Context, secret, method, path string, body, out any) error {
	var rd io.Reader = http.NoBody
	switch b := body.(type) {
	case nil:
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return err
	}
	req.RemoteAddr = "127.0.0.1:0"
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{h: http.Header{}}
	d.deps.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status/100 != 2 {
		e := &apiError{Status: rec.status}
		if json.Unmarshal(rec.body.Bytes(), e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(rec.body.String())
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
