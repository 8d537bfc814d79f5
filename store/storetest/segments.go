package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/herald-oss/herald/audiences"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

func segment(id string, refs ...string) *audiences.Segment {
	return &audiences.Segment{ID: id, Name: "Segment " + id, Filter: json.RawMessage(`{"AND":[]}`), Refs: refs, CreatedAt: t0, UpdatedAt: t0}
}

func testSegments(t *testing.T, s *store.Store) {
	c := ctx(t)
	for _, sg := range []*audiences.Segment{segment("a"), segment("b", "a"), segment("c", "a", "b", "a")} {
		if err := s.CreateSegment(c, sg); err != nil {
			t.Fatalf("CreateSegment(%s): %v", sg.ID, err)
		}
	}
	got, err := s.Segment(c, "c")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Segment c" || string(got.Filter) != `{"AND":[]}` || fmt.Sprint(got.Refs) != "[a b]" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("Segment(c) = %+v", got)
	}
	if _, err := s.Segment(c, "nope"); !errors.Is(err, audiences.ErrNotFound) {
		t.Fatalf("Segment(nope) = %v, want ErrNotFound", err)
	}
	if err := s.CreateSegment(c, segment("a")); !errors.Is(err, profiles.ErrConflict) {
		t.Fatalf("duplicate CreateSegment = %v, want ErrConflict", err)
	}
	list, err := s.Segments(c)
	if err != nil || len(list) != 3 || list[0].ID != "a" || fmt.Sprint(list[2].Refs) != "[a b]" || list[0].Refs != nil {
		t.Fatalf("Segments = %v, %v", list, err)
	}
	if by, err := s.SegmentsReferencing(c, "a"); err != nil || fmt.Sprint(by) != "[b c]" {
		t.Fatalf("SegmentsReferencing(a) = %v, %v", by, err)
	}

	// references must exist and lead nowhere back
	var re *audiences.RefError
	if err := s.CreateSegment(c, segment("d", "a", "x", "y")); !errors.As(err, &re) || fmt.Sprint(re.Missing) != "[x y]" {
		t.Fatalf("CreateSegment with missing refs = %v", err)
	}
	if _, err := s.Segment(c, "d"); !errors.Is(err, audiences.ErrNotFound) {
		t.Fatalf("a refused segment was stored: %v", err)
	}
	if err := s.CreateSegment(c, segment("self", "self")); !errors.As(err, &re) || fmt.Sprint(re.Cycle) != "[self]" {
		t.Fatalf("CreateSegment referencing itself = %v", err)
	}
	up := segment("a", "c")
	if err := s.UpdateSegment(c, up); !errors.As(err, &re) || fmt.Sprint(re.Cycle) != "[c]" {
		t.Fatalf("UpdateSegment making a cycle = %v", err)
	}
	if got, _ := s.Segment(c, "a"); got.Refs != nil {
		t.Fatalf("a refused update was stored: %+v", got)
	}
	up = &audiences.Segment{ID: "b", Name: "Renamed", Filter: json.RawMessage(`{"OR":[]}`), UpdatedAt: t0.Add(time.Hour)}
	if err := s.UpdateSegment(c, up); err != nil {
		t.Fatal(err)
	}
	if !up.CreatedAt.Equal(t0) {
		t.Fatalf("UpdateSegment CreatedAt = %v", up.CreatedAt)
	}
	got, err = s.Segment(c, "b")
	if err != nil || got.Name != "Renamed" || string(got.Filter) != `{"OR":[]}` || got.Refs != nil || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after update Segment(b) = %+v, %v", got, err)
	}
	if err := s.UpdateSegment(c, segment("nope")); !errors.Is(err, audiences.ErrNotFound) {
		t.Fatalf("UpdateSegment(nope) = %v, want ErrNotFound", err)
	}

	// a referenced segment cannot be deleted
	var inUse *audiences.InUseError
	if err := s.DeleteSegment(c, "a"); !errors.As(err, &inUse) || fmt.Sprint(inUse.By) != "[c]" {
		t.Fatalf("DeleteSegment(a) = %v, want InUseError by c", err)
	}
	for _, id := range []string{"c", "a", "b"} {
		if err := s.DeleteSegment(c, id); err != nil {
			t.Fatalf("DeleteSegment(%s): %v", id, err)
		}
	}
	if err := s.DeleteSegment(c, "a"); !errors.Is(err, audiences.ErrNotFound) {
		t.Fatalf("second DeleteSegment = %v, want ErrNotFound", err)
	}
	if list, err := s.Segments(c); err != nil || len(list) != 0 {
		t.Fatalf("Segments after deletes = %v, %v", list, err)
	}
}

func testExports(t *testing.T, s *store.Store) {
	c := ctx(t)
	e := &audiences.Export{ID: "e1", SegmentID: "seg", Fields: []string{"email", "external_id"}, Status: audiences.ExportQueued,
		Dir: "/tmp/exports/e1", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateExport(c, e); err != nil {
		t.Fatal(err)
	}
	all := &audiences.Export{ID: "e2", SegmentID: "seg", Status: audiences.ExportQueued, Dir: "/tmp/exports/e2",
		CreatedAt: t0.Add(time.Second), UpdatedAt: t0.Add(time.Second)}
	if err := s.CreateExport(c, all); err != nil {
		t.Fatal(err)
	}
	got, err := s.Export(c, "e1")
	if err != nil || fmt.Sprint(got.Fields) != "[email external_id]" || got.Status != audiences.ExportQueued || got.Files != nil && len(got.Files) != 0 ||
		!got.FinishedAt.IsZero() || !got.CreatedAt.Equal(t0) {
		t.Fatalf("Export(e1) = %+v, %v", got, err)
	}
	if got, err := s.Export(c, "e2"); err != nil || got.Fields != nil {
		t.Fatalf("Export(e2) fields = %#v, %v; want nil (every field)", got.Fields, err)
	}
	if _, err := s.Export(c, "nope"); !errors.Is(err, audiences.ErrNotFound) {
		t.Fatalf("Export(nope) = %v", err)
	}
	queued, err := s.ExportsByStatus(c, audiences.ExportQueued)
	if err != nil || len(queued) != 2 || queued[0].ID != "e1" {
		t.Fatalf("ExportsByStatus(queued) = %v, %v", queued, err)
	}
	if ok, err := s.ClaimExport(c, "e1", t0.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("ClaimExport = %v, %v", ok, err)
	}
	if ok, err := s.ClaimExport(c, "e1", t0.Add(time.Minute)); err != nil || ok {
		t.Fatalf("second ClaimExport = %v, %v; want false", ok, err)
	}
	got, _ = s.Export(c, "e1")
	got.Status, got.Rows, got.Files = audiences.ExportDone, 1234, []string{"part-00000.ndjson.gz", "part-00001.ndjson.gz"}
	got.UpdatedAt, got.FinishedAt = t0.Add(2*time.Minute), t0.Add(2*time.Minute)
	if err := s.UpdateExport(c, got); err != nil {
		t.Fatal(err)
	}
	got, err = s.Export(c, "e1")
	if err != nil || got.Status != audiences.ExportDone || got.Rows != 1234 || len(got.Files) != 2 || !got.FinishedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after update Export(e1) = %+v, %v", got, err)
	}
	if err := s.UpdateExport(c, &audiences.Export{ID: "nope", Status: audiences.ExportFailed, UpdatedAt: t0}); !errors.Is(err, audiences.ErrNotFound) {
		t.Fatalf("UpdateExport(nope) = %v", err)
	}
	if queued, _ := s.ExportsByStatus(c, audiences.ExportQueued); len(queued) != 1 || queued[0].ID != "e2" {
		t.Fatalf("queued after claim = %v", queued)
	}
}

// regexpOp is the regular expression operator of the store's dialect.
func regexpOp(s *store.Store) string {
	if s.Driver() == "postgres" {
		return "~"
	}
	return "REGEXP"
}

func testAudience(t *testing.T, s *store.Store) {
	c := ctx(t)
	ids := mustUsers(t, s, "a1", "a2", "a3", "a4", "a5", "other")
	var anon int64
	err := s.InTx(c, func(tx profiles.Tx) error {
		got, err := tx.EnsureUsers(c, []profiles.Ensure{{ID: profiles.Identifier{Alias: &profiles.Alias{Name: "anon", Label: "l"}}, Create: true, New: newUser("")}})
		anon = got[0]
		if err != nil {
			return err
		}
		users, err := tx.LockUsers(c, append([]int64{anon}, ids...))
		if err != nil {
			return err
		}
		for i, id := range append([]int64{anon}, ids[:5]...) {
			users[id].Standard.Email = fmt.Sprintf("user%d@example.com", i)
			users[id].Custom = profiles.Custom{"plan": "gold"}
		}
		users[ids[5]].Standard.Email = "x@elsewhere.org"
		var list []*profiles.User
		for _, u := range users {
			list = append(list, u)
		}
		return tx.SaveUsers(c, list)
	})
	if err != nil {
		t.Fatal(err)
	}
	where, args := "u.email "+regexpOp(s)+" ?", []any{`^user[0-9]+@example\.com$`}
	n, err := s.CountWhere(c, where, args)
	if err != nil || n != 6 {
		t.Fatalf("CountWhere = %d, %v; want 6", n, err)
	}
	// keyset pages: every matching user once, in id order
	var pages [][]int64
	var after int64
	for {
		page, err := s.AudiencePage(c, where, args, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		after = page[len(page)-1]
	}
	want := fmt.Sprint([][]int64{{ids[0], ids[1]}, {ids[2], ids[3]}, {ids[4], anon}})
	if fmt.Sprint(pages) != want {
		t.Fatalf("AudiencePage pages = %v, want %v", pages, want)
	}
	// one streaming scan gives the same pages, the last flagged (and an
	// exact multiple of the batch size ends with an empty last batch)
	for _, tc := range []struct {
		after int64
		size  int
		want  string
	}{
		{0, 2, fmt.Sprint([]any{[]int64{ids[0], ids[1]}, false, []int64{ids[2], ids[3]}, false, []int64{ids[4], anon}, false, []int64{}, true})},
		{0, 4, fmt.Sprint([]any{[]int64{ids[0], ids[1], ids[2], ids[3]}, false, []int64{ids[4], anon}, true})},
		{ids[3], 10, fmt.Sprint([]any{[]int64{ids[4], anon}, true})},
	} {
		var got []any
		err := s.AudienceScan(c, where, args, tc.after, tc.size, func(ids []int64, last bool) error {
			got = append(got, ids, last)
			return nil
		})
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Fatalf("AudienceScan(after %d, size %d) = %v, %v; want %v", tc.after, tc.size, got, err, tc.want)
		}
	}
	stop := errors.New("stop")
	if err := s.AudienceScan(c, where, args, 0, 2, func([]int64, bool) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("AudienceScan with a failing fn = %v, want its error", err)
	}
	// the sample lists external ids only (the alias-only user has none)
	sample, err := s.SampleExternalIDs(c, "u.id >= ?", []any{ids[3]}, 10)
	if err != nil || fmt.Sprint(sample) != "[a4 a5 other]" {
		t.Fatalf("SampleExternalIDs = %v, %v", sample, err)
	}
	if sample, err := s.SampleExternalIDs(c, where, args, 2); err != nil || fmt.Sprint(sample) != "[a1 a2]" {
		t.Fatalf("SampleExternalIDs(2) = %v, %v", sample, err)
	}
	if sample, err := s.SampleExternalIDs(c, "1 = 0", nil, 10); err != nil || sample == nil || len(sample) != 0 {
		t.Fatalf("empty SampleExternalIDs = %#v, %v; want an empty list", sample, err)
	}
	// REGEXP handles NULL and refuses a bad pattern
	if n, err := s.CountWhere(c, "u.phone "+regexpOp(s)+" ?", []any{"."}); err != nil || n != 0 {
		t.Fatalf("REGEXP on NULL = %d, %v", n, err)
	}
	if _, err := s.CountWhere(c, "u.email "+regexpOp(s)+" ?", []any{"("}); err == nil {
		t.Fatal("a bad pattern was accepted")
	}
}

func testLoadRecent(t *testing.T, s *store.Store) {
	c := ctx(t)
	ids := mustUsers(t, s, "r1", "r2", "r3")
	today := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	todayN := today.Unix() / 86400
	ago := func(days int) time.Time { return today.AddDate(0, 0, -days) }
	empty := json.RawMessage("{}")
	err := s.InTx(c, func(tx profiles.Tx) error {
		if err := tx.AddEvents(c, []profiles.Event{
			{UserID: ids[0], Name: "open", Time: today, Properties: empty},
			{UserID: ids[0], Name: "open", Time: today.Add(time.Hour), Properties: empty},
			{UserID: ids[0], Name: "open", Time: ago(3), Properties: empty},
			{UserID: ids[0], Name: "old", Time: ago(40), Properties: empty},
			{UserID: ids[1], Name: "buy", Time: ago(1), Properties: empty},
		}); err != nil {
			return err
		}
		return tx.AddPurchases(c, []profiles.Purchase{
			{UserID: ids[0], ProductID: "p1", Currency: "USD", Price: 2.5, Time: today, Properties: empty},
			{UserID: ids[0], ProductID: "p1", Currency: "USD", Price: 1.25, Time: today, Properties: empty},
			{UserID: ids[1], ProductID: "p2", Currency: "USD", Price: 9, Time: ago(50), Properties: empty},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var sessions []profiles.Session
	for _, ss := range []struct {
		user int64
		at   time.Time
		n    int
	}{{ids[0], today, 3}, {ids[0], ago(31), 1}, {ids[1], ago(2), 2}} {
		for range ss.n {
			sessions = append(sessions, profiles.Session{UserID: ss.user, AppID: "app", Time: ss.at})
		}
	}
	if err := s.AddSessions(c, sessions); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Profiles(c, ids)
	if err != nil {
		t.Fatal(err)
	}
	ps[2].Recent.Events = []profiles.DayCount{{Name: "stale"}} // replaced, not appended to
	if err := s.LoadRecent(c, ps, todayN-30); err != nil {
		t.Fatal(err)
	}
	r0, r1, r2 := ps[0].Recent, ps[1].Recent, ps[2].Recent
	if fmt.Sprint(r0.Events) != fmt.Sprint([]profiles.DayCount{{Name: "open", Day: todayN - 3, Count: 1}, {Name: "open", Day: todayN, Count: 2}}) {
		t.Errorf("r1 events = %+v", r0.Events)
	}
	if len(r0.Purchases) != 1 || r0.Purchases[0] != (profiles.DayCount{Name: "p1", Day: todayN, Count: 2, Revenue: 3.75}) {
		t.Errorf("r1 purchases = %+v", r0.Purchases)
	}
	if len(r1.Events) != 1 || r1.Events[0].Name != "buy" || len(r1.Purchases) != 0 {
		t.Errorf("r2 recent = %+v", r1)
	}
	if r2.Events != nil || r2.Sessions != nil || r2.Purchases != nil {
		t.Errorf("r3 recent = %+v, want empty", r2)
	}
	if fmt.Sprint(r0.Sessions) != fmt.Sprint([]profiles.DayCount{{Day: todayN, Count: 3}}) || len(r1.Sessions) != 1 || r1.Sessions[0].Count != 2 {
		t.Errorf("sessions = %+v / %+v", r0.Sessions, r1.Sessions)
	}
	if err := s.LoadRecent(c, nil, todayN); err != nil {
		t.Fatalf("LoadRecent(nil) = %v", err)
	}
}

func testRefreshStats(t *testing.T, s *store.Store) {
	c := ctx(t)
	first, err := s.RefreshStats(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.Driver() == "sqlite" {
		if len(first) != 0 {
			t.Fatalf("RefreshStats on SQLite analyzed %v, want nothing", first)
		}
		return
	}
	// a fresh schema was never analyzed: every audience table is; then none
	// is stale until it changes
	if fmt.Sprint(first) == "[]" || !slices.Contains(first, "users") || !slices.Contains(first, "devices") {
		t.Fatalf("RefreshStats on a fresh schema analyzed %v, want users and devices among them", first)
	}
	if again, err := s.RefreshStats(c); err != nil || len(again) != 0 {
		t.Fatalf("RefreshStats right after = %v, %v; want nothing", again, err)
	}
}
