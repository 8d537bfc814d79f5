package daemon

import (
	"context"
	"errors"
	"log/slog"

	"github.com/herald-oss/herald/queue"
)

// worker is the worker role's component: a queue server running a set of
// handlers.
type worker struct {
	srv *queue.Server
	log *slog.Logger
}

// newWorker serves the configured queue with h. Stopping waits for running
// tasks up to queue.shutdown_timeout (within the lifecycle's drain timeout).
func (n *node) newWorker(h queue.Handlers) *worker {
	q := n.cfg.Queue
	return &worker{log: n.log, srv: queue.NewServer(n.rdb, h, queue.ServerOptions{
		Queue: q.Name, Concurrency: q.Concurrency, ShutdownTimeout: min(q.ShutdownTimeout, n.cfg.Lifecycle.DrainTimeout),
		Logger: n.log, Metrics: n.registry,
	})}
}

func (w *worker) Name() string { return "worker" }

func (w *worker) Start(context.Context) error { return w.srv.Start() }

// Stop drains the running tasks; when ctx ends first, the tasks still running
// are left to the queue's recovery (they run again elsewhere after their lease).
func (w *worker) Stop(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		w.srv.Shutdown()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("tasks still running after the drain timeout: they run again after their lease expires")
	}
}

// scheduler is the scheduler role's component. Scheduled and recurring
// campaigns are not implemented yet: it starts, reports ready and idles.
type scheduler struct{ log *slog.Logger }

func (s *scheduler) Name() string { return "scheduler" }

func (s *scheduler) Start(context.Context) error {
	s.log.Info("scheduler idle: scheduled and recurring campaigns are not implemented yet")
	return nil
}

func (s *scheduler) Stop(context.Context) error { return nil }
