package dashboard

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/seal"
)

// CookieName is the session cookie's name.
const CookieName = "herald_dashboard"

// sessionAD binds a sealed session to its purpose: a value sealed for
// anything else under the same key does not open as a session.
var sessionAD = []byte("herald dashboard session v1")

// Verifier checks an API key secret; *apikeys.Verifier implements it.
type Verifier interface {
	Verify(ctx context.Context, secret string) (*apikeys.Key, error)
}

// session is what the cookie holds, sealed (AES-GCM): the signed-in key's
// secret (so every request is made as that key and a revoked key ends the
// session), the expiry and the session's CSRF token.
type session struct {
	Secret  string `json:"k"`
	Expires int64  `json:"e"` // unix seconds
	CSRF    string `json:"c"`

	key *apikeys.Key // verified on this request; not serialised
}

// sessions seals and opens session cookies with a key derived from the
// master key, so any replica configured with the same key accepts them.
type sessions struct {
	box *seal.Box
	ttl time.Duration
	now func() time.Time
}

// newSessions derives the session key from the master key with HKDF-SHA256.
func newSessions(master []byte, ttl time.Duration, now func() time.Time) (*sessions, error) {
	if len(master) < 32 {
		return nil, errors.New("dashboard: the session key needs a master key of at least 32 bytes")
	}
	k, err := hkdf.Key(sha256.New, master, nil, "herald dashboard session key", 32)
	if err != nil {
		return nil, fmt.Errorf("dashboard: derive session key: %w", err)
	}
	box, err := seal.New(k)
	if err != nil {
		return nil, err
	}
	return &sessions{box: box, ttl: ttl, now: now}, nil
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// issue sets a new session cookie for a verified key secret.
func (ss *sessions) issue(w http.ResponseWriter, secret string) *session {
	s := &session{Secret: secret, Expires: ss.now().Add(ss.ttl).Unix(), CSRF: newToken()}
	plain, _ := json.Marshal(s)
	sealed, err := ss.box.Seal(plain, sessionAD)
	if err != nil {
		panic(err) // only a failing crypto/rand
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: base64.RawURLEncoding.EncodeToString(sealed),
		Path: "/dashboard", MaxAge: int(ss.ttl / time.Second), HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	return s
}

// clear removes the session cookie.
func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/dashboard", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// open returns the request's session, or nil when it has none, or one that
// does not open (another key, tampered) or has expired.
func (ss *sessions) open(r *http.Request) *session {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" || len(c.Value) > 4096 {
		return nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	plain, err := ss.box.Open(sealed, sessionAD)
	if err != nil {
		return nil
	}
	var s session
	if json.Unmarshal(plain, &s) != nil || s.Secret == "" || s.CSRF == "" || ss.now().Unix() >= s.Expires {
		return nil
	}
	return &s
}

// authed wraps a handler that needs a signed-in manage key. A missing,
// expired or revoked session sends a page to the sign-in form (and a fetch
// call gets 401); a state-changing request must carry the session's CSRF
// token and, when the browser sends one, a same-origin Origin.
func (d *Dashboard) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := d.sessions.open(r)
		if s != nil {
			k, err := d.deps.Keys.Verify(r.Context(), s.Secret)
			switch {
			case errors.Is(err, apikeys.ErrUnknownKey):
				s = nil // revoked: the session ends with its key
			case err != nil:
				d.fail(w, r, err)
				return
			case !k.Allows("manage"):
				s = nil
			default:
				s.key = k
			}
		}
		if s == nil {
			clearCookie(w)
			if wantsJSON(r) || r.Method != http.MethodGet {
				http.Error(w, "sign in again: the dashboard session is missing, expired or its key was revoked", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/dashboard/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if changesState(r.Method) {
			if msg := checkCSRF(r, s.CSRF); msg != "" {
				http.Error(w, msg, http.StatusForbidden)
				return
			}
		}
		h(w, r, s)
	}
}

func changesState(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

func wantsJSON(r *http.Request) bool {
	return r.Header.Get("X-CSRF-Token") != "" || strings.Contains(r.Header.Get("Accept"), "application/json") ||
		strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// checkCSRF returns why a state-changing request is refused, or "".
func checkCSRF(r *http.Request, want string) string {
	if !sameOrigin(r) {
		return "forbidden: cross-origin request (Origin " + r.Header.Get("Origin") + ")"
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return "forbidden: missing or wrong CSRF token (reload the page)"
	}
	return ""
}

// sameOrigin accepts a request whose Origin (or, without one, Referer) names
// this host, and a request that sends neither (not a browser form post
// from another site: browsers send Origin on every cross-origin POST).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
	}
	if o == "" {
		return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}
