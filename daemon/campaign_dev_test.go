package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The acceptance path, in herald dev: users through /users/track, a
// segment, a personalized campaign, launch; /dev/outbox holds exactly one
// correctly personalized message per eligible device, nothing for
// unsubscribed users or dead tokens (which are pruned); launching again sends
// nothing; /campaigns/trigger/send personalizes with trigger properties.
func TestDevCampaignEndToEnd(t *testing.T) {
	t.Parallel()
	call, devNode := startDevAPI(t)
	var sub struct {
		Endpoint string `json:"endpoint"`
		Keys     struct{ P256dh, Auth string }
	}
	if code := call("POST", "/dev/webpush/subscribe", "", &sub); code != 200 {
		t.Fatalf("subscribe: %d", code)
	}
	subJSON, _ := json.Marshal(map[string]any{"endpoint": sub.Endpoint, "keys": map[string]string{"p256dh": sub.Keys.P256dh, "auth": sub.Keys.Auth}})

	// 40 users: VIPs (even) are the segment; every fourth VIP is
	// unsubscribed; user 2 has a dead token; user 0 also has a web
	// subscription.
	var attrs []string
	wantTitles := map[string]string{} // token -> title
	for i := range 40 {
		a := fmt.Sprintf(`{"external_id":"e%02d","first_name":"Name%d","vip":%v`, i, i, i%2 == 0)
		tok, app := fmt.Sprintf("ios-%02d", i), "dev-ios"
		if i%3 == 1 {
			tok, app = fmt.Sprintf("android-%02d", i), "dev-android"
		}
		if i == 2 {
			tok = "unregistered-2"
		}
		tokens := fmt.Sprintf(`{"app_id":%q,"token":%q}`, app, tok)
		if i == 0 {
			tokens += fmt.Sprintf(`,{"app_id":"dev-web","token":%q}`, subJSON)
		}
		a += `,"push_tokens":[` + tokens + `]`
		if i%8 == 4 {
			a += `,"push_subscribe":"unsubscribed"`
		}
		attrs = append(attrs, a+"}")
		if i%2 == 0 && i%8 != 4 && i != 2 {
			wantTitles[tok] = fmt.Sprintf("Hi Name%d", i)
		}
	}
	var tracked map[string]any
	if code := call("POST", "/users/track", `{"attributes":[`+strings.Join(attrs, ",")+`]}`, &tracked); code != 201 || tracked["errors"] != nil {
		t.Fatalf("track: %d %v", code, tracked)
	}
	var seg struct{ ID string }
	if code := call("POST", "/manage/segments", `{"name":"vip","filter":{"custom_attribute":{"custom_attribute_name":"vip","comparison":"equals","value":true}}}`, &seg); code != 201 {
		t.Fatalf("segment: %d", code)
	}
	var camp struct{ ID string }
	body := fmt.Sprintf(`{"name":"vip push","audience":{"segment_id":%q},"messages":{
	  "apple_push":{"alert":{"title":"Hi {{${first_name}}}","body":"VIP {{custom_attribute.${vip}}}"}},
	  "android_push":{"title":"Hi {{${first_name}}}","alert":"VIP"},
	  "web_push":{"title":"Hi {{${first_name}}}","alert":"VIP"}}}`, seg.ID)
	if code := call("POST", "/manage/campaigns", body, &camp); code != 201 {
		t.Fatalf("campaign: %d", code)
	}
	var launch struct {
		DispatchID string `json:"dispatch_id"`
	}
	if code := call("POST", "/manage/campaigns/"+camp.ID+"/launch", "", &launch); code >= 300 || launch.DispatchID == "" {
		t.Fatalf("launch: %d %+v", code, launch)
	}
	outbox := waitOutbox(t, call, len(wantTitles)+1) // + the web subscription of user 0
	got := map[string]string{}
	for _, rec := range outbox {
		token, _ := rec["token"].(string)
		if rec["channel"] == "webpush" {
			token = "web"
		}
		if _, dup := got[token]; dup {
			t.Errorf("two messages for %s", token)
		}
		got[token] = titleOf(t, rec)
	}
	for tok, title := range wantTitles {
		if got[tok] != title {
			t.Errorf("%s: %q, want %q", tok, got[tok], title)
		}
	}
	if got["web"] != "Hi Name0" {
		t.Errorf("web push: %q", got["web"])
	}
	if d, err := devNode.store.FindDevice(context.Background(), "dev-ios", "unregistered-2", false); err != nil || d.Valid() {
		t.Errorf("dead token not pruned: %+v %v", d, err)
	}

	// launching again: the same dispatch, nothing new
	var again struct {
		DispatchID string `json:"dispatch_id"`
	}
	call("POST", "/manage/campaigns/"+camp.ID+"/launch", "", &again)
	if again.DispatchID != launch.DispatchID {
		t.Errorf("second launch: dispatch %q, want %q", again.DispatchID, launch.DispatchID)
	}
	time.Sleep(500 * time.Millisecond)
	var after []map[string]any
	call("GET", "/dev/outbox", "", &after)
	if len(after) != len(outbox) {
		t.Errorf("after a second launch the outbox has %d messages, want %d", len(after), len(outbox))
	}

	// an API-triggered campaign personalized with trigger properties
	call("DELETE", "/dev/outbox", "", nil)
	body = `{"name":"order","schedule":{"type":"api_triggered"},"audience":{"filter":{"push_enabled":{}}},"messages":{
	  "apple_push":{"alert":{"title":"Order {{api_trigger_properties.${order_id}}}","body":"for {{${first_name}}}"}}}}`
	if code := call("POST", "/manage/campaigns", body, &camp); code != 201 {
		t.Fatalf("triggered campaign: %d", code)
	}
	body = fmt.Sprintf(`{"campaign_id":%q,"recipients":[{"external_user_id":"e06","trigger_properties":{"order_id":"A-17"}}]}`, camp.ID)
	if code := call("POST", "/campaigns/trigger/send", body, &launch); code >= 300 {
		t.Fatalf("trigger: %d", code)
	}
	outbox = waitOutbox(t, call, 1)
	if title := titleOf(t, outbox[0]); title != "Order A-17" || outbox[0]["token"] != "ios-06" {
		t.Errorf("triggered: %q to %v", title, outbox[0]["token"])
	}
}

// waitOutbox polls /dev/outbox until it holds n messages (and no more for a
// moment).
func waitOutbox(t *testing.T, call apiCall, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var outbox []map[string]any
		call("GET", "/dev/outbox", "", &outbox)
		if len(outbox) >= n || time.Now().After(deadline) {
			time.Sleep(300 * time.Millisecond)
			outbox = nil
			call("GET", "/dev/outbox", "", &outbox)
			if len(outbox) != n {
				var toks []any
				for _, r := range outbox {
					toks = append(toks, r["token"])
				}
				t.Fatalf("outbox has %d messages, want %d: %v", len(outbox), n, toks)
			}
			return outbox
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// titleOf reads the title of a message the fakes accepted, whatever the channel.
func titleOf(t *testing.T, rec map[string]any) string {
	t.Helper()
	raw, _ := json.Marshal(rec["payload"])
	var p struct {
		Aps struct {
			Alert struct{ Title string } `json:"alert"`
		} `json:"aps"`
		Message struct {
			Notification struct{ Title string } `json:"notification"`
			Android      struct {
				Notification struct{ Title string } `json:"notification"`
			} `json:"android"`
			Data map[string]string `json:"data"`
		} `json:"message"`
		Notification struct{ Title string } `json:"notification"`
		Android      struct {
			Notification struct{ Title string } `json:"notification"`
		} `json:"android"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("payload %s: %v", raw, err)
	}
	for _, s := range []string{p.Aps.Alert.Title, p.Message.Notification.Title, p.Message.Android.Notification.Title,
		p.Notification.Title, p.Android.Notification.Title, p.Title, p.Message.Data["title"]} {
		if s != "" {
			return s
		}
	}
	return ""
}
