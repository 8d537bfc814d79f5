package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/api"
	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/audiences"
	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/dashboard"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/seal"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/store"
	"github.com/herald-oss/herald/store/storetest"
	"github.com/herald-oss/herald/templates"
)

// env is the dashboard in front of a real API over a real store and Redis,
// reached over real HTTP.
type env struct {
	t      testing.TB
	url    string
	store  *store.Store
	admin  string // a key with every scope
	master []byte
	api    http.Handler
	keys   *apikeys.Verifier
	clock  *clock
	server *httptest.Server
}

// clock is an adjustable time source for session expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func openStore(t testing.TB, driver string) *store.Store {
	t.Helper()
	return storetest.Open(t, driver)
}

type envOptions struct {
	driver string
	deps   func(*dashboard.Deps)
}

func newEnv(t testing.TB, eo ...envOptions) *env {
	t.Helper()
	o := envOptions{driver: "sqlite"}
	if len(eo) > 0 {
		o = eo[0]
	}
	st := openStore(t, o.driver)
	addr, prefix := testdeps.RedisOrMini(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	master := bytes.Repeat([]byte{7}, 32)
	box, err := seal.New(master)
	if err != nil {
		t.Fatal(err)
	}
	svc := profiles.NewService(st, profiles.Options{})
	segs := audiences.NewService(st, audiences.Options{Now: svc.Now})
	resolver := func(ctx context.Context, id string) (*segments.Filter, error) { return segs.Resolver()(ctx, id) }
	camp := campaigns.NewService(st, queue.NewClient(rdb, queue.ClientOptions{Queue: "herald-test-" + testdeps.Random(8), Retention: time.Hour}),
		templates.New(templates.Options{}), resolver, nil)
	keys := apikeys.NewVerifier(st, 0, nil) // no cache: a revocation shows at once
	lim := api.Limit{Requests: 100000, Window: time.Minute}
	srv := api.New(api.Deps{Profiles: svc, Apps: profiles.NewAppService(st, box, nil), Keys: keys, Audiences: segs, Campaigns: camp,
		Limiter: api.NewLimiter(rdb, prefix, nil, nil)},
		api.Options{Limits: api.Limits{UsersTrack: lim, UsersTrackBulk: lim, UsersExport: lim, UsersIdentity: lim, Default: lim}})
	e := &env{t: t, store: st, master: master, api: srv, keys: keys, clock: &clock{now: time.Now()}}
	deps := dashboard.Deps{API: srv, Keys: keys, MasterKey: master, APIKeys: st, Previewer: camp, Users: st}
	if o.deps != nil {
		o.deps(&deps)
	}
	d, err := dashboard.New(deps, dashboard.Options{Now: e.clock.Now, LiveInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/dashboard/", d)
	mux.Handle("/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	e.url, e.server = hs.URL, hs
	e.admin = e.key("admin", apikeys.All)
	return e
}

func (e *env) key(name string, scopes ...string) string {
	e.t.Helper()
	secret, _, err := apikeys.Create(context.Background(), e.store, name, "", scopes, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

type response struct {
	status int
	header http.Header
	body   string
}

// noRedirect is a client that returns redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 20 * time.Second}

// request sends a request; headers are name, value pairs.
func (e *env) request(method, path string, body io.Reader, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// apiCall calls the REST API with the admin key.
func (e *env) apiCall(method, path string, body any) response {
	e.t.Helper()
	b, _ := json.Marshal(body)
	return e.request(method, path, bytes.NewReader(b), "Authorization", "Bearer "+e.admin, "Content-Type", "application/json")
}

// browser is one signed-in session: its cookie and CSRF token.
type browser struct {
	e      *env
	cookie string
	csrf   string
}

var csrfRe = regexp.MustCompile(`data-csrf="([^"]+)"`)

// signIn signs in with a key and reads the CSRF token from a page.
func (e *env) signIn(secret string) *browser {
	e.t.Helper()
	res := e.request("POST", "/dashboard/signin", strings.NewReader(url.Values{"key": {secret}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", e.url)
	if res.status != http.StatusSeeOther {
		e.t.Fatalf("sign in: %d %s", res.status, res.body)
	}
	b := &browser{e: e}
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == dashboard.CookieName {
			b.cookie = c.Value
		}
	}
	if b.cookie == "" {
		e.t.Fatal("sign in set no session cookie")
	}
	page := b.get("/dashboard/campaigns")
	m := csrfRe.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		e.t.Fatalf("campaign list after sign-in: %d %s", page.status, page.body)
	}
	b.csrf = m[1]
	return b
}

func (b *browser) get(path string, headers ...string) response {
	b.e.t.Helper()
	return b.e.request("GET", path, nil, append([]string{"Cookie", dashboard.CookieName + "=" + b.cookie}, headers...)...)
}

// post sends a form with the session's CSRF token, same-origin.
func (b *browser) post(path string, form url.Values, headers ...string) response {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	return b.postRaw(path, form, append([]string{"Origin", b.e.url}, headers...)...)
}

// postRaw sends a form as is.
func (b *browser) postRaw(path string, form url.Values, headers ...string) response {
	b.e.t.Helper()
	return b.e.request("POST", path, strings.NewReader(form.Encode()), append([]string{"Cookie", dashboard.CookieName + "=" + b.cookie,
		"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
}

// track posts Braze /users/track JSON through the API.
func (e *env) track(body string) {
	e.t.Helper()
	res := e.request("POST", "/users/track", strings.NewReader(body), "Authorization", "Bearer "+e.admin, "Content-Type", "application/json")
	if res.status != http.StatusCreated && res.status != http.StatusOK {
		e.t.Fatalf("track: %d %s", res.status, res.body)
	}
}

// launched creates a web push campaign to everyone through the editor and
// launches it; it returns the campaign id.
func (b *browser) launched(name string) string {
	b.e.t.Helper()
	res := b.post("/dashboard/campaigns", url.Values{"name": {name}, "messages": {`{"web_push": {"title": "Hi", "alert": "a"}}`},
		"filter": {`{"AND": []}`}, "schedule": {`{"type": "immediate"}`}})
	loc := res.header.Get("Location")
	if res.status != http.StatusSeeOther || !strings.Contains(loc, "?") {
		b.e.t.Fatalf("create: %d %s", res.status, res.body)
	}
	id := strings.TrimPrefix(loc[:strings.Index(loc, "?")], "/dashboard/campaigns/")
	if res := b.post("/dashboard/campaigns/"+id+"/launch", nil); res.status != http.StatusSeeOther {
		b.e.t.Fatalf("launch: %d %s", res.status, res.body)
	}
	return id
}
