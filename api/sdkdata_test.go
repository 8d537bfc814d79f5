package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/api"
	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/sdkauth"
	"github.com/herald-oss/herald/seal"
	"github.com/herald-oss/herald/store"
	"github.com/herald-oss/herald/templates"
)

// sdkEnv is an API server for the SDK endpoints over a real store, with
// action-based triggers on the profile service's event hook, a recording
// in-app service and a recording engagement recorder.
type sdkEnv struct {
	t     *testing.T
	url   string
	st    *store.Store
	camp  *campaigns.Service
	app   *profiles.App
	apps  *profiles.AppService
	inapp *recordingInApp
	eng   *recordingEngagement
}

type recordingInApp struct {
	mu     sync.Mutex
	before []*profiles.Profile
	answer []map[string]any
}

func (r *recordingInApp) Eligible(_ context.Context, _ *profiles.App, before *profiles.Profile, _ time.Time) ([]map[string]any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.before = append(r.before, before)
	return r.answer, nil
}

func (r *recordingInApp) MinInterval() time.Duration { return 45 * time.Second }

type recordingEngagement struct {
	mu   sync.Mutex
	user []int64
	got  []campaigns.SDKEngagement
}

func (r *recordingEngagement) RecordEngagement(_ context.Context, _ *profiles.App, userID int64, es []campaigns.SDKEngagement) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.user = append(r.user, userID)
	r.got = append(r.got, es...)
	return nil
}

type sdkEnvOptions struct{ noInApp, noEngagement bool }

func newSDKEnv(t *testing.T, driver string, o ...sdkEnvOptions) *sdkEnv {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, driver)
	box, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	apps := profiles.NewAppService(st, box, nil)
	app, err := apps.Create(ctx, "web-app", "Web", profiles.PlatformWeb)
	if err != nil {
		t.Fatal(err)
	}
	triggers := campaigns.NewTriggers(st, campaigns.TriggerOptions{})
	svc := profiles.NewService(st, profiles.Options{OnEvents: triggers.OnEvents})
	addr, _ := testdeps.RedisOrMini(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	camp := campaigns.NewService(st, queue.NewClient(rdb, queue.ClientOptions{Queue: "herald-test-" + testdeps.Random(8), Retention: time.Hour}),
		templates.New(templates.Options{}), nil, nil)
	e := &sdkEnv{t: t, st: st, camp: camp, app: app, apps: apps, inapp: &recordingInApp{answer: []map[string]any{{"id": "m1"}}}, eng: &recordingEngagement{}}
	deps := api.Deps{Profiles: svc, Apps: apps, InApp: e.inapp, Engagement: e.eng}
	if len(o) > 0 && o[0].noInApp {
		deps.InApp = nil
	}
	if len(o) > 0 && o[0].noEngagement {
		deps.Engagement = nil
	}
	hs := httptest.NewServer(api.New(deps, api.Options{}))
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

// post sends a batch with the app's SDK key; headers are name, value pairs.
func (e *sdkEnv) post(body any, headers ...string) response {
	e.t.Helper()
	var data []byte
	switch b := body.(type) {
	case []byte:
		data = b
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest("POST", e.url+"/sdk/v1/data", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Herald-Api-Key", e.app.SDKKey)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: buf.Bytes()}
}

// ok posts a batch and fails unless it answers 200.
func (e *sdkEnv) ok(body any) sdkAnswer {
	e.t.Helper()
	r := e.post(body)
	if r.status != http.StatusOK {
		e.t.Fatalf("POST /sdk/v1/data: %d %s", r.status, r.body)
	}
	var a sdkAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

type sdkAnswer struct {
	Message        string                  `json:"message"`
	ItemsProcessed int                     `json:"items_processed"`
	ItemsReplayed  int                     `json:"items_replayed"`
	Config         map[string]any          `json:"config"`
	InAppMessages  []map[string]any        `json:"in_app_messages"`
	Errors         []profiles.SDKItemError `json:"errors"`
}

// profileOf loads a user's profile by external id, or by the device's
// anonymous alias when ext is "device:<id>"; nil when there is none.
func (e *sdkEnv) profileOf(ext string) *profiles.Profile {
	e.t.Helper()
	l := profiles.Lookup{ExternalIDs: []string{ext}}
	if dev, ok := strings.CutPrefix(ext, "device:"); ok {
		l = profiles.Lookup{Aliases: []profiles.Alias{profiles.DeviceAlias(e.app.ID, dev)}}
	}
	ids, _, err := e.st.FindUserIDs(context.Background(), l)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(ids) == 0 {
		return nil
	}
	ps, err := e.st.Profiles(context.Background(), ids)
	if err != nil || len(ps) != 1 {
		e.t.Fatalf("profiles %v: %v", ids, err)
	}
	return ps[0]
}

func sessions(p *profiles.Profile) int64 {
	var n int64
	for _, a := range p.Apps {
		n += a.Sessions
	}
	return n
}

func eventCount(p *profiles.Profile, name string) int64 {
	for _, s := range p.Events {
		if s.Name == name {
			return s.Count
		}
	}
	return 0
}

func device(id string) map[string]any {
	return map[string]any{"device_id": id, "os": "Linux", "model": "Chrome 120", "locale": "de-DE",
		"time_zone": "Europe/Berlin", "app_version": "1.2.0", "sdk_version": "0.1.0"}
}

func item(id, typ string, at time.Time, data map[string]any) map[string]any {
	m := map[string]any{"id": id, "type": typ, "time": at.UTC().Format(time.RFC3339Nano)}
	if data != nil {
		m["data"] = data
	}
	return m
}

func batch(userID any, dev string, items ...map[string]any) map[string]any {
	if items == nil {
		items = []map[string]any{}
	}
	return map[string]any{"device": device(dev), "user_id": userID, "items": items}
}

const (
	testP256dh = "BAEKH5-T-FsUpQdSpiA7VZHg6KZdzzlxuXFsXCoWNjxki4wKzM4hWBvTcfhUXaUxE_owsZy4bnHTBnZR2iMkjHg"
	testAuth   = "z9bOBtdpfLUEPnaAuDXEwA"
)

func TestSDKDataKeyAndCORS(t *testing.T) {
	forEachStore(t, func(t *testing.T, driver string) {
		e := newSDKEnv(t, driver)
		for _, key := range []string{"", "hsdk_unknown"} {
			r := e.post(batch("u1", "d1"), "X-Herald-Api-Key", key)
			if r.status != http.StatusUnauthorized || r.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("key %q: %d %s %v", key, r.status, r.body, r.header)
			}
		}
		req, _ := http.NewRequest("OPTIONS", e.url+"/sdk/v1/data", nil)
		req.Header.Set("Origin", "https://shop.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type, x-herald-api-key, content-encoding")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		h := res.Header
		if res.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Herald-Api-Key") {
			t.Fatalf("preflight: %d %v", res.StatusCode, h)
		}
		a := e.ok(batch("u1", "d1"))
		if a.Message != "success" || a.Config["min_in_app_interval_s"] != 45.0 || a.Config["max_items"] != 100.0 || a.Errors == nil || a.InAppMessages == nil {
			t.Fatalf("answer to an empty batch: %+v", a)
		}
	})
}

// Every item kind, gzipped: each is applied to the store or handed to the
// engagement recorder.
func TestSDKDataAppliesEveryItem(t *testing.T) {
	forEachStore(t, func(t *testing.T, driver string) {
		e := newSDKEnv(t, driver)
		at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
		sub := map[string]any{"endpoint": "https://push.example/sub/1", "expirationTime": nil,
			"keys": map[string]any{"p256dh": testP256dh, "auth": testAuth}}
		b := batch("ann", "dev-1",
			item("i1", "session_start", at, map[string]any{"session_id": "s1"}),
			item("i2", "attributes", at, map[string]any{"first_name": "Ann", "plan": "pro", "visits": map[string]any{"inc": 2}}),
			item("i3", "custom_event", at, map[string]any{"name": "viewed", "properties": map[string]any{"sku": "A1"}}),
			item("i4", "purchase", at, map[string]any{"product_id": "lamp", "currency": "eur", "price": 20.5, "quantity": 2}),
			item("i5", "push_token", at, map[string]any{"token": sub, "push_enabled": false}),
			item("i6", "in_app_impression", at, map[string]any{"message_id": "c1:1"}),
			item("i7", "in_app_button_click", at, map[string]any{"message_id": "c1:1", "button_id": "b0"}),
			item("i8", "card_dismiss", at, map[string]any{"card_id": "card-9"}),
			item("i9", "push_open", at, map[string]any{"herald_message_id": "msg-1", "herald_dispatch_id": "d-1"}),
			item("i10", "session_end", at.Add(30*time.Second), map[string]any{"session_id": "s1", "duration_s": 30}),
		)
		data, _ := json.Marshal(b)
		r := e.post(gzipped(t, string(data)), "Content-Encoding", "gzip")
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var a sdkAnswer
		_ = json.Unmarshal(r.body, &a)
		if a.ItemsProcessed != 10 || a.ItemsReplayed != 0 || len(a.Errors) != 0 || len(a.InAppMessages) != 1 {
			t.Fatalf("answer %s", r.body)
		}
		p := e.profileOf("ann")
		u := p.User
		if u.Standard.FirstName != "Ann" || u.Custom["plan"] != "pro" || u.Custom["visits"] != 2.0 ||
			u.Standard.TimeZone != "Europe/Berlin" || u.Standard.Language != "de" {
			t.Errorf("attributes %+v %+v", u.Standard, u.Custom)
		}
		if sessions(p) != 1 || p.Apps[0].AppID != "web-app" || p.Apps[0].Version != "1.2.0" || !u.LastSessionAt.Equal(at) {
			t.Errorf("sessions %+v last %v", p.Apps, u.LastSessionAt)
		}
		if eventCount(p, "viewed") != 1 || len(p.Purchases) != 1 || p.Purchases[0].Count != 2 || u.TotalRevenue != 41 {
			t.Errorf("events %+v purchases %+v revenue %v", p.Events, p.Purchases, u.TotalRevenue)
		}
		if len(p.Devices) != 1 || p.Devices[0].TokenKey != "https://push.example/sub/1" || p.Devices[0].PushEnabled ||
			p.Devices[0].DeviceID != "dev-1" || p.Devices[0].Platform != "web" {
			t.Errorf("devices %+v", p.Devices)
		}
		want := []campaigns.SDKEngagement{
			{Kind: campaigns.EngageImpression, Channel: campaigns.EngageInApp, ID: "c1:1", At: at, EventID: "i6"},
			{Kind: campaigns.EngageButtonClick, Channel: campaigns.EngageInApp, ID: "c1:1", ButtonID: "b0", At: at, EventID: "i7"},
			{Kind: campaigns.EngageDismiss, Channel: campaigns.EngageContentCard, ID: "card-9", At: at, EventID: "i8"},
			{Kind: campaigns.EngageOpen, Channel: campaigns.EngagePush, ID: "msg-1", DispatchID: "d-1", At: at, EventID: "i9"},
		}
		if fmt.Sprint(e.eng.got) != fmt.Sprint(want) || len(e.eng.user) != 1 || e.eng.user[0] != u.ID {
			t.Errorf("engagement %+v for %v, want %+v for %d", e.eng.got, e.eng.user, want, u.ID)
		}
	})
}

// A batch sent again (an offline queue replaying it) applies nothing twice;
// a batch that repeats some ids applies only the new ones.
func TestSDKDataReplayAppliesNothingTwice(t *testing.T) {
	forEachStore(t, func(t *testing.T, driver string) {
		e := newSDKEnv(t, driver)
		at := time.Now().UTC().Add(-time.Hour)
		b := batch("bob", "dev-2",
			item("s-1", "session_start", at, nil),
			item("e-1", "custom_event", at, map[string]any{"name": "opened"}),
			item("a-1", "attributes", at, map[string]any{"n": map[string]any{"inc": 1}}),
			item("p-1", "purchase", at, map[string]any{"product_id": "pen", "currency": "USD", "price": 2}),
			item("c-1", "card_impression", at, map[string]any{"card_id": "k1"}),
		)
		first := e.ok(b)
		again := e.ok(b)
		if first.ItemsProcessed != 5 || again.ItemsProcessed != 0 || again.ItemsReplayed != 5 || len(again.Errors) != 0 {
			t.Fatalf("first %+v, again %+v", first, again)
		}
		more := batch("bob", "dev-2", b["items"].([]map[string]any)[0], item("s-2", "session_start", at.Add(time.Minute), nil),
			item("e-2", "custom_event", at, map[string]any{"name": "opened"}))
		if a := e.ok(more); a.ItemsProcessed != 2 || a.ItemsReplayed != 1 {
			t.Fatalf("partly replayed batch %+v", a)
		}
		p := e.profileOf("bob")
		if sessions(p) != 2 || eventCount(p, "opened") != 2 || p.User.Custom["n"] != 1.0 || p.Purchases[0].Count != 1 || p.User.TotalRevenue != 2 {
			t.Fatalf("after replays: sessions %d, opened %d, n %v, purchases %+v", sessions(p), eventCount(p, "opened"), p.User.Custom["n"], p.Purchases)
		}
		if len(e.eng.got) != 1 {
			t.Fatalf("engagement recorded %d times", len(e.eng.got))
		}
		// the same item id from another device is another item
		if a := e.ok(batch("bob", "dev-3", item("s-1", "session_start", at, nil))); a.ItemsProcessed != 1 {
			t.Fatalf("other device %+v", a)
		}
	})
}

// Bad items are answered one by one and the valid ones applied; a malformed
// request is a 400 naming the field.
func TestSDKDataPartialSuccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, driver string) {
		e := newSDKEnv(t, driver, sdkEnvOptions{noEngagement: true})
		at := time.Now().UTC().Add(-time.Minute)
		a := e.ok(batch("cy", "dev-4",
			item("ok-1", "custom_event", at, map[string]any{"name": "fine"}),
			item("bad-1", "purchase", at, map[string]any{"product_id": "p", "currency": "euro", "price": 1}),
			item("bad-2", "teleport", at, nil),
			map[string]any{"type": "session_start", "time": at.Format(time.RFC3339)},
			item("half-1", "attributes", at, map[string]any{"ok_attr": 1, "email": "not an address"}),
			item("bad-3", "push_token", at, map[string]any{"token": "not a subscription"}),
			item("bad-4", "card_click", at, map[string]any{"card_id": "k"}),
			item("old-1", "custom_event", at.Add(-31*24*time.Hour), map[string]any{"name": "fine"}),
			item("ok-1", "custom_event", at, map[string]any{"name": "twice"}),
		))
		want := map[int]string{1: "currency", 2: "unknown type", 3: "'id' is required", 4: "email", 5: "data.token",
			6: "engagement recording unavailable", 7: "replay window", 8: "also the id of item 0"}
		if len(a.Errors) != len(want) || a.ItemsProcessed != 2 {
			t.Fatalf("answer %+v", a)
		}
		for _, er := range a.Errors {
			if !strings.Contains(er.Type, want[er.Index]) || er.InputArray != "items" {
				t.Errorf("error %+v, want %q", er, want[er.Index])
			}
		}
		p := e.profileOf("cy")
		if eventCount(p, "fine") != 1 || eventCount(p, "twice") != 0 || p.User.Custom["ok_attr"] != 1.0 || p.User.Standard.Email != "" {
			t.Fatalf("applied: events %+v custom %+v", p.Events, p.User.Custom)
		}

		for _, tc := range []struct{ body, field string }{
			{`{"items":[]}`, "device"},
			{`{"device":{"os":"x"},"items":[]}`, "device.device_id"},
			{`{"device":{"device_id":"d","colour":"red"},"items":[]}`, "device.colour"},
			{`{"device":{"device_id":"d"},"user_id":7,"items":[]}`, "user_id"},
			{`{"device":{"device_id":"d"},"items":{}}`, "items"},
			{`{"device":{"device_id":"d"},"items":[` + strings.Repeat(`{},`, 100) + `{}]}`, "items"},
			{`{"device":{"device_id":"d"},"items":[],"extra":1}`, "extra"},
		} {
			r := e.post(tc.body)
			var m struct {
				Errors []struct{ Field, Reason string }
			}
			_ = json.Unmarshal(r.body, &m)
			if r.status != http.StatusBadRequest || len(m.Errors) == 0 || m.Errors[0].Field != tc.field || m.Errors[0].Reason == "" {
				t.Errorf("%s: %d %s, want a 400 naming %s", tc.body, r.status, r.body, tc.field)
			}
		}
		if r := e.post(`{"device":`); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Invalid JSON") {
			t.Errorf("bad JSON: %d %s", r.status, r.body)
		}
	})
}

// A custom event an SDK logs triggers an action-based campaign, as one sent
// to /users/track does: the same event hook sees it.
func TestSDKDataEventTriggersActionBasedCampaign(t *testing.T) {
	forEachStore(t, func(t *testing.T, driver string) {
		e := newSDKEnv(t, driver)
		ctx := context.Background()
		var sched campaigns.Schedule
		_ = json.Unmarshal([]byte(`{"type":"action_based","event_name":"added_to_cart","delay":"1h",
			"property_filters":[{"property":"price","comparison":"greater_than","value":10}]}`), &sched)
		c, err := e.camp.Create(ctx, &campaigns.Input{Name: "cart", Schedule: &sched,
			Messages: map[string]json.RawMessage{"web_push": json.RawMessage(`{"title":"Your cart","body":"{{event_properties.${price}}}"}`)},
			Audience: &campaigns.Audience{Filter: json.RawMessage(`{"push_enabled":{}}`)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.camp.Launch(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
		b := batch("dana", "dev-5",
			item("t-1", "custom_event", at, map[string]any{"name": "added_to_cart", "properties": map[string]any{"price": 25}}),
			item("t-2", "custom_event", at, map[string]any{"name": "added_to_cart", "properties": map[string]any{"price": 5}}))
		e.ok(b)
		e.ok(b) // replayed: no second trigger
		list, err := e.st.TriggeredSends(ctx, c.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Status != campaigns.TriggeredPending || !list[0].DueAt.Equal(at.Add(time.Hour)) ||
			!strings.Contains(string(list[0].Properties), "25") || list[0].UserID != e.profileOf("dana").User.ID {
			t.Fatalf("triggered sends %+v", list)
		}
	})
}

// Without user_id a batch applies to the device's anonymous user; the first
// batch with a user_id (changeUser) identifies it: it takes the external id
// when nobody has it, or is merged into the user who has it.
func TestSDKDataAnonymousUserThenChangeUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, driver string) {
		e := newSDKEnv(t, driver)
		at := time.Now().UTC().Add(-time.Hour)
		anon := func(dev, pre string) {
			e.ok(batch(nil, dev,
				item(pre+"s", "session_start", at, nil),
				item(pre+"a", "attributes", at, map[string]any{"favourite": "tea", "first_name": "Anon"}),
				item(pre+"e", "custom_event", at, map[string]any{"name": "browsed"})))
		}
		// a new user: the anonymous one takes the external id
		anon("dev-6", "x")
		p := e.profileOf("device:dev-6")
		if p == nil || p.User.ExternalID != "" || sessions(p) != 1 || p.User.Custom["favourite"] != "tea" {
			t.Fatalf("anonymous user %+v", p)
		}
		anonID := p.User.ID
		e.ok(batch("erin", "dev-6", item("y1", "custom_event", at, map[string]any{"name": "logged_in"})))
		p = e.profileOf("erin")
		if p == nil || p.User.ID != anonID || eventCount(p, "browsed") != 1 || eventCount(p, "logged_in") != 1 {
			t.Fatalf("identified user %+v", p)
		}

		// an existing user: the anonymous one is merged into it and deleted
		e.ok(batch("finn", "dev-0", item("z0", "attributes", at, map[string]any{"first_name": "Finn"})))
		anon("dev-7", "w")
		anonID = e.profileOf("device:dev-7").User.ID
		e.ok(batch("finn", "dev-7", item("w9", "session_start", at.Add(time.Minute), nil)))
		p = e.profileOf("finn")
		if p.User.ID == anonID || p.User.Standard.FirstName != "Finn" || p.User.Custom["favourite"] != "tea" ||
			eventCount(p, "browsed") != 1 || sessions(p) != 2 {
			t.Fatalf("merged user %+v custom %+v events %+v apps %+v", p.User, p.User.Custom, p.Events, p.Apps)
		}
		if ps, _ := e.st.Profiles(context.Background(), []int64{anonID}); len(ps) != 0 {
			t.Fatalf("the anonymous user is still there: %+v", ps[0].User)
		}
		// a replay of the anonymous batch after the merge applies nothing
		if a := e.ok(batch(nil, "dev-7", item("ws", "session_start", at, nil))); a.ItemsReplayed != 1 {
			t.Fatalf("replay after merge %+v", a)
		}
		if p := e.profileOf("finn"); sessions(p) != 2 {
			t.Fatalf("sessions after the replay %d", sessions(p))
		}
	})
}

// At session start the in-app service gets the profile as it was before the
// request: a returning user's earlier sessions and attributes, not this
// session nor this batch's attributes; a new user's empty profile.
func TestSDKDataInAppGetsProfileBeforeSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, driver string) {
		e := newSDKEnv(t, driver)
		old := time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(time.Millisecond)
		now := time.Now().UTC().Add(-time.Minute)

		a := e.ok(batch("gus", "dev-8", item("n1", "session_start", now, nil), item("n2", "attributes", now, map[string]any{"tier": "gold"})))
		if len(e.inapp.before) != 1 || len(a.InAppMessages) != 1 || a.InAppMessages[0]["id"] != "m1" {
			t.Fatalf("in-app calls %d, answer %+v", len(e.inapp.before), a)
		}
		if b := e.inapp.before[0]; b.User.ExternalID != "gus" || b.User.ID != 0 || len(b.Apps) != 0 || !b.User.LastSessionAt.IsZero() || b.User.Custom["tier"] != nil {
			t.Fatalf("a new user's profile before %+v", b.User)
		}

		// no session start: no in-app messages
		if a := e.ok(batch("hal", "dev-9", item("o1", "session_start", old, nil), item("o2", "attributes", old, map[string]any{"tier": "silver"}))); len(a.InAppMessages) != 1 {
			t.Fatal(a)
		}
		if a := e.ok(batch("hal", "dev-9", item("o3", "custom_event", now, map[string]any{"name": "x"}))); len(a.InAppMessages) != 0 || len(e.inapp.before) != 2 {
			t.Fatalf("without a session start: %+v, %d calls", a, len(e.inapp.before))
		}
		e.ok(batch("hal", "dev-9", item("o4", "session_start", now, nil), item("o5", "attributes", now, map[string]any{"tier": "gold"})))
		b := e.inapp.before[2]
		if b.User.ExternalID != "hal" || sessions(b) != 1 || !b.User.LastSessionAt.Equal(old) || b.User.Custom["tier"] != "silver" {
			t.Fatalf("a returning user's profile before: sessions %d last %v tier %v", sessions(b), b.User.LastSessionAt, b.User.Custom["tier"])
		}
		if p := e.profileOf("hal"); sessions(p) != 2 || p.User.Custom["tier"] != "gold" {
			t.Fatalf("after: sessions %d tier %v", sessions(p), p.User.Custom["tier"])
		}
	})
}

// Without an in-app service the answer has no messages and the session is
// still recorded.
func TestSDKDataWithoutInAppService(t *testing.T) {
	forEachStore(t, func(t *testing.T, driver string) {
		e := newSDKEnv(t, driver, sdkEnvOptions{noInApp: true})
		a := e.ok(batch("ivy", "dev-10", item("q1", "session_start", time.Now(), nil)))
		if len(a.InAppMessages) != 0 || a.ItemsProcessed != 1 || a.Config["min_in_app_interval_s"] != 30.0 {
			t.Fatalf("%+v", a)
		}
		if sessions(e.profileOf("ivy")) != 1 {
			t.Fatal("session not recorded")
		}
	})
}

// hsToken signs an HS256 SDK authentication token for a user.
func hsToken(secret, sub string) string {
	enc := base64.RawURLEncoding.EncodeToString
	now := time.Now().Unix()
	claims, _ := json.Marshal(map[string]any{"sub": sub, "iat": now, "exp": now + 3600})
	signed := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signed))
	return signed + "." + enc(mac.Sum(nil))
}

// With SDK authentication required, a batch for an identified user needs a
// token for that user, before anything is merged or written; so does an
// anonymous batch from a device whose user has logged in, since it applies
// to that user.
func TestSDKDataSDKAuthentication(t *testing.T) {
	forEachStore(t, func(t *testing.T, driver string) {
		e := newSDKEnv(t, driver)
		const secret = "the-app-shared-secret-0123456789abcdef"
		if _, err := e.apps.SetSDKAuth(context.Background(), e.app.ID, &profiles.SDKAuthSettings{
			Mode: sdkauth.Required, Algorithm: sdkauth.HS256, Secret: secret}); err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC().Add(-time.Minute)
		send := func(user any, token string, id string) response {
			data, _ := json.Marshal(batch(user, "dev-a", item(id, "custom_event", at, map[string]any{"name": "e"})))
			return e.post(data, "X-Herald-Sdk-Auth", token)
		}
		if r := send(nil, "", "1"); r.status != http.StatusOK {
			t.Fatalf("anonymous: %d %s", r.status, r.body)
		}
		if r := send("kim", "", "2"); r.status != http.StatusUnauthorized {
			t.Fatalf("no token: %d %s", r.status, r.body)
		}
		if r := send("kim", hsToken(secret, "lee"), "3"); r.status != http.StatusUnauthorized {
			t.Fatalf("another user's token: %d %s", r.status, r.body)
		}
		if p := e.profileOf("kim"); p != nil {
			t.Fatalf("refused requests identified the anonymous user: %+v", p.User)
		}
		if r := send("kim", hsToken(secret, "kim"), "4"); r.status != http.StatusOK {
			t.Fatalf("kim's token: %d %s", r.status, r.body)
		}
		if p := e.profileOf("kim"); p == nil || eventCount(p, "e") != 2 {
			t.Fatalf("kim after changeUser: %+v", p)
		}
		if r := send(nil, "", "5"); r.status != http.StatusUnauthorized {
			t.Fatalf("anonymous batch for kim's device without a token: %d %s", r.status, r.body)
		}
		if r := send(nil, hsToken(secret, "kim"), "6"); r.status != http.StatusOK {
			t.Fatalf("anonymous batch for kim's device with kim's token: %d %s", r.status, r.body)
		}
		if p := e.profileOf("kim"); eventCount(p, "e") != 3 {
			t.Fatalf("kim's events %d", eventCount(p, "e"))
		}
	})
}
