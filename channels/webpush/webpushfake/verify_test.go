package webpushfake

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"
)

// TestVerificationFailures: every check of a push service and of the browser
// refuses a request that fails it, with the real status and autopush's errno,
// and records nothing.
func TestVerificationFailures(t *testing.T) {
	t.Parallel()
	k := newVAPID(t)
	other := newVAPID(t)
	now := time.Now()
	jwt := func(claims map[string]any) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", "vapid t="+signJWT(t, k, claims)+", k="+k.pub)
		}
	}
	setHeader := func(name, value string) func(*http.Request) {
		return func(r *http.Request) {
			if value == "" {
				r.Header.Del(name)
			} else {
				r.Header.Set(name, value)
			}
		}
	}
	cases := []struct {
		name    string
		cfg     Config
		subject string
		opts    *webpushgo.Options
		tamper  func(s *Server) func(*http.Request)
		status  int
		errno   float64
		message string
	}{
		{name: "no authorization", tamper: func(*Server) func(*http.Request) { return setHeader("Authorization", "") },
			status: 401, errno: 109, message: "missing or malformed Authorization"},
		{name: "bearer scheme", tamper: func(*Server) func(*http.Request) { return setHeader("Authorization", "Bearer abc") },
			status: 401, errno: 109, message: "missing or malformed"},
		{name: "k not a point", tamper: func(*Server) func(*http.Request) {
			return func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "k=", "k=AAAA", 1))
			}
		}, status: 401, message: "k parameter"},
		{name: "signed by another key", tamper: func(*Server) func(*http.Request) {
			return func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "k="+k.pub, "k="+other.pub, 1))
			}
		}, status: 403, errno: 109, message: "signature does not verify"},
		{name: "wrong aud", tamper: func(s *Server) func(*http.Request) {
			return jwt(map[string]any{"aud": "https://push.example.com", "exp": now.Add(time.Hour).Unix(), "sub": "mailto:ops@example.com"})
		}, status: 403, message: "JWT aud"},
		{name: "no exp", tamper: func(s *Server) func(*http.Request) {
			return jwt(map[string]any{"aud": s.URL, "sub": "mailto:ops@example.com"})
		}, status: 403, message: "exp missing"},
		{name: "no sub", tamper: func(s *Server) func(*http.Request) {
			return jwt(map[string]any{"aud": s.URL, "exp": now.Add(time.Hour).Unix()})
		}, status: 403, message: "must be a mailto: or https: contact"},
		{name: "expired (the fake's clock 13 h ahead of the 12 h JWT)", cfg: Config{Now: func() time.Time { return time.Now().Add(13 * time.Hour) }},
			status: 403, message: "JWT expired"},
		{name: "exp more than 24 h ahead", cfg: Config{Now: func() time.Time { return time.Now().Add(-13 * time.Hour) }},
			status: 403, message: "more than 24 hours ahead"},
		{name: "doubled mailto (library pitfall)", subject: "mailto:ops@example.com", status: 403, message: `"mailto:mailto:ops@example.com"`},
		{name: "unknown VAPID key", cfg: Config{VAPIDKeys: map[string]string{other.pub: "app-2"}}, status: 403, message: "not one this push service knows"},
		{name: "missing TTL", tamper: func(*Server) func(*http.Request) { return setHeader("TTL", "") }, status: 400, errno: 111, message: "TTL header is missing"},
		{name: "bad TTL", tamper: func(*Server) func(*http.Request) { return setHeader("TTL", "-1") }, status: 400, errno: 112, message: "TTL header"},
		{name: "bad Urgency", tamper: func(*Server) func(*http.Request) { return setHeader("Urgency", "urgent") }, status: 400, message: "Urgency header"},
		{name: "Topic too long", tamper: func(*Server) func(*http.Request) { return setHeader("Topic", strings.Repeat("a", 33)) }, status: 400, message: "Topic header"},
		{name: "Topic alphabet", tamper: func(*Server) func(*http.Request) { return setHeader("Topic", "a b") }, status: 400, message: "Topic header"},
		{name: "old aesgcm encoding", tamper: func(*Server) func(*http.Request) { return setHeader("Content-Encoding", "aesgcm") }, status: 400, errno: 101, message: "aes128gcm"},
		{name: "body over 4096 bytes", opts: &webpushgo.Options{TTL: 60, RecordSize: 8192}, status: 413, errno: 104},
		{name: "tampered body", tamper: func(*Server) func(*http.Request) {
			return func(r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				b[len(b)-1] ^= 0xff
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
		}, status: 400, errno: 110, message: "does not decrypt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t, c.cfg)
			subject := c.subject
			if subject == "" {
				subject = "ops@example.com"
			}
			var tamper func(*http.Request)
			if c.tamper != nil {
				tamper = c.tamper(s)
			}
			a := push(t, s, subscribe(t, s, ""), k, subject, []byte(`{"title":"x"}`), c.opts, tamper)
			if a.status != c.status {
				t.Fatalf("status %d %v, want %d", a.status, a.body, c.status)
			}
			if c.errno != 0 && a.body["errno"] != c.errno {
				t.Errorf("errno %v, want %v", a.body["errno"], c.errno)
			}
			if msg, _ := a.body["message"].(string); !strings.Contains(msg, c.message) {
				t.Errorf("message %q, want it to contain %q", msg, c.message)
			}
			if c.status == 401 && a.header.Get("WWW-Authenticate") != "vapid" {
				t.Errorf("401 without WWW-Authenticate: vapid")
			}
			if n := s.Recorder().Len(); n != 0 {
				t.Errorf("%d records after a refused push", n)
			}
		})
	}
}
