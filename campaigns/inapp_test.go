package campaigns_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

func inAppInput(t *testing.T, body string) *campaigns.Input {
	t.Helper()
	in, err := campaigns.DecodeInput(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// At session start a user gets the in-app messages of active campaigns whose
// audience holds their profile as it was before the session: the lapsed-user
// message on the first session back, rendered for them, highest priority
// first, each with the trigger the SDK shows it on.
func TestInAppEligibleAtSessionStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := context.Background()
	e.track(t, `{"attributes":[{"external_id":"ann","first_name":"Ann","vip":true},{"external_id":"bob","first_name":"Bob","vip":false}]}`)
	ids := e.userIDs(t, "ann", "bob")
	now := time.Now().UTC()
	if err := e.st.AddSessions(ctx, []profiles.Session{{UserID: ids[0], AppID: "app-ios", Time: now.Add(-10 * 24 * time.Hour)},
		{UserID: ids[1], AppID: "app-ios", Time: now.Add(-10 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	lapsed, err := e.svc.Create(ctx, inAppInput(t, `{"name":"lapsed","audience":{"filter":{"last_used_app":{"comparison":"greater_than_x_days_ago","value":7}}},
		"schedule":{"type":"action_based","trigger_type":"session_start"},
		"messages":{"in_app_message":{"type":"slideup","message":"Welcome back, {{${first_name}}}!","priority":10,
			"click_action":{"type":"uri","uri":"app://home"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	cart, err := e.svc.Create(ctx, inAppInput(t, `{"name":"cart","audience":{"filter":{"custom_attribute":{"custom_attribute_name":"vip","comparison":"equals","value":true}}},
		"schedule":{"type":"action_based","event_name":"add_to_cart","property_filters":[{"property":"price","comparison":"greater_than","value":50}]},
		"messages":{"in_app_message":{"type":"modal","header":"Free shipping","message":"On your cart, {{${first_name}}}","priority":50,
			"buttons":[{"text":"Checkout","click_action":{"type":"uri","uri":"app://cart"}},{"text":"Later","click_action":{"type":"close"}}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(ctx, inAppInput(t, `{"name":"draft","audience":{"filter":{"push_enabled":{}}},
		"schedule":{"type":"action_based","trigger_type":"session_start"},"messages":{"in_app_message":{"type":"full","header":"Never launched"}}}`)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*campaigns.Campaign{lapsed, cart} {
		if d, err := e.svc.Launch(ctx, c.ID); err != nil || d != nil {
			t.Fatalf("launch %s: %v %v", c.Name, d, err)
		}
	}
	ia := campaigns.NewInApp(e.st, e.eng, noSegments, campaigns.InAppOptions{TTL: time.Nanosecond})
	before, err := e.st.Profiles(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range before {
		msgs, err := ia.Eligible(ctx, nil, p, now)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, m := range msgs {
			parts = append(parts, fmt.Sprintf("%s/%v/%v", m["campaign_id"], m["message"], m["trigger"]))
		}
		got[p.User.ExternalID] = strings.Join(parts, " | ")
	}
	wantAnn := fmt.Sprintf("%s/On your cart, Ann/map[event_name:add_to_cart property_filters:[{price greater_than 50}] type:custom_event] | %s/Welcome back, Ann!/map[type:session_start]", cart.ID, lapsed.ID)
	wantBob := fmt.Sprintf("%s/Welcome back, Bob!/map[type:session_start]", lapsed.ID)
	if got["ann"] != wantAnn || got["bob"] != wantBob {
		t.Fatalf("eligible:\n ann %s\n want %s\n bob %s\n want %s", got["ann"], wantAnn, got["bob"], wantBob)
	}
	// the profile after this session began is no longer lapsed: that is why
	// the SDK endpoint asks with the profile from before
	if err := e.st.AddSessions(ctx, []profiles.Session{{UserID: ids[1], AppID: "app-ios", Time: now}}); err != nil {
		t.Fatal(err)
	}
	after, _ := e.st.Profiles(ctx, ids[1:])
	if msgs, _ := ia.Eligible(ctx, nil, after[0], now); len(msgs) != 0 {
		t.Fatalf("after the session began: %v", msgs)
	}
	if ia.MinInterval() != 30*time.Second {
		t.Fatalf("min interval %s", ia.MinInterval())
	}
	// an in-app campaign is never a server-side send: its event triggers nothing
	e.track(t, `{"events":[{"external_id":"ann","name":"add_to_cart","properties":{"price":90}}]}`)
	if list, _ := e.st.TriggeredSends(ctx, cart.ID, 10); len(list) != 0 {
		t.Fatalf("triggered sends of an in-app campaign: %+v", list)
	}
}

func TestInAppValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	long := strings.Repeat("x", 141)
	for body, field := range map[string]string{
		`"schedule":{"type":"action_based","trigger_type":"session_start"},"messages":{"in_app_message":{"type":"slideup","message":"` + long + `"}}`:                                                                                                                                       "messages.in_app_message.message",
		`"schedule":{"type":"action_based","trigger_type":"session_start"},"messages":{"in_app_message":{"type":"popup"}}`:                                                                                                                                                                  "messages.in_app_message.type",
		`"schedule":{"type":"action_based","trigger_type":"session_start"},"messages":{"in_app_message":{"type":"html"}}`:                                                                                                                                                                   "messages.in_app_message.html",
		`"schedule":{"type":"action_based","trigger_type":"session_start"},"messages":{"in_app_message":{"type":"modal","header":"h","buttons":[{"text":"a","click_action":{"type":"close"}},{"text":"b","click_action":{"type":"close"}},{"text":"c","click_action":{"type":"close"}}]}}}`: "messages.in_app_message.buttons",
		`"schedule":{"type":"action_based","trigger_type":"session_start"},"messages":{"in_app_message":{"type":"modal","header":"h","click_action":{"type":"uri"}}}`:                                                                                                                       "messages.in_app_message.click_action.uri",
		`"schedule":{"type":"action_based","trigger_type":"session_start"},"messages":{"in_app_message":{"type":"full","header":"h"},"apple_push":{"alert":"x"}}`:                                                                                                                           "messages.in_app_message",
		`"schedule":{"type":"immediate"},"messages":{"in_app_message":{"type":"full","header":"h"}}`:                                                                                                                                                                                        "schedule.type",
		`"schedule":{"type":"action_based","trigger_type":"session_start"},"messages":{"apple_push":{"alert":"x"}}`:                                                                                                                                                                         "schedule.trigger_type",
		`"schedule":{"type":"action_based","trigger_type":"app_open"},"messages":{"in_app_message":{"type":"full","header":"h"}}`:                                                                                                                                                           "schedule.trigger_type",
	} {
		_, err := e.svc.Create(context.Background(), inAppInput(t, `{"name":"v","audience":{"filter":{"push_enabled":{}}},`+body+`}`))
		if err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("%s: %v, want a problem on %s", body, err, field)
		}
	}
}

// In-app re-eligibility: once a user has seen a message (an impression the
// SDK reported), a campaign with re_eligibility never is not offered again,
// one with "after" only once the window has passed.
func TestInAppReEligibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := context.Background()
	e.track(t, `{"attributes":[{"external_id":"cy","first_name":"Cy"}]}`)
	uid := e.userIDs(t, "cy")[0]
	mk := func(name, re string) *campaigns.Campaign {
		c, err := e.svc.Create(ctx, inAppInput(t, `{"name":"`+name+`","audience":{"filter":{"attribute":{"name":"first_name","comparison":"equals","value":"Cy"}}},
			"schedule":{"type":"action_based","trigger_type":"session_start"},"re_eligibility":`+re+`,
			"messages":{"in_app_message":{"type":"full","header":"`+name+`"}}}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Launch(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		return c
	}
	never, daily := mk("never", `{"never":true}`), mk("daily", `{"after":"1d"}`)
	ia := campaigns.NewInApp(e.st, e.eng, noSegments, campaigns.InAppOptions{TTL: time.Nanosecond})
	offered := func(now time.Time) string {
		profs, err := e.st.Profiles(ctx, []int64{uid})
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := ia.Eligible(ctx, nil, profs[0], now)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range msgs {
			names = append(names, fmt.Sprint(m["header"]))
		}
		slices.Sort(names) // both campaigns may have been created in the same instant
		return strings.Join(names, ",")
	}
	// Noon yesterday: "1d" counts calendar days (UTC), so an hour later must
	// still be the same day whenever the test runs.
	now := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
	if got := offered(now); got != "daily,never" {
		t.Fatalf("before any impression: %q", got)
	}
	var es []campaigns.SDKEngagement
	for i, c := range []*campaigns.Campaign{never, daily} {
		es = append(es, campaigns.SDKEngagement{Kind: campaigns.EngageImpression, Channel: campaigns.EngageInApp,
			ID: fmt.Sprintf("%s:%d", c.ID, c.Version), At: now, EventID: fmt.Sprint("imp-", i)})
	}
	if err := e.svc.RecordEngagement(ctx, &profiles.App{ID: "app-ios", Platform: "ios"}, uid, es); err != nil {
		t.Fatal(err)
	}
	if got := offered(now.Add(time.Hour)); got != "" {
		t.Fatalf("an hour after both were seen: %q", got)
	}
	if got := offered(now.Add(49 * time.Hour)); got != "daily" {
		t.Fatalf("two days later: %q, want daily only", got)
	}
}

// The in-app service tells the SDK endpoint whether the profile it evaluates
// needs the custom event summaries: only when an active campaign's audience
// reads them.
func TestInAppNeedsEventSummaries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := context.Background()
	ia := campaigns.NewInApp(e.st, e.eng, noSegments, campaigns.InAppOptions{TTL: time.Nanosecond})
	launch := func(filter string) {
		t.Helper()
		c, err := e.svc.Create(ctx, inAppInput(t, `{"name":"m","audience":{"filter":`+filter+`},
			"schedule":{"type":"action_based","trigger_type":"session_start"},"messages":{"in_app_message":{"type":"slideup","message":"hi"}}}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Launch(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{`{"custom_attribute":{"custom_attribute_name":"vip","comparison":"equals","value":true}}`, false},
		{`{"custom_event_last_did":{"event_name":"x","comparison":"less_than_x_days_ago","value":3}}`, true},
	} {
		launch(tc.filter)
		if got, err := ia.NeedsEventSummaries(ctx); err != nil || got != tc.want {
			t.Fatalf("after %s: %v %v, want %v", tc.filter, got, err, tc.want)
		}
	}
}
