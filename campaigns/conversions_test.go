package campaigns_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// Conversions: a custom event within a day of the send and any purchase
// within three days count once per user and conversion event, attributed to
// the send; events outside the window, or of users never sent the campaign,
// do not count.
func TestConversions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ids := usersWithDevices(t, e, "cv", 3, "")
	ctx := context.Background()
	in, err := campaigns.DecodeInput(strings.NewReader(`{"name":"conv","audience":{"filter":{"push_enabled":{}}},
		"messages":{"apple_push":{"alert":"upgrade?"}},
		"conversion_events":[{"type":"custom_event","name":"upgraded","window":"1d"},{"type":"purchase","window":"3d"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	clk := newClock(sent)
	p := rulesPipeline(t, e, campaigns.PipelineOptions{Now: clk.now})
	page := pageFor(t, e.st, "cv-1", c.ID, campaigns.Spec{Messages: c.Definition.Messages, Rules: c.Definition.Rules}, ids[:2], sent)
	if err := p.Deliver(ctx, page); err != nil {
		t.Fatal(err)
	}
	ev := func(user, name string, at time.Time) string {
		return fmt.Sprintf(`{"external_id":%q,"name":%q,"time":%q}`, user, name, at.Format(time.RFC3339))
	}
	pu := func(user string, price float64, at time.Time) string {
		return fmt.Sprintf(`{"external_id":%q,"product_id":"pro","currency":"USD","price":%v,"time":%q}`, user, price, at.Format(time.RFC3339))
	}
	e.track(t, `{"events":[`+ev("cv0", "upgraded", sent.Add(time.Hour))+`,`+ev("cv0", "upgraded", sent.Add(2*time.Hour))+`,`+
		ev("cv1", "upgraded", sent.Add(25*time.Hour))+`,`+ev("cv2", "upgraded", sent.Add(time.Hour))+`,`+
		ev("cv0", "upgraded", sent.Add(-time.Hour))+`]}`)
	e.track(t, `{"purchases":[`+pu("cv1", 9.5, sent.Add(47*time.Hour))+`]}`)
	e.track(t, `{"events":[`+ev("cv0", "upgraded", sent.Add(3*time.Hour))+`]}`) // again, later: still once
	counts, revenue, err := e.svc.ConversionCounts(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// cv0: the event 1h after the send; cv1: the event after 25h is outside
	// the day, the purchase after 47h inside the three days; cv2 was not sent
	if fmt.Sprint(counts) != "map[:map[0:1 1:1]]" || revenue[""] != 9.5 {
		t.Fatalf("conversions %v, revenue %v", counts, revenue)
	}
	// a bad conversion definition is refused with its field
	bad, _ := campaigns.DecodeInput(strings.NewReader(`{"name":"b","audience":{"filter":{"push_enabled":{}}},"messages":{"apple_push":{"alert":"x"}},
		"conversion_events":[{"type":"custom_event","window":"1d"},{"type":"purchase","window":"31d"},{"type":"session_start","window":"45d"},{"type":"click","window":"1h"},{"type":"purchase","window":"1h"}]}`))
	_, err = e.svc.Create(ctx, bad)
	for _, f := range []string{"conversion_events", "conversion_events[0].name", "conversion_events[1].window", "conversion_events[2].window", "conversion_events[3].type"} {
		if err == nil || !strings.Contains(err.Error(), f+":") {
			t.Errorf("missing problem for %s in %v", f, err)
		}
	}
}

// The control group's conversions are counted too (it is what the variants
// are compared with), though it was sent nothing.
func TestControlGroupConversions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ids := usersWithDevices(t, e, "ctl", 30, "")
	ctx := context.Background()
	in, err := campaigns.DecodeInput(strings.NewReader(`{"name":"ctl","audience":{"filter":{"push_enabled":{}}},
		"messages":{"apple_push":{"alert":"hi"}},"control_percent":50,
		"conversion_events":[{"type":"custom_event","name":"came_back","window":"1d"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	p := rulesPipeline(t, e, campaigns.PipelineOptions{Now: func() time.Time { return sent }})
	spec := campaigns.Spec{Messages: c.Definition.Messages, Rules: c.Definition.Rules, ControlPercent: 50}
	page := pageFor(t, e.st, "ctl-1", c.ID, spec, ids, sent)
	if err := p.Deliver(ctx, page); err != nil {
		t.Fatal(err)
	}
	var evs []string
	for i := range ids {
		evs = append(evs, fmt.Sprintf(`{"external_id":"ctl%d","name":"came_back","time":%q}`, i, sent.Add(time.Minute).Format(time.RFC3339)))
	}
	e.track(t, `{"events":[`+strings.Join(evs, ",")+`]}`)
	counts, _, err := e.svc.ConversionCounts(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	ledger, _ := e.svc.VariantCounts(ctx, page.DispatchID)
	sentTo, control := ledger[""]["delivered"], ledger[campaigns.ControlGroup]["aborted:control_group"]
	if sentTo+control != 30 || control == 0 || counts[""][0] != sentTo || counts[campaigns.ControlGroup][0] != control {
		t.Fatalf("conversions %v, ledger %v", counts, ledger)
	}
}

// A session start within the window after a send is a session_start
// conversion (session starts come from the SDK endpoint, in the
// transaction that stores them).
func TestSessionStartConversions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ids := usersWithDevices(t, e, "ss", 2, "")
	ctx := context.Background()
	in, err := campaigns.DecodeInput(strings.NewReader(`{"name":"ss","audience":{"filter":{"push_enabled":{}}},
		"messages":{"apple_push":{"alert":"come back"}},"conversion_events":[{"type":"session_start","window":"1d"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	p := rulesPipeline(t, e, campaigns.PipelineOptions{Now: func() time.Time { return sent }})
	if err := p.Deliver(ctx, pageFor(t, e.st, "ss-1", c.ID, campaigns.Spec{Messages: c.Definition.Messages, Rules: c.Definition.Rules}, ids, sent)); err != nil {
		t.Fatal(err)
	}
	tr := campaigns.NewTriggers(e.st, campaigns.TriggerOptions{TTL: time.Nanosecond})
	sessions := []profiles.Session{{UserID: ids[0], AppID: "app-ios", Time: sent.Add(time.Hour)},
		{UserID: ids[1], AppID: "app-ios", Time: sent.Add(48 * time.Hour)}, // outside the day
		{UserID: ids[0], AppID: "app-ios", Time: sent.Add(2 * time.Hour)}}  // counted once
	if err := e.st.InTx(ctx, func(tx profiles.Tx) error { return tr.OnSessions(ctx, tx, sessions) }); err != nil {
		t.Fatal(err)
	}
	counts, _, err := e.svc.ConversionCounts(ctx, c.ID)
	if err != nil || fmt.Sprint(counts) != "map[:map[0:1]]" {
		t.Fatalf("conversions %v, %v; want one for the user who came back within the day", counts, err)
	}
}
