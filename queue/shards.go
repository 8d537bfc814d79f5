package queue

import (
	"hash/fnv"
	"strconv"
)

// A queue may be spread over several asynq queues, its shards: shard 0 is
// the queue itself, shard i > 0 is "<queue>-<i>". asynq keeps each queue's
// keys under one Redis Cluster hash slot ({<queue>}), so one queue lives on
// one cluster node; shards put a deployment's tasks on every node. A task
// with an id always goes to the same shard (its id's hash), so a second
// enqueue of it meets the first and is recognized as a duplicate.

// ShardQueues lists the asynq queues of queue spread over shards (at least
// one).
func ShardQueues(queue string, shards int) []string {
	out := []string{queue}
	for i := 1; i < shards; i++ {
		out = append(out, shardName(queue, i))
	}
	return out
}

func shardName(queue string, i int) string {
	if i == 0 {
		return queue
	}
	return queue + "-" + strconv.Itoa(i)
}

// shardOf is the queue a task id goes to; a task without an id goes to
// shard 0.
func shardOf(queue string, shards int, taskID string) string {
	if shards <= 1 || taskID == "" {
		return queue
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(taskID))
	return shardName(queue, int(h.Sum32()%uint32(shards)))
}
