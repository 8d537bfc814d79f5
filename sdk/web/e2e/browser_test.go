package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestWebSDKInChromium is the web SDK's acceptance path against herald dev:
// a page starts a session and identifies its user; an in-app message of a
// launched campaign, triggered by an event the page logs (its property filter
// checked), appears in the DOM; a Content Card of a launched campaign comes
// through getContentCards(); then Herald becomes unreachable, the page logs
// events, is reloaded (the queue survives in localStorage), Herald comes back
// and every event arrives exactly once — also when the whole queue is sent a
// second time.
func TestWebSDKInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("a browser test: not in -short mode")
	}
	shots := artifacts(t)
	ctx := browser(t)
	d := startDev(t)
	page := site(t)

	run := fmt.Sprintf("run-%d", time.Now().UnixNano())
	user := "e2e-" + run
	audience := map[string]any{"filter": map[string]any{"custom_attribute": map[string]any{
		"custom_attribute_name": "e2e_run", "comparison": "equals", "value": run}}}

	// The app's SDK key, and the user as the customer's backend created them.
	var app struct {
		SDKKey string `json:"sdk_key"`
	}
	d.call("GET", "/manage/apps/dev-web", nil, &app)
	if app.SDKKey == "" {
		t.Fatal("dev-web has no SDK key")
	}
	d.call("POST", "/users/track", map[string]any{"attributes": []any{
		map[string]any{"external_id": user, "first_name": "Ada", "e2e_run": run}}}, nil)

	// An in-app campaign shown on a custom event whose level is over 2.
	var inApp struct{ ID string }
	d.call("POST", "/manage/campaigns", map[string]any{
		"name":     "e2e in-app " + run,
		"audience": audience,
		"messages": map[string]any{"in_app_message": map[string]any{
			"type": "modal", "header": "Hello {{${first_name}}}", "message": "Lamps are 20% off today.",
			"buttons": []any{
				map[string]any{"text": "Shop now", "click_action": map[string]any{"type": "close"}},
				map[string]any{"text": "Later", "click_action": map[string]any{"type": "close"}},
			},
		}},
		"schedule": map[string]any{"type": "action_based", "trigger_type": "custom_event", "event_name": "e2e_trigger",
			"property_filters": []any{map[string]any{"property": "level", "comparison": "greater_than", "value": 2}}},
	}, &inApp)
	d.call("POST", "/manage/campaigns/"+inApp.ID+"/launch", nil, nil)

	// A Content Card campaign for the user, launched and sent before the page opens.
	var cards struct{ ID string }
	d.call("POST", "/manage/campaigns", map[string]any{
		"name":                         "e2e card " + run,
		"audience":                     audience,
		"recipient_subscription_state": "all",
		"messages": map[string]any{"content_card": map[string]any{
			"type": "CLASSIC", "title": "Card for {{${first_name}}}", "description": "Free shipping on lamps this week.",
			"web_uri": "https://shop.example/lamps", "uri_text": "See lamps",
		}},
		"schedule": map[string]any{"type": "immediate"},
	}, &cards)
	d.call("POST", "/manage/campaigns/"+cards.ID+"/launch", nil, nil)
	waitDispatched(t, d, cards.ID)

	// The page starts the SDK, a session, and identifies the user.
	if err := chromedp.Do(ctx, chromedp.Navigate(page.URL)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the SDK module", `window.heraldLoaded === true`, 15*time.Second)
	initSDK := fmt.Sprintf(`herald.init(%s, {baseUrl: %s, enableLogging: true})`, js(app.SDKKey), js(d.url))
	eval[bool](t, ctx, initSDK)
	eval[bool](t, ctx, fmt.Sprintf(`herald.changeUser(%s)`, js(user)))
	waitJS(t, ctx, "the session-start answer with the in-app message",
		fmt.Sprintf(`herald.getInstance().messages.some((m) => m.campaign_id === %s)`, js(inApp.ID)), 15*time.Second)

	// The event with a level that fails the property filter shows nothing.
	eval[bool](t, ctx, `herald.logCustomEvent('e2e_trigger', {level: 1})`)
	time.Sleep(300 * time.Millisecond)
	if n := eval[int](t, ctx, `document.querySelectorAll('.herald-iam').length`); n != 0 {
		t.Fatalf("an in-app message is shown for level 1 (%d elements)", n)
	}
	// The one that passes it shows the modal, rendered for the user.
	eval[bool](t, ctx, `herald.logCustomEvent('e2e_trigger', {level: 3})`)
	waitVisible(t, ctx, ".herald-iam-modal")
	text := eval[string](t, ctx, `document.querySelector('.herald-iam-modal').textContent`)
	if !strings.Contains(text, "Hello Ada") || !strings.Contains(text, "Lamps are 20% off today.") {
		t.Fatalf("in-app message text %q", text)
	}
	if id := eval[string](t, ctx, `document.querySelector('.herald-iam-modal').dataset.heraldIam`); !strings.HasPrefix(id, inApp.ID+":") {
		t.Fatalf("in-app message id %q, want %s:<version>", id, inApp.ID)
	}
	screenshot(t, ctx, shots, "01-in-app-modal")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".herald-iam-buttons button"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the modal to close", `document.querySelectorAll('.herald-iam, .herald-iam-overlay').length === 0`, 5*time.Second)

	// The Content Card.
	titles := eval[[]string](t, ctx, `herald.getContentCards().then((cs) => { renderCards(cs); herald.logCardImpression(cs); return cs.map((c) => c.title); })`)
	if len(titles) != 1 || titles[0] != "Card for Ada" {
		t.Fatalf("content cards %q, want [\"Card for Ada\"]", titles)
	}
	screenshot(t, ctx, shots, "02-content-card")

	htmlMessageIsolated(t, ctx, shots)
	eval[bool](t, ctx, `herald.requestImmediateDataFlush().then(() => true)`)
	waitJS(t, ctx, "the queue to drain", `herald.getInstance().queue.length === 0`, 10*time.Second)

	// Herald becomes unreachable (the page's own site stays up).
	offline(t, ctx, d.url, true)
	for i := range 3 {
		eval[bool](t, ctx, fmt.Sprintf(`herald.logCustomEvent('offline_event', {i: %d})`, i))
	}
	eval[bool](t, ctx, `herald.requestImmediateDataFlush().then(() => true)`)
	// A reload: the queue is in localStorage.
	if err := chromedp.Do(ctx, chromedp.Navigate(page.URL)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the SDK module", `window.heraldLoaded === true`, 15*time.Second)
	eval[bool](t, ctx, initSDK+` && (renderCards(herald.getCachedContentCards()), true)`)
	if got := eval[string](t, ctx, `herald.getUserId()`); got != user {
		t.Fatalf("after the reload the user is %q, want %q", got, user)
	}
	for i := 3; i < 5; i++ {
		eval[bool](t, ctx, fmt.Sprintf(`herald.logCustomEvent('offline_event', {i: %d})`, i))
	}
	eval[bool](t, ctx, `herald.requestImmediateDataFlush().then(() => true)`)
	queued := eval[int](t, ctx, `herald.getInstance().queue.items().filter((e) => e.item.type === 'custom_event' && e.item.data.name === 'offline_event').length`)
	if queued != 5 {
		t.Fatalf("%d offline events queued, want 5", queued)
	}
	queueKey := js("herald." + app.SDKKey + ".queue")
	snapshot := eval[string](t, ctx, `localStorage.getItem(`+queueKey+`)`)
	eval[bool](t, ctx, `setStatus('Herald unreachable: ' + herald.getInstance().queue.length + ' items queued'), true`)
	screenshot(t, ctx, shots, "03-offline-queued")

	// Herald is back: the 'online' event flushes the queue.
	offline(t, ctx, d.url, false)
	waitJS(t, ctx, "the queue to drain once online", `herald.getInstance().queue.length === 0`, 20*time.Second)
	// The same items once more, as a lost answer or a second tab would send them.
	eval[bool](t, ctx, `localStorage.setItem(`+queueKey+`, `+js(snapshot)+`), true`)
	eval[bool](t, ctx, `herald.requestImmediateDataFlush().then(() => true)`)
	waitJS(t, ctx, "the replayed queue to drain", `herald.getInstance().queue.length === 0`, 10*time.Second)
	replayed := eval[int](t, ctx, `heraldAnswers.at(-1).body.items_replayed`)
	if replayed < 5 {
		t.Errorf("the replay's answer says %d items replayed, want at least 5", replayed)
	}
	eval[bool](t, ctx, `setStatus('Herald reachable again: queue empty'), true`)
	screenshot(t, ctx, shots, "04-back-online")

	// The card impression logged before is the card's state now (an incremental sync).
	if !eval[bool](t, ctx, `herald.requestContentCardsRefresh().then(() => herald.getCachedContentCards().length === 1 && herald.getCachedContentCards()[0].viewed === true)`) {
		t.Errorf("after the impression the card is not viewed: %s", eval[string](t, ctx, `JSON.stringify(herald.getCachedContentCards())`))
	}

	// Every event arrived exactly once.
	var export struct {
		Users []struct {
			CustomEvents []struct {
				Name  string `json:"name"`
				Count int    `json:"count"`
			} `json:"custom_events"`
		} `json:"users"`
	}
	d.call("POST", "/users/export/ids", map[string]any{"external_ids": []string{user}, "fields_to_export": []string{"custom_events"}}, &export)
	if len(export.Users) != 1 {
		t.Fatalf("export: %d users", len(export.Users))
	}
	counts := map[string]int{}
	for _, e := range export.Users[0].CustomEvents {
		counts[e.Name] = e.Count
	}
	if counts["offline_event"] != 5 || counts["e2e_trigger"] != 2 {
		t.Errorf("custom event counts %v, want offline_event 5 and e2e_trigger 2", counts)
	}

	sdkAuthRequired(t, ctx, d, user)
}

// sdkAuthRequired switches the app to required SDK authentication: the
// page's next batch for its user is refused (401), the SDK keeps the items
// and asks the app for a token; with a token signed for the user, they go.
func sdkAuthRequired(t *testing.T, ctx context.Context, d *dev, user string) {
	t.Helper()
	secret := "e2e-sdk-auth-secret-0123456789abcdef0123456789"
	d.call("PUT", "/manage/apps/dev-web/sdk_auth", map[string]any{"mode": "required", "algorithm": "HS256", "secret": secret}, nil)
	eval[bool](t, ctx, `window.authFailures = [], herald.subscribeToSdkAuthenticationFailures((e) => authFailures.push(e.userId + ': ' + e.message)), true`)
	eval[bool](t, ctx, `herald.logCustomEvent('auth_event'), herald.requestImmediateDataFlush().then(() => true)`)
	waitJS(t, ctx, "the SDK to report the refused token", `authFailures.length > 0`, 10*time.Second)
	failure := eval[string](t, ctx, `authFailures[0]`)
	if !strings.HasPrefix(failure, user+": missing SDK authentication token") {
		t.Errorf("auth failure %q", failure)
	}
	if n := eval[int](t, ctx, `herald.getInstance().queue.length`); n == 0 {
		t.Fatal("the refused items left the queue")
	}
	eval[bool](t, ctx, `herald.setSdkAuthToken(`+js(hs256(secret, user, time.Hour))+`), true`)
	waitJS(t, ctx, "the queue to drain with the token", `herald.getInstance().queue.length === 0`, 10*time.Second)
	if h := eval[string](t, ctx, `heraldAnswers.at(-1).status + ''`); h != "200" {
		t.Errorf("last answer %s", h)
	}
}

// hs256 signs a JWT for sub, as a customer's backend would.
func hs256(secret, sub string, ttl time.Duration) string {
	enc := base64.RawURLEncoding
	now := time.Now().Unix()
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": sub, "iat": now, "exp": now + int64(ttl/time.Second)})
	signing := head + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// htmlMessageIsolated shows an html in-app message: it runs in an iframe
// sandboxed with scripts only, cannot reach the page (its storage, its DOM),
// and still reports a button click and closes itself through heraldBridge.
// Its engagement items are taken out of the queue: the message is no campaign's.
func htmlMessageIsolated(t *testing.T, ctx context.Context, shots string) {
	t.Helper()
	html := `<body style="margin:0;display:grid;place-items:center;height:100vh;background:rgba(0,0,0,.4)">
<div style="background:#fff;padding:24px;border-radius:12px;font:16px system-ui">An HTML message</div>
<script>
var reach = 'isolated';
try { if (parent.document.body) reach = 'leak-dom'; } catch (e) {}
try { if (localStorage.length >= 0) reach = reach === 'isolated' ? 'leak-storage' : reach; } catch (e) {}
setTimeout(function () { heraldBridge.logButtonClick(reach); heraldBridge.closeMessage(); }, 700);
</script></body>`
	msg := map[string]any{"id": "local-html:1", "campaign_id": "local-html", "type": "html", "html": html,
		"trigger": map[string]any{"type": "session_start"}}
	if !eval[bool](t, ctx, `herald.showInAppMessage(`+js(msg)+`)`) {
		t.Fatal("showInAppMessage(html) refused")
	}
	if sb := eval[string](t, ctx, `document.querySelector('iframe.herald-iam-html').getAttribute('sandbox')`); sb != "allow-scripts" {
		t.Fatalf("iframe sandbox %q, want allow-scripts", sb)
	}
	screenshot(t, ctx, shots, "02b-html-message")
	waitJS(t, ctx, "the html message to close itself", `!document.querySelector('iframe.herald-iam-html')`, 10*time.Second)
	items := eval[[][]string](t, ctx, `herald.getInstance().queue.items().filter((e) => e.item.data && e.item.data.message_id === 'local-html:1').map((e) => [e.item.type, e.item.data.button_id || ''])`)
	want := [][]string{{"in_app_impression", ""}, {"in_app_button_click", "isolated"}}
	if fmt.Sprint(items) != fmt.Sprint(want) {
		t.Fatalf("html message items %v, want %v", items, want)
	}
	eval[bool](t, ctx, `(() => { const q = herald.getInstance().queue; q.ack(q.items().filter((e) => e.item.data && e.item.data.message_id === 'local-html:1').map((e) => e.id)); return true; })()`)
}

// waitDispatched waits until the campaign's dispatch is done.
func waitDispatched(t *testing.T, d *dev, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var c struct {
			Dispatches []struct {
				Status string `json:"status"`
			} `json:"dispatches"`
		}
		d.call("GET", "/manage/campaigns/"+id, nil, &c)
		if len(c.Dispatches) > 0 && c.Dispatches[0].Status == "done" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s not dispatched in 30 s: %+v", id, c.Dispatches)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitVisible waits for an element to be shown.
func waitVisible(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	waitJS(t, ctx, "visible "+sel,
		fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.getClientRects().length > 0; })()`, js(sel)), 10*time.Second)
}

// offline makes every request to Herald fail (or succeed again), and sets
// navigator.onLine, so the page sees 'offline' and 'online' events.
func offline(t *testing.T, ctx context.Context, heraldURL string, off bool) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	conds := []*network.Conditions{}
	if off {
		conds = append(conds, &network.Conditions{URLPattern: heraldURL + "/*", Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds}); err != nil {
		t.Fatalf("emulate network conditions: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		t.Fatalf("override network state: %v", err)
	}
}
