package dashboard

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/herald-oss/herald/apikeys"
)

type signinData struct {
	Next string
	// Insecure: the page came over plain HTTP to a host that is not
	// loopback, where browsers drop the Secure session cookie.
	Insecure bool
}

// insecureOrigin reports whether a request came over plain HTTP (no TLS, no
// X-Forwarded-Proto: https from a proxy) to a host browsers do not treat
// as secure.
func insecureOrigin(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip == nil || !ip.IsLoopback()
}

// next is where a sign-in goes: a dashboard path, else the campaign list.
func next(v string) string {
	if strings.HasPrefix(v, "/dashboard/") && !strings.HasPrefix(v, "//") && !strings.Contains(v, "\\") {
		return v
	}
	return "/dashboard/campaigns"
}

func (d *Dashboard) signinPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "signin", nil, page{Title: "Sign in", Data: signinData{Next: next(r.URL.Query().Get("next")), Insecure: insecureOrigin(r)}})
}

// signin checks a posted API key (field "key"): it must be active and carry
// the manage scope. The form is not under a session yet, so its CSRF
// defence is the same-origin check (and SameSite=Strict on the cookie it
// sets).
func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	data := signinData{Next: next(r.PostFormValue("next")), Insecure: insecureOrigin(r)}
	if !sameOrigin(r) {
		http.Error(w, "forbidden: cross-origin sign-in", http.StatusForbidden)
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("key"))
	if secret == "" {
		d.render(w, r, http.StatusBadRequest, "signin", nil, page{Title: "Sign in", Error: "key: required", Data: data})
		return
	}
	k, err := d.deps.Keys.Verify(r.Context(), secret)
	switch {
	case errors.Is(err, apikeys.ErrUnknownKey):
		d.render(w, r, http.StatusUnauthorized, "signin", nil, page{Title: "Sign in", Error: "key: unknown or revoked API key", Data: data})
		return
	case err != nil:
		d.fail(w, r, err)
		return
	case !k.Allows("manage"):
		d.render(w, r, http.StatusForbidden, "signin", nil, page{Title: "Sign in", Error: "key: this key lacks the manage scope", Data: data})
		return
	}
	d.sessions.issue(w, secret)
	d.log.Info("dashboard sign-in", "key_id", k.ID, "key_name", k.Name)
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

func (d *Dashboard) signout(w http.ResponseWriter, r *http.Request, _ *session) {
	clearCookie(w)
	http.Redirect(w, r, "/dashboard/signin?flash=signed+out", http.StatusSeeOther)
}
