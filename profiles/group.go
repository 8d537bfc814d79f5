package profiles

import (
	"context"
	"hash/maphash"
	"sort"
	"sync"
	"time"
)

// grouper applies /users/track requests with group commit, sharded by user.
//
// Each request is split by a hash of its identifiers into one part per shard, so
// a user always lands in the same shard. Each shard has a queue and at most one
// writer, which applies everything queued (up to maxObjects) in one transaction.
// Under light load a request is its own group; under heavy load groups grow and
// the database does far fewer, larger statements and commits. Writers of
// different shards never touch the same user, so they do not conflict (a rare
// conflict with another process is retried by the store).
type grouper struct {
	shards     []*shard
	seed       maphash.Seed
	maxObjects int
	txTimeout  time.Duration
}

type shard struct {
	mu      sync.Mutex
	queue   []*trackJob
	running bool
}

// trackJob is the part of one request that falls in one shard.
type trackJob struct {
	shard   *shard
	req     *TrackRequest
	objects int
	res     *TrackResult
	err     error
	done    chan struct{}
}

func newGrouper(writers, maxObjects int, txTimeout time.Duration) *grouper {
	g := &grouper{seed: maphash.MakeSeed(), maxObjects: maxObjects, txTimeout: txTimeout}
	for i := 0; i < writers; i++ {
		g.shards = append(g.shards, &shard{})
	}
	return g
}

func (g *grouper) shardOf(id Identifier) int {
	if len(g.shards) == 1 {
		return 0
	}
	k := id.Key()
	var h maphash.Hash
	h.SetSeed(g.seed)
	h.WriteByte(k.Kind)
	h.WriteString(k.A)
	h.WriteByte(0)
	h.WriteString(k.B)
	return int(h.Sum64() % uint64(len(g.shards)))
}

// split divides a request into one part per shard that has objects; decoding
// errors travel with the first part.
func (g *grouper) split(req *TrackRequest) map[int]*TrackRequest {
	parts := map[int]*TrackRequest{}
	part := func(id Identifier) *TrackRequest {
		i := g.shardOf(id)
		p := parts[i]
		if p == nil {
			p = &TrackRequest{HasAttributes: req.HasAttributes, HasEvents: req.HasEvents, HasPurchases: req.HasPurchases, Bulk: req.Bulk}
			parts[i] = p
		}
		return p
	}
	for _, a := range req.Attributes {
		p := part(a.ID)
		p.Attributes = append(p.Attributes, a)
	}
	for _, e := range req.Events {
		p := part(e.ID)
		p.Events = append(p.Events, e)
	}
	for _, pu := range req.Purchases {
		p := part(pu.ID)
		p.Purchases = append(p.Purchases, pu)
	}
	if len(parts) == 0 {
		parts[0] = &TrackRequest{}
	}
	first := -1
	for i := range parts {
		if first < 0 || i < first {
			first = i
		}
	}
	parts[first].Errors = req.Errors
	return parts
}

// Track applies a decoded /users/track request, in Braze's order: attributes,
// then events, then purchases. Concurrent requests share transactions; each gets
// its own result.
func (s *Service) Track(ctx context.Context, req *TrackRequest) (*TrackResult, error) {
	g := s.group
	parts := g.split(req)
	jobs := make([]*trackJob, 0, len(parts))
	for i, p := range parts {
		job := &trackJob{shard: g.shards[i], req: p, objects: len(p.Attributes) + len(p.Events) + len(p.Purchases), done: make(chan struct{})}
		jobs = append(jobs, job)
		s.enqueue(job)
	}
	res := &TrackResult{}
	for k, job := range jobs {
		select {
		case <-job.done:
		case <-ctx.Done():
			for _, j := range jobs[k:] {
				j.shard.unqueue(j) // never applied if still queued
			}
			return nil, ctx.Err()
		}
		if job.err != nil {
			return nil, job.err
		}
		res.AttributesProcessed += job.res.AttributesProcessed
		res.EventsProcessed += job.res.EventsProcessed
		res.PurchasesProcessed += job.res.PurchasesProcessed
		res.UsersChanged += job.res.UsersChanged
		res.Errors = append(res.Errors, job.res.Errors...)
	}
	sortErrors(res.Errors)
	return res, nil
}

// enqueue queues a job on a shard, starting the shard's writer if it is idle.
// The writer drains the queue group by group and ends when it is empty.
func (s *Service) enqueue(job *trackJob) {
	sh := job.shard
	sh.mu.Lock()
	sh.queue = append(sh.queue, job)
	start := !sh.running
	sh.running = true
	sh.mu.Unlock()
	if start {
		go s.drain(sh)
	}
}

func (s *Service) drain(sh *shard) {
	for {
		group := sh.take(s.group.maxObjects)
		if group == nil {
			return
		}
		s.apply(group)
	}
}

// take removes the oldest jobs that fit in one group; when the queue is empty it
// marks the writer stopped and returns nil.
func (sh *shard) take(maxObjects int) []*trackJob {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.queue) == 0 {
		sh.running = false
		return nil
	}
	n, objects := 0, 0
	for n < len(sh.queue) {
		o := sh.queue[n].objects
		if n > 0 && objects+o > maxObjects {
			break
		}
		objects += o
		n++
	}
	group := append([]*trackJob(nil), sh.queue[:n]...)
	sh.queue = append(sh.queue[:0], sh.queue[n:]...)
	return group
}

// unqueue removes job if it is still queued.
func (sh *shard) unqueue(job *trackJob) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i, j := range sh.queue {
		if j == job {
			sh.queue = append(sh.queue[:i], sh.queue[i+1:]...)
			return
		}
	}
}

// apply runs one group in one transaction and hands each job its result.
func (s *Service) apply(group []*trackJob) {
	ctx, cancel := context.WithTimeout(context.Background(), s.group.txTimeout)
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

// sortErrors orders errors as Braze lists them: by array, then index.
func sortErrors(errs []ObjectError) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if a.InputArray != b.InputArray {
			return arrayOrder(a.InputArray) < arrayOrder(b.InputArray)
		}
		return a.Index < b.Index
	})
}
