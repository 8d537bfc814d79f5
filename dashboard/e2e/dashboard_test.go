package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// users is how many users the campaign reaches (one iOS device each).
const users = 12

// TestDashboard drives the dashboard as an operator would: sign in with the
// dev admin key, write a campaign while the preview renders it for a chosen
// user, launch it against the fake providers, watch the live counts reach
// what the fake outbox holds, and find the message in the user lookup.
func TestDashboard(t *testing.T) {
	browserPath := findChromium(t) // before the build: skipping is quick
	base := runDev(t)
	var attrs []string
	for i := range users {
		attrs = append(attrs, fmt.Sprintf(`{"external_id":"e2e-%02d","first_name":"Name%d","plan":"%s","push_tokens":[{"app_id":"dev-ios","token":"ios-e2e-%02d"}]}`,
			i, i, map[bool]string{true: "gold", false: "free"}[i%3 == 0], i))
	}
	api(t, base, "POST", "/users/track", `{"attributes":[`+strings.Join(attrs, ",")+`],
		"events":[{"external_id":"e2e-03","name":"opened_app","time":"2026-11-29T10:00:00Z"}]}`, nil)
	ctx := startBrowser(t, browserPath)

	// sign in: the session cookie is HttpOnly, Secure (accepted on
	// http://127.0.0.1: a loopback origin is potentially trustworthy) and
	// SameSite=Strict
	run(t, ctx, "open the dashboard", chromedp.Navigate(base+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#key")))
	shoot(t, ctx, "01-signin")
	run(t, ctx, "sign in", chromedp.SendKeys(chromedp.CSS("#key"), adminKey), click("#signin"))
	until(t, ctx, "the campaign list", `document.querySelector('#campaigns') !== null`)
	checkSessionCookie(t, ctx, base)

	// a new campaign: the preview renders for the chosen user as it is typed
	run(t, ctx, "new campaign", click("#new-campaign"), chromedp.WaitVisible(chromedp.CSS("#campaign-form")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Gold perks"),
		chromedp.SetValue(chromedp.CSS("#messages"), `{"apple_push": {"alert": {"title": "Hi {{${first_name}}}", "body": "Your {{custom_attribute.${plan}}} perks"}}}`),
		chromedp.SendKeys(chromedp.CSS("#preview_user"), "e2e-03"))
	until(t, ctx, "the preview for e2e-03", `(document.querySelector('#preview [data-channel="apple_push"] pre') || {}).textContent?.includes('"title": "Hi Name3"')`)
	until(t, ctx, "the preview's personal attribute", `document.querySelector('#preview pre').textContent.includes('Your gold perks')`)
	run(t, ctx, "edit the title", chromedp.Evaluate[chromedp.Void](`(() => { const m = document.querySelector('#messages');
		m.value = m.value.replace('Hi {{', 'Welcome back {{'); m.dispatchEvent(new Event('input', {bubbles: true})); })()`))
	until(t, ctx, "the preview following the edit", `document.querySelector('#preview pre').textContent.includes('Welcome back Name3')`)
	shoot(t, ctx, "02-campaign-preview")
	run(t, ctx, "save", click("#save"))
	until(t, ctx, "the saved campaign, previewed for the same user", `document.querySelector('#launch') !== null &&
		document.querySelector('#preview_user').value === 'e2e-03' &&
		(document.querySelector('#preview pre') || {}).textContent?.includes('Welcome back Name3')`)

	// launch: the live chart and counts reach what the fake APNs received
	run(t, ctx, "launch", click("#launch"))
	until(t, ctx, "the launched campaign's page", `location.search.includes('launch') && document.querySelector('#live') !== null`)
	var outbox []map[string]any
	until(t, ctx, "the live count of delivered messages", fmt.Sprintf(`document.querySelector('#live-delivered').textContent === '%d'`, users))
	api(t, base, "GET", "/dev/outbox", "", &outbox)
	if len(outbox) != users {
		t.Fatalf("the fake outbox holds %d messages, want %d", len(outbox), users)
	}
	until(t, ctx, "the funnel", fmt.Sprintf(`(() => { const r = document.querySelector('#funnel tr[data-channel="apple_push"]');
		return r && r.children[2].textContent === '%d'; })()`, users))
	until(t, ctx, "the chart", `document.querySelector('#chart canvas') !== null`)
	shoot(t, ctx, "03-live-delivery")
	run(t, ctx, "campaign list", chromedp.Navigate(base+"/dashboard/campaigns"), chromedp.WaitVisible(chromedp.CSS("#campaigns")))
	until(t, ctx, "the list's counts", fmt.Sprintf(`document.querySelector('#campaigns .delivered').textContent === '%d'`, users))
	shoot(t, ctx, "04-campaign-list")

	// user lookup: profile, device, the event and the message received
	run(t, ctx, "user lookup", chromedp.Navigate(base+"/dashboard/users"), chromedp.SendKeys(chromedp.CSS("#q"), "e2e-03"),
		click("#lookup"))
	until(t, ctx, "the profile", `document.querySelector('#profile') !== null`)
	until(t, ctx, "the message received", `(() => { const t = document.querySelector('#messages-received').textContent;
		return t.includes('Gold perks') && t.includes('delivered'); })()`)
	until(t, ctx, "the device and the event", `document.querySelector('#devices').textContent.includes('dev-ios') &&
		document.querySelector('#events').textContent.includes('opened_app')`)
	shoot(t, ctx, "05-user-lookup")

	// segment builder: the exact size as the filter is written
	run(t, ctx, "segments", chromedp.Navigate(base+"/dashboard/segments"), chromedp.WaitVisible(chromedp.CSS("#segment-form")))
	until(t, ctx, "everyone's size", fmt.Sprintf(`document.querySelector('#segment-size').textContent === '%d users'`, users))
	run(t, ctx, "add a condition", chromedp.SendKeys(chromedp.CSS("#leaf-name"), "plan"), chromedp.SendKeys(chromedp.CSS("#leaf-value"), "gold"),
		click("#add-condition"))
	until(t, ctx, "the gold segment's size", `document.querySelector('#segment-size').textContent === '4 users'`)
	shoot(t, ctx, "06-segment-builder")
	run(t, ctx, "save the segment", chromedp.SendKeys(chromedp.CSS("#segment-name"), "Gold"), click("#segment-save"))
	until(t, ctx, "the saved segment", `location.search.includes('saved') && document.querySelector('#segments').textContent.includes('Gold')`)

	// settings: a new API key, shown once, then revoked
	run(t, ctx, "settings", chromedp.Navigate(base+"/dashboard/settings"), chromedp.WaitVisible(chromedp.CSS("#key-form")),
		chromedp.SendKeys(chromedp.CSS("#key-name"), "e2e backend"), click(`#key-form input[value="users.track"]`),
		click("#create-key"))
	until(t, ctx, "the new key's secret", `document.querySelector('#new-secret') !== null`)
	shoot(t, ctx, "07-settings-new-key")
	run(t, ctx, "revoke", click(`#keys tbody tr:last-child .revoke`))
	until(t, ctx, "the revoked key", `location.search.includes('revoked') && document.querySelector('#keys tbody tr:last-child').textContent.includes('revoked')`)

	// sign out ends the session in this browser
	run(t, ctx, "sign out", click("#signout"))
	until(t, ctx, "the sign-in form", `location.pathname === '/dashboard/signin' && document.querySelector('#key') !== null`)
	run(t, ctx, "signed out", chromedp.Navigate(base+"/dashboard/campaigns"), chromedp.WaitVisible(chromedp.CSS("#key")))

	// the Secure cookie works on http://localhost too (another origin: a
	// new sign-in)
	local := strings.Replace(base, "127.0.0.1", "localhost", 1)
	run(t, ctx, "sign in on localhost", chromedp.Navigate(local+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), adminKey), click("#signin"))
	until(t, ctx, "the campaign list on localhost", `location.host.startsWith('localhost') && document.querySelector('#campaigns') !== null`)
	checkSessionCookie(t, ctx, local)
}

// checkSessionCookie checks the session cookie as Chromium keeps it for an
// origin: HttpOnly, Secure, SameSite=Strict, on /dashboard, and not
// readable from the page's scripts.
func checkSessionCookie(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{origin + "/dashboard/"}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "herald_dashboard" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || !session.Secure || session.SameSite != network.CookieSameSiteStrict || session.Path != "/dashboard" {
		t.Fatalf("session cookie as Chromium keeps it for %s: %+v", origin, session)
	}
	if js, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.cookie")); strings.Contains(js, "herald_dashboard") {
		t.Fatal("the session cookie is readable from JavaScript")
	}
}
