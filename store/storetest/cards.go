package storetest

import (
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/store"
)

// testCards covers the Content Cards feed: cards in, newest first, expiry,
// state set once each, a dismissed card frozen, other users' cards apart,
// the first-impression dispatches and what decided a user's card, and
// engagement counts.
func testCards(t *testing.T, s *store.Store) {
	card := func(id string, user int64, dispatch string, created time.Time, ttl time.Duration) *campaigns.Card {
		return &campaigns.Card{ID: id, UserID: user, CampaignID: "c", DispatchID: dispatch,
			Card: map[string]any{"type": "CLASSIC", "title": id, "description": "d"}, CreatedAt: created, ExpiresAt: created.Add(ttl)}
	}
	cards := []*campaigns.Card{
		card("a", 1, "d1", t0, time.Hour),
		card("b", 1, "d2", t0.Add(time.Minute), 10*time.Minute),
		card("c", 1, "d3", t0.Add(2*time.Minute), time.Hour),
		card("x", 2, "d1", t0, time.Hour),
	}
	cards[2].Pinned = true
	if err := s.AddCards(ctx(t), cards); err != nil {
		t.Fatal(err)
	}
	// the same dispatch's card again is kept as it was
	if err := s.AddCards(ctx(t), []*campaigns.Card{card("a2", 1, "d1", t0.Add(time.Hour), time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ids := func(cs []*campaigns.Card) (out []string) {
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	got, err := s.UserCards(ctx(t), 1, t0.Add(5*time.Minute))
	if err != nil || !equal(ids(got), []string{"c", "b", "a"}) || !got[0].Pinned || got[0].Card["title"] != "c" {
		t.Fatalf("user cards: %v %v", ids(got), err)
	}
	if got, _ := s.UserCards(ctx(t), 1, t0.Add(20*time.Minute)); !equal(ids(got), []string{"c", "a"}) {
		t.Errorf("after b expired: %v", ids(got))
	}

	// states: set once each, with changed_at; a dismissed card is frozen;
	// another user's card is not touched
	at := t0.Add(30 * time.Minute)
	err = s.SetCardStates(ctx(t), 1, []campaigns.CardState{
		{ID: "a", Kind: campaigns.EngageImpression, At: t0.Add(3 * time.Minute)},
		{ID: "a", Kind: campaigns.EngageImpression, At: t0.Add(4 * time.Minute)},
		{ID: "c", Kind: campaigns.EngageDismiss, At: t0.Add(5 * time.Minute)},
		{ID: "x", Kind: campaigns.EngageClick, At: t0.Add(5 * time.Minute)},
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCardStates(ctx(t), 1, []campaigns.CardState{{ID: "c", Kind: campaigns.EngageClick, At: t0.Add(6 * time.Minute)}}, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCardStates(ctx(t), 1, []campaigns.CardState{{ID: "a", Kind: "poke"}}, at); err == nil {
		t.Error("an unknown state kind was accepted")
	}
	byID, err := s.CardsByID(ctx(t), 1, []string{"a", "c", "x", "nope"})
	if err != nil || len(byID) != 2 {
		t.Fatalf("cards by id: %v %v", ids(byID), err)
	}
	for _, c := range byID {
		switch c.ID {
		case "a":
			if !c.ViewedAt.Equal(t0.Add(3*time.Minute)) || !c.ChangedAt.Equal(at) || !c.ClickedAt.IsZero() {
				t.Errorf("a: %+v", c)
			}
		case "c":
			if !c.DismissedAt.Equal(t0.Add(5*time.Minute)) || !c.ClickedAt.IsZero() || !c.ChangedAt.Equal(at) {
				t.Errorf("c (dismissed, then a click): %+v", c)
			}
		}
	}
	if x, _ := s.CardsByID(ctx(t), 2, []string{"x"}); len(x) != 1 || !x[0].ClickedAt.IsZero() || time.Since(x[0].ChangedAt).Abs() > time.Minute {
		t.Errorf("user 1's report changed user 2's card (changed_at is when it was written, by the database's clock): %+v", x)
	}
	if got, _ := s.Cards(ctx(t), 1, t0.Add(5*time.Minute)); !equal(ids(got), []string{"b", "a"}) {
		t.Errorf("Cards leaves dismissed ones out: %v", ids(got))
	}

	// first-impression dispatches: running or done, recent, with such a card
	// in its messages or a variant's
	mk := func(id, status string, created time.Time, spec campaigns.Spec) {
		t.Helper()
		if _, _, err := s.CreateDispatch(ctx(t), &campaigns.Dispatch{ID: id, CampaignID: "c-" + id, CampaignVersion: 1, Occurrence: "launch",
			Status: status, Spec: spec, CreatedAt: created, UpdatedAt: created}); err != nil {
			t.Fatal(err)
		}
	}
	fi := map[string]map[string]any{campaigns.ContentCard: {"type": "CLASSIC", "card_creation": campaigns.CardAtFirstImpression}}
	mk("f1", campaigns.DispatchRunning, t0, campaigns.Spec{Messages: fi})
	mk("f2", campaigns.DispatchDone, t0.Add(time.Minute), campaigns.Spec{Variants: []campaigns.Variant{{ID: "a", Percent: 100, Messages: fi}}})
	mk("f3", campaigns.DispatchStopped, t0, campaigns.Spec{Messages: fi})
	mk("f4", campaigns.DispatchScheduled, t0, campaigns.Spec{Messages: fi})
	mk("f5", campaigns.DispatchRunning, t0.Add(-40*24*time.Hour), campaigns.Spec{Messages: fi})
	mk("l1", campaigns.DispatchRunning, t0, campaigns.Spec{Messages: map[string]map[string]any{campaigns.ContentCard: {"type": "CLASSIC"}}})
	ds, err := s.FirstImpressionDispatches(ctx(t), t0.Add(-30*24*time.Hour))
	if err != nil || len(ds) != 2 || ds[0].ID != "f1" || ds[1].ID != "f2" {
		t.Fatalf("first impression dispatches: %v %v", ds, err)
	}

	// decided: a card of the dispatch, or an aborted ledger row of it
	if err := s.AddCards(ctx(t), []*campaigns.Card{card("f1u1", 1, "f1", t0, time.Hour)}); err != nil {
		t.Fatal(err)
	}
	err = s.Record(ctx(t), []campaigns.Outcome{
		{LedgerKey: campaigns.LedgerKey{DispatchID: "f2", UserID: 2, Channel: campaigns.ContentCard}, MessageID: "m", State: campaigns.LedgerAborted, Reason: campaigns.AbortControlGroup},
		{LedgerKey: campaigns.LedgerKey{DispatchID: "f2", UserID: 1, Channel: campaigns.ApplePush, Device: "tok"}, MessageID: "m2", State: campaigns.LedgerDelivered},
	}, nil, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[int64]map[string]bool{1: {"f1": true}, 2: {"f2": true}, 3: {}} {
		got, err := s.CardsDecided(ctx(t), user, []string{"f1", "f2"})
		if err != nil || len(got) != len(want) {
			t.Errorf("user %d decided %v %v, want %v", user, got, err, want)
		}
		for id := range want {
			if !got[id] {
				t.Errorf("user %d: %s not decided", user, id)
			}
		}
	}

	// sent to: a delivered ledger row of the channel, on any device
	for _, c := range []struct {
		dispatch string
		user     int64
		channel  string
		want     bool
	}{{"f2", 1, campaigns.ApplePush, true}, {"f2", 1, campaigns.AndroidPush, false}, {"f2", 2, campaigns.ContentCard, false}, {"zz", 1, campaigns.ApplePush, false}} {
		if got, err := s.SentTo(ctx(t), c.dispatch, c.user, c.channel); err != nil || got != c.want {
			t.Errorf("SentTo(%s, %d, %s) = %v, %v", c.dispatch, c.user, c.channel, got, err)
		}
	}

	// engagement counts by dispatch and by campaign
	ev := func(dispatch, campaign string, user int64, kind string) campaigns.Engagement {
		return campaigns.Engagement{LedgerKey: campaigns.LedgerKey{DispatchID: dispatch, UserID: user, Channel: campaigns.ContentCard},
			CampaignID: campaign, Kind: kind, At: t0}
	}
	err = s.Record(ctx(t), nil, []campaigns.Engagement{ev("f1", "c-f1", 1, "impression"), ev("f1", "c-f1", 1, "impression"),
		ev("f1", "c-f1", 2, "impression"), ev("f1", "c-f1", 1, "click"), ev("other", "c-f1", 1, "impression")}, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := s.EngagementCounts(ctx(t), "c-f1", "f1")
	if err != nil || counts[campaigns.ContentCard]["impression"] != 2 || counts[campaigns.ContentCard]["click"] != 1 {
		t.Errorf("dispatch engagement: %v %v", counts, err)
	}
	if counts, _ := s.EngagementCounts(ctx(t), "c-f1", ""); counts[campaigns.ContentCard]["impression"] != 3 {
		t.Errorf("campaign engagement: %v", counts)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
