package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-oss/herald/profiles"
)

// userID returns a user's internal id (0 when there is none).
func (e *env) userID(ext string) int64 {
	e.t.Helper()
	ids, _, err := e.store.FindUserIDs(context.Background(), profiles.Lookup{ExternalIDs: []string{ext}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(ids) == 0 {
		return 0
	}
	return ids[0]
}

// sent posts a send and returns its dispatch id, failing unless it is a 201.
func (e *env) sent(path, body string) string {
	e.t.Helper()
	r := e.do("POST", path, body)
	m := r.json(e.t)
	if r.status != http.StatusCreated || m["message"] != "success" || m["dispatch_id"] == "" || len(m) != 2 {
		e.t.Fatalf("%s: %d %s", path, r.status, r.body)
	}
	return m["dispatch_id"].(string)
}

func ids(n int, prefix string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", fmt.Sprint(prefix, i))
	}
	return b.String()
}

func TestMessagesSend(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		e.track(`{"attributes":[{"external_id":"u1","plan":"gold"},{"external_id":"u2","plan":"gold"},{"external_id":"u3"}]}`)

		id := e.sent("/messages/send", `{"external_user_ids":["u1","u2","nobody"],"messages":`+pushMessage+`}`)
		d := e.dispatch(id)
		if d.CampaignID != "" || fmt.Sprint(d.Spec.UserIDs) != fmt.Sprint([]int64{e.userID("u1"), e.userID("u2")}) ||
			d.Spec.RecipientSubscriptionState != "subscribed" || d.Spec.Messages["apple_push"] == nil || len(d.Spec.Filter) != 0 {
			t.Errorf("dispatch to external ids = %+v", d)
		}
		e.enqueued(id)

		// a request_id makes a retry return the same dispatch
		body := `{"request_id":"r-1","external_user_ids":["u1"],"messages":` + pushMessage + `,"recipient_subscription_state":"all"}`
		first := e.sent("/messages/send", body)
		if again := e.sent("/messages/send", body); again != first || first == id {
			t.Errorf("request_id retry: %s then %s", first, again)
		}
		if d := e.dispatch(first); d.Spec.RecipientSubscriptionState != "all" {
			t.Errorf("recipient_subscription_state = %q", d.Spec.RecipientSubscriptionState)
		}

		// a segment, with broadcast
		seg := e.createSegment("Gold", goldFilter)
		id = e.sent("/messages/send", `{"segment_id":"`+seg+`","broadcast":true,"messages":{"android_push":{"alert":"Hi"},"web_push":{"alert":"Hi","title":"T"}}}`)
		d = e.dispatch(id)
		if len(d.Spec.UserIDs) != 0 || !strings.Contains(string(d.Spec.Filter), seg) || len(d.Spec.Messages) != 2 {
			t.Errorf("dispatch to a segment = %+v (filter %s)", d, d.Spec.Filter)
		}
		e.enqueued(id)

		bad := []struct {
			name, body, field, reason string
		}{
			{"email", `{"external_user_ids":["u1"],"messages":{"email":{"subject":"s"},"apple_push":{"alert":"a"}}}`, "messages.email", "Herald has no email channel"},
			{"sms", `{"external_user_ids":["u1"],"messages":{"sms":{"body":"b"}}}`, "messages.sms", "Herald has no sms channel"},
			{"template", `{"external_user_ids":["u1"],"messages":{"apple_push":{"alert":"{{ x"}}}`, "messages.apple_push.alert", "1:"},
			{"no messages", `{"external_user_ids":["u1"]}`, "messages", "required"},
			{"51 ids", `{"external_user_ids":[` + ids(51, "u") + `],"messages":` + pushMessage + `}`, "external_user_ids, user_aliases", "at most 50 users, got 51"},
			{"empty id", `{"external_user_ids":[""],"messages":` + pushMessage + `}`, "external_user_ids[0]", "empty"},
			{"no recipients", `{"messages":` + pushMessage + `}`, "external_user_ids, user_aliases, segment_id, audience or broadcast", "one is required"},
			{"no broadcast", `{"segment_id":"` + seg + `","messages":` + pushMessage + `}`, "broadcast", "must be true"},
			{"unknown segment", `{"segment_id":"nope","broadcast":true,"messages":` + pushMessage + `}`, "segment_id", "nope"},
			{"bad audience", `{"audience":{"bogus":{}},"messages":` + pushMessage + `}`, "audience.filter.bogus", "unknown filter"},
			{"state", `{"external_user_ids":["u1"],"recipient_subscription_state":"some","messages":` + pushMessage + `}`, "recipient_subscription_state", "some"},
		}
		for _, c := range bad {
			if r := e.do("POST", "/messages/send", c.body); !problem(r, c.field, c.reason) {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		// strict decoding
		if r := e.do("POST", "/messages/send", `{"external_user_ids":["u1"],"campaign_id":"c","messages":`+pushMessage+`}`); r.status != 400 ||
			!strings.Contains(string(r.body), `unknown field \"campaign_id\"`) {
			t.Errorf("unknown field: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/messages/send", `{"external_user_ids":"u1"}`); r.status != 400 {
			t.Errorf("wrong type: %d %s", r.status, r.body)
		}
		// the scope
		if r := e.do("POST", "/messages/send", `{}`, "Authorization", "Bearer "+e.key("trigger", "campaigns.trigger.send")); r.status != 403 {
			t.Errorf("send without messages.send: %d", r.status)
		}
		if r := e.do("POST", "/messages/send", `{"external_user_ids":["u1"],"messages":`+pushMessage+`}`,
			"Authorization", "Bearer "+e.key("sender", "messages.send")); r.status != 201 {
			t.Errorf("send with messages.send: %d %s", r.status, r.body)
		}
	})
}

func TestCampaignsTriggerSend(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		e.track(`{"attributes":[{"external_id":"t1","plan":"gold"},{"external_id":"t2"}]}`)
		camp := e.createCampaign(`{"name":"Shipped","messages":{"apple_push":{"alert":"Your {{api_trigger_properties.${item}}} ({{api_trigger_properties.${size}}}) shipped"}},
			"audience":{"filter":` + goldFilter + `},"schedule":{"type":"api_triggered"}}`)

		id := e.sent("/campaigns/trigger/send", `{"campaign_id":"`+camp+`","trigger_properties":{"item":"book"},"recipients":[
			{"external_user_id":"t1","trigger_properties":{"size":"L"},"attributes":{"vip":true}},
			{"external_user_id":"t-new","send_to_existing_only":false,"attributes":{"first_name":"Nova"}},
			{"external_user_id":"t-ghost","attributes":{"first_name":"Ghost"}},
			{"user_alias":{"alias_name":"nobody","alias_label":"crm"}}]}`)
		// attributes are written before the send
		if u := e.export("t1"); fmt.Sprint(u["custom_attributes"]) != "map[plan:gold vip:true]" {
			t.Errorf("t1 after the trigger = %v", u)
		}
		if u := e.export("t-new"); u["first_name"] != "Nova" {
			t.Errorf("t-new after the trigger = %v", u)
		}
		if e.userID("t-ghost") != 0 {
			t.Error("send_to_existing_only (default true) created t-ghost")
		}
		t1, tNew := e.userID("t1"), e.userID("t-new")
		d := e.dispatch(id)
		if d.CampaignID != camp || d.CampaignVersion != 1 || fmt.Sprint(d.Spec.UserIDs) != fmt.Sprint([]int64{t1, tNew}) ||
			fmt.Sprint(d.Spec.TriggerProperties) != "map[item:book]" || fmt.Sprint(d.Spec.PerUserProperties) != fmt.Sprintf("map[%d:map[size:L]]", t1) ||
			d.Spec.Messages["apple_push"] == nil {
			t.Errorf("trigger dispatch = %+v", d)
		}
		e.enqueued(id)

		// request_id: once
		body := `{"request_id":"trig-1","campaign_id":"` + camp + `","recipients":[{"external_user_id":"t2"}]}`
		if a, b := e.sent("/campaigns/trigger/send", body), e.sent("/campaigns/trigger/send", body); a != b {
			t.Errorf("request_id retry: %s then %s", a, b)
		}
		// broadcast: the campaign's audience
		id = e.sent("/campaigns/trigger/send", `{"campaign_id":"`+camp+`","broadcast":true,"trigger_properties":{"item":"mug"}}`)
		if d := e.dispatch(id); len(d.Spec.UserIDs) != 0 || !strings.Contains(string(d.Spec.Filter), `"plan"`) {
			t.Errorf("broadcast dispatch = %+v", d)
		}

		immediate := e.createCampaign(campaignBody("Now", "immediate"))
		bad := []struct {
			name, body, field, reason string
		}{
			{"not api_triggered", `{"campaign_id":"` + immediate + `","recipients":[{"external_user_id":"t1"}]}`, "campaign_id", "is not API-triggered"},
			{"unknown campaign", `{"campaign_id":"nope","recipients":[{"external_user_id":"t1"}]}`, "campaign_id", `no campaign \"nope\"`},
			{"no campaign", `{"recipients":[{"external_user_id":"t1"}]}`, "campaign_id", "required"},
			{"51 recipients", `{"campaign_id":"` + camp + `","recipients":[` + strings.Repeat(`{"external_user_id":"t1"},`, 50) + `{"external_user_id":"t1"}]}`,
				"recipients", "at most 50, got 51"},
			{"no recipients", `{"campaign_id":"` + camp + `"}`, "recipients", "required"},
			{"no id", `{"campaign_id":"` + camp + `","recipients":[{"attributes":{"a":1}}]}`, "recipients[0]", "external_user_id or user_alias required"},
			{"both ids", `{"campaign_id":"` + camp + `","recipients":[{"external_user_id":"t1","user_alias":{"alias_name":"a","alias_label":"b"}}]}`,
				"recipients[0]", "exclusive"},
			{"broadcast and recipients", `{"campaign_id":"` + camp + `","broadcast":true,"recipients":[{"external_user_id":"t1"}]}`, "recipients", "not allowed with broadcast"},
			{"bad audience", `{"campaign_id":"` + camp + `","broadcast":true,"audience":{"bogus":{}}}`, "audience.filter.bogus", "unknown filter"},
		}
		for _, c := range bad {
			if r := e.do("POST", "/campaigns/trigger/send", c.body); !problem(r, c.field, c.reason) {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		// a bad attribute is the /users/track error, and nothing is sent
		r := e.do("POST", "/campaigns/trigger/send", `{"campaign_id":"`+camp+`","recipients":[{"external_user_id":"t1","attributes":{"$bad":1}}]}`)
		if r.status != 400 {
			t.Errorf("bad attribute: %d %s", r.status, r.body)
		}
		// a paused campaign is not triggered
		if r := e.do("POST", "/manage/campaigns/"+camp+"/pause", nil); r.status != 200 {
			t.Fatalf("pause: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/campaigns/trigger/send", `{"campaign_id":"`+camp+`","recipients":[{"external_user_id":"t1"}]}`); !problem(r, "campaign_id", "is paused") {
			t.Errorf("paused: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/campaigns/trigger/send", `{"campaign_id":"`+camp+`","send_id":"s"}`); r.status != 400 ||
			!strings.Contains(string(r.body), `unknown field \"send_id\"`) {
			t.Errorf("unknown field: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/campaigns/trigger/send", `{}`, "Authorization", "Bearer "+e.key("sender", "messages.send")); r.status != 403 {
			t.Errorf("trigger without campaigns.trigger.send: %d", r.status)
		}
	})
}
