package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/store"
)

func testDispatchPages(t *testing.T, s *store.Store) {
	d := &campaigns.Dispatch{ID: "d1", CampaignID: "c1", CampaignVersion: 1, Occurrence: "launch", Status: campaigns.DispatchRunning,
		Spec: campaigns.Spec{RecipientSubscriptionState: "subscribed"}, CreatedAt: t0, UpdatedAt: t0}
	got, created, err := s.CreateDispatch(ctx(t), d)
	if err != nil || !created || got.ID != "d1" {
		t.Fatalf("create: %v %v %v", got, created, err)
	}
	// the same occurrence again returns the first dispatch
	again := *d
	again.ID = "d2"
	got, created, err = s.CreateDispatch(ctx(t), &again)
	if err != nil || created || got.ID != "d1" {
		t.Fatalf("second create: %v %v %v", got, created, err)
	}
	pages := []campaigns.Page{{FirstUserID: 1, UserIDs: []int64{1, 2}}, {FirstUserID: 5, UserIDs: []int64{5}}}
	if err := s.AddPages(ctx(t), "d1", pages, 5, false, t0); err != nil {
		t.Fatal(err)
	}
	// a re-run records nothing twice and keeps the first users
	if err := s.AddPages(ctx(t), "d1", []campaigns.Page{{FirstUserID: 1, UserIDs: []int64{1, 2, 3}}}, 5, true, t0); err != nil {
		t.Fatal(err)
	}
	p, err := s.Page(ctx(t), "d1", 1)
	if err != nil || len(p.UserIDs) != 2 || p.Done {
		t.Fatalf("page: %+v %v", p, err)
	}
	open, err := s.OpenPages(ctx(t), t0.Add(time.Minute), 10)
	if err != nil || len(open) != 2 {
		t.Fatalf("open pages: %v %v", open, err)
	}
	if fin, err := s.CompletePage(ctx(t), "d1", 1, t0); err != nil || fin {
		t.Fatalf("first page: finished %v %v", fin, err)
	}
	if fin, err := s.CompletePage(ctx(t), "d1", 1, t0); err != nil || fin {
		t.Fatalf("first page again: finished %v %v", fin, err)
	}
	if fin, err := s.CompletePage(ctx(t), "d1", 5, t0); err != nil || !fin {
		t.Fatalf("last page: finished %v %v", fin, err)
	}
	dd, err := s.Dispatch(ctx(t), "d1")
	if err != nil || dd.Status != campaigns.DispatchDone || dd.Pages != 2 || dd.PagesDone != 2 || dd.Cursor != 5 || !dd.PagingDone {
		t.Fatalf("dispatch after pages: %+v %v", dd, err)
	}
	if _, err := s.Dispatch(ctx(t), "nope"); !errors.Is(err, campaigns.ErrNotFound) {
		t.Fatalf("unknown dispatch: %v", err)
	}
}

func testLedgerClaims(t *testing.T, s *store.Store) {
	key := func(user int64, device string) campaigns.Claim {
		return campaigns.Claim{LedgerKey: campaigns.LedgerKey{DispatchID: "d", UserID: user, Channel: "apple_push", Device: device},
			CampaignID: "c", MessageID: "m" + device}
	}
	lease := t0.Add(time.Minute)
	claims := []campaigns.Claim{key(1, "a"), key(2, "b"), key(3, "c")}
	res, err := s.Claim(ctx(t), claims, "w1", t0, lease)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.State != campaigns.Claimed || r.Attempts != 1 || r.MessageID != claims[i].MessageID {
			t.Fatalf("first claim %d: %+v", i, r)
		}
	}
	// w1 finishes a, leaves b to retry and dies holding c.
	err = s.Record(ctx(t), []campaigns.Outcome{
		{LedgerKey: claims[0].LedgerKey, Claimed: true, State: campaigns.LedgerDelivered, ProviderID: "p1"},
		{LedgerKey: claims[1].LedgerKey, Claimed: true, State: campaigns.LedgerRetry},
		{LedgerKey: campaigns.LedgerKey{DispatchID: "d", UserID: 4, Channel: "apple_push"}, MessageID: "m4", State: campaigns.LedgerAborted, Reason: "no_valid_token"},
	}, []campaigns.Engagement{{LedgerKey: claims[0].LedgerKey, Kind: campaigns.EventDelivery, At: t0}}, "w1", t0)
	if err != nil {
		t.Fatal(err)
	}
	// w2 during w1's lease: a finished, b taken over, c busy.
	claims[1].MessageID = "other" // the first claim's message id is kept
	res, err = s.Claim(ctx(t), claims, "w2", t0.Add(time.Second), t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].State != campaigns.Finished || res[1].State != campaigns.Claimed || res[1].MessageID != "mb" || res[1].Attempts != 2 || res[2].State != campaigns.Busy {
		t.Fatalf("claims under a live lease: %+v", res)
	}
	// a recorder that lost its claim writes nothing
	if err := s.Record(ctx(t), []campaigns.Outcome{{LedgerKey: claims[1].LedgerKey, Claimed: true, State: campaigns.LedgerFailed}}, nil, "w1", t0); err != nil {
		t.Fatal(err)
	}
	// after w1's lease, w3 takes c over
	res, err = s.Claim(ctx(t), claims[2:], "w3", lease.Add(time.Millisecond), lease.Add(time.Minute))
	if err != nil || res[0].State != campaigns.Claimed || res[0].MessageID != "mc" {
		t.Fatalf("claim after the lease: %+v %v", res, err)
	}
	counts, err := s.LedgerCounts(ctx(t), "d")
	if err != nil {
		t.Fatal(err)
	}
	if counts["delivered"] != 1 || counts["claimed"] != 2 || counts["aborted:no_valid_token"] != 1 || counts["failed"] != 0 {
		t.Fatalf("ledger counts %v", counts)
	}
	// an abort recorded again changes nothing; an engagement event is stored once
	if err := s.Record(ctx(t), []campaigns.Outcome{{LedgerKey: campaigns.LedgerKey{DispatchID: "d", UserID: 4, Channel: "apple_push"}, State: campaigns.LedgerAborted, Reason: "other"}},
		[]campaigns.Engagement{{LedgerKey: claims[0].LedgerKey, Kind: campaigns.EventDelivery, At: t0}}, "w9", t0); err != nil {
		t.Fatal(err)
	}
	if counts, _ := s.LedgerCounts(ctx(t), "d"); counts["aborted:no_valid_token"] != 1 || counts["aborted:other"] != 0 {
		t.Fatalf("abort recorded twice: %v", counts)
	}
	// a page run again decides anew: a user whose message it delivered and
	// who has since left the segment is "aborted" by the re-run; the ledger
	// keeps the delivery and no abort event is stored beside it, while a new
	// abort's event is
	stale := claims[0].LedgerKey
	fresh := key(5, "e").LedgerKey
	abort := func(k campaigns.LedgerKey) (campaigns.Outcome, campaigns.Engagement) {
		return campaigns.Outcome{LedgerKey: k, CampaignID: "c", MessageID: "ab" + k.Device, State: campaigns.LedgerAborted, Reason: "user_not_in_segment"},
			campaigns.Engagement{LedgerKey: k, CampaignID: "c", Kind: campaigns.EventAbort, Reason: "user_not_in_segment", At: t0}
	}
	o1, e1 := abort(stale)
	o2, e2 := abort(fresh)
	if err := s.Record(ctx(t), []campaigns.Outcome{o1, o2}, []campaigns.Engagement{e1, e2}, "w9", t0); err != nil {
		t.Fatal(err)
	}
	if ec, err := s.EngagementCounts(ctx(t), "c", "d"); err != nil || ec["apple_push"][campaigns.EventAbort] != 1 || ec["apple_push"][campaigns.EventDelivery] != 1 {
		t.Fatalf("engagement after a re-run's aborts: %v %v; want the new abort's event only, beside the delivery", ec, err)
	}
	if counts, _ := s.LedgerCounts(ctx(t), "d"); counts["delivered"] != 1 || counts["aborted:user_not_in_segment"] != 1 {
		t.Fatalf("ledger after a re-run's aborts: %v", counts)
	}
	// two keys given one message id are both claimed, each with its own row
	shared := []campaigns.Claim{key(7, "s1"), key(8, "s2"), key(7, "s1")}
	for i := range shared {
		shared[i].MessageID = "same"
	}
	res, err = s.Claim(ctx(t), shared, "w4", t0, lease)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.State != campaigns.Claimed || r.MessageID != "same" || r.Attempts != 1 {
			t.Fatalf("claim %d of a shared message id: %+v", i, r)
		}
	}
	if counts, _ := s.LedgerCounts(ctx(t), "d"); counts["claimed"] != 4 {
		t.Fatalf("claims of a shared message id: %v", counts)
	}
	// a row taken over keeps its first message id, which may be the id asked
	// for another key: that key's own row, under a live lease, stays busy
	a, b := key(9, "x"), key(10, "y")
	a.MessageID, b.MessageID = "mB", "mB"
	if _, err := s.Claim(ctx(t), []campaigns.Claim{a}, "w5", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx(t), []campaigns.Claim{b}, "w6", t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	a.MessageID = "mA"
	res, err = s.Claim(ctx(t), []campaigns.Claim{a, b}, "w7", t0.Add(2*time.Minute), t0.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].State != campaigns.Claimed || res[0].MessageID != "mB" || res[0].Attempts != 2 || res[1].State != campaigns.Busy {
		t.Fatalf("a taken-over row holding another key's message id: %+v, want a claimed (mB, 2 attempts) and b busy", res)
	}
}

// Keys, ids and reasons holding quotes, backslashes, commas, braces, the
// word NULL or nothing at all are stored as given, and a key asked for twice
// in one claim is claimed once.
func testLedgerOddKeys(t *testing.T, s *store.Store) {
	devices := []string{`a"b`, `c\d`, "e,f", "{g}", "NULL", "", " h ", "é\"", `\"`}
	var claims []campaigns.Claim
	for i, dev := range devices {
		claims = append(claims, campaigns.Claim{LedgerKey: campaigns.LedgerKey{DispatchID: `d"1`, UserID: int64(i + 1), Channel: "web_push", Device: dev},
			CampaignID: `c,{1}`, MessageID: "m" + dev})
	}
	claims = append(claims, claims[0])
	res, err := s.Claim(ctx(t), claims, `w"1`, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.State != campaigns.Claimed || r.MessageID != claims[i].MessageID || r.Attempts != 1 {
			t.Fatalf("claim %d (%q): %+v", i, claims[i].Device, r)
		}
	}
	var outcomes []campaigns.Outcome
	var events []campaigns.Engagement
	for _, c := range claims[:len(devices)] {
		outcomes = append(outcomes, campaigns.Outcome{LedgerKey: c.LedgerKey, Claimed: true, State: campaigns.LedgerDelivered, ProviderID: "p" + c.Device})
		events = append(events, campaigns.Engagement{LedgerKey: c.LedgerKey, CampaignID: c.CampaignID, Kind: campaigns.EventSend, Reason: c.Device, At: t0})
	}
	aborted := campaigns.LedgerKey{DispatchID: `d"1`, UserID: 99, Channel: "web_push", Device: `x"\`}
	outcomes = append(outcomes, campaigns.Outcome{LedgerKey: aborted, CampaignID: `c,{1}`, MessageID: `m"`, State: campaigns.LedgerAborted, Reason: `no "valid" token`})
	if err := s.Record(ctx(t), outcomes, events, `w"1`, t0); err != nil {
		t.Fatal(err)
	}
	counts, err := s.LedgerCounts(ctx(t), `d"1`)
	if err != nil {
		t.Fatal(err)
	}
	if counts["delivered"] != int64(len(devices)) || counts[`aborted:no "valid" token`] != 1 || len(counts) != 2 {
		t.Fatalf("ledger counts %v", counts)
	}
	res, err = s.Claim(ctx(t), append(claims, campaigns.Claim{LedgerKey: aborted}), "w2", t0.Add(time.Second), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.State != campaigns.Finished {
			t.Fatalf("claim %d after the record: %+v, want finished", i, r)
		}
	}
}

// A page finished while its dispatch is paused (a deliver task already
// running when the pause came) still finishes the dispatch: nothing else
// would, and a resumed dispatch would stay running for ever.
func testDispatchFinishedWhilePaused(t *testing.T, s *store.Store) {
	for _, lastStep := range []string{"complete page", "add pages"} {
		id := "dp-" + lastStep
		d := &campaigns.Dispatch{ID: id, CampaignID: "c-" + lastStep, Occurrence: "launch", Status: campaigns.DispatchRunning,
			Spec: campaigns.Spec{RecipientSubscriptionState: "subscribed"}, CreatedAt: t0, UpdatedAt: t0}
		if _, _, err := s.CreateDispatch(ctx(t), d); err != nil {
			t.Fatal(err)
		}
		pagingDone := lastStep == "complete page"
		if err := s.AddPages(ctx(t), id, []campaigns.Page{{FirstUserID: 1, UserIDs: []int64{1}}}, 1, pagingDone, t0); err != nil {
			t.Fatal(err)
		}
		if lastStep == "add pages" {
			if _, err := s.CompletePage(ctx(t), id, 1, t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetDispatchStatus(ctx(t), d.CampaignID, "", campaigns.DispatchPaused, []string{campaigns.DispatchRunning}, t0); err != nil {
			t.Fatal(err)
		}
		if lastStep == "complete page" {
			if _, err := s.CompletePage(ctx(t), id, 1, t0); err != nil {
				t.Fatal(err)
			}
		} else if err := s.AddPages(ctx(t), id, nil, 1, true, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDispatchStatus(ctx(t), d.CampaignID, "", campaigns.DispatchRunning, []string{campaigns.DispatchPaused}, t0); err != nil {
			t.Fatal(err)
		}
		dd, err := s.Dispatch(ctx(t), id)
		if err != nil || dd.Status != campaigns.DispatchDone {
			t.Errorf("%s while paused, then resumed: %+v %v; want done", lastStep, dd, err)
		}
	}
}

// A stale run of a dispatch task (asynq may run a task twice) that records
// a page after the audience was exhausted does not undo paging_done.
func testPagingDoneStays(t *testing.T, s *store.Store) {
	d := &campaigns.Dispatch{ID: "pd", CampaignID: "c", Occurrence: "launch", Status: campaigns.DispatchRunning,
		Spec: campaigns.Spec{RecipientSubscriptionState: "subscribed"}, CreatedAt: t0, UpdatedAt: t0}
	if _, _, err := s.CreateDispatch(ctx(t), d); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPages(ctx(t), "pd", []campaigns.Page{{FirstUserID: 1, UserIDs: []int64{1, 2}}}, 2, true, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPages(ctx(t), "pd", []campaigns.Page{{FirstUserID: 2, UserIDs: []int64{2}}}, 2, false, t0); err != nil {
		t.Fatal(err)
	}
	if dd, err := s.Dispatch(ctx(t), "pd"); err != nil || !dd.PagingDone || dd.Pages != 2 {
		t.Fatalf("after a stale page: %+v %v; want paging done, 2 pages", dd, err)
	}
	for _, first := range []int64{1, 2} {
		if _, err := s.CompletePage(ctx(t), "pd", first, t0); err != nil {
			t.Fatal(err)
		}
	}
	if dd, _ := s.Dispatch(ctx(t), "pd"); dd.Status != campaigns.DispatchDone {
		t.Errorf("dispatch %s after its pages, want done", dd.Status)
	}
}

func testScheduledDispatches(t *testing.T, s *store.Store) {
	mk := func(id, occ, status string, due time.Time) {
		t.Helper()
		d := &campaigns.Dispatch{ID: id, CampaignID: "c", Occurrence: occ, Status: status, DueAt: due, CreatedAt: t0, UpdatedAt: t0}
		if _, created, err := s.CreateDispatch(ctx(t), d); err != nil || !created {
			t.Fatalf("create %s: %v %v", id, created, err)
		}
	}
	mk("s1", "launch", campaigns.DispatchScheduled, t0.Add(time.Hour))
	mk("r1", "occ:20260301T100000Z", campaigns.DispatchRunning, time.Time{})
	mk("r2", "occ:20260302T100000Z", campaigns.DispatchRunning, time.Time{})
	if due, err := s.DueDispatches(ctx(t), t0, 10); err != nil || len(due) != 0 {
		t.Fatalf("due before: %v %v", due, err)
	}
	due, err := s.DueDispatches(ctx(t), t0.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].ID != "s1" || !due[0].DueAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("due: %+v %v", due, err)
	}
	if ok, err := s.StartDispatch(ctx(t), "s1", t0); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	if ok, err := s.StartDispatch(ctx(t), "s1", t0); err != nil || ok {
		t.Fatalf("second start: %v %v", ok, err)
	}
	if occ, err := s.LastOccurrence(ctx(t), "c", "occ:"); err != nil || occ != "occ:20260302T100000Z" {
		t.Fatalf("last occurrence %q %v", occ, err)
	}
	if occ, err := s.LastOccurrence(ctx(t), "other", "occ:"); err != nil || occ != "" {
		t.Fatalf("no occurrence %q %v", occ, err)
	}
}

// The ledger purge deletes the rows of dispatches over since before the
// cut-off, and keeps those of running dispatches and of dispatches over
// since after it.
func testLedgerPurge(t *testing.T, s *store.Store) {
	finishAt := map[string]time.Time{"old": t0, "recent": t0.Add(48 * time.Hour), "running": time.Time{}}
	for id, at := range finishAt {
		d := &campaigns.Dispatch{ID: id, CampaignID: "c-" + id, Occurrence: "launch", Status: campaigns.DispatchRunning,
			Spec: campaigns.Spec{RecipientSubscriptionState: "subscribed"}, CreatedAt: t0, UpdatedAt: t0}
		if _, _, err := s.CreateDispatch(ctx(t), d); err != nil {
			t.Fatal(err)
		}
		if err := s.AddPages(ctx(t), id, []campaigns.Page{{FirstUserID: 1, UserIDs: []int64{1, 2}}}, 2, true, t0); err != nil {
			t.Fatal(err)
		}
		var outcomes []campaigns.Outcome
		for _, u := range []int64{1, 2} {
			outcomes = append(outcomes, campaigns.Outcome{LedgerKey: campaigns.LedgerKey{DispatchID: id, UserID: u, Channel: "apple_push"},
				CampaignID: d.CampaignID, MessageID: id + "-m", State: campaigns.LedgerAborted, Reason: "no_valid_token"})
		}
		if err := s.Record(ctx(t), outcomes, nil, "", t0); err != nil {
			t.Fatal(err)
		}
		if !at.IsZero() {
			if fin, err := s.CompletePage(ctx(t), id, 1, at); err != nil || !fin {
				t.Fatalf("complete %s: %v %v", id, fin, err)
			}
		}
	}
	n, err := s.PurgeLedger(ctx(t), t0.Add(24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("purge: %d rows, %v; want the 2 of the old dispatch", n, err)
	}
	for id, want := range map[string]int64{"old": 0, "recent": 2, "running": 2} {
		counts, err := s.LedgerCounts(ctx(t), id)
		if err != nil || counts["aborted:no_valid_token"] != want {
			t.Errorf("after the purge, dispatch %s has %v (%v); want %d rows", id, counts, err, want)
		}
	}
	if n, err := s.PurgeLedger(ctx(t), t0.Add(24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("second purge: %d rows, %v", n, err)
	}
}

// One claim and one record may hold the rows of several dispatches (and
// campaigns), in any order: each row lands in its own dispatch.
func testLedgerTwoDispatches(t *testing.T, s *store.Store) {
	var claims []campaigns.Claim
	for u := int64(1); u <= 4; u++ {
		for _, d := range []string{"dB", "dA"} {
			claims = append(claims, campaigns.Claim{LedgerKey: campaigns.LedgerKey{DispatchID: d, UserID: u, Channel: "apple_push", Device: "t" + d},
				CampaignID: "c-" + d, MessageID: d + "-m"})
		}
	}
	res, err := s.Claim(ctx(t), claims, "w", t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []campaigns.Outcome
	var events []campaigns.Engagement
	for i, r := range res {
		c := claims[i]
		if r.State != campaigns.Claimed || r.MessageID != c.MessageID {
			t.Fatalf("claim %+v: %+v", c.LedgerKey, r)
		}
		state, kind := campaigns.LedgerDelivered, campaigns.EventDelivery
		if c.UserID == 4 && c.DispatchID == "dA" {
			state, kind = campaigns.LedgerDropped, campaigns.EventBounce
		}
		outcomes = append(outcomes, campaigns.Outcome{LedgerKey: c.LedgerKey, CampaignID: c.CampaignID, Claimed: true, State: state})
		events = append(events, campaigns.Engagement{LedgerKey: c.LedgerKey, CampaignID: c.CampaignID, Kind: kind, At: t0})
	}
	for _, d := range []string{"dA", "dB"} {
		k := campaigns.LedgerKey{DispatchID: d, UserID: 9, Channel: "android_push"}
		outcomes = append(outcomes, campaigns.Outcome{LedgerKey: k, CampaignID: "c-" + d, MessageID: d + "-9", State: campaigns.LedgerAborted, Reason: "no_valid_token"})
		events = append(events, campaigns.Engagement{LedgerKey: k, CampaignID: "c-" + d, Kind: campaigns.EventAbort, Reason: "no_valid_token", At: t0})
	}
	if err := s.Record(ctx(t), outcomes, events, "w", t0); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dA": "map[aborted:no_valid_token:1 delivered:3 dropped:1]", "dB": "map[aborted:no_valid_token:1 delivered:4]"}
	for d, w := range want {
		if counts, err := s.LedgerCounts(ctx(t), d); err != nil || fmt.Sprint(counts) != w {
			t.Errorf("ledger of %s: %v %v, want %s", d, counts, err, w)
		}
	}
	eng := map[string]string{"dA": "map[android_push:map[abort:1] apple_push:map[bounce:1 delivery:3 send:4]]",
		"dB": "map[android_push:map[abort:1] apple_push:map[delivery:4 send:4]]"}
	for d, w := range eng {
		if counts, err := s.EngagementCounts(ctx(t), "c-"+d, ""); err != nil || fmt.Sprint(counts) != w {
			t.Errorf("engagement of campaign c-%s: %v %v, want %s", d, counts, err, w)
		}
	}
}

// Record writes the engagement event of each claimed message's final state
// with it (campaigns.OutcomeEvent), and none for a claim another worker
// took over or for a message left to retry.
func testLedgerOutcomeEvents(t *testing.T, s *store.Store) {
	var claims []campaigns.Claim
	for u := int64(1); u <= 5; u++ {
		claims = append(claims, campaigns.Claim{LedgerKey: campaigns.LedgerKey{DispatchID: "oe", UserID: u, Channel: "apple_push", Device: fmt.Sprint("t", u)},
			CampaignID: "c-oe", MessageID: fmt.Sprint("m", u)})
	}
	if _, err := s.Claim(ctx(t), claims, "w1", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// user 5's claim is taken over by w2 after w1's lease
	if res, err := s.Claim(ctx(t), claims[4:], "w2", t0.Add(2*time.Minute), t0.Add(3*time.Minute)); err != nil || res[0].State != campaigns.Claimed {
		t.Fatalf("take over: %+v %v", res, err)
	}
	states := []string{campaigns.LedgerDelivered, campaigns.LedgerDropped, campaigns.LedgerFailed, campaigns.LedgerRetry, campaigns.LedgerDelivered}
	var outcomes []campaigns.Outcome
	for i, c := range claims {
		outcomes = append(outcomes, campaigns.Outcome{LedgerKey: c.LedgerKey, CampaignID: c.CampaignID, Claimed: true, State: states[i], Reason: fmt.Sprint("r", i)})
	}
	if err := s.Record(ctx(t), outcomes, nil, "w1", t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.EngagementCounts(ctx(t), "c-oe", "oe")
	if err != nil {
		t.Fatal(err)
	}
	if want := "map[apple_push:map[abort:1 bounce:1 delivery:1 send:2]]"; fmt.Sprint(got) != want {
		t.Fatalf("engagement %v, want %s (user 4 left to retry, user 5's claim lost)", got, want)
	}
}
