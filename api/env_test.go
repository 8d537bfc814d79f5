package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/api"
	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/audiences"
	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/seal"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/store"
	"github.com/herald-oss/herald/store/storetest"
	"github.com/herald-oss/herald/templates"
)

// env is one API server over a real store and Redis, reached over real HTTP.
type env struct {
	t       testing.TB
	url     string
	store   *store.Store
	admin   string // key with every scope
	svc     *profiles.Service
	exports *audiences.Exporter
	queue   string // the campaign service's queue (no worker serves it)
	rdb     *redis.Client
}

type envOptions struct {
	opts api.Options
}

var drivers = []string{"sqlite", "postgres"}

// forEachStore runs fn against SQLite and PostgreSQL.
func forEachStore(t *testing.T, fn func(t *testing.T, driver string)) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

func openStore(t testing.TB, driver string) *store.Store {
	t.Helper()
	return storetest.Open(t, driver)
}

func newEnv(t testing.TB, driver string, eo ...envOptions) *env {
	t.Helper()
	st := openStore(t, driver)
	addr, prefix := testdeps.RedisOrMini(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	box, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	svc := profiles.NewService(st, profiles.Options{})
	reg := prometheus.NewRegistry()
	opts := api.Options{Limits: api.Limits{
		UsersTrack: api.Limit{Requests: 100000, Window: time.Minute}, UsersTrackBulk: api.Limit{Requests: 100000, Window: time.Minute},
		UsersExport: api.Limit{Requests: 100000, Window: time.Minute}, UsersIdentity: api.Limit{Requests: 100000, Window: time.Minute},
		Default: api.Limit{Requests: 100000, Window: time.Minute},
	}}
	if len(eo) > 0 {
		opts = eo[0].opts
	}
	segs := audiences.NewService(st, audiences.Options{Now: svc.Now})
	// small pages and files, so every export test crosses both boundaries
	exp, err := audiences.NewExporter(segs, svc, audiences.ExporterOptions{Dir: filepath.Join(t.TempDir(), "exports"), PageSize: 2, RowsPerFile: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Stop(context.Background()) })
	qname := "herald-test-" + testdeps.Random(8)
	// a resolver per call: segments.Resolver caches what it parsed
	resolver := func(ctx context.Context, id string) (*segments.Filter, error) { return segs.Resolver()(ctx, id) }
	camp := campaigns.NewService(st, queue.NewClient(rdb, queue.ClientOptions{Queue: qname, Retention: time.Hour}),
		templates.New(templates.Options{}), resolver, nil)
	srv := api.New(api.Deps{
		Profiles: svc, Apps: profiles.NewAppService(st, box, nil), Keys: apikeys.NewVerifier(st, time.Second, nil),
		Audiences: segs, Exports: exp, Campaigns: camp, CampaignUsers: campaignUsers{st: st, svc: svc},
		Limiter: api.NewLimiter(rdb, prefix, nil, nil), Registry: reg,
		Ready:   func(ctx context.Context) error { return st.Ping(ctx) },
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}, opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e := &env{t: t, url: hs.URL, store: st, svc: svc, exports: exp, queue: qname, rdb: rdb}
	e.admin = e.key("admin", apikeys.All)
	return e
}

// key creates an API key with the given scopes and returns its secret.
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
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %s", r.status, r.body)
	}
	return m
}

// do sends a request with the admin key unless headers override Authorization.
func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.admin)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// export returns the exported user with this external id (fails if absent).
func (e *env) export(ext string, fields ...string) map[string]any {
	e.t.Helper()
	body := map[string]any{"external_ids": []string{ext}}
	if fields != nil {
		body["fields_to_export"] = fields
	}
	r := e.do("POST", "/users/export/ids", body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("export %s: %d %s", ext, r.status, r.body)
	}
	users, _ := r.json(e.t)["users"].([]any)
	if len(users) != 1 {
		e.t.Fatalf("export %s: %s", ext, r.body)
	}
	return users[0].(map[string]any)
}

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return b.Bytes()
}

// redisForLimiter returns a Redis client for limiter tests and a fresh prefix.
func redisForLimiter(t *testing.T) (*redis.Client, string) {
	addr, prefix := testdeps.RedisOrMini(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb, prefix
}
