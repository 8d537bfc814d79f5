package queue

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/internal/testdeps"
)

// On a three-master Redis Cluster, a queue spread over shards puts its
// tasks on every master (whatever its name), a server with the same shards runs each task
// once, and a task enqueued twice is still one task.
func TestShardedQueueOnRedisCluster(t *testing.T) {
	t.Parallel()
	addrs := testdeps.RedisCluster(t)
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { rc.Close() })
	ctx := context.Background()
	const shards, pages = 6, 60
	name := "cluster-" + testdeps.Random(4)

	nodes := map[string]bool{}
	for _, q := range ShardQueues(name, shards) {
		slot, err := rc.ClusterKeySlot(ctx, "asynq:{"+q+"}:pending").Result()
		if err != nil {
			t.Fatal(err)
		}
		err = rc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			slots, err := m.ClusterSlots(ctx).Result()
			if err != nil {
				return err
			}
			self := m.Options().Addr
			for _, s := range slots {
				if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 && s.Nodes[0].Addr == self {
					nodes[self] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(nodes) != 3 {
		t.Fatalf("the %d shards of %s live on %d master(s), want all 3", shards, name, len(nodes))
	}

	c := NewClient(rc, ClientOptions{Queue: name, Shards: shards})
	for i := range pages {
		p := DeliverPayload{DispatchID: "d1", FirstUserID: int64(i*500 + 1)}
		if err := c.EnqueueDeliver(ctx, p, 0); err != nil {
			t.Fatal(err)
		}
		if err := c.EnqueueDeliver(ctx, p, 0); err != nil { // a duplicate
			t.Fatal(err)
		}
	}
	rec := newRecorder(nil)
	srv := NewServer(rc, rec, ServerOptions{Queue: name, Shards: shards, Concurrency: 8, ShutdownTimeout: 5 * time.Second})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	seen := map[int64]int{}
	timeout := time.After(30 * time.Second)
	for len(seen) < pages {
		select {
		case cl := <-rec.calls:
			seen[cl.payload.(DeliverPayload).FirstUserID]++
		case <-timeout:
			t.Fatalf("%d of %d pages ran", len(seen), pages)
		}
	}
	select {
	case cl := <-rec.calls:
		t.Fatalf("a task ran twice: %+v", cl)
	case <-time.After(500 * time.Millisecond):
	}
	for first, n := range seen {
		if n != 1 {
			t.Errorf("page %d ran %d times", first, n)
		}
	}
}
