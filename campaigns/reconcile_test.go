package campaigns_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/store"
)

// A page completion is committed without waiting for the WAL flush, so a
// PostgreSQL crash can take it back after the page's task completed in the
// queue. The reconciler runs such a page again (the queue's completed task
// is no answer: the store says the page is open), the re-run finds every
// message final, sends nothing, and the dispatch finishes. Before, the
// dispatch stayed running for ever (found by bench chaos postgres-restart).
func TestReconcilerFinishesAPageWhoseCompletionWasLost(t *testing.T) {
	t.Parallel()
	st, dsn := openPostgres(t)
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"lc1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("d4", 32)+`"}]}]}`)
	ctx := context.Background()
	if err := e.client.EnqueueSend(ctx, queue.SendPayload{ExternalUserIDs: []string{"lc1"},
		Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"once"}`)}}); err != nil {
		t.Fatal(err)
	}
	d := e.waitDone(t, onlyDispatch(t, st).ID)

	// what a crash after the task completed does to the async commit
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, `UPDATE dispatch_pages SET done_at = NULL WHERE dispatch_id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE dispatches SET pages_done = 0, status = 'running' WHERE id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := e.pipe.Reconcile(ctx, 0); err != nil || n != 1 {
		t.Fatalf("reconcile: %d tasks, %v; want the open page", n, err)
	}
	e.waitDone(t, d.ID)
	if n := e.rec.Len(); n != 1 {
		t.Errorf("%d messages, want 1 (the re-run sends nothing)", n)
	}
}

// onlyDispatch waits up to 20 s for the store's one ad-hoc dispatch.
func onlyDispatch(t *testing.T, st *store.Store) *campaigns.Dispatch {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds, err := st.CampaignDispatches(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 {
			return ds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d dispatches after 20 s, want one", len(ds))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A page's results are written until shortly before its claims' lease ends
// (a tenth of it left), not for a quarter of it: a database slow to take the
// write (here a lock held for half the lease; a restart, a starved single
// SQLite writer) is waited out, and the messages sent are not sent again
// after the lease.
func TestRecordWaitsOutASlowDatabaseWithinTheLease(t *testing.T) {
	t.Parallel()
	st, dsn := openPostgres(t)
	const lease = 8 * time.Second
	e := newEnvWorkers(t, st, 1, lease)
	e.track(t, `{"attributes":[{"external_id":"sl1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("e5", 32)+`"}]}]}`)
	ids := e.userIDs(t, "sl1")
	page := pageOf(t, st, "slow-db", campaigns.Spec{Messages: map[string]map[string]any{campaigns.ApplePush: {"alert": "hi"}}}, ids)

	// another session holds the engagement table, which the result write
	// inserts into, for half the lease (the claim does not touch it)
	ctx := context.Background()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "LOCK TABLE engagement IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	released := time.AfterFunc(lease/2, func() { tx.Rollback() })
	t.Cleanup(func() { released.Stop(); tx.Rollback() }) // also when the test fails early: the schema's removal waits for the lock

	start := time.Now()
	if err := e.pipe.Deliver(ctx, page); err != nil {
		t.Fatalf("deliver with the table held for %s of a %s lease: %v", lease/2, lease, err)
	}
	if waited := time.Since(start); waited < lease/2 {
		t.Errorf("deliver returned after %s, before the lock was released", waited)
	}
	if counts, err := st.LedgerCounts(ctx, page.DispatchID); err != nil || counts[campaigns.LedgerDelivered] != 1 {
		t.Errorf("ledger %v %v, want the message delivered", counts, err)
	}
	if n := e.rec.Len(); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// openPostgres opens a store in a schema of the test's own and returns it
// with its DSN, for the test's own session beside it.
func openPostgres(t *testing.T) (*store.Store, string) {
	t.Helper()
	dsn := testdeps.Postgres(t)
	st, err := store.Open(context.Background(), store.Options{Driver: "postgres", PostgresDSN: dsn, PostgresMaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dsn
}
