package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
	"github.com/herald-oss/herald/store/storetest"
)

func openSQLite(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "herald.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func openPostgres(t *testing.T) *store.Store {
	t.Helper()
	dsn := testdeps.Postgres(t)
	s, err := store.Open(context.Background(), store.Options{Driver: "postgres", PostgresDSN: dsn, PostgresMaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContractSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openSQLite)
}

func TestContractPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openPostgres)
}

func TestSQLiteRefusesSecondProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: path})
	if err == nil || !strings.Contains(err.Error(), "in use by") || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("second Open = %v; want a clear refusal", err)
	}
	s.Close()
	s2, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: path})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

// Concurrent transactions creating overlapping sets of users, listed in different
// orders, must not deadlock (PostgreSQL would break the cycle after a second and
// the transaction would be retried: slow, and a 500 after too many retries).
func TestPostgresOverlappingCreatesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	s := openPostgres(t)
	deadlocks := func() int64 {
		var n int64
		if err := s.QueryRowForTest(context.Background(), "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := deadlocks()
	const workers, rounds, users = 8, 20, 30
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	// every worker starts each round together, so they race on the same new users
	starts := make([]chan struct{}, rounds)
	ready := make([]sync.WaitGroup, rounds)
	for r := range starts {
		starts[r] = make(chan struct{})
		ready[r].Add(workers)
		go func(r int) { ready[r].Wait(); close(starts[r]) }(r)
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for r := 0; r < rounds; r++ {
				ready[r].Done()
				<-starts[r]
				var reqs []profiles.Ensure
				for _, i := range rng.Perm(users) {
					ext := fmt.Sprintf("r%d-u%d", r, i)
					reqs = append(reqs, profiles.Ensure{ID: profiles.Identifier{ExternalID: ext}, Create: true,
						New: profiles.NewUser{ExternalID: ext, CreatedAt: time.Now()}})
				}
				err := s.InTx(context.Background(), func(tx profiles.Tx) error {
					ids, err := tx.EnsureUsers(context.Background(), reqs)
					if err != nil {
						return err
					}
					_, err = tx.LockUsers(context.Background(), ids)
					return err
				})
				if err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// stats are flushed asynchronously; give them a moment
	time.Sleep(600 * time.Millisecond)
	if d := deadlocks() - before; d != 0 {
		t.Fatalf("%d deadlock(s) while creating overlapping users", d)
	}
}

// A user deleted while events are being tracked for them leaves no event behind:
// the ingest transaction share-locks the user, so the delete waits and then
// removes what it wrote (or the ingest retries and finds the user gone).
func TestDeleteRacingTrackLeavesNoOrphans(t *testing.T) {
	t.Parallel()
	for _, open := range []func(*testing.T) *store.Store{openSQLite, openPostgres} {
		s := open(t)
		svc := profiles.NewService(s, profiles.Options{})
		ctx := context.Background()
		track := func(body string) {
			req, err := profiles.DecodeTrack(strings.NewReader(body), time.Now(), profiles.DefaultLimits())
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := svc.Track(ctx, req); err != nil {
				t.Error(err)
			}
		}
		for i := 0; i < 40; i++ {
			track(fmt.Sprintf(`{"attributes":[{"external_id":"d%d"}]}`, i))
		}
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(2)
			go func(i int) {
				defer wg.Done()
				track(fmt.Sprintf(`{"events":[{"external_id":"d%d","name":"e","time":"2026-01-01T00:00:00Z","_update_existing_only":true}]}`, i))
			}(i)
			go func(i int) {
				defer wg.Done()
				if _, err := svc.Delete(ctx, &profiles.DeleteRequest{ExternalIDs: []string{fmt.Sprintf("d%d", i)}}); err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		var orphans int
		q := "SELECT COUNT(*) FROM events WHERE user_id NOT IN (SELECT id FROM users)"
		if err := s.QueryRowForTest(ctx, q).Scan(&orphans); err != nil {
			t.Fatal(err)
		}
		if orphans != 0 {
			t.Fatalf("%s: %d events of deleted users remain", s.Driver(), orphans)
		}
	}
}
