package webpush

import (
	"net/url"
	"sync"
	"time"
)

// VAPIDHeaderCache keeps signed VAPID Authorization headers by push service
// origin, subscriber and keys, and reuses each until headerReuse before the
// token it holds expires (Herald's patch: signing a JWT per notification
// costs more CPU than the rest of the request). Safe for concurrent use.
type VAPIDHeaderCache struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[vapidCacheKey]vapidCacheEntry
}

type vapidCacheKey struct {
	audience, subscriber, publicKey, privateKey string
}

type vapidCacheEntry struct {
	header string
	until  time.Time
}

// vapidTokenLife is how long getVAPIDAuthorizationHeader's tokens are valid.
const vapidTokenLife = 12 * time.Hour

// headerReuse is how long before its token expires a cached header is
// signed again.
const headerReuse = time.Hour

// NewVAPIDHeaderCache returns an empty cache; now is the clock (nil:
// time.Now).
func NewVAPIDHeaderCache(now func() time.Time) *VAPIDHeaderCache {
	if now == nil {
		now = time.Now
	}
	return &VAPIDHeaderCache{now: now, entries: map[vapidCacheKey]vapidCacheEntry{}}
}

// header is getVAPIDAuthorizationHeader through the cache.
func (c *VAPIDHeaderCache) header(endpoint, subscriber, vapidPublicKey, vapidPrivateKey string, expiration time.Time) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	key := vapidCacheKey{u.Scheme + "://" + u.Host, subscriber, vapidPublicKey, vapidPrivateKey}
	now := c.now()
	// Held while signing: concurrent first sends to a push service wait for
	// one signature instead of each signing their own (a miss is rare).
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && now.Before(e.until) {
		return e.header, nil
	}
	h, err := getVAPIDAuthorizationHeader(endpoint, subscriber, vapidPublicKey, vapidPrivateKey, expiration)
	if err != nil {
		return "", err
	}
	c.entries[key] = vapidCacheEntry{header: h, until: now.Add(vapidTokenLife - headerReuse)}
	return h, nil
}
