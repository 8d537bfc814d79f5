package campaigns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/store"
)

func TestActionBasedCampaignSQLite(t *testing.T) {
	t.Parallel()
	runActionBased(t, scheduleEnv(t))
}

func TestActionBasedCampaignPostgres(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), store.Options{Driver: "postgres", PostgresDSN: testdeps.Postgres(t), PostgresMaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"s1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("cd", 32)+`"}]}]}`)
	runActionBased(t, e)
}

// An action-based campaign: a matching event waits its delay as a stored
// row, then sends once with the event's properties; a re-posted event adds
// nothing, a filtered-out event nothing, and an exception event before the
// send cancels it.
func runActionBased(t *testing.T, e *env) {
	ctx := context.Background()
	var sched campaigns.Schedule
	_ = json.Unmarshal([]byte(`{"type":"action_based","event_name":"added_to_cart","delay":"1h",
		"property_filters":[{"property":"price","comparison":"greater_than","value":10}],
		"exception_events":["checkout_completed"]}`), &sched)
	in := &campaigns.Input{Name: "cart", Schedule: &sched,
		Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(
			`{"alert":{"title":"Still want the {{event_properties.${product_name}}}?","body":"{{event_properties.${price}}} in your cart"}}`)},
		Audience: &campaigns.Audience{Filter: json.RawMessage(`{"push_enabled":{}}`)}}
	c, err := e.svc.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// before activation, events trigger nothing
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	event := func(ext, name string, when time.Time, props string) string {
		return fmt.Sprintf(`{"external_id":%q,"name":%q,"time":%q,"properties":%s}`, ext, name, when.Format(time.RFC3339), props)
	}
	e.track(t, `{"events":[`+event("s1", "added_to_cart", at.Add(-time.Hour), `{"product_name":"Old","price":50}`)+`]}`)
	if d, err := e.svc.Launch(ctx, c.ID); err != nil || d != nil {
		t.Fatalf("launch of an action-based campaign: %v %v", d, err)
	}
	token := strings.Repeat("ef", 32)
	e.track(t, `{"attributes":[{"external_id":"s3","push_tokens":[{"app_id":"app-ios","token":"`+token+`"}]}]}`)
	hit := event("s1", "added_to_cart", at, `{"product_name":"Lamp","price":20}`)
	e.track(t, `{"events":[`+hit+`,`+event("s2", "added_to_cart", at, `{"product_name":"Pen","price":5}`)+`,`+
		event("s3", "added_to_cart", at, `{"product_name":"Desk","price":300}`)+`]}`)
	e.track(t, `{"events":[`+hit+`]}`) // posted again: the same triggered send
	e.track(t, `{"events":[`+event("s3", "checkout_completed", at.Add(10*time.Minute), `{}`)+`]}`)

	list, err := e.st.TriggeredSends(ctx, c.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, tr := range list {
		states[tr.EventName+"@"+tr.DueAt.Format(time.RFC3339)] += tr.Status + ":" + tr.Reason + " "
	}
	due := at.Add(time.Hour)
	if len(list) != 2 || !strings.Contains(fmt.Sprint(states), "pending") || !strings.Contains(fmt.Sprint(states), "cancelled:exception_event") {
		t.Fatalf("triggered sends after the events: %v", states)
	}
	opts := campaigns.SchedulerOptions{}
	if n, err := e.svc.RunSchedules(ctx, due.Add(-time.Second), opts); err != nil || n != 0 {
		t.Fatalf("before the delay: started %d, %v", n, err)
	}
	for range 3 { // scheduler replicas
		if _, err := e.svc.RunSchedules(ctx, due, opts); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := e.svc.Dispatches(ctx, c.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("dispatches %v %v, want one", ds, err)
	}
	e.waitDone(t, ds[0].ID)
	recs := e.rec.List()
	if len(recs) != 1 || recs[0].Token == token {
		t.Fatalf("%d messages (%+v), want one to s1", len(recs), recs)
	}
	var p struct {
		Aps struct {
			Alert struct{ Title, Body string } `json:"alert"`
		} `json:"aps"`
	}
	if err := json.Unmarshal(recs[0].Payload, &p); err != nil || p.Aps.Alert.Title != "Still want the Lamp?" || p.Aps.Alert.Body != "20 in your cart" {
		t.Fatalf("payload %s (%v)", recs[0].Payload, err)
	}
	list, _ = e.st.TriggeredSends(ctx, c.ID, 10)
	for _, tr := range list {
		if tr.Status == campaigns.TriggeredPending {
			t.Fatalf("still pending after the tick: %+v", tr)
		}
		if tr.Status == campaigns.TriggeredDispatched && tr.DispatchID != ds[0].ID {
			t.Fatalf("dispatched to %s, want %s", tr.DispatchID, ds[0].ID)
		}
	}
	// while paused nothing triggers, but an exception event still cancels
	// what waits for the resume
	e.track(t, `{"events":[`+event("s3", "added_to_cart", at.Add(20*time.Minute), `{"product_name":"Desk","price":300}`)+`]}`)
	if err := e.svc.Pause(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	e.track(t, `{"events":[`+event("s3", "checkout_completed", at.Add(30*time.Minute), `{}`)+`,`+
		event("s1", "added_to_cart", at.Add(30*time.Minute), `{"product_name":"Rug","price":90}`)+`]}`)
	if err := e.svc.Resume(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.RunSchedules(ctx, due.Add(time.Hour), opts); err != nil || n != 0 {
		t.Fatalf("after the pause: started %d, %v; want nothing", n, err)
	}
	// a stopped campaign's pending sends are cancelled, not sent
	e.track(t, `{"events":[`+event("s1", "added_to_cart", at.Add(time.Minute), `{"product_name":"Chair","price":40}`)+`]}`)
	if err := e.svc.Stop(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.RunSchedules(ctx, due.Add(2*time.Hour), opts); err != nil || n != 0 {
		t.Fatalf("after stop: started %d, %v", n, err)
	}
	list, _ = e.st.TriggeredSends(ctx, c.ID, 10)
	if len(list) != 4 || list[0].Status != campaigns.TriggeredCancelled || list[0].Reason != campaigns.CancelCampaignInactive {
		t.Fatalf("after stop: %+v", list[0])
	}
}
