package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

// testSDKItems: item ids are claimed once (also by concurrent transactions),
// a rolled-back claim is not kept, seen ids are reported, old ids are
// purged; session starts recorded inside a transaction sum into the usage
// rollups.
func testSDKItems(t *testing.T, s *store.Store) {
	t.Run("claims", func(t *testing.T) { sdkClaims(t, s) })
	t.Run("concurrent", func(t *testing.T) { sdkConcurrentClaims(t, s) })
	t.Run("sessions", func(t *testing.T) { sdkSessions(t, s) })
}

func sdkTx(t *testing.T, s *store.Store, fn func(profiles.SDKTx) error) {
	t.Helper()
	if err := s.InTx(ctx(t), func(tx profiles.Tx) error { return fn(tx.(profiles.SDKTx)) }); err != nil {
		t.Fatal(err)
	}
}

func sdkClaims(t *testing.T, s *store.Store) {
	k := func(id string) []byte { return profiles.SDKItemKey("app", "dev", id) }
	var got []bool
	sdkTx(t, s, func(tx profiles.SDKTx) (err error) {
		got, err = tx.ClaimSDKItems(ctx(t), [][]byte{k("a"), k("b"), k("a")}, t0)
		return err
	})
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("first claim %v, want [true true false] (a key twice is new once)", got)
	}
	sdkTx(t, s, func(tx profiles.SDKTx) (err error) {
		got, err = tx.ClaimSDKItems(ctx(t), [][]byte{k("b"), k("c")}, t0.Add(time.Hour))
		return err
	})
	if got[0] || !got[1] {
		t.Fatalf("second claim %v, want [false true]", got)
	}
	// a claim whose transaction fails is not kept
	boom := errors.New("boom")
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		if _, err := tx.(profiles.SDKTx).ClaimSDKItems(ctx(t), [][]byte{k("d")}, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	sdkTx(t, s, func(tx profiles.SDKTx) (err error) {
		got, err = tx.SDKItemsSeen(ctx(t), [][]byte{k("a"), k("d"), k("c"), profiles.SDKItemKey("app", "other-dev", "a")})
		return err
	})
	if !got[0] || got[1] || !got[2] || got[3] {
		t.Fatalf("seen %v, want [true false true false]", got)
	}
	n, err := s.PurgeSDKItems(ctx(t), t0.Add(time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("purge = %d, %v; want the 2 ids seen at t0", n, err)
	}
	sdkTx(t, s, func(tx profiles.SDKTx) (err error) {
		got, err = tx.SDKItemsSeen(ctx(t), [][]byte{k("a"), k("b"), k("c")})
		return err
	})
	if got[0] || got[1] || !got[2] {
		t.Fatalf("seen after purge %v, want [false false true]", got)
	}
}

// Concurrent transactions claiming the same ids: each id is new in exactly
// one of them.
func sdkConcurrentClaims(t *testing.T, s *store.Store) {
	keys := make([][]byte, 20)
	for i := range keys {
		keys[i] = profiles.SDKItemKey("app", "dev-c", string(rune('a'+i)))
	}
	var mu sync.Mutex
	wins := make([]int, len(keys))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			// each worker claims the keys in its own order
			mine := append([][]byte(nil), keys[w*5:]...)
			mine = append(mine, keys[:w*5]...)
			var got []bool
			err := s.InTx(ctx(t), func(tx profiles.Tx) (err error) {
				got, err = tx.(profiles.SDKTx).ClaimSDKItems(ctx(t), mine, t0)
				return err
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i, ok := range got {
				if ok {
					wins[(i+w*5)%len(keys)]++
				}
			}
		})
	}
	wg.Wait()
	for i, n := range wins {
		if n != 1 {
			t.Fatalf("key %d claimed %d times (%v)", i, n, wins)
		}
	}
}

func sdkSessions(t *testing.T, s *store.Store) {
	ids := mustUsers(t, s, "sdk-sess")
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	sdkTx(t, s, func(tx profiles.SDKTx) error {
		return tx.AddSessions(ctx(t), []profiles.Session{
			{UserID: ids[0], AppID: "web", Time: at(0), AppVersion: "2.0"},
			{UserID: ids[0], AppID: "web", Time: at(-30), AppVersion: "1.0"},
			{UserID: ids[0], AppID: "web", Time: at(1)},
		})
	})
	// a late batch: an older session with an older version keeps the newer one
	sdkTx(t, s, func(tx profiles.SDKTx) error {
		return tx.AddSessions(ctx(t), []profiles.Session{{UserID: ids[0], AppID: "web", Time: at(-48), AppVersion: "0.9"}})
	})
	p := profile(t, s, ids[0])
	if !p.User.FirstSessionAt.Equal(at(-48)) || !p.User.LastSessionAt.Equal(at(1)) {
		t.Errorf("first/last session %v %v", p.User.FirstSessionAt, p.User.LastSessionAt)
	}
	if len(p.Apps) != 1 || p.Apps[0].Sessions != 4 || !p.Apps[0].FirstUsed.Equal(at(-48)) || !p.Apps[0].LastUsed.Equal(at(1)) || p.Apps[0].Version != "2.0" {
		t.Errorf("app usage %+v", p.Apps)
	}
	if err := s.LoadRecent(ctx(t), []*profiles.Profile{p}, t0.Unix()/86400-5); err != nil {
		t.Fatal(err)
	}
	days := map[int64]int64{}
	for _, d := range p.Recent.Sessions {
		days[d.Day] = d.Count
	}
	today := t0.Unix() / 86400
	if len(days) != 3 || days[today] != 2 || days[today-1] != 1 || days[today-2] != 1 {
		t.Errorf("session days %v", days)
	}
	// the row was rewritten: a writer holding the old version must retry
	if p.User.Version == 0 {
		t.Errorf("user version not bumped")
	}
}
