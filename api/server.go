package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/audiences"
	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// Options configure the API.
type Options struct {
	MaxBodyBytes    int64
	MaxInFlight     int
	BulkMaxInFlight int
	// BulkWait is how long a bulk request waits for a lane before 503. Default 10s.
	BulkWait time.Duration
	Limits   Limits
}

// Limits are the per-key rate limits per endpoint class.
type Limits struct {
	UsersTrack, UsersTrackBulk, UsersExport, UsersIdentity, Default Limit
}

// Limit is Requests per Window; Requests 0 disables it.
type Limit struct {
	Requests int
	Window   time.Duration
}

// Deps are what the API calls into.
type Deps struct {
	Profiles *profiles.Service
	Apps     *profiles.AppService
	// Audiences serves the segment endpoints and Exports the segment export
	// endpoints; each set is left out when nil.
	Audiences *audiences.Service
	Exports   *audiences.Exporter
	// Campaigns serves /manage/campaigns, /campaigns/list and
	// /campaigns/details (*campaigns.Service); they are left out when nil.
	// CampaignUsers finds the recipients of /messages/send and
	// /campaigns/trigger/send and writes their attributes; those two are left
	// out unless both are set.
	Campaigns     CampaignService
	CampaignUsers campaigns.Users
	// InApp answers the in-app messages of /sdk/v1/data at session start;
	// nil answers none. Engagement records the SDK's engagement items; nil
	// refuses them item by item ("engagement recording unavailable").
	InApp      InAppService
	Engagement EngagementRecorder
	Keys       *apikeys.Verifier
	Limiter    *Limiter
	// Ready reports whether the node can serve (store, Redis, migrations).
	Ready    func(ctx context.Context) error
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Metrics is served at /metrics when set.
	Metrics http.Handler
}

// Server is the HTTP handler tree.
type Server struct {
	deps    Deps
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	live    chan struct{}
	bulk    chan struct{}
	metrics *metrics
}

// New builds the API handler.
func New(deps Deps, opts Options) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 256
	}
	if opts.BulkMaxInFlight <= 0 {
		opts.BulkMaxInFlight = 2
	}
	if opts.BulkWait <= 0 {
		opts.BulkWait = 10 * time.Second
	}
	s := &Server{
		deps: deps, opts: opts, log: deps.Logger, mux: http.NewServeMux(),
		live: make(chan struct{}, opts.MaxInFlight), bulk: make(chan struct{}, opts.BulkMaxInFlight),
		metrics: newMetrics(deps.Registry),
	}
	s.routes()
	return s
}

// endpoint describes one authenticated route.
type endpoint struct {
	scope string
	class string // rate limit class
	bulk  bool   // may use the bulk lane
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if s.deps.Metrics != nil {
		s.mux.Handle("GET /metrics", s.deps.Metrics)
	}
	s.handle("POST /users/track", endpoint{scope: "users.track", class: classUsersTrack, bulk: true}, s.usersTrack)
	s.handle("POST /users/delete", endpoint{scope: "users.delete", class: classUsersIdentity}, s.usersDelete)
	s.handle("POST /users/export/ids", endpoint{scope: "users.export.ids", class: classUsersExport}, s.usersExport)
	s.handle("POST /users/alias/new", endpoint{scope: "users.alias.new", class: classUsersIdentity}, s.usersAliasNew)
	s.handle("POST /users/identify", endpoint{scope: "users.identify", class: classUsersIdentity}, s.usersIdentify)

	s.handle("POST /manage/apps", endpoint{scope: "manage", class: classDefault}, s.createApp)
	s.handle("GET /manage/apps", endpoint{scope: "manage", class: classDefault}, s.listApps)
	s.handle("GET /manage/apps/{id}", endpoint{scope: "manage", class: classDefault}, s.getApp)
	s.handle("PUT /manage/apps/{id}/credentials", endpoint{scope: "manage", class: classDefault}, s.setCredentials)
	s.handle("PUT /manage/apps/{id}/sdk_auth", endpoint{scope: "manage", class: classDefault}, s.setSDKAuth)

	if s.deps.Audiences != nil {
		manage := endpoint{scope: "manage", class: classDefault}
		s.handle("POST /manage/segments", manage, s.createSegment)
		s.handle("GET /manage/segments", manage, s.listSegments)
		s.handle("POST /manage/segments/preview", manage, s.previewSegment)
		s.handle("GET /manage/segments/{id}", manage, s.getSegment)
		s.handle("PUT /manage/segments/{id}", manage, s.updateSegment)
		s.handle("DELETE /manage/segments/{id}", manage, s.deleteSegment)
		s.handle("GET /manage/segments/{id}/size", manage, s.segmentSize)
		s.handle("GET /segments/list", endpoint{scope: "segments.list", class: classDefault}, s.brazeListSegments)
	}
	if s.deps.Exports != nil {
		s.handle("POST /users/export/segment", endpoint{scope: "users.export.segment", class: classUsersExport}, s.usersExportSegment)
		s.handle("GET /manage/exports/{id}", endpoint{scope: "manage", class: classDefault}, s.getExport)
	}
	s.campaignRoutes()
	s.scheduleRoutes()
	s.sdkCardRoutes()
	if s.deps.Profiles != nil {
		s.handleSDK("POST /sdk/v1/data", s.sdkData)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.noRoute(rec, r)
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	route := r.Pattern
	if route == "" {
		route = "other"
	}
	s.metrics.observe(route, rec.status, time.Since(start))
}

// noRoute answers 404 or 405 (with Allow) in the API's JSON error format.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	probe := &headerProbe{h: http.Header{}}
	s.mux.ServeHTTP(probe, r)
	if allow := probe.h.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if probe.status == http.StatusMethodNotAllowed {
		writeMessage(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path)
		return
	}
	writeMessage(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
}

// headerProbe captures the status and headers the mux's own error handler sets.
type headerProbe struct {
	h      http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.h }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.deps.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.deps.Ready(ctx); err != nil {
			// the details (hosts, users) stay in the log: /readyz is unauthenticated
			s.log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": readyReason(err)})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// NotReady is a readiness failure with a short public reason ("store", "redis",
// "migrations pending") and the detailed cause.
type NotReady struct {
	Reason string
	Err    error
}

func (e *NotReady) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *NotReady) Unwrap() error { return e.Err }

func readyReason(err error) string {
	var nr *NotReady
	if errors.As(err, &nr) {
		return nr.Reason
	}
	return "unavailable"
}
