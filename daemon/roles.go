package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// Roles a process runs.
const (
	roleAPI       = "serve"
	roleWorker    = "worker"
	roleScheduler = "scheduler"
	roleAll       = "all"
)

// runRole runs one role ("serve", "worker", "scheduler") or every role ("all")
// from a config file until SIGTERM.
func (c *cli) runRole(ctx context.Context, args []string, role string) error {
	fs := c.flags(role)
	file := fs.String("c", "", "config file")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig(c.configPath(*file))
	if err != nil {
		return err
	}
	if role != roleAll && cfg.Store.Driver == "sqlite" {
		return fmt.Errorf("herald %s runs one role of a multi-process deployment and needs PostgreSQL (store.driver: postgres); to run everything in one process on SQLite use `herald all`", role)
	}
	log := newLogger(cfg.Log, c.stderr, c.env.Map)
	if role == roleWorker || role == roleAll {
		c.tuneGC(log)
	}
	n, err := buildNode(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer n.close()
	comps, listener, err := n.roleComponents(role)
	if err != nil {
		return err
	}
	log.Info("herald starting", "role", role, "version", version(), "store", cfg.Store.Driver, "queue", cfg.Queue.Name)
	return runComponents(ctx, log, cfg.Lifecycle.DrainTimeout, comps, failed(listener))
}

// workerGCPercent is the garbage collector's target for a process that runs
// the worker: a deliver task allocates a page's profiles, payloads and
// requests, all garbage once the page is recorded, so collecting at 5x the
// live heap instead of Go's 2x took a fifth off the worker's CPU per
// message in the 100k fan-out benchmark (peak RSS 140 -> 270 MB at the
// default concurrency). GOGC in the environment overrides it; GOMEMLIMIT
// caps the memory it may take.
const workerGCPercent = 400

// tuneGC sets workerGCPercent unless the environment sets GOGC.
func (c *cli) tuneGC(log *slog.Logger) {
	if v, ok := c.env.Map["GOGC"]; ok {
		log.Info("garbage collector target from the environment", "GOGC", v)
		return
	}
	debug.SetGCPercent(workerGCPercent)
}

// roleComponents returns the components of a role in start order (they stop in
// reverse: the listener first, the worker's drain last) and its HTTP listener:
// the API for "serve" and "all", else the health and metrics listener at
// ops.addr (nil when that is empty).
func (n *node) roleComponents(role string) ([]component, *httpComponent, error) {
	var comps []component
	if role == roleWorker || role == roleAll {
		h, err := newHandlers(n)
		if err != nil {
			return nil, nil, fmt.Errorf("task handlers: %w", err)
		}
		comps = append(comps, n.newWorker(h), &reconciler{n: n})
		ex, err := n.exportStream()
		if err != nil {
			return nil, nil, err
		}
		if ex != nil {
			comps = append(comps, ex)
		}
	}
	if role == roleScheduler || role == roleAll {
		comps = append(comps, &scheduler{n: n})
	}
	if role == roleAPI || role == roleAll {
		h := n.httpComponent()
		return append(comps, n.ingestComponent(), n.exports, h), h, nil
	}
	if n.cfg.Ops.Addr == "" {
		return comps, nil, nil
	}
	h := n.opsComponent()
	return append(comps, h), h, nil
}

// failed is a listener's failure channel; nil (never ready) without one.
func failed(h *httpComponent) <-chan error {
	if h == nil {
		return nil
	}
	return h.Failed()
}

// opsComponent serves /healthz, /readyz and /metrics at ops.addr for the
// roles without the API.
func (n *node) opsComponent() *httpComponent {
	mux := http.NewServeMux()
	for _, route := range []string{"GET /healthz", "GET /readyz", "GET /metrics"} {
		mux.Handle(route, n.api)
	}
	return &httpComponent{
		name: "ops",
		log:  n.log,
		srv: &http.Server{Addr: n.cfg.Ops.Addr, Handler: withPprof(n.cfg.Ops.Pprof, mux), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
			ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelWarn)},
		errc: make(chan error, 1),
	}
}
