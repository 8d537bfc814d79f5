package campaigns_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

// anyone is an audience of every user with an external id.
var anyone = &campaigns.Audience{Filter: json.RawMessage(`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"not_equal","value":"none"}}`)}

var webApp = &profiles.App{ID: "app-web", Platform: profiles.PlatformWeb}

func syncCards(t *testing.T, svc *campaigns.Service, user, token string) *campaigns.CardSync {
	t.Helper()
	res, err := svc.SyncCards(context.Background(), webApp, &campaigns.CardSyncRequest{UserID: user, DeviceID: "dev", SyncToken: token})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func cardTitles(cs []*campaigns.Card) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, fmt.Sprint(c.Card["title"]))
	}
	return out
}

// An at-launch card written by the worker is in the user's sync; an
// at-first-impression card is not written by the worker but at the first
// sync of each user in the audience then (one who joined it after the
// launch too), rendered for that user, once however many syncs race.
func TestCardSyncAtLaunchAndFirstImpression(t *testing.T) {
	t.Parallel()
	forDrivers(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.track(t, `{"attributes":[{"external_id":"gold1","first_name":"Ann","plan":"gold"},
			{"external_id":"silver1","first_name":"Bob","plan":"silver"},{"external_id":"late","first_name":"Cy","plan":"silver"},
			{"external_id":"racer","first_name":"Di","plan":"silver"}]}`)
		gold := &campaigns.Audience{Filter: json.RawMessage(`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"gold"}}`)}
		launch := func(name, card string) *campaigns.Dispatch {
			t.Helper()
			c, err := e.svc.Create(ctx, &campaigns.Input{Name: name, Audience: gold,
				Messages: map[string]json.RawMessage{"content_card": json.RawMessage(card)}})
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.svc.Launch(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return e.waitDone(t, d.ID)
		}
		launch("welcome", `{"type":"CLASSIC","title":"Welcome {{${first_name}}}","description":"d","web_uri":"https://example.com/w"}`)
		if res := syncCards(t, e.svc, "gold1", ""); !res.Full || !slices.Equal(cardTitles(res.Cards), []string{"Welcome Ann"}) {
			t.Fatalf("gold user's sync: %+v %v", res, cardTitles(res.Cards))
		}
		if res := syncCards(t, e.svc, "silver1", ""); len(res.Cards) != 0 {
			t.Errorf("silver user got %v", cardTitles(res.Cards))
		}
		if res := syncCards(t, e.svc, "nobody", ""); !res.Full || len(res.Cards) != 0 || res.Token == "" {
			t.Errorf("unknown user: %+v", res)
		}

		d2 := launch("first impression", `{"type":"CLASSIC","title":"Hi {{${first_name}}}","description":"d","pinned":true,"card_creation":"at_first_impression"}`)
		if counts, _ := e.st.LedgerCounts(ctx, d2.ID); len(counts) != 0 {
			t.Errorf("the worker recorded first-impression cards: %v", counts)
		}
		ids, _, _ := e.st.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"gold1"}})
		if cs, _ := e.st.Cards(ctx, ids[0], time.Now()); len(cs) != 1 {
			t.Errorf("the worker wrote a first-impression card: %v", cardTitles(cs))
		}
		e.track(t, `{"attributes":[{"external_id":"late","plan":"gold"},{"external_id":"racer","plan":"gold"}]}`)
		if res := syncCards(t, e.svc, "silver1", ""); len(res.Cards) != 0 {
			t.Errorf("silver user got %v", cardTitles(res.Cards))
		}
		if res := syncCards(t, e.svc, "late", ""); !slices.Equal(cardTitles(res.Cards), []string{"Hi Cy"}) {
			t.Errorf("user who joined the audience after the launch: %v", cardTitles(res.Cards))
		}
		if res := syncCards(t, e.svc, "gold1", ""); !slices.Equal(cardTitles(res.Cards), []string{"Hi Ann", "Welcome Ann"}) {
			t.Errorf("pinned first, then newest: %v", cardTitles(res.Cards))
		}
		if res := syncCards(t, e.svc, "late", ""); len(res.Cards) != 1 {
			t.Errorf("second sync: %v", cardTitles(res.Cards))
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := e.svc.SyncCards(ctx, webApp, &campaigns.CardSyncRequest{UserID: "racer", DeviceID: "d"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		racer, _, _ := e.st.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"racer"}})
		if cs, _ := e.st.Cards(ctx, racer[0], time.Now()); !slices.Equal(cardTitles(cs), []string{"Hi Di"}) {
			t.Errorf("racing syncs: %v", cardTitles(cs))
		}
		if counts, _ := e.st.LedgerCounts(ctx, d2.ID); counts["delivered"] != 3 || len(counts) != 1 {
			t.Errorf("first-impression ledger: %v, want 3 delivered (late, gold1, racer)", counts)
		}
		if ec, _ := e.svc.EngagementCounts(ctx, "", d2.ID); ec[campaigns.ContentCard]["send"] != 3 || ec[campaigns.ContentCard]["delivery"] != 3 {
			t.Errorf("first-impression engagement: %v", ec)
		}
	})
}

// The feed: pinned first then newest, at most 250 (dismissed cards count),
// expired ones out; an incremental sync sends what changed and the ids
// gone; a foreign, damaged or stale token gets a full sync.
func TestCardSyncFeedAndIncremental(t *testing.T) {
	t.Parallel()
	forDrivers(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		st := e.st
		e.track(t, `{"attributes":[{"external_id":"u"},{"external_id":"other"}]}`)
		ids, _, _ := st.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"u", "other"}})
		uid := ids[0]
		// The clock runs ahead of the database's (cards' changed_at is the
		// database's clock when written).
		t0 := time.Now().Add(time.Minute).Truncate(time.Second).UTC()
		var clk clock
		clk.set(t0.Add(10 * time.Minute))
		resolver := func(context.Context, string) (*segments.Filter, error) { return nil, campaigns.ErrNotFound }
		svc := campaigns.NewService(st, nil, templates.New(templates.Options{}), resolver, clk.now)
		card := func(user int64, i int, created time.Time, ttl time.Duration) *campaigns.Card {
			return &campaigns.Card{ID: fmt.Sprintf("card%03d", i), UserID: user, CampaignID: "c", DispatchID: fmt.Sprintf("d%03d", i),
				Card: map[string]any{"type": "CLASSIC", "title": fmt.Sprint(i)}, CreatedAt: created, ExpiresAt: created.Add(ttl), Pinned: i == 20 || i == 200}
		}
		var cards []*campaigns.Card
		for i := range 260 {
			ttl := 30 * 24 * time.Hour
			if i == 257 || i == 258 {
				ttl = time.Hour
			}
			cards = append(cards, card(uid, i, t0.Add(time.Duration(i)*time.Second), ttl))
		}
		if err := st.AddCards(ctx, cards); err != nil {
			t.Fatal(err)
		}
		want := []string{"200", "20"}
		for i := 259; i >= 10; i-- {
			if i != 20 && i != 200 {
				want = append(want, fmt.Sprint(i))
			}
		}
		full := syncCards(t, svc, "u", "")
		if !full.Full || !slices.Equal(cardTitles(full.Cards), want) {
			t.Fatalf("full sync: %d cards %v", len(full.Cards), cardTitles(full.Cards))
		}

		// An hour later card 259 is dismissed; at two hours 257 and 258 have
		// expired and a new card is in.
		clk.set(t0.Add(70 * time.Minute))
		dismiss := []campaigns.SDKEngagement{{Kind: campaigns.EngageDismiss, Channel: campaigns.EngageContentCard, ID: "card259", At: clk.now()}}
		if err := svc.RecordEngagement(ctx, webApp, uid, dismiss); err != nil {
			t.Fatal(err)
		}
		if err := st.AddCards(ctx, []*campaigns.Card{card(uid, 300, t0.Add(100*time.Minute), 24*time.Hour)}); err != nil {
			t.Fatal(err)
		}
		clk.set(t0.Add(2 * time.Hour))
		inc := syncCards(t, svc, "u", full.Token)
		if inc.Full || !slices.Equal(cardTitles(inc.Cards), []string{"300", "9"}) {
			t.Errorf("incremental: full %v, changed %v", inc.Full, cardTitles(inc.Cards))
		}
		if slices.Sort(inc.Removed); !slices.Equal(inc.Removed, []string{"card257", "card258", "card259"}) {
			t.Errorf("removed %v, want the expired and the dismissed cards", inc.Removed)
		}
		if again := syncCards(t, svc, "u", inc.Token); again.Full || len(again.Cards) != 0 || len(again.Removed) != 0 {
			t.Errorf("nothing changed: %v %v", cardTitles(again.Cards), again.Removed)
		}
		if f := syncCards(t, svc, "u", ""); len(f.Cards) != 249 || f.Cards[2].ID != "card300" {
			t.Errorf("full sync after: %d cards %v", len(f.Cards), cardTitles(f.Cards)[:3])
		}

		// A new card pushes the oldest out of the 250 (the dismissed 259
		// still counts); a view is a change.
		clk.set(t0.Add(3 * time.Hour))
		if err := st.AddCards(ctx, []*campaigns.Card{card(uid, 301, clk.now(), 24*time.Hour)}); err != nil {
			t.Fatal(err)
		}
		view := []campaigns.SDKEngagement{{Kind: campaigns.EngageImpression, Channel: campaigns.EngageContentCard, ID: "card100"}}
		if err := svc.RecordEngagement(ctx, webApp, uid, view); err != nil {
			t.Fatal(err)
		}
		clk.set(t0.Add(4 * time.Hour))
		inc2 := syncCards(t, svc, "u", inc.Token)
		if !slices.Equal(cardTitles(inc2.Cards), []string{"301", "100"}) || !slices.Equal(inc2.Removed, []string{"card009"}) {
			t.Errorf("after a new card and a view: changed %v removed %v", cardTitles(inc2.Cards), inc2.Removed)
		}
		if len(inc2.Cards) == 2 && inc2.Cards[1].ViewedAt.IsZero() {
			t.Errorf("card100 not viewed: %+v", inc2.Cards[1])
		}

		for name, tok := range map[string]string{
			"another user's": syncCards(t, svc, "other", "").Token,
			"damaged":        inc.Token[:len(inc.Token)-2] + "xx",
			"garbage":        "not a token",
		} {
			if res := syncCards(t, svc, "u", tok); !res.Full || len(res.Cards) != 249 { // 250 with the dismissed 259
				t.Errorf("%s token: full %v, %d cards", name, res.Full, len(res.Cards))
			}
		}
		if res, _ := svc.SyncCards(ctx, &profiles.App{ID: "app-ios", Platform: "ios"}, &campaigns.CardSyncRequest{UserID: "u", DeviceID: "d", SyncToken: inc.Token}); !res.Full {
			t.Error("another app's token gave an incremental sync")
		}
		clk.set(t0.Add(31 * 24 * time.Hour))
		if res := syncCards(t, svc, "u", inc.Token); !res.Full || len(res.Cards) != 0 {
			t.Errorf("stale token (every card expired): full %v, %d cards", res.Full, len(res.Cards))
		}
	})
}

// Engagement is recorded once however often it is reported: card states and
// engagement rows; another user's card, an unknown campaign or a push the
// user was not sent are left out.
func TestRecordEngagementIdempotent(t *testing.T) {
	t.Parallel()
	forDrivers(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		st := e.st
		e.track(t, `{"attributes":[{"external_id":"a"},{"external_id":"b"}]}`)
		ids, _, _ := st.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"a", "b"}})
		a, b := ids[0], ids[1]
		now := time.Now().UTC()
		if err := st.AddCards(ctx, []*campaigns.Card{
			{ID: "ca", UserID: a, CampaignID: "c1", DispatchID: "d1", Card: map[string]any{"type": "CLASSIC"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			{ID: "cb", UserID: b, CampaignID: "c1", DispatchID: "d1", Card: map[string]any{"type": "CLASSIC"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		}); err != nil {
			t.Fatal(err)
		}
		camp, err := e.svc.Create(ctx, &campaigns.Input{Name: "push", Audience: anyone, Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"hi"}`)}})
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := st.CreateDispatch(ctx, &campaigns.Dispatch{ID: "dp", CampaignID: camp.ID, CampaignVersion: 1, Occurrence: "x",
			Status: campaigns.DispatchDone, CreatedAt: now, UpdatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		k := campaigns.LedgerKey{DispatchID: d.ID, UserID: a, Channel: campaigns.ApplePush, Device: "tok"}
		if err := st.Record(ctx, []campaigns.Outcome{{LedgerKey: k, CampaignID: camp.ID, MessageID: "m1", State: campaigns.LedgerDelivered}}, nil, "", now); err != nil {
			t.Fatal(err)
		}
		ios := &profiles.App{ID: "app-ios", Platform: profiles.PlatformIOS}
		report := []campaigns.SDKEngagement{
			{Kind: campaigns.EngageImpression, Channel: campaigns.EngageContentCard, ID: "ca", EventID: "e1"},
			{Kind: campaigns.EngageClick, Channel: campaigns.EngageContentCard, ID: "ca", EventID: "e2"},
			{Kind: campaigns.EngageImpression, Channel: campaigns.EngageContentCard, ID: "cb", EventID: "e3"}, // b's card
			{Kind: campaigns.EngageOpen, Channel: campaigns.EngagePush, ID: "m1", DispatchID: d.ID, EventID: "e4"},
			{Kind: campaigns.EngageImpression, Channel: campaigns.EngageInApp, ID: camp.ID + ":1", EventID: "e5"},
			{Kind: campaigns.EngageButtonClick, Channel: campaigns.EngageInApp, ID: camp.ID + ":1", ButtonID: "0", EventID: "e6"},
			{Kind: campaigns.EngageImpression, Channel: campaigns.EngageInApp, ID: "nope:1", EventID: "e7"},
			{Kind: campaigns.EngageDismiss, Channel: campaigns.EngagePush, ID: "m1", DispatchID: d.ID, EventID: "e8"}, // not a push kind
		}
		for range 2 {
			if err := e.svc.RecordEngagement(ctx, ios, a, report); err != nil {
				t.Fatal(err)
			}
		}
		// an open on another platform (no android push was sent)
		if err := e.svc.RecordEngagement(ctx, &profiles.App{ID: "app-android", Platform: profiles.PlatformAndroid}, a,
			[]campaigns.SDKEngagement{{Kind: campaigns.EngageOpen, Channel: campaigns.EngagePush, DispatchID: d.ID}}); err != nil {
			t.Fatal(err)
		}
		cs, _ := st.CardsByID(ctx, a, []string{"ca"})
		if len(cs) != 1 || cs[0].ViewedAt.IsZero() || cs[0].ClickedAt.IsZero() || !cs[0].DismissedAt.IsZero() {
			t.Errorf("card state: %+v", cs)
		}
		if cb, _ := st.CardsByID(ctx, b, []string{"cb"}); len(cb) != 1 || !cb[0].ViewedAt.IsZero() {
			t.Errorf("a's report marked b's card: %+v", cb)
		}
		cardCounts, _ := e.svc.EngagementCounts(ctx, "", "d1")
		if got := cardCounts[campaigns.ContentCard]; got["impression"] != 1 || got["click"] != 1 || len(got) != 2 {
			t.Errorf("card engagement: %v", cardCounts)
		}
		pushCounts, _ := e.svc.EngagementCounts(ctx, camp.ID, d.ID)
		if len(pushCounts) != 1 || pushCounts[campaigns.ApplePush]["open"] != 1 || len(pushCounts[campaigns.ApplePush]) != 1 {
			t.Errorf("push engagement: %v", pushCounts)
		}
		all, _ := e.svc.EngagementCounts(ctx, camp.ID, "")
		if got := all[campaigns.InAppMessage]; got["impression"] != 1 || got["button_click"] != 1 || len(got) != 2 {
			t.Errorf("campaign engagement: %v", all)
		}
	})
}

func FuzzDecodeCardSync(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"u1","device_id":"d1"}`,
		`{"user_id":"u1","device_id":"d1","sync_token":"MXwxfDE3MDAwMDAwMDAwMDB8YXBw.AAAAAAAA"}`,
		`{"device_id":"d","sync_token":null,"user_id":null,"sdk_version":"1.0"}`,
		`{"user_id":7,"device_id":""}`,
		`{"device_id":"d"} {"device_id":"e"}`,
		`[]`,
		`null`,
		`{"device_id":"\u00e9\ud83d\ude00"}`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := campaigns.DecodeCardSync(bytes.NewReader(body))
		if err != nil {
			var ve *campaigns.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 || req != nil {
				t.Fatalf("DecodeCardSync = %+v, %v; want a *ValidationError and no request", req, err)
			}
			return
		}
		if req.DeviceID == "" || len(req.DeviceID) > 255 || len(req.UserID) > 512 || len(req.SyncToken) > 512 {
			t.Fatalf("accepted %+v", req)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		req2, err := campaigns.DecodeCardSync(bytes.NewReader(again))
		if err != nil || *req2 != *req {
			t.Fatalf("re-encoded %s decodes to %+v, %v; want %+v", again, req2, err, req)
		}
	})
}

// A content card's creation timing, flags, links and extras are checked
// when the campaign is saved.
func TestContentCardValidation(t *testing.T) {
	t.Parallel()
	e := schedulingEnv(t, "sqlite")
	_, err := e.svc.Create(context.Background(), &campaigns.Input{Name: "bad", Audience: anyone, Messages: map[string]json.RawMessage{"content_card": json.RawMessage(`{
		"type":"CAPTIONED_IMAGE","title":"t","description":"d","image_url":"ftp://x/y.png","card_creation":"later","pinned":"yes",
		"web_uri":"not a uri","ios_uri":"myapp://open","android_use_webview":1,"uri_text":5,"extra":{"a":"b","n":{"x":1}}}`)}})
	var ve *campaigns.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error, got %v", err)
	}
	got := map[string]bool{}
	for _, p := range ve.Problems {
		got[p.Field] = true
	}
	for _, f := range []string{"image_url", "card_creation", "pinned", "web_uri", "android_use_webview", "uri_text", "extra.n"} {
		if !got["messages.content_card."+f] {
			t.Errorf("no problem for %s in %+v", f, ve.Problems)
		}
	}
	if got["messages.content_card.ios_uri"] || len(ve.Problems) != 7 {
		t.Errorf("problems: %+v", ve.Problems)
	}
	if _, err := e.svc.Create(context.Background(), &campaigns.Input{Name: "ok", Audience: anyone, Messages: map[string]json.RawMessage{"content_card": json.RawMessage(`{
		"type":"BANNER","image_url":"https://cdn.example.com/{{${user_id}}}.png","card_creation":"at_first_impression","pinned":true,
		"web_uri":"{{custom_attribute.${link}}}","extra":{"k":"v","n":1,"b":false}}`)}}); err != nil {
		t.Errorf("a valid card: %v", err)
	}
}
