package queue

import (
	"hash/fnv"
	"strconv"
)

// A queue may be spread over several asynq queues, its shards. asynq keeps
// each queue's keys under one Redis Cluster hash slot ({<queue>}), so one
// queue lives on one cluster node; shards put a deployment's tasks on every
// node. Shard 0 is the queue itself; the others are "<queue>-<k>" with k
// chosen so that the shards' hash slots fall one in each of shards equal
// parts of the slot space: a cluster whose masters own equal contiguous
// slot ranges (what redis-cli --cluster create makes) then holds shards /
// masters of them on every master when shards is a multiple of the
// masters. A task with an id always goes to the same shard (its id's
// hash), so a second enqueue of it meets the first and is recognized as a
// duplicate.

// clusterSlots is the number of Redis Cluster hash slots.
const clusterSlots = 16384

// maxShardSearch bounds the suffixes tried for one shard.
const maxShardSearch = 1 << 16

// ShardQueues lists the asynq queues of queue spread over shards (at least
// one): the queue itself first.
func ShardQueues(queue string, shards int) []string {
	out := []string{queue}
	if shards <= 1 {
		return out
	}
	part := func(name string) int { return int(slot(name)) * shards / clusterSlots }
	taken := make([]bool, shards)
	taken[part(queue)] = true
	for k := 1; len(out) < shards && k <= maxShardSearch; k++ {
		name := queue + "-" + strconv.Itoa(k)
		if p := part(name); !taken[p] {
			taken[p] = true
			out = append(out, name)
		}
	}
	// Not found within the search (it never happens for real names): any
	// further names, so there are shards of them.
	for k := maxShardSearch + 1; len(out) < shards; k++ {
		out = append(out, queue+"-"+strconv.Itoa(k))
	}
	return out
}

// shardOf is the queue, of the shard queues qs, a task id goes to; a task
// without an id goes to the first.
func shardOf(qs []string, taskID string) string {
	if len(qs) <= 1 || taskID == "" {
		return qs[0]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(taskID))
	return qs[h.Sum32()%uint32(len(qs))]
}

// slot is the Redis Cluster hash slot of asynq's keys of a queue: CRC16
// (XMODEM) of the hash tag, the queue name, modulo 16384.
func slot(queue string) uint16 {
	var crc uint16
	for i := 0; i < len(queue); i++ {
		crc ^= uint16(queue[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % clusterSlots
}
