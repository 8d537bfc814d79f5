package profiles

import (
	"context"
	"fmt"
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
	writers    sync.WaitGroup // running shard writers
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
// errors travel with the first part. A request that names a user by alias or
// braze_id is not split: that user may also be named by external id in the same
// request, and its objects must apply in order, in one transaction.
func (g *grouper) split(req *TrackRequest) map[int]*TrackRequest {
	if !onlyExternalIDs(req) {
		return map[int]*TrackRequest{g.shardOf(firstIdentifier(req)): req}
	}
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

func onlyExternalIDs(req *TrackRequest) bool {
	for _, a := range req.Attributes {
		if a.ID.ExternalID == "" {
			return false
		}
	}
	for _, e := range req.Events {
		if e.ID.ExternalID == "" {
			return false
		}
	}
	for _, p := range req.Purchases {
		if p.ID.ExternalID == "" {
			return false
		}
	}
	return true
}

func firstIdentifier(req *TrackRequest) Identifier {
	switch {
	case len(req.Attributes) > 0:
		return req.Attributes[0].ID
	case len(req.Events) > 0:
		return req.Events[0].ID
	case len(req.Purchases) > 0:
		return req.Purchases[0].ID
	}
	return Identifier{}
}

// Track applies a decoded /users/track request, in Braze's order: attributes,
// then events, then purchases. Concurrent requests share transactions; each gets
// its own result.
func (s *Service) Track(ctx context.Context, req *TrackRequest) (*TrackResult, error) {
	if len(req.Attributes)+len(req.Events)+len(req.Purchases) == 0 {
		// nothing valid to apply: no transaction
		return &TrackResult{Errors: append([]ObjectError(nil), req.Errors...)}, nil
	}
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
		s.group.writers.Add(1)
		go s.drain(sh)
	}
}

// Wait blocks until no shard writer is running or ctx is done. The daemon calls
// it after the HTTP server has drained, before closing the store.
func (s *Service) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.group.writers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) drain(sh *shard) {
	defer s.group.writers.Done()
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

// apply runs one group in one transaction and hands each job its result. When a
// group of several jobs fails for good, each job is applied alone, so a request
// the database refuses fails by itself instead of with everything queued beside
// it.
func (s *Service) apply(group []*trackJob) {
	results, err := s.applyTx(group)
	if err != nil && len(group) > 1 {
		for _, j := range group {
			s.apply([]*trackJob{j})
		}
		return
	}
	for i, j := range group {
		if err != nil {
			j.err = err
		} else {
			j.res = results[i]
		}
		close(j.done)
	}
}

// applyTx applies a group in one transaction. A panic is turned into an error:
// the writer goroutine must not take the process down or leave jobs waiting.
func (s *Service) applyTx(group []*trackJob) (results []*TrackResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			results, err = nil, fmt.Errorf("profiles: applying /users/track panicked: %v", p)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), s.group.txTimeout)
	defer cancel()
	reqs := make([]*TrackRequest, len(group))
	for i, j := range group {
		reqs[i] = j.req
	}
	now := s.now().UTC()
	plan := s.plan(reqs, now)
	err = s.store.InTx(ctx, func(tx Tx) error {
		r, err := s.track(ctx, tx, reqs, plan, now)
		results = r
		return err
	})
	return results, err
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
