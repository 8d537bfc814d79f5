package profiles

import (
	"context"
	"sync"
	"time"
)

// grouper merges concurrent /users/track requests into shared transactions
// (group commit). A request queues itself, then either its result arrives or it
// takes a free writer slot and applies everything queued (itself included, up
// to maxObjects) in one transaction. Under light load each request is its own
// group; under heavy load groups grow and the database does far fewer, larger
// statements and commits.
type grouper struct {
	slots      chan struct{}
	maxObjects int
	txTimeout  time.Duration

	mu    sync.Mutex
	queue []*trackJob
}

type trackJob struct {
	req     *TrackRequest
	objects int
	res     *TrackResult
	err     error
	done    chan struct{}
}

func newGrouper(writers, maxObjects int, txTimeout time.Duration) *grouper {
	return &grouper{slots: make(chan struct{}, writers), maxObjects: maxObjects, txTimeout: txTimeout}
}

// take removes from the queue the oldest jobs that fit in one group.
func (g *grouper) take() []*trackJob {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, objects := 0, 0
	for n < len(g.queue) {
		o := g.queue[n].objects
		if n > 0 && objects+o > g.maxObjects {
			break
		}
		objects += o
		n++
	}
	group := append([]*trackJob(nil), g.queue[:n]...)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	return group
}

// unqueue removes job if it is still queued; it reports whether it was.
func (g *grouper) unqueue(job *trackJob) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, j := range g.queue {
		if j == job {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return true
		}
	}
	return false
}

// Track applies a decoded /users/track request, in Braze's order: attributes,
// then events, then purchases. Concurrent requests share transactions; each gets
// its own result.
func (s *Service) Track(ctx context.Context, req *TrackRequest) (*TrackResult, error) {
	g := s.group
	job := &trackJob{req: req, objects: len(req.Attributes) + len(req.Events) + len(req.Purchases), done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, job)
	g.mu.Unlock()
	for {
		select {
		case <-job.done:
			return job.res, job.err
		case g.slots <- struct{}{}:
			if group := g.take(); len(group) > 0 {
				s.apply(ctx, group)
			}
			<-g.slots
		case <-ctx.Done():
			if g.unqueue(job) {
				return nil, ctx.Err() // never applied
			}
			// already part of a running group: its outcome will not be seen
			return nil, ctx.Err()
		}
	}
}

// apply runs one group in one transaction and hands each job its result. The
// transaction does not depend on the caller that runs it: other requests ride on
// it, so it gets a context of its own.
func (s *Service) apply(ctx context.Context, group []*trackJob) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.group.txTimeout)
	defer cancel()
	reqs := make([]*TrackRequest, len(group))
	for i, j := range group {
		reqs[i] = j.req
	}
	now := s.now().UTC()
	plan := s.plan(reqs, now)
	var results []*TrackResult
	err := s.store.InTx(ctx, func(tx Tx) error {
		r, err := s.track(ctx, tx, reqs, plan, now)
		results = r
		return err
	})
	for i, j := range group {
		if err != nil {
			j.err = err
		} else {
			j.res = results[i]
		}
		close(j.done)
	}
}
