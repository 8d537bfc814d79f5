package templates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ccServer is a partner API for connected content tests.
type ccServer struct {
	*httptest.Server
	requests sync.Map // path -> *atomic.Int64
	release  chan struct{}
}

func (s *ccServer) count(path string) int64 {
	v, ok := s.requests.Load(path)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func newCCHandler(s *ccServer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/offers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "ada-1" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"title":"Spring sale","discount":20,"items":["tea","scones"]}`)
	})
	mux.HandleFunc("/weather", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Sunny in %s", r.URL.Query().Get("city"))
	})
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, ` [1, 2, 3]`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "body": string(body), "query": r.URL.RawQuery,
			"name": r.Header.Get("X-Name"), "ctype": r.Header.Get("Content-Type"),
			"accept": r.Header.Get("Accept"), "user": user, "auth_ok": pass == "s3cret-pass",
		})
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"n":%d}`, s.count("/count"))
	})
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if s.count("/flaky") <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "late")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 2048))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://evil.example.net/steal", http.StatusFound)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/weather?city=Lima", http.StatusMovedPermanently)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := s.requests.LoadOrStore(r.URL.Path, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		mux.ServeHTTP(w, r)
	})
}

func startCCServer(t *testing.T, tls bool) *ccServer {
	t.Helper()
	s := &ccServer{release: make(chan struct{})}
	if tls {
		s.Server = httptest.NewTLSServer(newCCHandler(s))
	} else {
		s.Server = httptest.NewServer(newCCHandler(s))
	}
	t.Cleanup(func() {
		close(s.release)
		s.Close()
	})
	return s
}

// ccSetup is a connected content test bundle.
type ccSetup struct {
	srv     *ccServer
	engine  *Engine
	logs    *logBuffer
	metrics *metricsRecorder
	clock   *clock
}

func newCCSetup(t *testing.T, tls bool, mod func(*ConnectedOptions)) *ccSetup {
	t.Helper()
	s := &ccSetup{srv: startCCServer(t, tls), logs: &logBuffer{}, metrics: &metricsRecorder{},
		clock: &clock{t: goldenNow}}
	opts := ConnectedOptions{
		AllowLoopback: true,
		Timeout:       2 * time.Second,
		MaxBodyBytes:  1024,
		BasicAuth:     map[string]BasicAuth{"partner": {Username: "herald", Password: "s3cret-pass"}},
	}
	if tls {
		opts.HTTPClient = s.srv.Client()
	}
	if mod != nil {
		mod(&opts)
	}
	s.engine = New(Options{Now: s.clock.Now, Logger: s.logs.logger(), Metrics: s.metrics.metrics(),
		ConnectedContent: opts})
	s.engine.cc.backoff = time.Millisecond
	return s
}

func (s *ccSetup) render(t *testing.T, src string, vars Vars) (string, error) {
	t.Helper()
	if vars == nil {
		vars = Vars{}
	}
	vars["base"] = s.srv.URL
	return renderString(t, s.engine, src, vars)
}

func TestConnectedContentJSON(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			s := newCCSetup(t, tls, nil)
			src := `{% connected_content {{base}}/offers/{{${user_id}}} :save offer %}` +
				`{% if offer == nil %}{% abort_message('no offer') %}{% endif %}` +
				`{{offer.title}}: {{offer.discount}}% off {{ offer.items | join: ', ' }} ({{offer.__http_status_code__}})`
			got, err := s.render(t, src, Vars{"user_id": "ada-1"})
			if err != nil || got != "Spring sale: 20% off tea, scones (200)" {
				t.Fatalf("got %q, %v", got, err)
			}
			_, err = s.render(t, src, Vars{"user_id": "bob-2"})
			var abort *AbortError
			if !errors.As(err, &abort) || abort.Reason != "no offer" {
				t.Fatalf("404: want abort 'no offer', got %v", err)
			}
			if got := s.metrics.list(); !slices.Equal(got, []string{"127.0.0.1 ok", "127.0.0.1 error"}) {
				t.Errorf("metrics %v", got)
			}
			if logs := s.logs.String(); !strings.Contains(logs, "status=404") || !strings.Contains(logs, "host=127.0.0.1") {
				t.Errorf("404 not logged with host and status: %s", logs)
			}
		})
	}
}

func TestConnectedContentSaveAndInPlace(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, nil)
	for _, tc := range []struct{ name, src, want string }{
		{"text in place", `Today: {% connected_content {{base}}/weather?city={{city | url_param_escape}} %}.`, "Today: Sunny in Paris."},
		{"text saved", `{% connected_content {{base}}/weather?city=Oslo :save w %}[{{ w | upcase }}]`, "[SUNNY IN OSLO]"},
		{"json default name", `{% connected_content {{base}}/offers/ada-1 %}{{ connected.title }}`, "Spring sale"},
		{"json array", `{% connected_content {{base}}/list :save l %}{{ l | size }} {{ l.last }}`, "3 3"},
		{"not found renders empty", `a{% connected_content {{base}}/nothing %}b`, "ab"},
	} {
		got, err := s.render(t, tc.src, Vars{"city": "Paris"})
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestConnectedContentRequestOptions(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, nil)
	src := `{% connected_content {{base}}/echo?u={{user_id}} :method post :body a=1&b={{first_name}} ` +
		`:headers {"X-Name": "{{first_name | upcase}}"} :basic_auth partner :content_type application/json :save r %}` +
		`{{r.method}}|{{r.body}}|{{r.query}}|{{r.name}}|{{r.ctype}}|{{r.accept}}|{{r.user}}|{{r.auth_ok}}`
	got, err := s.render(t, src, Vars{"user_id": "u1", "first_name": "Ada"})
	// A form body sent as application/json is JSON-encoded, as Braze does.
	want := `POST|{"a":"1","b":"Ada"}|u=u1|ADA|application/json|application/json|herald|true`
	if err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	// A form body is the default content type of a POST.
	got, _ = s.render(t, `{% connected_content {{base}}/echo :method post :body x=1 :save r %}{{r.ctype}}`, nil)
	if got != "application/x-www-form-urlencoded" {
		t.Errorf("default content type %q", got)
	}
	// An assign before the tag is visible in its URL.
	got, _ = s.render(t, `{% assign c = 'Rome' %}{% connected_content {{base}}/weather?city={{c}} %}`, nil)
	if got != "Sunny in Rome" {
		t.Errorf("assign in URL: %q", got)
	}
	if strings.Contains(s.logs.String(), "s3cret-pass") {
		t.Error("password in logs")
	}
}

func TestConnectedContentCache(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, nil)
	get := `{% connected_content {{base}}/count :save c %}{{c.n}}`
	for i := 0; i < 3; i++ {
		if got, err := s.render(t, get, nil); err != nil || got != "1" {
			t.Fatalf("render %d: %q, %v", i, got, err)
		}
	}
	if n := s.srv.count("/count"); n != 1 {
		t.Fatalf("cached GET made %d requests", n)
	}
	if got := s.metrics.list(); !slices.Equal(got, []string{"127.0.0.1 ok", "127.0.0.1 cached", "127.0.0.1 cached"}) {
		t.Errorf("metrics %v", got)
	}
	s.clock.Advance(5*time.Minute + time.Second) // default max age is 5 min
	if got, _ := s.render(t, get, nil); got != "2" {
		t.Errorf("after expiry: %q", got)
	}
	// :no_cache and POST always call; :cache_max_age sets the age.
	for i := 0; i < 2; i++ {
		s.render(t, `{% connected_content {{base}}/count :no_cache %}`, nil)
		s.render(t, `{% connected_content {{base}}/count :method post %}`, nil)
	}
	if n := s.srv.count("/count"); n != 6 {
		t.Errorf("no_cache and POST: %d requests, want 6", n)
	}
	aged := `{% connected_content {{base}}/count?aged :cache_max_age 900 :save c %}{{c.n}}`
	first, _ := s.render(t, aged, nil)
	s.clock.Advance(10 * time.Minute)
	if again, _ := s.render(t, aged, nil); again != first {
		t.Errorf("cache_max_age 900: refetched after 10 min (%s, %s)", first, again)
	}
	s.clock.Advance(6 * time.Minute)
	if again, _ := s.render(t, aged, nil); again == first {
		t.Errorf("cache_max_age 900: not refetched after 16 min")
	}
}

func TestConnectedContentOncePerRender(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, nil)
	src := `{% for i in (1..3) %}{% connected_content {{base}}/count :no_cache :save c %}{{c.n}}{% endfor %}`
	if got, err := s.render(t, src, nil); err != nil || got != "111" {
		t.Fatalf("got %q, %v", got, err)
	}
	obj, err := s.engine.ParseObject(map[string]any{
		"title": `{% connected_content {{base}}/count :no_cache :save c %}{{c.n}}`,
		"body":  `{% connected_content {{base}}/count :no_cache :save c %}n={{c.n}}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.Render(context.Background(), Vars{"base": s.srv.URL})
	if err != nil || out["title"] != "2" || out["body"] != "n=2" {
		t.Fatalf("object: %v, %v", out, err)
	}
	if n := s.srv.count("/count"); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestConnectedContentConcurrentCallsShareOneRequest(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, func(o *ConnectedOptions) { o.Timeout = 5 * time.Second })
	tpl := mustParse(t, s.engine, `{% connected_content {{base}}/slow :save x %}{{x}}`)
	var wg sync.WaitGroup
	results := make([]string, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = tpl.Render(context.Background(), Vars{"base": s.srv.URL})
		}()
	}
	for s.srv.count("/slow") == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the other renders reach the wait
	s.srv.release <- struct{}{}
	wg.Wait()
	for i, r := range results {
		if r != "late" {
			t.Errorf("render %d: %q", i, r)
		}
	}
	if n := s.srv.count("/slow"); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestConnectedContentFailures(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, nil)
	quick := newCCSetup(t, false, func(o *ConnectedOptions) { o.Timeout = 100 * time.Millisecond })
	start := time.Now()
	if got, err := quick.render(t, `{% connected_content {{base}}/slow :save x %}{% if x == nil %}empty{% endif %}`, nil); err != nil || got != "empty" {
		t.Errorf("timeout: got %q, %v", got, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
	if m := quick.metrics.list(); len(m) != 1 || m[0] != "127.0.0.1 error" || !strings.Contains(quick.logs.String(), "error=timeout") {
		t.Errorf("timeout: metrics %v, logs %s", m, quick.logs.String())
	}
	for _, tc := range []struct{ name, src, outcome, log string }{
		{"oversize", `{% connected_content {{base}}/big :save x %}`, "error", "larger than the limit"},
		{"5xx", `{% connected_content {{base}}/fail?api_key=TOPSECRET :save x %}`, "error", "status=500"},
		{"redirect off the list", `{% connected_content {{base}}/redirect :save x %}`, "error", "status=302"},
		{"redirect on the list", `{% connected_content {{base}}/moved :save x %}`, "error", "status=301"},
		{"not http", `{% connected_content {{base | replace: 'http', 'ftp'}}/x :save x %}`, "error", "not an http"},
	} {
		got, err := s.render(t, tc.src+`{% if x == nil %}empty{% endif %}`, nil)
		if err != nil || got != "empty" {
			t.Errorf("%s: got %q, %v", tc.name, got, err)
		}
		m := s.metrics.list()
		if len(m) == 0 || !strings.HasSuffix(m[len(m)-1], " "+tc.outcome) {
			t.Errorf("%s: metrics %v", tc.name, m)
		}
		if !strings.Contains(s.logs.String(), tc.log) {
			t.Errorf("%s: log lacks %q: %s", tc.name, tc.log, s.logs.String())
		}
	}
	if s.engine.cc.cache.len() != 0 {
		t.Error("a failure or an oversize response was cached")
	}
	if strings.Contains(s.logs.String(), "TOPSECRET") {
		t.Error("URL query in logs")
	}
}

func TestConnectedContentRetry(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, nil)
	src := `{% connected_content {{base}}/flaky :no_cache :save r %}{{ r.ok }}`
	if got, _ := s.render(t, src, nil); got != "" {
		t.Fatalf("without :retry: %q", got)
	}
	if n := s.srv.count("/flaky"); n != 1 {
		t.Fatalf("without :retry: %d requests", n)
	}
	retry := `{% connected_content {{base}}/flaky :no_cache :retry :save r %}{{ r.ok }}`
	if got, err := s.render(t, retry, nil); err != nil || got != "true" {
		t.Fatalf("with :retry: %q, %v", got, err)
	}
	if n := s.srv.count("/flaky"); n != 3 {
		t.Errorf("with :retry: %d requests, want 3", n)
	}
	if got, _ := s.render(t, `{% connected_content {{base}}/fail :retry %}`, nil); got != "" {
		t.Errorf("failing with :retry: %q", got)
	}
	if n := s.srv.count("/fail"); n != 5 {
		t.Errorf("failing with :retry: %d attempts, want 5", n)
	}
	s2 := newCCSetup(t, false, func(o *ConnectedOptions) { o.MaxRetries = 2 })
	s2.render(t, `{% connected_content {{base}}/fail :retry %}`, nil)
	if n := s2.srv.count("/fail"); n != 2 {
		t.Errorf("MaxRetries 2: %d attempts", n)
	}
}

func TestConnectedContentAllowList(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, func(o *ConnectedOptions) {
		o.AllowLoopback = false
		o.AllowedHosts = []string{"api.example.com", "*.partner.example"}
	})
	got, err := s.render(t, `a{% connected_content {{base}}/weather %}b`, nil)
	if err != nil || got != "ab" {
		t.Fatalf("refused host: %q, %v", got, err)
	}
	if n := s.srv.count("/weather"); n != 0 {
		t.Fatal("a refused host was called")
	}
	if m := s.metrics.list(); !slices.Equal(m, []string{"127.0.0.1 refused"}) {
		t.Errorf("metrics %v", m)
	}
	if !strings.Contains(s.logs.String(), "outcome=refused") {
		t.Errorf("refusal not logged: %s", s.logs.String())
	}

	c := s.engine.cc
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://api.example.com/x", true},
		{"http://API.example.com./x", true},
		{"https://api.example.com:443/x", true},
		{"https://api.example.com:8443/x", false},
		{"https://other.example.com/x", false},
		{"https://a.partner.example/x", true},
		{"https://a.b.partner.example/x", true},
		{"https://partner.example/x", false},
		{"https://evilpartner.example/x", false},
		{"ftp://api.example.com/x", false},
		{"http://localhost:8080/x", false},
		{"http://127.0.0.1/x", false},
		{"http://[::1]/x", false},
	} {
		u, _ := url.Parse(tc.url)
		if got := c.allowed(u); got != tc.want {
			t.Errorf("allowed(%s) = %v", tc.url, got)
		}
	}
	loop := newCCSetup(t, false, nil).engine.cc
	for _, raw := range []string{"http://localhost:8080/x", "http://127.0.0.1:9/x", "http://[::1]:1/x"} {
		u, _ := url.Parse(raw)
		if !loop.allowed(u) {
			t.Errorf("AllowLoopback: %s refused", raw)
		}
	}
}

func TestConnectedContentDisabled(t *testing.T) {
	t.Parallel()
	logs, rec := &logBuffer{}, &metricsRecorder{}
	e := New(Options{Logger: logs.logger(), Metrics: rec.metrics()})
	got, err := renderString(t, e, `[{% connected_content https://api.example.com/x :save x %}{{x}}]`, nil)
	if err != nil || got != "[]" {
		t.Fatalf("got %q, %v", got, err)
	}
	if m := rec.list(); !slices.Equal(m, []string{"api.example.com refused"}) {
		t.Errorf("metrics %v", m)
	}
	if !strings.Contains(logs.String(), "connected content failed") {
		t.Error("not logged")
	}
}

func TestConnectedContentDialGuard(t *testing.T) {
	t.Parallel()
	// A name on the allow-list that resolves to loopback is refused at dial
	// time when loopback is not allowed.
	c := newConnector(ConnectedOptions{AllowedHosts: []string{"localhost.test"}}, nil, nil, time.Now)
	client := c.defaultClient()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := client.Get(srv.URL)
	if !errors.Is(err, errRefusedAddress) {
		t.Fatalf("dial to loopback: %v", err)
	}
}

func TestConnectedContentParseErrors(t *testing.T) {
	t.Parallel()
	e := New(Options{ConnectedContent: ConnectedOptions{BasicAuth: map[string]BasicAuth{"partner": {}}}})
	for _, tc := range []struct{ src, want string }{
		{`{% connected_content %}`, `1:1: connected_content needs a URL`},
		{`{% connected_content ftp://x %}`, `1:22: connected_content URL must start with http:// or https://`},
		{`{% connected_content https://x :save %}`, `1:32: :save needs a value`},
		{`{% connected_content https://x :save 1x %}`, `1:38: :save needs a variable name, not "1x"`},
		{`{% connected_content https://x :method put %}`, `1:40: :method must be get or post, not "put"`},
		{`{% connected_content https://x :basic_auth nobody %}`, `1:44: unknown :basic_auth credentials "nobody"`},
		{`{% connected_content https://x :cache_max_age soon %}`, `1:47: :cache_max_age needs a number of seconds, not "soon"`},
		{`{% connected_content https://x :headers [1] %}`, `1:32: :headers needs a JSON object`},
		{`{% connected_content https://x :frobnicate %}`, `1:32: unknown connected_content option :frobnicate`},
		{`{% connected_content https://x save %}`, `1:32: expected an option such as :save, found "save"`},
		{`{% connected_content https://x/{{ id | nope }} %}`, `1:40: unknown filter "nope"`},
		{"line\n  {% connected_content https://x :body a={{ b | bad }} %}", `2:49: unknown filter "bad"`},
	} {
		_, err := e.Parse(tc.src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q):\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}
