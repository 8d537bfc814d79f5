package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

// Users' sends older than the retention go, except those of the campaigns
// kept for ever; triggered sends go once finished and old, never while
// pending.
func testRetentionPurges(t *testing.T, s *store.Store) {
	ids := mustUsers(t, s, "ret-a", "ret-b")
	sends := []campaigns.UserSend{
		{UserID: ids[0], DispatchID: "rd-old", Channel: "apple_push", CampaignID: "rc-1", At: t0.Add(-40 * 24 * time.Hour)},
		{UserID: ids[0], DispatchID: "rd-never", Channel: "apple_push", CampaignID: `rc-"never"`, At: t0.Add(-400 * 24 * time.Hour)},
		{UserID: ids[1], DispatchID: "rd-old", Channel: "android_push", CampaignID: "rc-1", At: t0.Add(-40 * 24 * time.Hour)},
		{UserID: ids[1], DispatchID: "rd-new", Channel: "android_push", CampaignID: "rc-1", At: t0.Add(-time.Hour)},
	}
	if err := s.ReserveSends(ctx(t), ids, time.Unix(0, 0), func([]campaigns.UserSend) []campaigns.UserSend { return sends }); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeUserSends(ctx(t), t0.Add(-32*24*time.Hour), []string{`rc-"never"`, "rc-other"})
	if err != nil || n != 2 {
		t.Fatalf("purge user sends: %d rows, %v; want the 2 old sends of rc-1", n, err)
	}
	if left := SendDispatches(t, s, ids); !slices.Equal(left, []string{"rd-never", "rd-new"}) {
		t.Fatalf("after the purge: %v, want the never-campaign's and the recent send", left)
	}
	if n, err := s.PurgeUserSends(ctx(t), t0, nil); err != nil || n != 2 {
		t.Fatalf("purge without campaigns to keep: %d rows, %v; want 2", n, err)
	}
	// a backlog larger than one delete statement's batch goes whole
	var many []campaigns.UserSend
	for i := range 10050 {
		many = append(many, campaigns.UserSend{UserID: ids[0], DispatchID: fmt.Sprint("rd-many-", i), Channel: "apple_push", CampaignID: "rc-1", At: t0.Add(-90 * 24 * time.Hour)})
	}
	if err := s.ReserveSends(ctx(t), ids[:1], time.Unix(0, 0), func([]campaigns.UserSend) []campaigns.UserSend { return many }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeUserSends(ctx(t), t0, nil); err != nil || n != int64(len(many)) {
		t.Fatalf("purge of a backlog: %d rows, %v; want %d", n, err, len(many))
	}

	trig := func(id string, at time.Time) campaigns.Triggered {
		return campaigns.Triggered{ID: id, CampaignID: "rc-t", UserID: ids[0], EventName: "e", EventAt: at, DueAt: at, CreatedAt: at}
	}
	old := t0.Add(-40 * 24 * time.Hour)
	if err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		return tx.(campaigns.TriggerTx).AddTriggered(ctx(t), []campaigns.Triggered{
			trig("rt-dispatched", old), trig("rt-cancelled", old), trig("rt-pending", old), trig("rt-recent", old)})
	}); err != nil {
		t.Fatal(err)
	}
	for id, status := range map[string]string{"rt-dispatched": campaigns.TriggeredDispatched, "rt-cancelled": campaigns.TriggeredCancelled} {
		if ok, err := s.FinishTriggered(ctx(t), id, status, "", "", old); err != nil || !ok {
			t.Fatalf("finish %s: %v %v", id, ok, err)
		}
	}
	if ok, err := s.FinishTriggered(ctx(t), "rt-recent", campaigns.TriggeredDispatched, "", "d", t0); err != nil || !ok {
		t.Fatalf("finish rt-recent: %v %v", ok, err)
	}
	if n, err := s.PurgeTriggeredSends(ctx(t), t0.Add(-31*24*time.Hour)); err != nil || n != 2 {
		t.Fatalf("purge triggered sends: %d rows, %v; want the 2 old finished ones", n, err)
	}
	got, err := s.TriggeredSends(ctx(t), "rc-t", 10)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range got {
		names = append(names, g.ID)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"rt-pending", "rt-recent"}) {
		t.Fatalf("triggered sends after the purge: %v, want the pending and the recent one", names)
	}
}

// SendDispatches lists the dispatches of the users' recorded sends, sorted
// (read through ReserveSends, adding nothing).
func SendDispatches(t testing.TB, s *store.Store, ids []int64) []string {
	t.Helper()
	var out []string
	if err := s.ReserveSends(t.Context(), ids, time.Unix(0, 0), func(existing []campaigns.UserSend) []campaigns.UserSend {
		for _, e := range existing {
			out = append(out, e.DispatchID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
