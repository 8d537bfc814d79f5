package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/api"
)

func TestAuthScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	trackOnly := e.key("track-only", "users.track")
	body := `{"attributes":[{"external_id":"a1"}]}`
	cases := []struct {
		name, method, path, auth string
		status                   int
	}{
		{"missing key", "POST", "/users/track", "", 401},
		{"unknown key", "POST", "/users/track", "Bearer hk_not-a-real-key-000000000000", 401},
		{"not bearer", "POST", "/users/track", "Basic " + trackOnly, 401},
		{"scope granted", "POST", "/users/track", "Bearer " + trackOnly, 201},
		{"bearer is case-insensitive", "POST", "/users/track", "bearer " + trackOnly, 201},
		{"scope missing", "POST", "/users/export/ids", "Bearer " + trackOnly, 403},
		{"scope missing delete", "POST", "/users/delete", "Bearer " + trackOnly, 403},
		{"manage needs manage", "GET", "/manage/apps", "Bearer " + trackOnly, 403},
		{"admin wildcard", "GET", "/manage/apps", "Bearer " + e.admin, 200},
	}
	for _, c := range cases {
		r := e.do(c.method, c.path, body, "Authorization", c.auth)
		if r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
		}
		if c.status >= 400 && !strings.Contains(r.header.Get("Content-Type"), "json") {
			t.Errorf("%s: error is not JSON", c.name)
		}
	}
	if r := e.do("GET", "/users/track", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /users/track = %d", r.status)
	}
	if r := e.do("POST", "/nope", nil); r.status != 404 || !strings.Contains(string(r.body), "no such endpoint") {
		t.Errorf("unknown path = %d %s", r.status, r.body)
	}
}

func TestRateLimitHeadersAnd429(t *testing.T) {
	t.Parallel()
	lim := api.Limit{Requests: 3, Window: time.Hour}
	e := newEnv(t, "sqlite", envOptions{opts: api.Options{Limits: api.Limits{UsersTrack: lim, UsersExport: api.Limit{Requests: 1000, Window: time.Hour}, Default: lim}}})
	other := e.key("other", "users.track")
	body := `{"attributes":[{"external_id":"rl"}]}`
	for i := 1; i <= 3; i++ {
		r := e.do("POST", "/users/track", body)
		if r.status != 201 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		if got := r.header.Get("X-RateLimit-Limit"); got != "3" {
			t.Fatalf("X-RateLimit-Limit = %q", got)
		}
		if got := r.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(3-i) {
			t.Fatalf("request %d: X-RateLimit-Remaining = %q", i, got)
		}
		reset, err := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil || reset <= time.Now().Unix() || reset > time.Now().Add(time.Hour+time.Minute).Unix() {
			t.Fatalf("X-RateLimit-Reset = %q", r.header.Get("X-RateLimit-Reset"))
		}
	}
	r := e.do("POST", "/users/track", body)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("4th request: %d %v %s", r.status, r.header, r.body)
	}
	// the limit is per key and per class
	if r := e.do("POST", "/users/track", body, "Authorization", "Bearer "+other); r.status != 201 {
		t.Fatalf("other key limited: %d", r.status)
	}
	if r := e.do("POST", "/users/export/ids", `{"external_ids":["rl"]}`); r.status != 201 || r.header.Get("X-RateLimit-Limit") != "1000" {
		t.Fatalf("export limited by the track budget: %d %v", r.status, r.header)
	}
}

// A limiter shared through Redis: two API nodes count against one budget.
func TestRateLimitSharedAcrossNodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	_ = e
	addr, prefix := redisForLimiter(t)
	a := api.NewLimiter(addr, prefix, nil, nil)
	b := api.NewLimiter(addr, prefix, nil, nil)
	lim := api.Limit{Requests: 4, Window: time.Hour}
	allowed := 0
	for i := 0; i < 6; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.Take(context.Background(), "key1", "users_track", lim)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 4 {
		t.Fatalf("two limiters allowed %d of 6 with a shared budget of 4", allowed)
	}
}

func TestOverloadAnswers503(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOptions{opts: api.Options{BulkMaxInFlight: 1, BulkWait: 50 * time.Millisecond,
		Limits: api.Limits{UsersTrack: api.Limit{}, UsersTrackBulk: api.Limit{}}}})
	// hold the only bulk slot with a request whose body never finishes
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", e.url+"/users/track", pr)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("X-Braze-Bulk", "true")
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
	}()
	if _, err := pw.Write([]byte(`{"attributes":[`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.do("POST", "/users/track", bytes.NewReader([]byte(`{"attributes":[{"external_id":"b"}]}`)), "X-Braze-Bulk", "true")
		if r.status == http.StatusServiceUnavailable {
			if r.header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulk lane never filled: last %d %s", r.status, r.body)
		}
	}
	// the live lane is unaffected by a full bulk lane
	if r := e.do("POST", "/users/track", `{"attributes":[{"external_id":"live"}]}`); r.status != 201 {
		t.Fatalf("live request during bulk overload: %d %s", r.status, r.body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	if r := e.do("GET", "/healthz", nil, "Authorization", ""); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	if r := e.do("GET", "/readyz", nil, "Authorization", ""); r.status != 200 || r.json(t)["status"] != "ready" {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/metrics", nil, "Authorization", ""); r.status != 200 || !strings.Contains(string(r.body), "herald_http_request_duration_seconds") {
		t.Fatalf("metrics: %d", r.status)
	}
}
