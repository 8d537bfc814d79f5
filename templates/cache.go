package templates

import (
	"container/list"
	"sync"
	"time"
)

// responseCache keeps connected content GET responses until they expire, within
// a byte budget; the least recently used go first.
type responseCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	status  int
	body    []byte
	expires time.Time
}

func newResponseCache(maxBytes int64) *responseCache {
	return &responseCache{max: maxBytes, order: list.New(), items: make(map[string]*list.Element)}
}

func entrySize(e *cacheEntry) int64 { return int64(len(e.key)+len(e.body)) + 64 }

func (c *responseCache) get(key string, now time.Time) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	ent := el.Value.(*cacheEntry)
	if !now.Before(ent.expires) {
		c.remove(el)
		return nil
	}
	c.order.MoveToFront(el)
	return ent
}

func (c *responseCache) put(key string, status int, body []byte, expires time.Time) {
	ent := &cacheEntry{key: key, status: status, body: body, expires: expires}
	if entrySize(ent) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	c.items[key] = c.order.PushFront(ent)
	c.size += entrySize(ent)
	for c.size > c.max {
		c.remove(c.order.Back())
	}
}

func (c *responseCache) remove(el *list.Element) {
	ent := c.order.Remove(el).(*cacheEntry)
	delete(c.items, ent.key)
	c.size -= entrySize(ent)
}

func (c *responseCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}
