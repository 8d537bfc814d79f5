package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// All is the wildcard scope: every scope, including those added later.
const All = "*"

// AllScopes lists every scope a key may carry, named as Braze names them.
func AllScopes() []string {
	return []string{
		"users.track", "users.delete", "users.export.ids", "users.export.segment", "users.alias.new", "users.identify",
		"messages.send", "messages.schedule.create", "messages.schedule.update", "messages.schedule.delete",
		"messages.schedule_broadcasts", "campaigns.trigger.send", "campaigns.trigger.schedule.create",
		"campaigns.trigger.schedule.update", "campaigns.trigger.schedule.delete", "campaigns.list",
		"campaigns.details", "campaigns.data_series", "segments.list", "manage",
	}
}

// ErrUnknownKey is returned for a key that does not exist or was revoked.
var ErrUnknownKey = errors.New("unknown or revoked API key")

// ErrNotFound is returned by stores for a missing key id.
var ErrNotFound = errors.New("API key not found")

// Key is a stored API key (never its secret).
type Key struct {
	ID        string
	Name      string
	Hash      []byte
	Scopes    []string
	CreatedAt time.Time
	RevokedAt time.Time // zero while active
}

// Allows reports whether the key grants scope.
func (k *Key) Allows(scope string) bool {
	return slices.Contains(k.Scopes, All) || slices.Contains(k.Scopes, scope)
}

// Store persists keys; package store implements it.
type Store interface {
	CreateAPIKey(ctx context.Context, k *Key) error
	APIKeyByHash(ctx context.Context, hash []byte) (*Key, error) // ErrNotFound
	ListAPIKeys(ctx context.Context) ([]*Key, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error // ErrNotFound
}

// Hash returns the stored form of a secret.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ParseScopes splits and checks a comma-separated scope list; "all" or "*" means every scope.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
			continue
		case p == "all" || p == All:
			return []string{All}, nil
		case !slices.Contains(AllScopes(), p):
			return nil, fmt.Errorf("unknown scope %q (known: %s, or all)", p, strings.Join(AllScopes(), ", "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("at least one scope is required")
	}
	return out, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewSecret returns a fresh random key secret.
func NewSecret() string { return "hk_" + randomString(30) }

// Create makes a key with the given name and scopes and returns its secret, which
// is never stored. An empty secret generates one; a given secret (herald dev's
// --api-key) is used as is.
func Create(ctx context.Context, st Store, name, secret string, scopes []string, now time.Time) (string, *Key, error) {
	if strings.TrimSpace(name) == "" {
		return "", nil, errors.New("a key needs a name")
	}
	if len(scopes) == 0 {
		return "", nil, errors.New("a key needs at least one scope")
	}
	if secret == "" {
		secret = NewSecret()
	} else if len(secret) < 16 {
		return "", nil, errors.New("an API key must be at least 16 characters")
	}
	k := &Key{ID: hex.EncodeToString(Hash(secret))[:12], Name: name, Hash: Hash(secret), Scopes: scopes, CreatedAt: now.UTC()}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return "", nil, err
	}
	return secret, k, nil
}

// Ensure makes sure a key with this secret exists (herald dev's fixed admin key).
func Ensure(ctx context.Context, st Store, name, secret string, scopes []string, now time.Time) (*Key, error) {
	k, err := st.APIKeyByHash(ctx, Hash(secret))
	if err == nil && k.RevokedAt.IsZero() {
		return k, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err == nil {
		return nil, errors.New("this API key was revoked; choose another")
	}
	_, k, err = Create(ctx, st, name, secret, scopes, now)
	return k, err
}

// Verifier checks presented secrets against the store, caching results for ttl.
type Verifier struct {
	store Store
	ttl   time.Duration
	now   func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	key     *Key // nil: unknown
	expires time.Time
}

// NewVerifier returns a Verifier; ttl bounds how long a revoked key keeps working.
func NewVerifier(st Store, ttl time.Duration, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{store: st, ttl: ttl, now: now, cache: map[[32]byte]cached{}}
}

// Verify returns the key a secret belongs to, or ErrUnknownKey.
func (v *Verifier) Verify(ctx context.Context, secret string) (*Key, error) {
	if secret == "" || len(secret) > 256 {
		return nil, ErrUnknownKey
	}
	h := sha256.Sum256([]byte(secret))
	now := v.now()
	v.mu.Lock()
	c, ok := v.cache[h]
	v.mu.Unlock()
	if !ok || now.After(c.expires) {
		k, err := v.store.APIKeyByHash(ctx, h[:])
		switch {
		case errors.Is(err, ErrNotFound):
			k = nil
		case err != nil:
			return nil, fmt.Errorf("verify API key: %w", err)
		}
		c = cached{key: k, expires: now.Add(v.ttl)}
		v.mu.Lock()
		if len(v.cache) > 10000 {
			clear(v.cache) // bound memory against a flood of random keys
		}
		v.cache[h] = c
		v.mu.Unlock()
	}
	if c.key == nil || !c.key.RevokedAt.IsZero() || subtle.ConstantTimeCompare(c.key.Hash, h[:]) != 1 {
		return nil, ErrUnknownKey
	}
	return c.key, nil
}
