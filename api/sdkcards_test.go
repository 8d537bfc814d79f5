package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// sdkKey creates an app of platform and returns its SDK key.
func (e *env) sdkKey(platform string) string {
	e.t.Helper()
	r := e.do("POST", "/manage/apps", `{"name":"cards `+platform+`","platform":"`+platform+`"}`)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create app: %d %s", r.status, r.body)
	}
	return r.json(e.t)["sdk_key"].(string)
}

// syncCards posts a Content Cards sync with an SDK key (no REST API key).
func (e *env) syncCards(key, body string) response {
	e.t.Helper()
	return e.do("POST", "/sdk/v1/content_cards/sync", body, "X-Herald-Api-Key", key, "Authorization", "")
}

// POST /sdk/v1/content_cards/sync answers the user's feed as documented in
// docs/content-cards.md: pinned first, newest next, each card in the SDK's
// shape with the link of the app's platform; an unknown user gets an empty
// feed; bad requests are 400 with the fields; the token gives incremental
// syncs.
func TestContentCardsSync(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		ctx := context.Background()
		key := e.sdkKey("web")
		if r := e.do("POST", "/users/track", `{"attributes":[{"external_id":"ann"}]}`); r.status != 201 {
			t.Fatalf("track: %d %s", r.status, r.body)
		}
		ids, _, err := e.store.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"ann"}})
		if err != nil || len(ids) != 1 {
			t.Fatal(ids, err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		if err := e.store.AddCards(ctx, []*campaigns.Card{
			{ID: "old-pinned", UserID: ids[0], CampaignID: "c1", DispatchID: "d1", Pinned: true, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour),
				Card: map[string]any{"type": "CAPTIONED_IMAGE", "title": "Sale", "description": "Half off", "image_url": "https://cdn.example.com/s.png",
					"web_uri": "https://shop.example.com/sale", "ios_uri": "shop://sale", "web_use_webview": true, "uri_text": "Shop now",
					"extra": map[string]any{"tier": "gold"}, "pinned": true}},
			{ID: "new", UserID: ids[0], CampaignID: "c2", DispatchID: "d2", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
				Card: map[string]any{"type": "CLASSIC", "title": "Hello", "description": "Welcome"}},
			{ID: "gone", UserID: ids[0], CampaignID: "c3", DispatchID: "d3", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Minute),
				Card: map[string]any{"type": "CLASSIC", "title": "Expired", "description": "x"}},
		}); err != nil {
			t.Fatal(err)
		}
		r := e.syncCards(key, `{"user_id":"ann","device_id":"dev-1"}`)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("sync: %d %s", r.status, r.body)
		}
		body := r.json(t)
		cards, _ := body["cards"].([]any)
		if body["full_sync"] != true || body["sync_token"] == "" || len(cards) != 2 || fmt.Sprint(body["removed"]) != "[]" {
			t.Fatalf("sync: %s", r.body)
		}
		first := cards[0].(map[string]any)
		want := map[string]any{"id": "old-pinned", "type": "captioned_image", "title": "Sale", "description": "Half off",
			"image_url": "https://cdn.example.com/s.png", "url": "https://shop.example.com/sale", "use_webview": true, "link_text": "Shop now",
			"pinned": true, "campaign_id": "c1", "dispatch_id": "d1", "created_at": now.Add(-time.Hour).Format(time.RFC3339),
			"expires_at": now.Add(time.Hour).Format(time.RFC3339), "viewed": false, "clicked": false, "dismissed": false}
		for k, v := range want {
			if first[k] != v {
				t.Errorf("card %s = %v, want %v", k, first[k], v)
			}
		}
		if fmt.Sprint(first["uris"]) != "map[ios:shop://sale web:https://shop.example.com/sale]" || fmt.Sprint(first["extras"]) != "map[tier:gold]" {
			t.Errorf("uris %v, extras %v", first["uris"], first["extras"])
		}
		if second := cards[1].(map[string]any); second["id"] != "new" || fmt.Sprint(second["extras"]) != "map[]" || second["url"] != nil {
			t.Errorf("second card: %v", second)
		}
		// the token gives an incremental sync (the cards just written are
		// in its overlap, so they come again)
		r = e.syncCards(key, `{"user_id":"ann","device_id":"dev-2","sync_token":"`+body["sync_token"].(string)+`"}`)
		if inc := r.json(t); r.status != 200 || inc["full_sync"] != false || inc["removed"] == nil {
			t.Errorf("incremental: %d %s", r.status, r.body)
		}

		if r := e.syncCards(key, `{"user_id":"nobody","device_id":"dev-3"}`); r.status != 200 || string(r.body) == "" ||
			fmt.Sprint(r.json(t)["cards"]) != "[]" || r.json(t)["full_sync"] != true {
			t.Errorf("unknown user: %d %s", r.status, r.body)
		}
		if r := e.syncCards(key, `{"user_id":"ann"}`); r.status != 400 || fmt.Sprint(r.json(t)["errors"]) != "[map[field:device_id reason:required]]" {
			t.Errorf("no device id: %d %s", r.status, r.body)
		}
		if r := e.syncCards(key, `{"user_id":"ann","device_id":"d",}`); r.status != 400 {
			t.Errorf("bad JSON: %d %s", r.status, r.body)
		}
		if r := e.syncCards("hsk_nope", `{"user_id":"ann","device_id":"d"}`); r.status != 401 {
			t.Errorf("unknown key: %d %s", r.status, r.body)
		}
		if r := e.do("OPTIONS", "/sdk/v1/content_cards/sync", nil, "Authorization", ""); r.status != 204 ||
			r.header.Get("Access-Control-Allow-Methods") != "POST, OPTIONS" {
			t.Errorf("preflight: %d %v", r.status, r.header)
		}
	})
}

// A device syncs at most 3 times in a burst, then once every 200 s: the
// fourth sync is 429 with Retry-After; another device, or the same device
// id in another app, is not held back.
func TestContentCardsSyncRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	web, ios := e.sdkKey("web"), e.sdkKey("ios")
	for i := range 3 {
		if r := e.syncCards(web, `{"user_id":"u","device_id":"busy"}`); r.status != 200 {
			t.Fatalf("sync %d: %d %s", i, r.status, r.body)
		}
	}
	r := e.syncCards(web, `{"user_id":"u","device_id":"busy"}`)
	after, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if r.status != http.StatusTooManyRequests || after < 190 || after > 200 || r.header.Get("Access-Control-Expose-Headers") != "Retry-After" {
		t.Fatalf("fourth sync: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if r := e.syncCards(web, `{"user_id":"u","device_id":"calm"}`); r.status != 200 {
		t.Errorf("another device: %d %s", r.status, r.body)
	}
	if r := e.syncCards(ios, `{"user_id":"u","device_id":"busy"}`); r.status != 200 {
		t.Errorf("the same device id in another app: %d %s", r.status, r.body)
	}
}

// The stats count each dispatch's engagement events by channel and kind,
// and the campaign's over all of them.
func TestCampaignStatsEngagement(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		id := e.createCampaign(`{"name":"cards","audience":{"filter":` + goldFilter + `},
			"messages":{"content_card":{"type":"CLASSIC","title":"t","description":"d"}}}`)
		r := e.do("POST", "/manage/campaigns/"+id+"/launch", nil)
		dispatchID, _ := r.json(t)["dispatch_id"].(string)
		if r.status != 200 || dispatchID == "" {
			t.Fatalf("launch: %d %s", r.status, r.body)
		}
		ev := func(user int64, kind string) campaigns.Engagement {
			return campaigns.Engagement{LedgerKey: campaigns.LedgerKey{DispatchID: dispatchID, UserID: user, Channel: campaigns.ContentCard},
				CampaignID: id, Kind: kind, At: time.Now()}
		}
		err := e.store.Record(context.Background(), nil, []campaigns.Engagement{ev(1, "delivery"), ev(1, "impression"), ev(2, "impression"),
			ev(2, "click"), ev(2, "dismiss")}, "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		r = e.do("GET", "/manage/campaigns/"+id+"/stats", nil)
		if r.status != 200 {
			t.Fatalf("stats: %d %s", r.status, r.body)
		}
		body := r.json(t)
		want := "map[content_card:map[click:1 delivery:1 dismiss:1 impression:2 send:1]]" // the delivery is also the send
		d := body["dispatches"].([]any)[0].(map[string]any)
		if fmt.Sprint(d["engagement"]) != want || fmt.Sprint(body["engagement"]) != want {
			t.Errorf("engagement: dispatch %v, campaign %v; want %s", d["engagement"], body["engagement"], want)
		}
	})
}

// With SDK authentication required, a device syncs only the cards of the
// user its token names (401 otherwise).
func TestContentCardsSyncSDKAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	r := e.do("POST", "/manage/apps", `{"name":"cards auth","platform":"web"}`)
	app := r.json(t)
	id, key := app["id"].(string), app["sdk_key"].(string)
	secret := "cards-sync-secret-0123456789abcdefghij"
	if r := e.do("PUT", "/manage/apps/"+id+"/sdk_auth", map[string]any{"mode": "required", "algorithm": "HS256", "secret": secret}); r.status != 200 {
		t.Fatalf("sdk_auth: %d %s", r.status, r.body)
	}
	token := func(sub string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sync := func(device, auth string) int {
		return e.do("POST", "/sdk/v1/content_cards/sync", `{"user_id":"ann","device_id":"`+device+`"}`,
			"X-Herald-Api-Key", key, "Authorization", "", "X-Herald-Sdk-Auth", auth).status
	}
	if got := sync("a", ""); got != 401 {
		t.Errorf("no token: %d", got)
	}
	if got := sync("b", token("bob")); got != 401 {
		t.Errorf("another user's token: %d", got)
	}
	if got := sync("c", token("ann")); got != 200 {
		t.Errorf("the user's token: %d", got)
	}
}
