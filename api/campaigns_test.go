package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

// campaignUsers adapts the store and the profiles service to campaigns.Users,
// as the daemon does: an attribute /users/track refuses the send.
type campaignUsers struct {
	st  *store.Store
	svc *profiles.Service
}

func (u campaignUsers) FindUserIDs(ctx context.Context, l profiles.Lookup) ([]int64, []string, error) {
	return u.st.FindUserIDs(ctx, l)
}

func (u campaignUsers) Track(ctx context.Context, body []byte) error {
	req, err := profiles.DecodeTrack(strings.NewReader(string(body)), u.svc.Now(), u.svc.Limits())
	if err != nil {
		return err
	}
	res, err := u.svc.Track(ctx, req)
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return &profiles.RequestError{Message: "recipients' attributes were refused", Errors: res.Errors}
	}
	return nil
}

const pushMessage = `{"apple_push":{"alert":{"title":"Hi {{${first_name} | default: 'there'}}","body":"New for you"}}}`

// campaignBody is a valid campaign with the given name and schedule type.
func campaignBody(name, schedule string) string {
	return `{"name":` + fmt.Sprintf("%q", name) + `,"messages":` + pushMessage +
		`,"audience":{"filter":` + goldFilter + `},"schedule":{"type":"` + schedule + `"}}`
}

// createCampaign creates a campaign and returns its id.
func (e *env) createCampaign(body string) string {
	e.t.Helper()
	r := e.do("POST", "/manage/campaigns", body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create campaign: %d %s", r.status, r.body)
	}
	return r.json(e.t)["id"].(string)
}

// dispatch returns a dispatch row from the store.
func (e *env) dispatch(id string) *campaigns.Dispatch {
	e.t.Helper()
	d, err := e.store.Dispatch(context.Background(), id)
	if err != nil {
		e.t.Fatalf("dispatch %s: %v", id, err)
	}
	return d
}

// enqueued fails unless the dispatch's task is on the service's queue.
func (e *env) enqueued(dispatchID string) {
	e.t.Helper()
	info, err := asynq.NewInspectorFromRedisClient(e.rdb).GetTaskInfo(e.queue, "dispatch:"+dispatchID)
	if err != nil || info.Type != "campaign:dispatch" {
		e.t.Fatalf("dispatch task %s: %v %v", dispatchID, info, err)
	}
}

var lineCol = regexp.MustCompile(`^\d+:\d+: `)

func TestCampaignCreate(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		r := e.do("POST", "/manage/campaigns", `{"name":"Welcome","messages":`+pushMessage+`,
			"audience":{"filter":{"AND":[`+goldFilter+`]}},"send_by":"2030-01-02T03:04:05Z"}`)
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		c := r.json(t)
		if len(c["id"].(string)) != 32 || c["name"] != "Welcome" || c["status"] != "draft" || c["version"] != 1.0 ||
			c["recipient_subscription_state"] != "subscribed" || c["send_by"] != "2030-01-02T03:04:05Z" ||
			c["created_at"] == "" || c["updated_at"] != c["created_at"] {
			t.Fatalf("created campaign = %s", r.body)
		}
		for _, want := range []string{`"schedule":{"type":"immediate"}`, `"audience":{"filter":{"AND":[`,
			`"messages":{"apple_push":{"alert":{"body":"New for you","title":"Hi {{${first_name} | default: 'there'}}"}}}`} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("created campaign lacks %s: %s", want, r.body)
			}
		}
		if r := e.do("POST", "/manage/campaigns", campaignBody("No send_by", "api_triggered")); strings.Contains(string(r.body), `"send_by":`) {
			t.Errorf("send_by shown when unset: %s", r.body)
		}

		cases := []struct {
			name, body, field, reason string
		}{
			{"name", `{"messages":` + pushMessage + `,"audience":{"filter":` + goldFilter + `}}`, "name", "required"},
			{"no messages", `{"name":"x","audience":{"filter":` + goldFilter + `}}`, "messages", "at least one message"},
			{"no audience", `{"name":"x","messages":` + pushMessage + `}`, "audience", "give segment_id or filter"},
			{"template", `{"name":"x","messages":{"apple_push":{"alert":{"title":"Hi {{ first_name","body":"b"}}},"audience":{"filter":` + goldFilter + `}}`,
				"messages.apple_push.alert.title", ""},
			{"email", `{"name":"x","messages":{"email":{"subject":"s","body":"b"}},"audience":{"filter":` + goldFilter + `}}`,
				"messages.email", "Herald has no email channel"},
			{"unknown channel", `{"name":"x","messages":{"pigeon":{}},"audience":{"filter":` + goldFilter + `}}`,
				"messages.pigeon", `unknown message channel \"pigeon\"`},
			{"not an object", `{"name":"x","messages":{"android_push":"hi"},"audience":{"filter":` + goldFilter + `}}`,
				"messages.android_push", "want a JSON object"},
			{"filter", `{"name":"x","messages":` + pushMessage + `,"audience":{"filter":{"AND":[` + goldFilter +
				`,{"custom_attribute":{"custom_attribute_name":"age","comparison":"greater","value":3}}]}}}`,
				"audience.filter.AND[1].comparison", `unknown comparison \"greater\" for number`},
			{"segment", `{"name":"x","messages":` + pushMessage + `,"audience":{"segment_id":"no-such-segment"}}`,
				"audience.segment_id", "no-such-segment"},
			{"both", `{"name":"x","messages":` + pushMessage + `,"audience":{"segment_id":"s","filter":` + goldFilter + `}}`,
				"audience", "not both"},
			{"state", `{"name":"x","messages":` + pushMessage + `,"audience":{"filter":` + goldFilter + `},"recipient_subscription_state":"maybe"}`,
				"recipient_subscription_state", `got \"maybe\"`},
			{"schedule", `{"name":"x","messages":` + pushMessage + `,"audience":{"filter":` + goldFilter + `},"schedule":{"type":"weekly"}}`,
				"schedule.type", `got \"weekly\"`},
			{"unknown field", `{"name":"x","colour":"red"}`, "body", `unknown field \"colour\"`},
			{"bad JSON", `{"name":`, "body", "invalid JSON"},
		}
		for _, c := range cases {
			r := e.do("POST", "/manage/campaigns", c.body)
			if !problem(r, c.field, c.reason) || r.json(t)["message"] != "invalid campaign" {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		// the template error carries the line and column
		r = e.do("POST", "/manage/campaigns", `{"name":"x","messages":{"apple_push":{"alert":{"title":"Hi\n {% if %}","body":"b"}}},"audience":{"filter":`+goldFilter+`}}`)
		errs, _ := r.json(t)["errors"].([]any)
		if len(errs) == 0 {
			t.Errorf("template error: %s", r.body)
		}
		for _, pe := range errs {
			p := pe.(map[string]any)
			if p["field"] != "messages.apple_push.alert.title" || !lineCol.MatchString(p["reason"].(string)) ||
				!strings.HasPrefix(p["reason"].(string), "2:2: ") {
				t.Errorf("template error without its line:col: %s", r.body)
			}
		}
		// every problem at once
		r = e.do("POST", "/manage/campaigns", `{"messages":{"sms":{}},"audience":{}}`)
		if !problem(r, "name", "required") || !problem(r, "messages.sms", "no sms channel") || !problem(r, "audience", "give segment_id") {
			t.Errorf("several problems: %s", r.body)
		}
		// a body over the limit stays a 413
		big := `{"name":"` + strings.Repeat("x", 5<<20) + `"}`
		if r := e.do("POST", "/manage/campaigns", big); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("big body: %d %s", r.status, r.body)
		}
	})
}

func TestCampaignGetListUpdate(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		seg := e.createSegment("Gold", goldFilter)
		first := e.createCampaign(`{"name":"First","messages":` + pushMessage + `,"audience":{"segment_id":"` + seg + `"}}`)
		time.Sleep(5 * time.Millisecond) // distinct created_at (milliseconds) for a stable order
		second := e.createCampaign(campaignBody("Second", "immediate"))

		r := e.do("GET", "/manage/campaigns/"+first, nil)
		c := r.json(t)
		if r.status != 200 || c["name"] != "First" || !strings.Contains(string(r.body), `"audience":{"segment_id":"`+seg+`"}`) ||
			fmt.Sprint(c["dispatches"]) != "[]" {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/manage/campaigns/nope", nil); r.status != 404 || r.json(t)["message"] != `campaign "nope" not found` {
			t.Errorf("get unknown: %d %s", r.status, r.body)
		}

		r = e.do("GET", "/manage/campaigns", nil)
		list, _ := r.json(t)["campaigns"].([]any)
		if r.status != 200 || len(list) != 2 || list[0].(map[string]any)["id"] != second || list[1].(map[string]any)["id"] != first {
			t.Fatalf("list (newest first): %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/manage/campaigns?page=1", nil); r.status != 200 || string(r.body) != "{\"campaigns\":[]}\n" {
			t.Errorf("page past the end: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/manage/campaigns?page=x", nil); r.status != 400 {
			t.Errorf("bad page: %d %s", r.status, r.body)
		}

		r = e.do("PUT", "/manage/campaigns/"+first, campaignBody("First v2", "api_triggered"))
		c = r.json(t)
		if r.status != 200 || c["version"] != 2.0 || c["name"] != "First v2" || c["status"] != "draft" ||
			!strings.Contains(string(r.body), `"schedule":{"type":"api_triggered"}`) || c["updated_at"] == "" {
			t.Fatalf("update: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/manage/campaigns/"+first, nil); r.json(t)["version"] != 2.0 {
			t.Errorf("version after update: %s", r.body)
		}
		if r := e.do("PUT", "/manage/campaigns/"+first, `{"name":"","messages":{"email":{}}}`); !problem(r, "name", "required") ||
			!problem(r, "messages.email", "no email channel") {
			t.Errorf("invalid update: %d %s", r.status, r.body)
		}
		if r := e.do("PUT", "/manage/campaigns/nope", campaignBody("x", "immediate")); r.status != 404 {
			t.Errorf("update unknown: %d %s", r.status, r.body)
		}
	})
}

func TestCampaignLifecycle(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		id := e.createCampaign(campaignBody("Launch me", "immediate"))
		r := e.do("POST", "/manage/campaigns/"+id+"/launch", nil)
		dispatchID, _ := r.json(t)["dispatch_id"].(string)
		if r.status != 200 || dispatchID == "" {
			t.Fatalf("launch: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/manage/campaigns/"+id+"/launch", nil); r.status != 200 || r.json(t)["dispatch_id"] != dispatchID {
			t.Fatalf("second launch: %d %s, want dispatch %s", r.status, r.body, dispatchID)
		}
		d := e.dispatch(dispatchID)
		if d.CampaignID != id || d.CampaignVersion != 1 || d.Status != campaigns.DispatchRunning || d.Occurrence != "launch" {
			t.Errorf("dispatch row = %+v", d)
		}
		e.enqueued(dispatchID)

		r = e.do("GET", "/manage/campaigns/"+id, nil)
		ds, _ := r.json(t)["dispatches"].([]any)
		if r.json(t)["status"] != "active" || len(ds) != 1 {
			t.Fatalf("after launch: %s", r.body)
		}
		got := ds[0].(map[string]any)
		if got["id"] != dispatchID || got["status"] != "running" || got["pages"] != 0.0 || got["pages_done"] != 0.0 ||
			got["campaign_version"] != 1.0 || got["created_at"] == "" {
			t.Errorf("dispatch view = %v", got)
		}

		steps := []struct {
			action string
			status int
			want   string // campaign status after, or the 409 message
		}{
			{"pause", 200, "paused"},
			{"pause", 409, "cannot pause: campaign " + id + " is paused"},
			{"resume", 200, "active"},
			{"resume", 409, "cannot resume: campaign " + id + " is active"},
			{"pause", 200, "paused"},
			{"stop", 200, "stopped"},
			{"stop", 409, "cannot stop: campaign " + id + " is stopped"},
			{"resume", 409, "cannot resume: campaign " + id + " is stopped"},
			{"launch", 409, "cannot launch: campaign " + id + " is stopped"},
		}
		for i, s := range steps {
			r := e.do("POST", "/manage/campaigns/"+id+"/"+s.action, nil)
			if r.status != s.status {
				t.Fatalf("step %d %s: %d %s", i, s.action, r.status, r.body)
			}
			if s.status == 409 {
				if m := r.json(t)["message"]; m != s.want {
					t.Errorf("step %d %s: message %q, want %q", i, s.action, m, s.want)
				}
				continue
			}
			if m := r.json(t)["message"]; m != "success" {
				t.Errorf("step %d %s: %s", i, s.action, r.body)
			}
			if got := e.do("GET", "/manage/campaigns/"+id, nil).json(t)["status"]; got != s.want {
				t.Errorf("step %d %s: status %v, want %s", i, s.action, got, s.want)
			}
		}
		if d := e.dispatch(dispatchID); d.Status != campaigns.DispatchStopped {
			t.Errorf("dispatch after stop: %s", d.Status)
		}

		// an API-triggered campaign is not launched
		trig := e.createCampaign(campaignBody("Triggered", "api_triggered"))
		if r := e.do("POST", "/manage/campaigns/"+trig+"/launch", nil); r.status != 409 ||
			!strings.Contains(r.json(t)["message"].(string), "is api_triggered") {
			t.Errorf("launch api_triggered: %d %s", r.status, r.body)
		}
		// a launched version stays with its dispatch
		next := e.createCampaign(campaignBody("Versioned", "immediate"))
		d1 := e.do("POST", "/manage/campaigns/"+next+"/launch", nil).json(t)["dispatch_id"].(string)
		if r := e.do("PUT", "/manage/campaigns/"+next, campaignBody("Versioned v2", "immediate")); r.json(t)["version"] != 2.0 {
			t.Fatalf("update after launch: %s", r.body)
		}
		if d := e.dispatch(d1); d.CampaignVersion != 1 {
			t.Errorf("dispatch version after update = %d", d.CampaignVersion)
		}
		for _, action := range []string{"launch", "pause", "resume", "stop"} {
			if r := e.do("POST", "/manage/campaigns/nope/"+action, nil); r.status != 404 {
				t.Errorf("%s unknown: %d %s", action, r.status, r.body)
			}
		}
	})
}

func TestBrazeCampaignsListAndDetails(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		var ids []string
		for i := range campaignsPage + 1 {
			ids = append(ids, e.createCampaign(campaignBody(fmt.Sprintf("c%03d", i), "immediate")))
			time.Sleep(2 * time.Millisecond) // created_at orders the list
		}
		lister := e.key("lister", "campaigns.list")
		r := e.do("GET", "/campaigns/list", nil, "Authorization", "Bearer "+lister)
		m := r.json(t)
		list, _ := m["campaigns"].([]any)
		if r.status != 200 || m["message"] != "success" || len(list) != campaignsPage {
			t.Fatalf("list: %d %.300s", r.status, r.body)
		}
		c0 := list[0].(map[string]any)
		if len(c0) != 5 || c0["id"] != ids[0] || c0["name"] != "c000" || c0["is_api_campaign"] != false ||
			fmt.Sprint(c0["tags"]) != "[]" || c0["last_edited"] == "" {
			t.Errorf("first entry (oldest first) = %v", c0)
		}
		r = e.do("GET", "/campaigns/list?page=1", nil)
		if list, _ := r.json(t)["campaigns"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != ids[campaignsPage] {
			t.Errorf("page 1: %s", r.body)
		}
		r = e.do("GET", "/campaigns/list?sort_direction=desc&include_archived=true", nil)
		if list, _ := r.json(t)["campaigns"].([]any); len(list) != campaignsPage || list[0].(map[string]any)["id"] != ids[campaignsPage] {
			t.Errorf("desc: %.300s", r.body)
		}
		// last_edit.time[gt] keeps what was edited after
		time.Sleep(5 * time.Millisecond)
		cut := time.Now().UTC().Format(time.RFC3339Nano)
		time.Sleep(5 * time.Millisecond)
		e.do("PUT", "/manage/campaigns/"+ids[7], campaignBody("edited", "immediate"))
		r = e.do("GET", "/campaigns/list?last_edit.time%5Bgt%5D="+cut, nil)
		if list, _ := r.json(t)["campaigns"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "edited" {
			t.Errorf("last_edit.time[gt]: %s", r.body)
		}
		for _, q := range []string{"page=-1", "sort_direction=up", "include_archived=maybe", "last_edit.time%5Bgt%5D=yesterday"} {
			if r := e.do("GET", "/campaigns/list?"+q, nil); r.status != 400 {
				t.Errorf("%s: %d %s", q, r.status, r.body)
			}
		}
		if r := e.do("GET", "/campaigns/details?campaign_id="+ids[0], nil, "Authorization", "Bearer "+lister); r.status != 403 {
			t.Errorf("details with a campaigns.list key: %d", r.status)
		}

		id := e.createCampaign(`{"name":"Details","messages":{"apple_push":{"alert":"Hi","extra":{"k":"v"}},"content_card":{"type":"CLASSIC","title":"t","description":"d"}},
			"audience":{"filter":` + goldFilter + `},"schedule":{"type":"immediate"}}`)
		r = e.do("GET", "/campaigns/details?campaign_id="+id, nil, "Authorization", "Bearer "+e.key("details", "campaigns.details"))
		d := r.json(t)
		if r.status != 200 || d["message"] != "success" || d["name"] != "Details" || d["draft"] != true || d["enabled"] != false ||
			d["archived"] != false || d["schedule_type"] != "immediate" || fmt.Sprint(d["channels"]) != "[ios_push content_cards]" ||
			d["first_sent"] != nil || d["last_sent"] != nil || fmt.Sprint(d["tags"]) != "[]" || d["created_at"] == "" ||
			d["description"] != "" || fmt.Sprint(d["conversion_behaviors"]) != "[]" {
			t.Fatalf("details: %d %s", r.status, r.body)
		}
		ios := d["messages"].(map[string]any)["apple_push"].(map[string]any)
		if ios["channel"] != "ios_push" || ios["name"] != "apple_push" || ios["alert"] != "Hi" || fmt.Sprint(ios["extra"]) != "map[k:v]" {
			t.Errorf("details message = %v", ios)
		}
		e.do("POST", "/manage/campaigns/"+id+"/launch", nil)
		d = e.do("GET", "/campaigns/details?campaign_id="+id, nil).json(t)
		if d["draft"] != false || d["enabled"] != true || d["first_sent"] == nil || d["first_sent"] != d["last_sent"] {
			t.Errorf("details after launch: %v", d)
		}
		if r := e.do("GET", "/campaigns/details?campaign_id=nope", nil); r.status != 404 {
			t.Errorf("details unknown: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/campaigns/details", nil); r.status != 400 || r.json(t)["message"] != "campaign_id is required" {
			t.Errorf("details without id: %d %s", r.status, r.body)
		}
	})
}

const campaignsPage = 100
