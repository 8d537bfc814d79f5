package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-oss/herald/queue"
	"github.com/redis/go-redis/v9"
)

// Every Redis access of the harness goes through a redisTarget, so that it
// works on one server and on a Redis Cluster alike: what must see every key
// (the clean-up's SCAN, INFO cpu) runs on every master.

// redisTarget is the Redis a run uses: one server (addr), or a Redis Cluster
// reached through its nodes (cluster).
type redisTarget struct {
	addr    string
	cluster []string
}

func (t redisTarget) String() string {
	if len(t.cluster) > 0 {
		return "cluster " + strings.Join(t.cluster, ",")
	}
	return t.addr
}

// client opens a client: a go-redis ClusterClient on a cluster.
func (t redisTarget) client() redis.UniversalClient {
	if len(t.cluster) > 0 {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: t.cluster})
	}
	return redis.NewClient(&redis.Options{Addr: t.addr})
}

// forEachServer runs fn on every master of a cluster (concurrently), or on
// the one server.
func forEachServer(ctx context.Context, rdb redis.UniversalClient, fn func(context.Context, *redis.Client) error) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, fn)
	}
	return fn(ctx, rdb.(*redis.Client))
}

// serverOf is the address of the server (the master, on a cluster) that
// holds key.
func serverOf(ctx context.Context, rdb redis.UniversalClient, key string) (string, error) {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return "", err
		}
		return m.Options().Addr, nil
	}
	return rdb.(*redis.Client).Options().Addr, nil
}

// pingRedis checks that Redis (every master of a cluster) answers before
// anything is built or started.
func pingRedis(ctx context.Context, t redisTarget) error {
	rdb := t.client()
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := forEachServer(ctx, rdb, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	if err != nil {
		return fmt.Errorf("redis at %s: %w", t, err)
	}
	return nil
}

// cleanRedisPrefix deletes every key under prefix (the prefix holds no glob
// characters) on every server: each master is scanned and its keys deleted
// one DEL each (a cluster refuses a DEL of keys in several slots).
func cleanRedisPrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	return forEachServer(ctx, rdb, func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("redis %s: scan %s*: %w", c.Options().Addr, prefix, err)
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys[:n] {
					p.Del(ctx, k)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("redis %s: delete %s*: %w", c.Options().Addr, prefix, err)
			}
			keys = keys[n:]
		}
		return nil
	})
}

// cleanQueue deletes the keys of an asynq queue spread over shards (every
// shard's keys, on whichever master holds them) and their entries in the set
// of queues (asynq's servers and workers keys expire on their own).
func cleanQueue(ctx context.Context, rdb redis.UniversalClient, name string, shards int) error {
	names := queue.ShardQueues(name, shards)
	for _, q := range names {
		if err := cleanRedisPrefix(ctx, rdb, "asynq:{"+q+"}:"); err != nil {
			return err
		}
	}
	members := make([]any, len(names))
	for i, q := range names {
		members[i] = q
	}
	if err := rdb.SRem(ctx, "asynq:queues", members...).Err(); err != nil {
		return fmt.Errorf("redis: forget queue %s: %w", name, err)
	}
	return nil
}

// redisCPU is the Redis server's user+system CPU seconds so far (all its
// clients, not only Herald's), summed over the masters of a cluster; or -1.
func redisCPU(ctx context.Context, e *env) float64 {
	rdb := e.redis.client()
	defer rdb.Close()
	var mu sync.Mutex
	total := 0.0
	err := forEachServer(ctx, rdb, func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "cpu").Result()
		if err != nil {
			return err
		}
		for line := range strings.SplitSeq(info, "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
			if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return err
				}
				mu.Lock()
				total += f
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return total
}

// runSuffix is the random suffix of a run's queue name and key prefix. On a
// cluster, with at least as many shards as masters, it is drawn again until
// the shard queues' hash slots fall on every master, so the queue uses every
// master. (Computed offline with CRC16 over a few thousand random names on
// three even masters: 3 shards leave a master without a queue for about 72%
// of the names, 4 for about 34%, 5 to 12 never.)
func runSuffix(ctx context.Context, t redisTarget, shards int) (string, error) {
	if len(t.cluster) == 0 {
		return randomHex(6), nil
	}
	rdb := t.client()
	defer rdb.Close()
	var masters atomic.Int32
	if err := forEachServer(ctx, rdb, func(context.Context, *redis.Client) error { masters.Add(1); return nil }); err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	for range 100 {
		suffix := randomHex(6)
		if shards < int(masters.Load()) {
			return suffix, nil
		}
		used := map[string]bool{}
		for _, q := range queue.ShardQueues(queueNameOf(suffix), shards) {
			s, err := serverOf(ctx, rdb, "asynq:{"+q+"}:pending")
			if err != nil {
				return "", fmt.Errorf("redis: master of queue %s: %w", q, err)
			}
			used[s] = true
		}
		if len(used) == int(masters.Load()) {
			return suffix, nil
		}
	}
	return "", errors.New("no queue name out of 100 spread its shards over every master")
}

// redisReport is the Redis a run used and how its queue's shards and tasks
// spread over the servers (the masters of a cluster).
type redisReport struct {
	Cluster bool `json:"cluster"`
	// Servers are the addresses of the masters (of the one server).
	Servers     []string `json:"servers"`
	QueueShards int      `json:"queue_shards"`
	// Spread is, per server, the shard queues whose hash slot it holds and
	// the tasks they processed (asynq's processed counter: the dispatch task
	// and its pages, not counting failed attempts).
	Spread []serverShards `json:"spread,omitempty"`
}

// serverShards is one server's part of the queue.
type serverShards struct {
	Server string   `json:"server"`
	Queues []string `json:"queues"`
	Tasks  int64    `json:"tasks_processed"`
}

// queueSpread reads which server holds each shard queue of the run's queue,
// and how many tasks each processed so far.
func (e *env) queueSpread(ctx context.Context) (*redisReport, error) {
	rdb := e.redis.client()
	defer rdb.Close()
	r := &redisReport{Cluster: len(e.redis.cluster) > 0, QueueShards: e.queueShards}
	var mu sync.Mutex
	err := forEachServer(ctx, rdb, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		r.Servers = append(r.Servers, c.Options().Addr)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	slices.Sort(r.Servers)
	byServer := map[string]*serverShards{}
	for _, s := range r.Servers {
		byServer[s] = &serverShards{Server: s, Queues: []string{}}
	}
	for _, q := range queue.ShardQueues(e.queueName, e.queueShards) {
		key := "asynq:{" + q + "}:processed"
		s, err := serverOf(ctx, rdb, key)
		if err != nil {
			return nil, fmt.Errorf("redis: master of %s: %w", key, err)
		}
		n, err := rdb.Get(ctx, key).Int64()
		if err != nil && err != redis.Nil {
			return nil, fmt.Errorf("redis: get %s: %w", key, err)
		}
		ss := byServer[s]
		if ss == nil { // a master the first listing missed
			ss = &serverShards{Server: s}
			byServer[s] = ss
			r.Servers = append(r.Servers, s)
		}
		ss.Queues = append(ss.Queues, q)
		ss.Tasks += n
	}
	for _, s := range r.Servers {
		r.Spread = append(r.Spread, *byServer[s])
	}
	return r, nil
}

// rows are the report's lines about Redis.
func (r *redisReport) rows() []row {
	if r == nil {
		return nil
	}
	what := "one server " + strings.Join(r.Servers, ",")
	if r.Cluster {
		what = fmt.Sprintf("Redis Cluster, %d masters: %s", len(r.Servers), strings.Join(r.Servers, " "))
	}
	rows := []row{{"redis", what}, {"queue shards", strconv.Itoa(r.QueueShards)}}
	parts := make([]string, len(r.Spread))
	for i, s := range r.Spread {
		parts[i] = fmt.Sprintf("%s: %d queues, %d tasks", s.Server, len(s.Queues), s.Tasks)
	}
	return append(rows, row{"shard spread", strings.Join(parts, "; ")})
}
