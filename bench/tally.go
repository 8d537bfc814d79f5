package main

import (
	"bytes"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/herald-oss/herald/channels/fake"
)

// tally is what the fakes accepted during one phase (the bare loop or
// Herald's fan-out), per device, without keeping the payloads: a count and
// the first collapse id's hash per device, and each message's time from the
// phase's start.
type tally struct {
	set   *deviceSet
	start time.Time
	// mark, when set, must appear in every payload (Herald's dispatch id).
	mark []byte

	counts      []uint16
	collapse    []uint64
	lat         []time.Duration
	first, last time.Time

	accepted [numChannels]int
	// resends are further messages to a device with the first one's collapse
	// id: the device shows one. duplicates have another collapse id: the
	// device shows both.
	resends, duplicates int
	// deadAccepted are messages accepted for dead tokens (the fakes never
	// accept them; a non-zero count is a harness bug). unknown are messages
	// to tokens the audience does not have.
	deadAccepted, unknown int
	// wrongContent are messages without the device's personalized title and
	// body (or without mark).
	wrongContent int
	firstWrong   string
}

func newTally(set *deviceSet, start time.Time, mark string) *tally {
	t := &tally{set: set, start: start, counts: make([]uint16, len(set.devices)),
		collapse: make([]uint64, len(set.devices)), lat: make([]time.Duration, 0, set.totalLive())}
	if mark != "" {
		t.mark = []byte(mark)
	}
	return t
}

var channelIndex = map[string]int{"apns": chAPNs, "fcm": chFCM, "webpush": chWeb}

// add counts records.
func (t *tally) add(recs []fake.Record) {
	for i := range recs {
		r := &recs[i]
		ch, ok := channelIndex[r.Channel]
		if !ok {
			t.unknown++
			continue
		}
		t.accepted[ch]++
		t.lat = append(t.lat, r.ReceivedAt.Sub(t.start))
		if r.ReceivedAt.After(t.last) {
			t.last = r.ReceivedAt
		}
		if t.first.IsZero() || r.ReceivedAt.Before(t.first) {
			t.first = r.ReceivedAt
		}
		idx := t.set.find(ch, r.Token)
		if idx < 0 {
			t.unknown++
			continue
		}
		if t.set.devices[idx].dead {
			t.deadAccepted++
		}
		h := fnv.New64a()
		_, _ = h.Write([]byte(r.CollapseID))
		sum := h.Sum64()
		switch {
		case t.counts[idx] == 0:
			t.collapse[idx] = sum
		case t.collapse[idx] == sum && r.CollapseID != "":
			t.resends++
		default:
			t.duplicates++
		}
		if t.counts[idx] < 1<<16-1 {
			t.counts[idx]++
		}
		if !t.personalized(idx, r.Payload) {
			t.wrongContent++
			if t.firstWrong == "" {
				t.firstWrong = truncate(r.Payload, 300)
			}
		}
	}
}

// personalized reports whether a payload holds the device's user's title and
// body as JSON strings (and the mark).
func (t *tally) personalized(idx int, payload []byte) bool {
	return bytes.Contains(payload, []byte(`"`+userTitle(idx)+`"`)) && bytes.Contains(payload, []byte(`"`+userBody(idx)+`"`)) &&
		(t.mark == nil || bytes.Contains(payload, t.mark))
}

// total is every accepted message.
func (t *tally) total() int { return t.accepted[chAPNs] + t.accepted[chFCM] + t.accepted[chWeb] }

// lost counts live devices that got nothing.
func (t *tally) lost() int {
	n := 0
	for i, c := range t.counts {
		if c == 0 && !t.set.devices[i].dead {
			n++
		}
	}
	return n
}

// span is the time from the phase's start to the last accepted message.
func (t *tally) span() time.Duration {
	if t.last.IsZero() {
		return 0
	}
	return t.last.Sub(t.start)
}

// firstAfter is the time from the phase's start to the first accepted message.
func (t *tally) firstAfter() time.Duration {
	if t.first.IsZero() {
		return 0
	}
	return t.first.Sub(t.start)
}

// latencies summarises the start-to-accept times.
func (t *tally) latencies() latencies {
	slices.Sort(t.lat)
	return summarize(t.lat)
}

// collector drains the fakes every interval into the current phase's tally.
type collector struct {
	f    *fakes
	mu   sync.Mutex
	cur  *tally
	stop chan struct{}
	done chan struct{}
}

func newCollector(f *fakes, every time.Duration) *collector {
	c := &collector{f: f, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
				c.flush()
			}
		}
	}()
	return c
}

// flush drains the fakes into the current tally (records arriving with no
// phase under way are dropped).
func (c *collector) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs := c.f.drain()
	if c.cur != nil {
		c.cur.add(recs)
	}
}

// begin makes t the current phase, after draining what came before.
func (c *collector) begin(t *tally) {
	c.flush()
	c.mu.Lock()
	c.cur = t
	c.mu.Unlock()
}

// end drains the last records into the current phase and closes it.
func (c *collector) end() {
	c.flush()
	c.mu.Lock()
	c.cur = nil
	c.mu.Unlock()
}

// snapshot runs fn on the current tally under the lock.
func (c *collector) snapshot(fn func(t *tally)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		fn(c.cur)
	}
}

func (c *collector) close() {
	close(c.stop)
	<-c.done
}
