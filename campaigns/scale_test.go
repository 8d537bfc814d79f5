package campaigns_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/store"
)

// Three workers share one campaign: every device gets exactly one message.
func TestThreeWorkersPostgres(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), store.Options{Driver: "postgres", PostgresDSN: testdeps.Postgres(t), PostgresMaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEnvWorkers(t, st, 3, time.Minute)
	const n = 3000
	for batch := 0; batch < n; batch += 75 {
		var attrs []string
		for i := batch; i < batch+75; i++ {
			attrs = append(attrs, fmt.Sprintf(`{"external_id":"w%05d","first_name":"W%d","push_tokens":[{"app_id":"app-ios","token":"%064x"}]}`, i, i, i))
		}
		e.track(t, `{"attributes":[`+strings.Join(attrs, ",")+`]}`)
	}
	c, err := e.svc.Create(context.Background(), &campaigns.Input{Name: "all",
		Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":{"title":"Hi {{${first_name}}}","body":"b"}}`)},
		Audience: &campaigns.Audience{Filter: json.RawMessage(`{"push_enabled":{}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.svc.Launch(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	done := e.waitDone(t, d.ID)
	if done.Pages != n/campaigns.PageSize {
		t.Errorf("pages %d", done.Pages)
	}
	seen := map[string]int{}
	for _, r := range e.rec.List() {
		seen[r.Token]++
	}
	dups := 0
	for _, k := range seen {
		if k > 1 {
			dups++
		}
	}
	if len(seen) != n || dups != 0 {
		t.Errorf("%d devices got a message (want %d), %d more than one", len(seen), n, dups)
	}
}

// A worker killed after claiming leaves its claims; after the lease another
// worker sends them, with the message id (and collapse id) of the first
// claim, and the page completes.
func TestClaimLeftByAKilledWorkerIsTakenOver(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), store.Options{Driver: "postgres", PostgresDSN: testdeps.Postgres(t), PostgresMaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	e := newEnvWorkers(t, st, 1, 2*time.Second)
	token := strings.Repeat("ab", 32)
	e.track(t, `{"attributes":[{"external_id":"k1","push_tokens":[{"app_id":"app-ios","token":"`+token+`"}]}]}`)
	ids, _, err := e.users.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"k1"}})
	if err != nil || len(ids) != 1 {
		t.Fatal(ids, err)
	}
	// A dispatch whose one page is not enqueued: only this test runs it.
	now := time.Now()
	d := &campaigns.Dispatch{ID: "kd", CampaignID: "kc", Occurrence: "launch", Status: campaigns.DispatchRunning,
		Spec: campaigns.Spec{Messages: map[string]map[string]any{campaigns.ApplePush: {"alert": "hello"}}, UserIDs: ids,
			RecipientSubscriptionState: campaigns.SubscriptionSubscribed}, CreatedAt: now, UpdatedAt: now}
	if _, _, err := st.CreateDispatch(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := st.AddPages(ctx, d.ID, []campaigns.Page{{FirstUserID: ids[0], UserIDs: ids}}, ids[0], true, now); err != nil {
		t.Fatal(err)
	}
	key := campaigns.LedgerKey{DispatchID: d.ID, UserID: ids[0], Channel: campaigns.ApplePush, Device: token}
	res, err := st.Claim(ctx, []campaigns.Claim{{LedgerKey: key, CampaignID: "kc", MessageID: "dead-worker-id"}},
		"dead-worker", now, now.Add(2*time.Second))
	if err != nil || res[0].State != campaigns.Claimed {
		t.Fatal(res, err)
	}
	page := queue.DeliverPayload{DispatchID: d.ID, FirstUserID: ids[0]}
	var backoff *queue.Backoff
	if err := e.pipe.Deliver(ctx, page); !errors.As(err, &backoff) || e.rec.Len() != 0 {
		t.Fatalf("under the dead worker's lease: %v, %d messages", err, e.rec.Len())
	}
	time.Sleep(2100 * time.Millisecond)
	if err := e.pipe.Deliver(ctx, page); err != nil {
		t.Fatal(err)
	}
	recs := e.rec.List()
	if len(recs) != 1 || recs[0].CollapseID != "dead-worker-id" {
		t.Fatalf("after the takeover: %d messages %+v, want one with the first claim's collapse id", len(recs), recs)
	}
	if err := e.pipe.Deliver(ctx, page); err != nil || e.rec.Len() != 1 {
		t.Fatalf("a third run: %v, %d messages", err, e.rec.Len())
	}
	if dd, _ := st.Dispatch(ctx, d.ID); dd.Status != campaigns.DispatchDone {
		t.Errorf("dispatch %s", dd.Status)
	}
}
