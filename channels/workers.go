package channels

import (
	"context"
	"time"
)

// workerIdle is how long an idle worker waits for work before it ends.
const workerIdle = 10 * time.Second

// Workers runs a sender's requests on at most max goroutines, started on
// demand and ended after workerIdle without work. Reusing a goroutine spares
// a new stack (and its growth through TLS and crypto) per request; ending
// idle ones keeps a quiet app at no cost.
type Workers struct {
	jobs  chan func()   // unbuffered: a job is handed to a waiting worker
	slots chan struct{} // one per running worker
	quit  chan struct{}
}

// NewWorkers returns a pool of at most max goroutines.
func NewWorkers(max int) *Workers {
	return &Workers{jobs: make(chan func()), slots: make(chan struct{}, max), quit: make(chan struct{})}
}

// Run runs job on a worker, waiting while max are busy. It reports false,
// without running job, when ctx ends or the workers stop first.
func (w *Workers) Run(ctx context.Context, job func()) bool {
	select {
	case <-w.quit:
		return false
	default:
	}
	select {
	case w.jobs <- job: // an idle worker took it
		return true
	default:
	}
	select {
	case w.jobs <- job:
		return true
	case w.slots <- struct{}{}:
		go w.work(job)
		return true
	case <-ctx.Done():
		return false
	case <-w.quit:
		return false
	}
}

func (w *Workers) work(job func()) {
	defer func() { <-w.slots }()
	job()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		select {
		case job := <-w.jobs:
			job()
			idle.Reset(workerIdle)
		case <-idle.C:
			return
		case <-w.quit:
			return
		}
	}
}

// Stop ends idle workers and refuses new jobs; running jobs finish.
func (w *Workers) Stop() { close(w.quit) }
