package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// campaignForm is the editor's fields for a web push campaign to everyone.
func campaignForm(name, title string) url.Values {
	return url.Values{
		"name":     {name},
		"messages": {`{"web_push": {"title": "` + title + `", "alert": "Your perks"}}`},
		"filter":   {`{"AND": []}`},
		"schedule": {`{"type": "immediate"}`},
		"rules":    {`{"rate_limit": {"per_minute": 500}}`},
	}
}

func TestCampaignEditorAndActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn(e.admin)
	if res := b.get("/dashboard/campaigns/new"); res.status != 200 || !strings.Contains(res.body, `id="campaign-form"`) {
		t.Fatalf("new: %d", res.status)
	}
	f := campaignForm("Welcome", "Hi {{${first_name}}}")
	f.Set("preview_user", "ada")
	res := b.post("/dashboard/campaigns", f)
	loc := res.header.Get("Location")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/campaigns/") || !strings.Contains(loc, "user=ada") {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	id := strings.TrimPrefix(loc[:strings.Index(loc, "?")], "/dashboard/campaigns/")
	// saved through the API: the same document GET /manage/campaigns/{id} shows
	var got map[string]any
	if err := json.Unmarshal([]byte(e.apiCall("GET", "/manage/campaigns/"+id, nil).body), &got); err != nil {
		t.Fatal(err)
	}
	if got["name"] != "Welcome" || got["status"] != "draft" || mustJSON(got["rate_limit"]) != `{"per_minute":500}` {
		t.Fatalf("stored campaign: %v", got)
	}
	edit := b.get("/dashboard/campaigns/" + id + "?user=ada")
	for _, want := range []string{`value="Welcome"`, `id="preview_user" form="campaign-form" value="ada"`, "Hi {{${first_name}}}", "rate_limit", `id="live"`, `id="launch"`} {
		if !strings.Contains(edit.body, want) {
			t.Errorf("editor lacks %q", want)
		}
	}
	// edit: a new version with the new name
	if res := b.post("/dashboard/campaigns/"+id, campaignForm("Welcome back", "Hey")); res.status != http.StatusSeeOther {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	if g := e.apiCall("GET", "/manage/campaigns/"+id, nil).body; !strings.Contains(g, `"name":"Welcome back"`) || !strings.Contains(g, `"version":2`) {
		t.Fatalf("updated: %s", g)
	}
	// bad input: a 400 naming the field, the form kept
	for _, tc := range []struct {
		name, field, value, want string
	}{
		{"messages not JSON", "messages", `{"web_push": `, "<code>messages</code>: want a JSON object"},
		{"template syntax", "messages", `{"web_push": {"title": "{{ x | shout }}", "alert": "a"}}`, "<code>messages.web_push.title</code>"},
		{"no name", "name", "", "<code>name</code>: required"},
		{"rules not an object", "rules", `[1]`, "<code>rules</code>: want a JSON object"},
		{"schedule kind", "schedule", `{"type": "sometimes"}`, "<code>schedule.type</code>"},
	} {
		f := campaignForm("Bad", "t")
		f.Set(tc.field, tc.value)
		res := b.post("/dashboard/campaigns", f)
		if res.status != http.StatusBadRequest || !strings.Contains(res.body, tc.want) {
			t.Errorf("%s: %d, want %q in\n%s", tc.name, res.status, tc.want, res.body)
		}
	}
	// launch, pause, resume, stop: each through the API's state rules
	for _, step := range []struct{ action, status string }{
		{"launch", "active"}, {"pause", "paused"}, {"resume", "active"}, {"stop", "stopped"},
	} {
		res := b.post("/dashboard/campaigns/"+id+"/"+step.action, url.Values{"back": {"/dashboard/campaigns"}})
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/dashboard/campaigns?flash=") {
			t.Fatalf("%s: %d %v", step.action, res.status, res.header)
		}
		if g := e.apiCall("GET", "/manage/campaigns/"+id, nil).body; !strings.Contains(g, `"status":"`+step.status+`"`) {
			t.Fatalf("after %s: %s", step.action, g)
		}
	}
	// a refused change comes back as a message, not a failure
	res = b.post("/dashboard/campaigns/"+id+"/launch", nil)
	if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "stopped") {
		t.Errorf("launch of a stopped campaign: %d %v", res.status, res.header)
	}
	if res := b.post("/dashboard/campaigns/"+id+"/explode", nil); res.status != http.StatusBadRequest {
		t.Errorf("unknown action: %d", res.status)
	}
	// the list shows it with its status; its rows refresh alone
	list := b.get("/dashboard/campaigns/rows")
	if !strings.Contains(list.body, "Welcome back") || !strings.Contains(list.body, `class="status stopped"`) {
		t.Errorf("rows: %s", list.body)
	}
}

func TestPreview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn(e.admin)
	e.track(`{"attributes":[{"external_id":"ada","first_name":"Ada","plan":"gold"}]}`)
	preview := func(f url.Values) (int, map[string]any) {
		t.Helper()
		res := b.post("/dashboard/preview", f, "Accept", "application/json")
		var out map[string]any
		if err := json.Unmarshal([]byte(res.body), &out); err != nil {
			t.Fatalf("preview answer %d: %s", res.status, res.body)
		}
		return res.status, out
	}
	f := campaignForm("p", "Hi {{${first_name} | default: 'there'}} ({{custom_attribute.${plan}}})")
	f.Set("preview_user", "ada")
	status, out := preview(f)
	msg, _ := out["messages"].(map[string]any)["web_push"].(map[string]any)
	if status != 200 || out["user_found"] != true || msg["title"] != "Hi Ada (gold)" {
		t.Fatalf("preview for ada: %d %v", status, out)
	}
	f.Set("preview_user", "nobody")
	if _, out := preview(f); out["user_found"] != false || out["messages"] == nil ||
		out["messages"].(map[string]any)["web_push"].(map[string]any)["title"] != "Hi there ()" {
		t.Fatalf("preview for an unknown user: %s", mustJSON(out))
	}
	f.Set("messages", `{"web_push": {"title": "{% if x %}", "alert": "a"}}`)
	if status, out := preview(f); status != 200 || !strings.Contains(mustJSON(out["problems"]), "messages.web_push.title") {
		t.Fatalf("template problem: %d %v", status, out)
	}
	f.Set("messages", `{"web_push": {"title": "{% abort_message('not today') %}", "alert": "a"}}`)
	if _, out := preview(f); !strings.Contains(mustJSON(out["aborted"]), "not today") {
		t.Fatalf("abort: %v", out)
	}
	// with A/B variants: each variant's messages, keyed variant/channel
	v := campaignForm("ab", "")
	v.Del("messages")
	v.Set("preview_user", "ada")
	v.Set("rules", `{"variants": [{"id": "warm", "percent": 50, "messages": {"web_push": {"title": "Dear {{${first_name}}}", "alert": "a"}}},
		{"id": "short", "percent": 50, "messages": {"apple_push": {"alert": {"title": "{{${first_name}}}!", "body": "b"}}}}]}`)
	if status, out := preview(v); status != 200 || out["problems"] != nil || mustJSON(out["messages"]) !=
		`{"short/apple_push":{"alert":{"body":"b","title":"Ada!"}},"warm/web_push":{"alert":"a","title":"Dear Ada"}}` {
		t.Fatalf("variants: %d %s", status, mustJSON(out))
	}
	f.Set("messages", `not json`)
	if status, out := preview(f); status != 400 || !strings.Contains(mustJSON(out["errors"]), `"field":"messages"`) {
		t.Fatalf("bad JSON: %d %v", status, out)
	}
	// the preview is a state-changing verb (POST): it needs the token too
	f.Del("csrf")
	if res := b.postRaw("/dashboard/preview", f, "Origin", e.url); res.status != http.StatusForbidden {
		t.Fatalf("preview without CSRF: %d", res.status)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
