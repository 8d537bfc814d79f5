package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/scheduler"
	"github.com/herald-oss/herald/store"
)

// setZones sets users' time_zone ("" for none).
func setZones(t *testing.T, s *store.Store, zones map[int64]string) {
	t.Helper()
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		var ids []int64
		for id := range zones {
			ids = append(ids, id)
		}
		users, err := tx.LockUsers(ctx(t), ids)
		if err != nil {
			return err
		}
		var out []*profiles.User
		for id, z := range zones {
			u := users[id]
			u.Standard.TimeZone = z
			u.UpdatedAt = u.UpdatedAt.Add(time.Second)
			out = append(out, u)
		}
		return tx.SaveUsers(ctx(t), out)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func sorted(ids ...int64) []int64 { return slices.Sorted(slices.Values(ids)) }

// testWaves covers local-time sends: the plan stored once, waves started
// once and only when due on a running dispatch, each wave's users (moved
// users and zones unknown at planning included), a page key taken by another
// wave, and the dispatch done only when every wave is paged and every page
// done.
func testWaves(t *testing.T, s *store.Store) {
	ids := mustUsers(t, s, "berlin", "kiri", "none", "bad", "later", "pago")
	berlin, kiri, none, bad, later, pago := ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]
	setZones(t, s, map[int64]string{berlin: "Europe/Berlin", kiri: "Pacific/Kiritimati", bad: "Not/AZone",
		later: "Europe/Berlin", pago: "Pacific/Pago_Pago"})
	zones, err := s.TimeZones(ctx(t))
	if err != nil || !slices.Equal(zones, []string{"", "Europe/Berlin", "Not/AZone", "Pacific/Kiritimati", "Pacific/Pago_Pago"}) {
		t.Fatalf("time zones: %q %v", zones, err)
	}

	wall, _ := scheduler.ParseLocalTime("2026-03-02T09:00:00")
	if _, err := s.LocalSend(ctx(t), "w1"); !errors.Is(err, campaigns.ErrNotFound) {
		t.Fatalf("no local send: %v", err)
	}
	if err := s.CreateLocalSend(ctx(t), &campaigns.LocalSend{DispatchID: "w1", WallTime: wall, Policy: scheduler.PolicyNextOccurrence, LaunchedAt: t0}); err != nil {
		t.Fatal(err)
	}
	d := &campaigns.Dispatch{ID: "w1", CampaignID: "c1", Occurrence: "launch", Status: campaigns.DispatchRunning, CreatedAt: t0, UpdatedAt: t0}
	if _, created, err := s.CreateDispatch(ctx(t), d); err != nil || !created {
		t.Fatal(created, err)
	}
	l, err := s.LocalSend(ctx(t), "w1")
	if err != nil || l.WallTime != wall || l.Policy != scheduler.PolicyNextOccurrence || !l.LaunchedAt.Equal(t0) || !l.PlannedAt.IsZero() {
		t.Fatalf("local send: %+v %v", l, err)
	}

	at := []time.Time{t0.Add(time.Hour), t0.Add(2 * time.Hour), t0.Add(3 * time.Hour)}
	waves := []campaigns.Wave{
		{N: 1, At: at[0], Zones: []string{"Pacific/Kiritimati"}},
		{N: 2, At: at[1], Zones: []string{"Europe/Berlin"}},
		{N: 3, At: at[2], Zones: []string{"", "Not/AZone"}},
	}
	for i := range 2 { // planned once
		ok, err := s.PlanWaves(ctx(t), "w1", waves, []string{"Pacific/Pago_Pago"}, t0)
		if err != nil || ok != (i == 0) {
			t.Fatalf("plan %d: %v %v", i, ok, err)
		}
	}
	l, _ = s.LocalSend(ctx(t), "w1")
	if !l.PlannedAt.Equal(t0) || !slices.Equal(l.Skipped, []string{"Pacific/Pago_Pago"}) {
		t.Fatalf("planned: %+v", l)
	}
	got, err := s.Waves(ctx(t), "w1")
	if err != nil || len(got) != 3 || got[2].N != 3 || !got[2].At.Equal(at[2]) || !slices.Equal(got[2].Zones, []string{"", "Not/AZone"}) ||
		got[0].State != campaigns.WavePending {
		t.Fatalf("waves: %+v %v", got, err)
	}

	due := func(now time.Time) []int {
		t.Helper()
		ws, err := s.DueWaves(ctx(t), now, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ns []int
		for _, w := range ws {
			ns = append(ns, w.N)
		}
		return ns
	}
	if ns := due(at[0].Add(-time.Millisecond)); len(ns) != 0 {
		t.Fatalf("due before the first wave: %v", ns)
	}
	if ns := due(at[0]); !slices.Equal(ns, []int{1}) {
		t.Fatalf("due at the first wave: %v", ns)
	}
	for i := range 2 { // two schedulers: one starts it
		ok, err := s.StartWave(ctx(t), "w1", 1, at[0])
		if err != nil || ok != (i == 0) {
			t.Fatalf("start %d: %v %v", i, ok, err)
		}
	}
	// a paused dispatch's waves wait
	if err := s.SetDispatchStatus(ctx(t), "c1", "w1", campaigns.DispatchPaused, []string{campaigns.DispatchRunning}, t0); err != nil {
		t.Fatal(err)
	}
	if ns := due(at[2]); len(ns) != 0 {
		t.Fatalf("due while paused: %v", ns)
	}
	if err := s.SetDispatchStatus(ctx(t), "c1", "w1", campaigns.DispatchRunning, []string{campaigns.DispatchPaused}, t0); err != nil {
		t.Fatal(err)
	}
	if ns := due(at[2]); !slices.Equal(ns, []int{2, 3}) {
		t.Fatalf("due after resume: %v", ns)
	}

	scan := func(a campaigns.WaveAudience) []int64 {
		t.Helper()
		a.DispatchID = "w1"
		var out []int64
		err := s.WaveScan(ctx(t), "1 = 1", nil, a, 0, 100, func(ids []int64, _ bool) error {
			out = append(out, ids...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	known := []string{"Pacific/Kiritimati", "Europe/Berlin", "", "Not/AZone", "Pacific/Pago_Pago"}
	if u := scan(campaigns.WaveAudience{Zones: waves[0].Zones}); !slices.Equal(u, []int64{kiri}) {
		t.Fatalf("wave 1: %v", u)
	}
	if u := scan(campaigns.WaveAudience{Zones: waves[0].Zones, UserIDs: []int64{berlin, none}}); len(u) != 0 {
		t.Fatalf("wave 1 of listed users: %v", u)
	}
	pages, err := s.AddWavePages(ctx(t), "w1", 1, []campaigns.Page{{FirstUserID: kiri, UserIDs: []int64{kiri}}}, kiri, true, t0)
	if err != nil || len(pages) != 1 || pages[0].FirstUserID != kiri {
		t.Fatalf("wave 1 pages: %+v %v", pages, err)
	}
	// kiri is in the ledger; berlin moves to Kiritimati after its wave:
	// wave 2 takes it (an earlier wave's zone, not in the ledger), not kiri.
	if _, err := s.Claim(ctx(t), []campaigns.Claim{{LedgerKey: campaigns.LedgerKey{DispatchID: "w1", UserID: kiri, Channel: "apple_push", Device: "t"},
		CampaignID: "c1", MessageID: "m"}}, "w", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	setZones(t, s, map[int64]string{berlin: "Pacific/Kiritimati"})
	w2 := campaigns.WaveAudience{Zones: waves[1].Zones, Earlier: waves[0].Zones}
	if u := scan(w2); !slices.Equal(u, sorted(berlin, later)) {
		t.Fatalf("wave 2: %v", u)
	}
	// a page of wave 2 led by kiri (paged by wave 1) keeps its other users
	for range 2 { // and a re-run of the task records it once
		pages, err = s.AddWavePages(ctx(t), "w1", 2, []campaigns.Page{{FirstUserID: kiri, UserIDs: []int64{kiri, berlin, later}}}, later, true, t0)
		if err != nil || len(pages) != 1 || pages[0].FirstUserID != berlin || !slices.Equal(pages[0].UserIDs, []int64{berlin, later}) {
			t.Fatalf("wave 2 pages: %+v %v", pages, err)
		}
	}
	if p, err := s.Page(ctx(t), "w1", kiri); err != nil || !slices.Equal(p.UserIDs, []int64{kiri}) {
		t.Fatalf("wave 1's page: %+v %v", p, err)
	}
	dd, _ := s.Dispatch(ctx(t), "w1")
	if dd.PagingDone || dd.Pages != 2 {
		t.Fatalf("two waves of three paged: %+v", dd)
	}
	// the last wave: its zones, and zones no wave names (later moved to
	// Tokyo) not yet in the ledger; not the skipped zone
	setZones(t, s, map[int64]string{later: "Asia/Tokyo"})
	w3 := campaigns.WaveAudience{Zones: waves[2].Zones, Earlier: append(append([]string{}, waves[0].Zones...), waves[1].Zones...),
		Known: known, Last: true}
	if u := scan(w3); !slices.Equal(u, sorted(berlin, none, bad, later)) {
		t.Fatalf("last wave: %v", u)
	}
	for _, id := range []int64{kiri, berlin} {
		if fin, err := s.CompletePage(ctx(t), "w1", id, t0); err != nil || fin {
			t.Fatalf("page %d finished the dispatch before its last wave: %v %v", id, fin, err)
		}
	}
	pages, err = s.AddWavePages(ctx(t), "w1", 3, []campaigns.Page{{FirstUserID: none, UserIDs: []int64{none, bad}}}, bad, false, t0)
	if err != nil || len(pages) != 1 {
		t.Fatal(pages, err)
	}
	if _, err := s.AddWavePages(ctx(t), "w1", 3, nil, bad, true, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Waves(ctx(t), "w1"); got[2].State != campaigns.WavePaged || got[2].Cursor != bad {
		t.Fatalf("last wave: %+v", got[2])
	}
	if dd, _ := s.Dispatch(ctx(t), "w1"); !dd.PagingDone || dd.Status != campaigns.DispatchRunning || dd.Pages != 3 {
		t.Fatalf("every wave paged, a page open: %+v", dd)
	}
	if fin, err := s.CompletePage(ctx(t), "w1", none, t0); err != nil || !fin {
		t.Fatalf("last page: %v %v", fin, err)
	}

	// a plan of no wave: done at once
	if err := s.CreateLocalSend(ctx(t), &campaigns.LocalSend{DispatchID: "w2", WallTime: wall, LaunchedAt: t0}); err != nil {
		t.Fatal(err)
	}
	d2 := &campaigns.Dispatch{ID: "w2", CampaignID: "c2", Occurrence: "launch", Status: campaigns.DispatchRunning, CreatedAt: t0, UpdatedAt: t0}
	if _, _, err := s.CreateDispatch(ctx(t), d2); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.PlanWaves(ctx(t), "w2", nil, known, t0); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if dd, _ := s.Dispatch(ctx(t), "w2"); dd.Status != campaigns.DispatchDone || !dd.PagingDone {
		t.Fatalf("no wave: %+v", dd)
	}

	// a schedule becomes a local-time send, then not, only while scheduled
	d3 := &campaigns.Dispatch{ID: "w3", Occurrence: "schedule:x", Status: campaigns.DispatchScheduled, DueAt: t0, CreatedAt: t0, UpdatedAt: t0}
	if _, _, err := s.CreateDispatch(ctx(t), d3); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.SetLocalSchedule(ctx(t), "w3", at[1], &campaigns.LocalSend{WallTime: wall, LaunchedAt: t0}, t0); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if l, err := s.LocalSend(ctx(t), "w3"); err != nil || l.WallTime != wall {
		t.Fatalf("local schedule: %+v %v", l, err)
	}
	if dd, _ := s.Dispatch(ctx(t), "w3"); !dd.DueAt.Equal(at[1]) {
		t.Fatalf("due %s", dd.DueAt)
	}
	if ok, err := s.SetLocalSchedule(ctx(t), "w3", at[2], nil, t0); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := s.LocalSend(ctx(t), "w3"); !errors.Is(err, campaigns.ErrNotFound) {
		t.Fatalf("no longer local: %v", err)
	}
	if ok, err := s.SetLocalSchedule(ctx(t), "w1", at[2], nil, t0); err != nil || ok {
		t.Fatalf("a done dispatch rescheduled: %v %v", ok, err)
	}
	if err := s.DeleteLocalSend(ctx(t), "w2"); err != nil {
		t.Fatal(err)
	}
}
