package apikeys_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/store"
)

// counting wraps the real SQLite store and counts key lookups, to see the cache.
type counting struct {
	*store.Store
	mu      sync.Mutex
	lookups int
}

func (c *counting) APIKeyByHash(ctx context.Context, h []byte) (*apikeys.Key, error) {
	c.mu.Lock()
	c.lookups++
	c.mu.Unlock()
	return c.Store.APIKeyByHash(ctx, h)
}

func newStore(t *testing.T) *counting {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &counting{Store: st}
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	if s, err := apikeys.ParseScopes("users.track, manage,users.track"); err != nil || len(s) != 2 {
		t.Fatalf("ParseScopes = %v, %v", s, err)
	}
	if s, err := apikeys.ParseScopes("all"); err != nil || len(s) != 1 || s[0] != apikeys.All {
		t.Fatalf("all = %v, %v", s, err)
	}
	if _, err := apikeys.ParseScopes("users.fly"); err == nil {
		t.Fatal("unknown scope accepted")
	}
	if _, err := apikeys.ParseScopes(" , "); err == nil {
		t.Fatal("empty scopes accepted")
	}
}

func TestVerifierCachesAndSeesRevocation(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	secret, k, err := apikeys.Create(context.Background(), st, "k", "", []string{"users.track"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) < 30 || k.ID == "" || string(k.Hash) == secret {
		t.Fatalf("key = %q %+v", secret, k)
	}
	v := apikeys.NewVerifier(st, 10*time.Second, clock)
	for i := 0; i < 3; i++ {
		got, err := v.Verify(context.Background(), secret)
		if err != nil || got.ID != k.ID || !got.Allows("users.track") || got.Allows("manage") {
			t.Fatalf("Verify = %+v, %v", got, err)
		}
	}
	if st.lookups != 1 {
		t.Fatalf("%d store lookups for 3 verifications within the TTL", st.lookups)
	}
	if _, err := v.Verify(context.Background(), secret+"x"); !errors.Is(err, apikeys.ErrUnknownKey) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := v.Verify(context.Background(), ""); !errors.Is(err, apikeys.ErrUnknownKey) {
		t.Fatalf("empty secret: %v", err)
	}
	if err := st.RevokeAPIKey(context.Background(), k.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), secret); err != nil {
		t.Fatalf("revocation seen before the cache TTL: %v", err)
	}
	now = now.Add(11 * time.Second)
	if _, err := v.Verify(context.Background(), secret); !errors.Is(err, apikeys.ErrUnknownKey) {
		t.Fatalf("revoked key still verifies after the TTL: %v", err)
	}
}

func TestEnsureIsIdempotent(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	a, err := apikeys.Ensure(context.Background(), st, "dev", "a-fixed-dev-key-123456", []string{apikeys.All}, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := apikeys.Ensure(context.Background(), st, "dev", "a-fixed-dev-key-123456", []string{apikeys.All}, now)
	if err != nil || a.ID != b.ID || len(keysOf(t, st)) != 1 {
		t.Fatalf("Ensure twice: %v %v %d keys", a, err, len(keysOf(t, st)))
	}
	if _, err := apikeys.Ensure(context.Background(), st, "dev", "short", []string{apikeys.All}, now); err == nil {
		t.Fatal("a too-short key was accepted")
	}
	if !b.Allows("anything.at.all") {
		t.Fatal("wildcard key lacks a scope")
	}
}

func keysOf(t *testing.T, st *counting) []*apikeys.Key {
	t.Helper()
	list, err := st.ListAPIKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}
