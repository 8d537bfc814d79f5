package daemon

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store/storetest"
)

// The worker's hourly purge keeps the sends a campaign re-eligible never
// and the longest frequency cap still look back on, and drops the rest with
// the finished triggered sends past the replay window.
func TestReconcilerPurge(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, "sqlite")
	cfg := config.Default()
	caps := []campaigns.CapRule{{Channel: "any", Limit: 3, Window: campaigns.Window{N: 10, Unit: 'w'}}} // 70 days
	n := &node{cfg: &cfg, log: slog.New(slog.DiscardHandler), store: st, caps: caps}
	ctx := t.Context()
	now := time.Now().UTC()
	never := &campaigns.Campaign{ID: "c-never", Name: "never", Status: campaigns.StatusActive, Version: 1,
		Definition: campaigns.Definition{Rules: campaigns.Rules{ReEligibility: &campaigns.ReEligibility{Never: true}}}, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateCampaign(ctx, never); err != nil {
		t.Fatal(err)
	}
	var uid int64
	if err := st.InTx(ctx, func(tx profiles.Tx) error {
		ids, err := tx.EnsureUsers(ctx, []profiles.Ensure{{ID: profiles.Identifier{ExternalID: "p1"}, Create: true,
			New: profiles.NewUser{ExternalID: "p1", RandomBucket: 1, CreatedAt: now}}})
		uid = ids[0]
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sends := []campaigns.UserSend{
		{UserID: uid, DispatchID: "d-never", Channel: "apple_push", CampaignID: "c-never", At: now.Add(-300 * 24 * time.Hour)},
		{UserID: uid, DispatchID: "d-80", Channel: "apple_push", CampaignID: "c-x", At: now.Add(-80 * 24 * time.Hour)}, // past the cap's 70 + 2 days
		{UserID: uid, DispatchID: "d-65", Channel: "apple_push", CampaignID: "c-x", At: now.Add(-65 * 24 * time.Hour)}, // inside the cap: kept
	}
	if err := st.ReserveSends(ctx, []int64{uid}, time.Unix(0, 0), func([]campaigns.UserSend) []campaigns.UserSend { return sends }); err != nil {
		t.Fatal(err)
	}
	old := now.Add(-40 * 24 * time.Hour)
	if err := st.InTx(ctx, func(tx profiles.Tx) error {
		return tx.(campaigns.TriggerTx).AddTriggered(ctx, []campaigns.Triggered{
			{ID: "t-old", CampaignID: "c-t", UserID: uid, EventName: "e", EventAt: old, DueAt: old, CreatedAt: old},
			{ID: "t-pending", CampaignID: "c-t", UserID: uid, EventName: "e", EventAt: old, DueAt: old, CreatedAt: old}})
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.FinishTriggered(ctx, "t-old", campaigns.TriggeredDispatched, "", "d", old); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}

	(&reconciler{n: n}).purge(ctx, now)

	if left := storetest.SendDispatches(t, st, []int64{uid}); !slices.Equal(left, []string{"d-65", "d-never"}) {
		t.Errorf("sends after the purge: %v, want d-65 (inside the 10-week cap) and d-never", left)
	}
	ts, err := st.TriggeredSends(ctx, "c-t", 10)
	if err != nil || len(ts) != 1 || ts[0].ID != "t-pending" {
		t.Errorf("triggered sends after the purge: %v %v, want only the pending one", ts, err)
	}
}
