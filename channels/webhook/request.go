package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/herald-oss/herald/channels"
)

// Methods a webhook may use; POST is the default.
var Methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// IdempotencyKey is the header carrying the message id.
const IdempotencyKey = "Idempotency-Key"

// NewRequest builds the HTTP request of a rendered webhook object: url
// (http or https), request_method (default POST), request_headers (a map of
// strings) and body. The Idempotency-Key header is msg.ID, whatever the
// headers say.
func NewRequest(ctx context.Context, msg channels.Message) (*http.Request, error) {
	obj := msg.Object
	raw, _ := obj["url"].(string)
	raw = strings.TrimSpace(raw)
	if err := CheckURL(raw); err != nil {
		return nil, err
	}
	method := http.MethodPost
	if m, ok := obj["request_method"].(string); ok && m != "" {
		method = strings.ToUpper(strings.TrimSpace(m))
	}
	if !validMethod(method) {
		return nil, fmt.Errorf("webhook: request_method %q: want one of %s", method, strings.Join(Methods, ", "))
	}
	body, _ := obj["body"].(string)
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("webhook: body of %d bytes is over the %d byte limit", len(body), MaxBodyBytes)
	}
	var rd io.Reader // nil: no body
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, raw, rd)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if hs, ok := obj["request_headers"].(map[string]any); ok {
		for k, v := range hs {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("webhook: request_headers[%q]: want a string", k)
			}
			if !validHeader(k, s) {
				return nil, fmt.Errorf("webhook: request_headers[%q]: not a valid header", k)
			}
			req.Header.Set(k, s)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Herald-Webhook")
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	req.Header.Set(IdempotencyKey, msg.ID)
	return req, nil
}

// CheckURL accepts an absolute http or https URL with a host and no user
// info.
func CheckURL(raw string) error {
	if raw == "" {
		return errors.New("webhook: url is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("webhook: url does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("webhook: url scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" || u.Opaque != "" {
		return errors.New("webhook: url has no host")
	}
	if u.User != nil {
		return errors.New("webhook: url holds user info (send credentials in request_headers)")
	}
	return nil
}

func validMethod(m string) bool {
	for _, v := range Methods {
		if m == v {
			return true
		}
	}
	return false
}

// validHeader reports whether a header name is a token and its value holds
// no control characters; Host, Content-Length and hop-by-hop headers are
// Herald's.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c) {
			return false
		}
	}
	switch http.CanonicalHeaderKey(name) {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer", "Keep-Alive", "Proxy-Connection":
		return false
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
