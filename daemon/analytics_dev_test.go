package daemon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamReceiver is an export-stream connector's receiver that is down
// (503) for its first `down` batches, then keeps every event.
type streamReceiver struct {
	mu     sync.Mutex
	down   int
	failed int
	events []map[string]any
}

func (s *streamReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed < s.down {
		s.failed++
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			s.events = append(s.events, e)
		}
	}
}

func (s *streamReceiver) byType() (map[string]int, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, ids, dup := map[string]int{}, map[string]bool{}, false
	for _, e := range s.events {
		out[e["event_type"].(string)]++
		id := e["id"].(string)
		dup = dup || ids[id]
		ids[id] = true
	}
	return out, len(s.events), dup
}

// Issue 9's acceptance path in herald dev: after a campaign, the data
// series, the stats endpoint and the live stream show the numbers of the
// fakes' outbox; an open and a conversion posted afterwards appear live;
// the export stream delivers every event to a receiver across its outage.
func TestDevAnalyticsEndToEnd(t *testing.T) {
	t.Parallel()
	rcv := &streamReceiver{down: 3}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "herald.yaml")
	conf := fmt.Sprintf("export_stream:\n  connectors:\n    - name: warehouse\n      url: %s\n      token: t0ken\n      batch_size: 10\n      flush_interval: 100ms\n", srv.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	call, _, base := startDev(t, "-c", cfg)

	// 12 users: 8 on iOS, 4 on Android, user a03's token dead.
	var attrs []string
	for i := range 12 {
		tok, app := fmt.Sprintf("ios-a%02d", i), "dev-ios"
		if i%3 == 2 {
			tok, app = fmt.Sprintf("android-a%02d", i), "dev-android"
		}
		if i == 3 {
			tok = "unregistered-a03"
		}
		attrs = append(attrs, fmt.Sprintf(`{"external_id":"a%02d","first_name":"N%d","cohort":"live","push_tokens":[{"app_id":%q,"token":%q}]}`, i, i, app, tok))
	}
	if code := call("POST", "/users/track", `{"attributes":[`+strings.Join(attrs, ",")+`]}`, nil); code != 201 {
		t.Fatalf("track: %d", code)
	}
	var camp struct{ ID string }
	if code := call("POST", "/manage/campaigns", `{"name":"live","audience":{"filter":{"custom_attribute":{"custom_attribute_name":"cohort","comparison":"equals","value":"live"}}},
	  "messages":{"apple_push":{"alert":"Hi {{${first_name}}}"},"android_push":{"title":"Hi","alert":"{{${first_name}}}"}},
	  "conversion_events":[{"type":"custom_event","name":"bought","window":"1d"}]}`, &camp); code != 201 {
		t.Fatalf("campaign: %d", code)
	}
	var launch struct {
		DispatchID string `json:"dispatch_id"`
	}
	if code := call("POST", "/manage/campaigns/"+camp.ID+"/launch", "", &launch); code >= 300 {
		t.Fatalf("launch: %d", code)
	}
	outbox := waitOutbox(t, call, 11)
	perChannel := map[string]int64{}
	for _, m := range outbox {
		perChannel[map[string]string{"apns": "apple_push", "fcm": "android_push"}[m["channel"].(string)]]++
	}
	if perChannel["apple_push"] != 7 || perChannel["android_push"] != 4 {
		t.Fatalf("outbox by channel %v", perChannel)
	}

	// An open from the SDK (of a message the outbox holds) and a conversion.
	var app struct {
		SDKKey string `json:"sdk_key"`
	}
	call("GET", "/manage/apps/dev-ios", "", &app)
	var opened map[string]any
	for _, m := range outbox {
		if m["token"] == "ios-a00" {
			opened = m
		}
	}
	payload := opened["payload"].(map[string]any)
	open := fmt.Sprintf(`{"device":{"device_id":"d0"},"user_id":"a00","items":[{"id":"o1","type":"push_open","time":%q,
	  "data":{"herald_message_id":%q,"herald_dispatch_id":%q}}]}`, time.Now().UTC().Format(time.RFC3339),
		payload["herald_message_id"], payload["herald_dispatch_id"])
	if code := sdkPost(t, base, app.SDKKey, open); code != 200 {
		t.Fatalf("sdk open: %d", code)
	}
	// a00 opened the push and started a session in the same batch: a direct
	// open only. a02 (Android) and a04 (iOS) opened the app without it:
	// influenced opens, counted once however many sessions.
	if code := sdkPost(t, base, app.SDKKey, strings.Replace(open, `"items":[`, `"items":[{"id":"s0","type":"session_start","time":"`+
		time.Now().UTC().Format(time.RFC3339Nano)+`"},`, 1)); code != 200 {
		t.Fatalf("sdk open with a session: %d", code)
	}
	var android struct {
		SDKKey string `json:"sdk_key"`
	}
	call("GET", "/manage/apps/dev-android", "", &android)
	for i, u := range []struct{ key, user string }{{android.SDKKey, "a02"}, {app.SDKKey, "a04"}, {app.SDKKey, "a04"}} {
		session := fmt.Sprintf(`{"device":{"device_id":"d%d"},"user_id":%q,"items":[{"id":"s%d","type":"session_start","time":%q}]}`,
			i, u.user, i+10, time.Now().UTC().Format(time.RFC3339Nano))
		if code := sdkPost(t, base, u.key, session); code != 200 {
			t.Fatalf("session of %s: %d", u.user, code)
		}
	}
	// a click on the campaign's in-app message (its id is "<campaign>:<version>")
	click := fmt.Sprintf(`{"device":{"device_id":"d0"},"user_id":"a05","items":[{"id":"c1","type":"in_app_click","time":%q,
	  "data":{"message_id":"%s:1"}}]}`, time.Now().UTC().Format(time.RFC3339Nano), camp.ID)
	if code := sdkPost(t, base, app.SDKKey, click); code != 200 {
		t.Fatalf("sdk click: %d", code)
	}
	if code := call("POST", "/users/track", fmt.Sprintf(`{"events":[{"external_id":"a01","name":"bought","time":%q}]}`,
		time.Now().UTC().Format(time.RFC3339Nano)), nil); code != 201 {
		t.Fatalf("conversion event: %d", code)
	}

	// The live stream: its first event already holds it all.
	live := readLive(t, base, camp.ID)
	counts := live["counts"].(map[string]any)
	want := map[string]map[string]float64{
		"apple_push":     {"send": 8, "delivery": 7, "bounce": 1, "open": 1, "influenced_open": 1},
		"android_push":   {"send": 4, "delivery": 4, "influenced_open": 1},
		"in_app_message": {"click": 1},
	}
	for ch, kinds := range want {
		for k, n := range kinds {
			if got, _ := counts[ch].(map[string]any)[k].(float64); got != n {
				t.Errorf("live %s.%s = %v, want %v (all %v)", ch, k, got, n, counts)
			}
		}
	}
	lat := live["provider_latency_ms"].(map[string]any)
	for ch, n := range map[string]float64{"apple_push": 8, "android_push": 4} {
		l, _ := lat[ch].(map[string]any)
		if l["count"] != n || l["p50"].(float64) <= 0 || l["p99"].(float64) < l["p50"].(float64) {
			t.Errorf("latency of %s: %v, want %v round trips", ch, l, n)
		}
	}
	if conv := fmt.Sprint(live["conversions"]); conv != "map[:map[0:1]]" {
		t.Errorf("live conversions %s", conv)
	}

	// Prometheus counts the stored engagement events.
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, line := range []string{`herald_engagement_events_total{channel="apple_push",kind="open"} 1`,
		`herald_engagement_events_total{channel="apple_push",kind="influenced_open"} 1`,
		`herald_engagement_events_total{channel="android_push",kind="influenced_open"} 1`} {
		if !strings.Contains(string(metrics), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}

	// The stats endpoint and the data series agree with the outbox.
	var stats struct {
		Dispatches []struct {
			Totals map[string]int64 `json:"totals"`
		} `json:"dispatches"`
	}
	call("GET", "/manage/campaigns/"+camp.ID+"/stats", "", &stats)
	if len(stats.Dispatches) != 1 || stats.Dispatches[0].Totals["delivered"] != int64(len(outbox)) || stats.Dispatches[0].Totals["dropped"] != 1 {
		t.Errorf("stats %+v, outbox %d", stats, len(outbox))
	}
	var series struct {
		Data []struct {
			Messages map[string][]map[string]any `json:"messages"`
		} `json:"data"`
	}
	call("GET", "/campaigns/data_series?campaign_id="+camp.ID+"&length=1", "", &series)
	sent, opens, total, clicks := map[string]float64{}, 0.0, 0.0, 0.0
	num := func(v any) float64 { f, _ := v.(float64); return f }
	for _, d := range series.Data {
		for ch, vs := range d.Messages {
			for _, v := range vs {
				sent[ch] += num(v["sent"])
				opens += num(v["direct_opens"])
				total += num(v["total_opens"])
				clicks += num(v["clicks"])
			}
		}
	}
	if sent["ios_push"] != 8 || sent["android_push"] != 4 || opens != 1 || total != 3 || clicks != 1 {
		t.Errorf("data series sent %v, direct opens %v, total opens %v, in-app clicks %v", sent, opens, total, clicks)
	}

	// The export stream: every event once, across the receiver's outage.
	wantTypes := map[string]int{"users.messages.pushnotification.Send": 12, "users.messages.pushnotification.Delivery": 11,
		"users.messages.pushnotification.Bounce": 1, "users.messages.pushnotification.Open": 1,
		"users.messages.pushnotification.InfluencedOpen": 2, "users.messages.inappmessage.Click": 1, "users.behaviors.CustomEvent": 1}
	deadline := time.Now().Add(30 * time.Second)
	for {
		types, n, dup := rcv.byType()
		if fmt.Sprint(types) == fmt.Sprint(wantTypes) && !dup {
			break
		}
		if time.Now().After(deadline) || dup {
			t.Fatalf("export stream received %d events %v (duplicate ids %v), want %v", n, types, dup, wantTypes)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if rcv.failed != 3 {
		t.Errorf("the receiver refused %d batches, want 3", rcv.failed)
	}
}

// sdkPost posts an SDK batch with the app's SDK key.
func sdkPost(t *testing.T, base, key, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/sdk/v1/data", strings.NewReader(body))
	req.Header.Set("X-Herald-Api-Key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Logf("sdk: %d %s", res.StatusCode, b)
	}
	return res.StatusCode
}

// readLive reads the first event of a campaign's live stream.
func readLive(t *testing.T, base, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/manage/campaigns/"+id+"/live", nil)
	req.Header.Set("Authorization", "Bearer "+devTestKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("live: %d %s", res.StatusCode, ct)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && event == "live" {
			var out map[string]any
			if err := json.Unmarshal([]byte(data), &out); err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	t.Fatalf("live stream ended: %v", sc.Err())
	return nil
}
