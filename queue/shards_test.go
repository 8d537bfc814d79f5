package queue

import (
	"fmt"
	"testing"
)

// slot is Redis Cluster's CLUSTER KEYSLOT of a hash tag.
func TestSlot(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]uint16{"foo": 12182, "bar": 5061, "hello": 866} {
		if got := slot(key); got != want {
			t.Errorf("slot(%q) = %d, want %d", key, got, want)
		}
	}
}

// The shards of a queue fall one in each equal part of the slot space, the
// queue itself first, the same names every time.
func TestShardQueuesSpread(t *testing.T) {
	t.Parallel()
	for i := range 200 {
		name := fmt.Sprintf("q%d", i)
		for _, n := range []int{1, 2, 3, 4, 6, 9} {
			qs := ShardQueues(name, n)
			if len(qs) != n || qs[0] != name {
				t.Fatalf("ShardQueues(%q, %d) = %v", name, n, qs)
			}
			seen := map[int]bool{}
			for _, q := range qs {
				p := int(slot(q)) * n / clusterSlots
				if seen[p] {
					t.Fatalf("ShardQueues(%q, %d) = %v: two in part %d", name, n, qs, p)
				}
				seen[p] = true
			}
			if again := ShardQueues(name, n); fmt.Sprint(again) != fmt.Sprint(qs) {
				t.Fatalf("ShardQueues(%q, %d) changed: %v then %v", name, n, qs, again)
			}
		}
	}
}
