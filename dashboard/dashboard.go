package dashboard

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Previewer renders a campaign document's messages for one user as a send
// would; *campaigns.Service implements it.
type Previewer interface {
	Preview(ctx context.Context, in *campaigns.Input, p *profiles.Profile) (*campaigns.PreviewResult, error)
}

// Users finds users and loads what the user lookup page shows; *store.Store
// implements it.
type Users interface {
	FindUserIDs(ctx context.Context, l profiles.Lookup) ([]int64, []string, error)
	Profiles(ctx context.Context, ids []int64) ([]*profiles.Profile, error)
	UserActivity(ctx context.Context, userID int64, limit int) (*store.UserActivity, error)
	UserCards(ctx context.Context, userID int64, since time.Time) ([]*campaigns.Card, error)
}

// TestSender sends one test push through an app's stored credentials to a
// token and reports the outcome ("delivered", "drop_token: …", …).
type TestSender interface {
	TestSend(ctx context.Context, appID, token string) (string, error)
}

// Deps are what the dashboard calls. API, Keys and MasterKey are required.
type Deps struct {
	// API is Herald's API handler: the dashboard calls its /manage endpoints
	// in process as the signed-in key.
	API http.Handler
	// Keys verifies the signed-in key on every request.
	Keys Verifier
	// MasterKey (security.encryption_key) derives the session cookie key.
	MasterKey []byte
	// APIKeys lists, creates and revokes API keys (settings page).
	APIKeys apikeys.Store
	// Previewer and Users give the campaign preview and the user lookup.
	Previewer Previewer
	Users     Users
	// Stats is the live view's source; nil reads GET /manage/campaigns/{id}/stats.
	Stats Stats
	// TestSender checks uploaded push credentials (nil: no test send).
	TestSender TestSender
	Logger     *slog.Logger
}

// Options tune the dashboard; zero values take the defaults.
type Options struct {
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// LiveInterval is how often the live view pushes stats (default 1s).
	LiveInterval time.Duration
	Now          func() time.Time
}

// Dashboard serves the web UI under /dashboard.
type Dashboard struct {
	deps     Deps
	opts     Options
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
	log      *slog.Logger

	// stopping closes at Shutdown: live streams end so that a server's
	// graceful shutdown is not held up by them.
	stopping chan struct{}
	stopOnce sync.Once
	hooked   sync.Map // *http.Server -> true: Shutdown registered with it
}

// New builds the dashboard.
func New(deps Deps, opts Options) (*Dashboard, error) {
	if deps.API == nil || deps.Keys == nil {
		return nil, errors.New("dashboard: API and Keys are required")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.LiveInterval <= 0 {
		opts.LiveInterval = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ss, err := newSessions(deps.MasterKey, opts.SessionTTL, opts.Now)
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dashboard{deps: deps, opts: opts, sessions: ss, mux: http.NewServeMux(), log: deps.Logger, stopping: make(chan struct{})}
	if d.pages, err = parsePages(); err != nil {
		return nil, err
	}
	d.routes()
	return d, nil
}

func (d *Dashboard) routes() {
	static, _ := fs.Sub(staticFS, "static")
	d.mux.Handle("GET /dashboard/static/", http.StripPrefix("/dashboard/static/", http.FileServerFS(static)))
	d.mux.HandleFunc("GET /dashboard/signin", d.signinPage)
	d.mux.HandleFunc("POST /dashboard/signin", d.signin)
	d.mux.HandleFunc("POST /dashboard/signout", d.authed(d.signout))
	d.mux.HandleFunc("GET /dashboard/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard/campaigns", http.StatusSeeOther)
	})
	d.campaignRoutes()
	d.mux.HandleFunc("GET /dashboard/campaigns/{id}/live", d.authed(d.live))
	d.mux.HandleFunc("GET /dashboard/users", d.authed(d.users))
	d.segmentRoutes()
	d.settingsRoutes()
}

// Shutdown ends the live streams (they tell the browser to reconnect). It
// is registered with the http.Server that serves a stream, so the server's
// own Shutdown calls it.
func (d *Dashboard) Shutdown() { d.stopOnce.Do(func() { close(d.stopping) }) }

// ServeHTTP implements http.Handler for /dashboard and everything under it.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if r.URL.Path == "/dashboard" {
		http.Redirect(w, r, "/dashboard/campaigns", http.StatusSeeOther)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/dashboard/static/") {
		h.Set("Cache-Control", "no-store")
	}
	d.mux.ServeHTTP(w, r)
}

// fail answers an unexpected error: logged, and a short 500.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status/100 == 4 {
		http.Error(w, ae.Error(), ae.Status)
		return
	}
	if errors.Is(err, ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	d.log.Error("dashboard request failed", "path", r.URL.Path, "error", err)
	http.Error(w, "internal error (see the server log)", http.StatusInternalServerError)
}

// page is the data every page template receives.
type page struct {
	Title string
	Nav   string
	CSRF  string
	Key   *apikeys.Key
	Flash string
	Error string
	Data  any
}

func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, p page) {
	if s != nil {
		p.CSRF, p.Key = s.CSRF, s.key
	}
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("flash")
	}
	t, ok := d.pages[name]
	if !ok {
		d.fail(w, r, errors.New("no page template "+name))
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		d.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// parsePages parses each page template with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
		"list": func(v ...string) []string { return v },
		"ts":   func(s string) string { return strings.Replace(strings.TrimSuffix(s, "Z"), "T", " ", 1) },
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		out[base] = t
	}
	return out, nil
}

// redirect answers a form post with a redirect to a page and a flash message.
func redirect(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "flash=" + url.QueryEscape(flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
