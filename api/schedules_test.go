package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/templates"
)

// tick runs the scheduler tick at now over the env's store and queue, as
// herald scheduler does.
func (e *env) tick(now time.Time) int {
	e.t.Helper()
	svc := campaigns.NewService(e.store, queue.NewClient(e.rdb, queue.ClientOptions{Queue: e.queue, Retention: time.Hour}),
		templates.New(templates.Options{}), nil, nil)
	n, err := svc.RunSchedules(context.Background(), now, campaigns.SchedulerOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// notEnqueued fails if the dispatch's task is on the queue.
func (e *env) notEnqueued(dispatchID string) {
	e.t.Helper()
	if info, err := asynq.NewInspectorFromRedisClient(e.rdb).GetTaskInfo(e.queue, "dispatch:"+dispatchID); err == nil {
		e.t.Fatalf("dispatch %s is on the queue: %+v", dispatchID, info)
	}
}

// scheduled posts a schedule create and returns its dispatch and schedule
// ids, failing unless it is a 201.
func (e *env) scheduled(path, body string) (dispatchID, scheduleID string) {
	e.t.Helper()
	r := e.do("POST", path, body)
	m := r.json(e.t)
	if r.status != http.StatusCreated || m["message"] != "success" || len(m) != 3 {
		e.t.Fatalf("%s: %d %s", path, r.status, r.body)
	}
	dispatchID, _ = m["dispatch_id"].(string)
	scheduleID, _ = m["schedule_id"].(string)
	if dispatchID == "" || scheduleID == "" || dispatchID == scheduleID {
		e.t.Fatalf("%s: %s", path, r.body)
	}
	return dispatchID, scheduleID
}

// ok fails unless the request answers 200 {"message":"success"}.
func (e *env) ok(path, body string) {
	e.t.Helper()
	if r := e.do("POST", path, body); r.status != http.StatusOK || string(r.body) != `{"message":"success"}`+"\n" {
		e.t.Fatalf("%s %s: %d %s", path, body, r.status, r.body)
	}
}

type scopeCase struct{ path, scope, body string }

// scoped checks that each endpoint under prefix refuses a key with only the
// other scope (403) and serves a key with its own.
func (e *env) scoped(prefix, other string, cases []scopeCase) {
	e.t.Helper()
	for _, c := range cases {
		if r := e.do("POST", prefix+c.path, c.body, "Authorization", "Bearer "+e.key(other, other)); r.status != http.StatusForbidden {
			e.t.Errorf("%s without %s: %d", c.path, c.scope, r.status)
		}
		if r := e.do("POST", prefix+c.path, c.body, "Authorization", "Bearer "+e.key(c.scope, c.scope)); r.status == http.StatusForbidden || r.status == http.StatusUnauthorized {
			e.t.Errorf("%s with %s: %d %s", c.path, c.scope, r.status, r.body)
		}
	}
}

func iso(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func TestMessagesSchedule(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		e.track(`{"attributes":[{"external_id":"u1"}]}`)
		at := time.Now().Add(time.Hour).Truncate(time.Second)
		body := func(at time.Time) string {
			return `{"external_user_ids":["u1"],"messages":` + pushMessage + `,"schedule":{"time":"` + iso(at) + `","in_local_time":false}}`
		}
		id, sched := e.scheduled("/messages/schedule/create", body(at))
		d := e.dispatch(id)
		if d.Status != campaigns.DispatchScheduled || !d.DueAt.Equal(at) || d.Occurrence != "schedule:"+sched || d.CampaignID != "" ||
			fmt.Sprint(d.Spec.UserIDs) != fmt.Sprint([]int64{e.userID("u1")}) || d.Spec.Messages["apple_push"] == nil {
			t.Fatalf("scheduled dispatch = %+v", d)
		}
		e.notEnqueued(id)

		// update: a new time, then new messages
		e.ok("/messages/schedule/update", `{"schedule_id":"`+sched+`","schedule":{"time":"`+iso(at.Add(time.Hour))+`"}}`)
		if d := e.dispatch(id); !d.DueAt.Equal(at.Add(time.Hour)) || d.Spec.Messages["apple_push"] == nil {
			t.Fatalf("after the time update: %+v", d)
		}
		e.ok("/messages/schedule/update", `{"schedule_id":"`+sched+`","messages":{"android_push":{"alert":"moved"}}}`)
		if d := e.dispatch(id); !d.DueAt.Equal(at.Add(time.Hour)) || d.Spec.Messages["android_push"]["alert"] != "moved" ||
			d.Spec.Messages["apple_push"] != nil || len(d.Spec.UserIDs) != 1 {
			t.Fatalf("after the messages update: %+v", d)
		}

		// delete: never sent
		gone, goneSched := e.scheduled("/messages/schedule/create", body(at))
		e.ok("/messages/schedule/delete", `{"schedule_id":"`+goneSched+`"}`)
		if d := e.dispatch(gone); d.Status != campaigns.DispatchStopped {
			t.Fatalf("deleted schedule's dispatch is %s", d.Status)
		}

		// a time already passed: sent at the next tick
		past, _ := e.scheduled("/messages/schedule/create", body(time.Now().Add(-time.Minute)))
		if n := e.tick(time.Now()); n != 1 {
			t.Fatalf("tick now started %d, want the past one", n)
		}
		e.enqueued(past)
		e.notEnqueued(id)
		if n := e.tick(at.Add(time.Hour)); n != 1 {
			t.Fatalf("tick at its time started %d", n)
		}
		e.enqueued(id)
		if d := e.dispatch(id); d.Status != campaigns.DispatchRunning {
			t.Fatalf("started schedule's dispatch is %s", d.Status)
		}
		e.notEnqueued(gone)
		if e.tick(at.Add(48*time.Hour)) != 0 || e.dispatch(gone).Status != campaigns.DispatchStopped {
			t.Fatal("a deleted schedule started")
		}

		later := `{"time":"` + iso(at.Add(2*time.Hour)) + `"}`
		bad := []struct {
			name, path, body, field, reason string
		}{
			{"no schedule", "create", `{"external_user_ids":["u1"],"messages":` + pushMessage + `}`, "schedule", "required"},
			{"no time", "create", `{"external_user_ids":["u1"],"messages":` + pushMessage + `,"schedule":{}}`, "schedule.time", "required"},
			{"no zone", "create", `{"external_user_ids":["u1"],"messages":` + pushMessage + `,"schedule":{"time":"2030-01-02T09:00:00"}}`,
				"schedule.time", "want an ISO 8601 time with its zone"},
			{"local time", "create", `{"external_user_ids":["u1"],"messages":` + pushMessage + `,"schedule":{"time":"` + iso(at) + `","in_local_time":true}}`,
				"schedule.time", "has a zone designator"},
			{"optimal time", "create", `{"external_user_ids":["u1"],"messages":` + pushMessage + `,"schedule":{"time":"` + iso(at) + `","at_optimal_time":true}}`,
				"schedule.at_optimal_time", "not available"},
			{"91 days", "create", body(time.Now().Add(91 * 24 * time.Hour)), "schedule.time", "at most 90 days ahead"},
			{"no messages", "create", `{"external_user_ids":["u1"],"schedule":` + later + `}`, "messages", "required"},
			{"no recipients", "create", `{"messages":` + pushMessage + `,"schedule":` + later + `}`,
				"external_user_ids, user_aliases, segment_id, audience or broadcast", "one is required"},
			{"template", "create", `{"external_user_ids":["u1"],"messages":{"apple_push":{"alert":"{{ x"}},"schedule":` + later + `}`,
				"messages.apple_push.alert", "1:"},
			{"update: no id", "update", `{"schedule":` + later + `}`, "schedule_id", "required"},
			{"update: nothing", "update", `{"schedule_id":"` + sched + `"}`, "schedule", "give schedule, messages or both"},
			{"update: unknown", "update", `{"schedule_id":"nope","schedule":` + later + `}`, "schedule_id", `no schedule \"nope\"`},
			{"update: bad time", "update", `{"schedule_id":"` + sched + `","schedule":{"time":"soon"}}`, "schedule.time", "ISO 8601"},
			{"update: template", "update", `{"schedule_id":"` + goneSched + `","messages":{"apple_push":{"alert":"{{ x"}}}`, "messages.apple_push.alert", "1:"},
			{"update: started", "update", `{"schedule_id":"` + sched + `","schedule":` + later + `}`, "schedule_id", "has already started"},
			{"update: deleted", "update", `{"schedule_id":"` + goneSched + `","schedule":` + later + `}`, "schedule_id", "was deleted"},
			{"delete: no id", "delete", `{}`, "schedule_id", "required"},
			{"delete: unknown", "delete", `{"schedule_id":"nope"}`, "schedule_id", `no schedule \"nope\"`},
			{"delete: started", "delete", `{"schedule_id":"` + sched + `"}`, "schedule_id", "has already started (dispatch running)"},
			{"delete: deleted", "delete", `{"schedule_id":"` + goneSched + `"}`, "schedule_id", "was deleted"},
		}
		for _, c := range bad {
			if r := e.do("POST", "/messages/schedule/"+c.path, c.body); !problem(r, c.field, c.reason) {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		// strict decoding
		if r := e.do("POST", "/messages/schedule/delete", `{"schedule_id":"`+sched+`","campaign_id":"c"}`); r.status != 400 ||
			!strings.Contains(string(r.body), `unknown field \"campaign_id\"`) {
			t.Errorf("unknown field: %d %s", r.status, r.body)
		}
		e.scoped("/messages/schedule/", "messages.send", []scopeCase{
			{"create", "messages.schedule.create", body(at)},
			{"update", "messages.schedule.update", `{"schedule_id":"nope","schedule":` + later + `}`},
			{"delete", "messages.schedule.delete", `{"schedule_id":"nope"}`},
		})
	})
}

func TestCampaignsTriggerSchedule(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		e.track(`{"attributes":[{"external_id":"t1","plan":"gold"}]}`)
		camp := e.createCampaign(campaignBody("Reminder", "api_triggered"))
		at := time.Now().Add(time.Hour).Truncate(time.Second)
		body := func(campaign string, at time.Time) string {
			return `{"campaign_id":"` + campaign + `","trigger_properties":{"item":"book"},"recipients":[{"external_user_id":"t1"}],
				"schedule":{"time":"` + iso(at) + `"}}`
		}
		id, sched := e.scheduled("/campaigns/trigger/schedule/create", body(camp, at))
		d := e.dispatch(id)
		if d.Status != campaigns.DispatchScheduled || !d.DueAt.Equal(at) || d.CampaignID != camp || d.CampaignVersion != 1 ||
			fmt.Sprint(d.Spec.TriggerProperties) != "map[item:book]" || fmt.Sprint(d.Spec.UserIDs) != fmt.Sprint([]int64{e.userID("t1")}) {
			t.Fatalf("scheduled trigger = %+v", d)
		}
		e.notEnqueued(id)
		// broadcast: the campaign's audience
		bid, _ := e.scheduled("/campaigns/trigger/schedule/create", `{"campaign_id":"`+camp+`","broadcast":true,"schedule":{"time":"`+iso(at)+`"}}`)
		if d := e.dispatch(bid); len(d.Spec.UserIDs) != 0 || !strings.Contains(string(d.Spec.Filter), `"plan"`) {
			t.Fatalf("scheduled broadcast = %+v", d)
		}

		e.ok("/campaigns/trigger/schedule/update", `{"campaign_id":"`+camp+`","schedule_id":"`+sched+`","schedule":{"time":"`+iso(at.Add(time.Minute))+`"}}`)
		if d := e.dispatch(id); !d.DueAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("after update: due %v", d.DueAt)
		}
		gone, goneSched := e.scheduled("/campaigns/trigger/schedule/create", body(camp, at))
		e.ok("/campaigns/trigger/schedule/delete", `{"campaign_id":"`+camp+`","schedule_id":"`+goneSched+`"}`)

		if n := e.tick(at); n != 1 { // the broadcast; the moved one is a minute later
			t.Fatalf("tick at %v started %d", at, n)
		}
		e.enqueued(bid)
		if n := e.tick(at.Add(time.Minute)); n != 1 {
			t.Fatalf("tick a minute later started %d", n)
		}
		e.enqueued(id)
		e.notEnqueued(gone)
		if d := e.dispatch(gone); d.Status != campaigns.DispatchStopped {
			t.Fatalf("deleted trigger schedule is %s", d.Status)
		}

		immediate := e.createCampaign(campaignBody("Now", "immediate"))
		later := `{"time":"` + iso(at.Add(2*time.Hour)) + `"}`
		bad := []struct {
			name, path, body, field, reason string
		}{
			{"no schedule", "create", `{"campaign_id":"` + camp + `","broadcast":true}`, "schedule", "required"},
			{"local time", "create", `{"campaign_id":"` + camp + `","broadcast":true,"schedule":{"time":"` + iso(at) + `","in_local_time":true}}`,
				"schedule.time", "has a zone designator"},
			{"no campaign", "create", `{"broadcast":true,"schedule":` + later + `}`, "campaign_id", "required"},
			{"unknown campaign", "create", body("nope", at), "campaign_id", `no campaign \"nope\"`},
			{"not api_triggered", "create", body(immediate, at), "campaign_id", "is not API-triggered"},
			{"no recipients", "create", `{"campaign_id":"` + camp + `","schedule":` + later + `}`, "recipients", "required"},
			{"update: no campaign", "update", `{"schedule_id":"` + sched + `","schedule":` + later + `}`, "campaign_id", "required"},
			{"update: no schedule", "update", `{"campaign_id":"` + camp + `","schedule_id":"` + sched + `"}`, "schedule", "required"},
			{"update: unknown campaign", "update", `{"campaign_id":"nope","schedule_id":"` + sched + `","schedule":` + later + `}`,
				"campaign_id", `no campaign \"nope\"`},
			{"update: other campaign", "update", `{"campaign_id":"` + immediate + `","schedule_id":"` + sched + `","schedule":` + later + `}`,
				"schedule_id", "has no schedule"},
			{"update: started", "update", `{"campaign_id":"` + camp + `","schedule_id":"` + sched + `","schedule":` + later + `}`,
				"schedule_id", "has already started"},
			{"delete: no campaign", "delete", `{"schedule_id":"` + sched + `"}`, "campaign_id", "required"},
			{"delete: started", "delete", `{"campaign_id":"` + camp + `","schedule_id":"` + sched + `"}`, "schedule_id", "has already started"},
			{"delete: deleted", "delete", `{"campaign_id":"` + camp + `","schedule_id":"` + goneSched + `"}`, "schedule_id", "was deleted"},
		}
		for _, c := range bad {
			if r := e.do("POST", "/campaigns/trigger/schedule/"+c.path, c.body); !problem(r, c.field, c.reason) {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		// a /messages schedule id is not a campaign's
		if r := e.do("POST", "/messages/schedule/delete", `{"schedule_id":"`+goneSched+`"}`); !problem(r, "schedule_id", "no schedule") {
			t.Errorf("campaign schedule through /messages: %d %s", r.status, r.body)
		}
		e.scoped("/campaigns/trigger/schedule/", "campaigns.trigger.send", []scopeCase{
			{"create", "campaigns.trigger.schedule.create", body(camp, at)},
			{"update", "campaigns.trigger.schedule.update", `{"campaign_id":"` + camp + `","schedule_id":"nope","schedule":` + later + `}`},
			{"delete", "campaigns.trigger.schedule.delete", `{"campaign_id":"` + camp + `","schedule_id":"nope"}`},
		})
	})
}

func TestScheduledBroadcasts(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		e.track(`{"attributes":[{"external_id":"u1"}]}`)
		now := time.Now().UTC()
		at := now.Add(5 * time.Hour).Truncate(time.Second)
		sched := e.createCampaign(`{"name":"Launch day","messages":` + pushMessage + `,"audience":{"filter":` + goldFilter + `},
			"schedule":{"type":"scheduled","time":"` + iso(at) + `"}}`)
		if r := e.do("POST", "/manage/campaigns/"+sched+"/launch", nil); r.status != 200 {
			t.Fatalf("launch: %d %s", r.status, r.body)
		}
		daily := e.createCampaign(`{"name":"Daily","messages":` + pushMessage + `,"audience":{"filter":` + goldFilter + `},
			"schedule":{"type":"recurring","cron":"30 * * * *","time_zone":"America/New_York"}}`)
		if r := e.do("POST", "/manage/campaigns/"+daily+"/launch", nil); r.status != 200 {
			t.Fatalf("launch: %d %s", r.status, r.body)
		}
		e.createCampaign(`{"name":"Draft","messages":` + pushMessage + `,"audience":{"filter":` + goldFilter + `},
			"schedule":{"type":"scheduled","time":"` + iso(at) + `"}}`) // not launched
		_, msgSched := e.scheduled("/messages/schedule/create", `{"external_user_ids":["u1"],"messages":`+pushMessage+`,
			"schedule":{"time":"`+iso(at.Add(time.Hour))+`"}}`)
		api := e.createCampaign(campaignBody("API", "api_triggered"))
		apiDispatch, apiSched := e.scheduled("/campaigns/trigger/schedule/create", `{"campaign_id":"`+api+`","broadcast":true,
			"schedule":{"time":"`+iso(at.Add(2*time.Hour))+`"}}`)

		next := now.Truncate(time.Hour).Add(30 * time.Minute)
		if !next.After(now) {
			next = next.Add(time.Hour)
		}
		list := func(query string) []any {
			t.Helper()
			r := e.do("GET", "/messages/scheduled_broadcasts?"+query, nil)
			m := r.json(t)
			if r.status != 200 || m["message"] != "success" || len(m) != 2 {
				t.Fatalf("%s: %d %s", query, r.status, r.body)
			}
			return m["scheduled_broadcasts"].([]any)
		}
		got := list("end_time=" + iso(at))
		want := fmt.Sprintf(`[map[id:%s name:Daily next_send_time:%s schedule_type:America/New_York tags:[] type:Campaign] `+
			`map[id:%s name:Launch day next_send_time:%s schedule_type:UTC tags:[] type:Campaign]]`, daily, iso(next), sched, iso(at))
		if fmt.Sprint(got) != want {
			t.Fatalf("until the launch:\n got %v\nwant %s", got, want)
		}
		if got := list("end_time=" + iso(at.Add(-time.Second))); len(got) != 1 {
			t.Fatalf("until just before the launch: %v", got)
		}
		if got := list("end_time=" + iso(next.Add(-time.Second))); len(got) != 0 {
			t.Fatalf("until before anything: %v", got)
		}
		eastern := time.FixedZone("", -4*3600)
		if got := list("end_time=" + url(at.Add(3*time.Hour).In(eastern).Format(time.RFC3339))); len(got) != 2 {
			t.Fatalf("API schedules listed without include_api_schedules: %v", got)
		}
		got = list("include_api_schedules=true&end_time=" + url(at.Add(3*time.Hour).In(eastern).Format(time.RFC3339)))
		if len(got) != 4 {
			t.Fatalf("with API schedules: %v", got)
		}
		msg, camp := got[2].(map[string]any), got[3].(map[string]any)
		if msg["type"] != "Message" || msg["id"] != msgSched || msg["schedule_id"] != msgSched || msg["name"] != "" ||
			msg["next_send_time"] != iso(at.Add(time.Hour)) {
			t.Errorf("message schedule entry = %v", msg)
		}
		if camp["type"] != "Campaign" || camp["id"] != api || camp["name"] != "API" || camp["schedule_id"] != apiSched ||
			camp["dispatch_id"] != apiDispatch || camp["next_send_time"] != iso(at.Add(2*time.Hour)) {
			t.Errorf("trigger schedule entry = %v", camp)
		}
		// a date is its midnight UTC
		if got := list("end_time=" + at.AddDate(0, 0, 1).Format(time.DateOnly)); len(got) != 2 {
			t.Errorf("until tomorrow's date: %v", got)
		}

		for q, field := range map[string]string{"": "end_time", "end_time=soon": "end_time",
			"end_time=" + iso(at) + "&include_api_schedules=yes": "include_api_schedules"} {
			if r := e.do("GET", "/messages/scheduled_broadcasts?"+q, nil); !problem(r, field, "") {
				t.Errorf("%q: %d %s", q, r.status, r.body)
			}
		}
		if r := e.do("GET", "/messages/scheduled_broadcasts?end_time="+iso(at), nil, "Authorization", "Bearer "+e.key("list", "campaigns.list")); r.status != 403 {
			t.Errorf("without messages.schedule_broadcasts: %d", r.status)
		}
		if r := e.do("GET", "/messages/scheduled_broadcasts?end_time="+iso(at), nil, "Authorization", "Bearer "+e.key("b", "messages.schedule_broadcasts")); r.status != 200 {
			t.Errorf("with messages.schedule_broadcasts: %d %s", r.status, r.body)
		}
	})
}

// url escapes a time's "+" for a query.
func url(s string) string { return strings.ReplaceAll(s, "+", "%2B") }
