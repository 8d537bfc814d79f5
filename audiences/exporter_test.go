package audiences_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/audiences"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
	"github.com/herald-oss/herald/store/storetest"
)

func openStore(t *testing.T) *store.Store { return storetest.Open(t, "sqlite") }

func addUsers(t *testing.T, st *store.Store, exts ...string) {
	t.Helper()
	err := st.InTx(context.Background(), func(tx profiles.Tx) error {
		var reqs []profiles.Ensure
		for _, e := range exts {
			reqs = append(reqs, profiles.Ensure{ID: profiles.Identifier{ExternalID: e}, Create: true,
				New: profiles.NewUser{ExternalID: e, CreatedAt: time.Now()}})
		}
		_, err := tx.EnsureUsers(context.Background(), reqs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// blockingUsers stands in for profiles.Service: it reports each call and
// blocks until its context ends.
type blockingUsers struct{ called chan struct{} }

func (b *blockingUsers) ExportUsers(ctx context.Context, _ []int64, _ map[string]bool) ([]map[string]any, error) {
	select {
	case b.called <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// waitStatus polls an export until it reaches status.
func waitStatus(t *testing.T, st *store.Store, id, status string) *audiences.Export {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		x, err := st.Export(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if x.Status == status {
			return x
		}
		if time.Now().After(deadline) {
			t.Fatalf("export %s is %s, want %s", id, x.Status, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExportInterruptedByShutdownFails(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	addUsers(t, st, "u1", "u2")
	svc := audiences.NewService(st, audiences.Options{})
	sg, err := svc.Create(context.Background(), "All", json.RawMessage(`{"AND":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	users := &blockingUsers{called: make(chan struct{}, 1)}
	ex, err := audiences.NewExporter(svc, users, audiences.ExporterOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	x, err := ex.Submit(context.Background(), sg.ID, []string{"external_id"})
	if err != nil {
		t.Fatal(err)
	}
	<-users.called // the export is writing its first page
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ex.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := st.Export(context.Background(), x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != audiences.ExportFailed || !strings.Contains(got.Error, "shutting down") || got.FinishedAt.IsZero() {
		t.Fatalf("interrupted export = %+v", got)
	}
}

func TestExportRecovery(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	addUsers(t, st, "u1")
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := audiences.NewService(st, audiences.Options{Now: func() time.Time { return now }})
	dir := t.TempDir()
	// a running export whose process died an hour ago
	stale := &audiences.Export{ID: "stale", SegmentID: "s", Status: audiences.ExportRunning, Dir: filepath.Join(dir, "stale"),
		CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-time.Hour)}
	if err := st.CreateExport(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	sg, err := svc.Create(context.Background(), "All", json.RawMessage(`{"AND":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := audiences.NewExporter(svc, profiles.NewService(st, profiles.Options{}), audiences.ExporterOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// submitted while no exporter runs: one queued for a deleted segment, one to run
	gone, err := svc.Create(context.Background(), "Gone", json.RawMessage(`{"AND":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := ex.Submit(context.Background(), gone.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(context.Background(), gone.ID); err != nil {
		t.Fatal(err)
	}
	queued, err := ex.Submit(context.Background(), sg.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Stop(context.Background()) })

	if x := waitStatus(t, st, "stale", audiences.ExportFailed); !strings.Contains(x.Error, "abandoned") {
		t.Fatalf("stale export = %+v", x)
	}
	if x := waitStatus(t, st, orphan.ID, audiences.ExportFailed); !strings.Contains(x.Error, "was deleted") {
		t.Fatalf("export of a deleted segment = %+v", x)
	}
	if x := waitStatus(t, st, queued.ID, audiences.ExportDone); x.Rows != 1 || len(x.Files) != 1 {
		t.Fatalf("queued export = %+v", x)
	}
}
