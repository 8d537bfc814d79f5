package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/dashboard"
)

func TestSignInAndCookieFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	form := func(key string) *strings.Reader {
		return strings.NewReader(url.Values{"key": {key}, "next": {"/dashboard/segments"}}.Encode())
	}
	ct := "application/x-www-form-urlencoded"
	if res := e.request("GET", "/dashboard/signin", nil); res.status != 200 || !strings.Contains(res.body, `name="key"`) {
		t.Fatalf("sign-in page: %d %s", res.status, res.body)
	}
	// without a session every page sends to the sign-in form
	if res := e.request("GET", "/dashboard/campaigns", nil); res.status != http.StatusSeeOther ||
		!strings.HasPrefix(res.header.Get("Location"), "/dashboard/signin?next=") {
		t.Fatalf("signed-out page: %d %v", res.status, res.header)
	}
	for _, tc := range []struct {
		name, key string
		status    int
		want      string
	}{
		{"empty", "", 400, "key: required"},
		{"unknown", "hk_not-a-key-at-all-really", 401, "unknown or revoked"},
		{"no manage scope", e.key("tracker", "users.track"), 403, "lacks the manage scope"},
	} {
		res := e.request("POST", "/dashboard/signin", form(tc.key), "Content-Type", ct, "Origin", e.url)
		if res.status != tc.status || !strings.Contains(res.body, tc.want) || res.header.Get("Set-Cookie") != "" {
			t.Errorf("%s: %d %q (cookie %q)", tc.name, res.status, res.body, res.header.Get("Set-Cookie"))
		}
	}
	if res := e.request("POST", "/dashboard/signin", form(e.admin), "Content-Type", ct, "Origin", "http://evil.example"); res.status != 403 {
		t.Errorf("cross-origin sign-in: %d", res.status)
	}
	manager := e.key("manager", "manage")
	res := e.request("POST", "/dashboard/signin", form(manager), "Content-Type", ct, "Origin", e.url)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/dashboard/segments" {
		t.Fatalf("sign in: %d %v", res.status, res.header)
	}
	cookies := (&http.Response{Header: res.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", cookies)
	}
	c := cookies[0]
	if c.Name != dashboard.CookieName || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/dashboard" ||
		c.MaxAge != int((12*time.Hour)/time.Second) {
		t.Errorf("cookie flags: %+v", c)
	}
	if strings.Contains(c.Value, manager) {
		t.Error("the cookie holds the key in clear")
	}
	b := &browser{e: e, cookie: c.Value}
	if res := b.get("/dashboard/campaigns"); res.status != 200 || !strings.Contains(res.body, "manager") {
		t.Fatalf("signed in: %d %s", res.status, res.body)
	}
	// a tampered cookie is no session
	bad := &browser{e: e, cookie: c.Value[:len(c.Value)-2] + "AA"}
	if res := bad.get("/dashboard/campaigns"); res.status != http.StatusSeeOther {
		t.Errorf("tampered cookie: %d", res.status)
	}
	// sign-out clears the cookie
	b.csrf = csrfRe.FindStringSubmatch(b.get("/dashboard/campaigns").body)[1]
	out := b.post("/dashboard/signout", nil)
	if out.status != http.StatusSeeOther || !strings.Contains(out.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("sign out: %d %v", out.status, out.header)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn(e.admin)
	res := e.apiCall("POST", "/manage/campaigns", map[string]any{"name": "csrf", "audience": map[string]any{"filter": map[string]any{"AND": []any{}}},
		"messages": map[string]any{"web_push": map[string]any{"title": "t", "alert": "a"}}})
	id := res.body[strings.Index(res.body, `"id":"`)+6:][:32]
	launch := "/dashboard/campaigns/" + id + "/launch"
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"no token", url.Values{}, []string{"Origin", e.url}},
		{"wrong token", url.Values{"csrf": {"nope"}}, []string{"Origin", e.url}},
		{"token of another session", url.Values{"csrf": {e.signIn(e.admin).csrf}}, []string{"Origin", e.url}},
		{"cross origin", url.Values{"csrf": {b.csrf}}, []string{"Origin", "http://evil.example"}},
		{"cross-site fetch without Origin", url.Values{"csrf": {b.csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		if res := b.postRaw(launch, tc.form, tc.headers...); res.status != http.StatusForbidden {
			t.Errorf("%s: %d %s", tc.name, res.status, res.body)
		}
	}
	if got := e.apiCall("GET", "/manage/campaigns/"+id, nil).body; !strings.Contains(got, `"status":"draft"`) {
		t.Fatalf("a refused launch changed the campaign: %s", got)
	}
	// the header works as well as the form field (fetch calls)
	if res := b.postRaw(launch, url.Values{}, "X-CSRF-Token", b.csrf, "Origin", e.url); res.status != http.StatusSeeOther {
		t.Fatalf("launch with the header: %d %s", res.status, res.body)
	}
	if got := e.apiCall("GET", "/manage/campaigns/"+id, nil).body; !strings.Contains(got, `"status":"active"`) {
		t.Fatalf("launched campaign: %s", got)
	}
}

func TestRevokedKeyEndsSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret := e.key("soon revoked", "manage")
	b := e.signIn(secret)
	k, err := e.keys.Verify(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeAPIKey(context.Background(), k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	res := b.get("/dashboard/campaigns")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/dashboard/signin") ||
		!strings.Contains(res.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("after revocation: %d %v", res.status, res.header)
	}
	if res := b.post("/dashboard/campaigns/x/launch", nil); res.status != http.StatusUnauthorized {
		t.Fatalf("post after revocation: %d", res.status)
	}
}

func TestSessionExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn(e.admin)
	e.clock.Add(11 * time.Hour)
	if res := b.get("/dashboard/campaigns"); res.status != 200 {
		t.Fatalf("before expiry: %d", res.status)
	}
	e.clock.Add(time.Hour + time.Second)
	if res := b.get("/dashboard/campaigns"); res.status != http.StatusSeeOther {
		t.Fatalf("after expiry: %d", res.status)
	}
}

// A session made by one replica is accepted by another with the same
// master key (nothing is kept in memory), and by none with another key.
func TestSessionAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn(e.admin)
	replica := func(master []byte) *dashboard.Dashboard {
		d, err := dashboard.New(dashboard.Deps{API: e.api, Keys: e.keys, MasterKey: master}, dashboard.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	get := func(d http.Handler) int {
		req, _ := http.NewRequest("GET", "/dashboard/campaigns", nil)
		req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: b.cookie})
		rec := &statusWriter{h: http.Header{}}
		d.ServeHTTP(rec, req)
		return rec.status
	}
	if s := get(replica(e.master)); s != 200 {
		t.Errorf("replica with the same key: %d", s)
	}
	other := append([]byte(nil), e.master...)
	other[0] ^= 1
	if s := get(replica(other)); s != http.StatusSeeOther {
		t.Errorf("replica with another key: %d", s)
	}
	if _, err := dashboard.New(dashboard.Deps{API: e.api, Keys: e.keys, MasterKey: []byte("short")}, dashboard.Options{}); err == nil {
		t.Error("a short master key was accepted")
	}
}

type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.h }
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return len(b), nil
}
func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}

// Over plain HTTP to a host that is not loopback the browser would drop the
// Secure cookie: the sign-in page says so (and not on loopback, TLS or
// behind a TLS proxy).
func TestSignInWarnsOnInsecureOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		host, proto string
		warn        bool
	}{
		{"127.0.0.1:8080", "", false}, {"localhost:8080", "", false}, {"[::1]:8080", "", false},
		{"herald.example.com", "", true}, {"10.0.0.5:8080", "", true}, {"herald.example.com", "https", false},
	} {
		req, _ := http.NewRequest("GET", e.url+"/dashboard/signin", nil)
		req.Host = tc.host
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := strings.Contains(string(b), `id="insecure"`); got != tc.warn || res.StatusCode != 200 {
			t.Errorf("host %s proto %q: %d, warning %v", tc.host, tc.proto, res.StatusCode, got)
		}
	}
}
