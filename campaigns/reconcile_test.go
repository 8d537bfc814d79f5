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
	dsn := testdeps.Postgres(t)
	st, err := store.Open(context.Background(), store.Options{Driver: "postgres", PostgresDSN: dsn, PostgresMaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"lc1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("d4", 32)+`"}]}]}`)
	ctx := context.Background()
	if err := e.client.EnqueueSend(ctx, queue.SendPayload{ExternalUserIDs: []string{"lc1"},
		Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"once"}`)}}); err != nil {
		t.Fatal(err)
	}
	d := waitDispatch(t, st, campaigns.DispatchDone)

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
	waitDispatch(t, st, campaigns.DispatchDone)
	if n := e.rec.Len(); n != 1 {
		t.Errorf("%d messages, want 1 (the re-run sends nothing)", n)
	}
}

// waitDispatch waits up to 20 s for the store's only ad-hoc dispatch to
// reach status.
func waitDispatch(t *testing.T, st *store.Store, status string) *campaigns.Dispatch {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds, err := st.CampaignDispatches(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && ds[0].Status == status {
			return ds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dispatch %s after 20 s: %+v", status, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
