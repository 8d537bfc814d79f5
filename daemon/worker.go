package daemon

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/herald-oss/herald/campaigns"
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
		Queue: q.Name, Shards: q.Shards, Concurrency: q.Concurrency, ShutdownTimeout: min(q.ShutdownTimeout, n.cfg.Lifecycle.DrainTimeout),
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

// scheduler is the scheduler role's component: every tick it starts the
// scheduled dispatches whose time has come, the due occurrences of recurring
// campaigns (once per occurrence whatever the number of scheduler replicas),
// due local-time waves and due action-based sends.
type scheduler struct {
	n    *node
	stop chan struct{}
	done sync.WaitGroup
}

func (s *scheduler) Name() string { return "scheduler" }

func (s *scheduler) Start(context.Context) error {
	cfg := s.n.cfg.Scheduler
	s.n.log.Info("scheduler started: scheduled, local-time, recurring and action-based campaigns",
		"tick", cfg.Tick, "grace", cfg.Grace)
	s.stop = make(chan struct{})
	s.done.Go(func() {
		t := time.NewTicker(cfg.Tick)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			s.tick(campaigns.SchedulerOptions{Grace: cfg.Grace, Logger: s.n.log})
		}
	})
	return nil
}

// tick runs one scheduler pass; a panic in it is logged and the next tick
// runs as usual.
func (s *scheduler) tick(o campaigns.SchedulerOptions) {
	defer func() {
		if p := recover(); p != nil {
			s.n.log.Error("scheduler tick panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := s.n.campaigns.RunSchedules(ctx, time.Now(), o)
	if err != nil {
		s.n.log.Warn("scheduler tick failed", "error", err)
	} else if n > 0 {
		s.n.log.Info("started scheduled dispatches", "dispatches", n)
	}
}

func (s *scheduler) Stop(context.Context) error {
	close(s.stop)
	s.done.Wait()
	return nil
}
