package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

func TestUserLookup(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{driver: driver})
			b := e.signIn(e.admin)
			e.track(`{"attributes":[{"external_id":"grace","first_name":"Grace","email":"grace@example.com","tier":"platinum",
				"push_tokens":[{"app_id":"web-app","token":"tok-grace-0123456789abcdef0123456789"}]}],
				"events":[{"external_id":"grace","name":"viewed_dashboard_item","time":"2026-11-29T10:00:00Z","properties":{"sku":"A-1"}}]}`)
			// a campaign sent to her: launched, then her message recorded in
			// the ledger as a worker records it
			id := b.launched("Grace's campaign")
			var detail struct {
				Dispatches []struct {
					ID string `json:"id"`
				} `json:"dispatches"`
			}
			_ = json.Unmarshal([]byte(e.apiCall("GET", "/manage/campaigns/"+id, nil).body), &detail)
			if len(detail.Dispatches) != 1 {
				t.Fatalf("dispatches: %+v", detail)
			}
			ctx := context.Background()
			ids, _, err := e.store.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"grace"}})
			if err != nil || len(ids) != 1 {
				t.Fatal(ids, err)
			}
			k := campaigns.LedgerKey{DispatchID: detail.Dispatches[0].ID, UserID: ids[0], Channel: "web_push", Device: "dev-1"}
			now := time.Now()
			if _, err := e.store.Claim(ctx, []campaigns.Claim{{LedgerKey: k, CampaignID: id, MessageID: "m1"}}, "tok", now, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := e.store.Record(ctx, []campaigns.Outcome{{LedgerKey: k, CampaignID: id, MessageID: "m1", Claimed: true, State: "delivered"}},
				[]campaigns.Engagement{{LedgerKey: k, CampaignID: id, Kind: campaigns.EventDelivery, At: now}}, "tok", now); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"grace", "grace@example.com"} {
				page := b.get("/dashboard/users?q=" + url.QueryEscape(q))
				for _, want := range []string{"Grace", "platinum", "viewed_dashboard_item", "A-1", "Grace&#39;s campaign", "delivered", "delivery", `id="devices"`} {
					if page.status != 200 || !strings.Contains(page.body, want) {
						t.Errorf("lookup %q: %d, no %q", q, page.status, want)
					}
				}
			}
			if page := b.get("/dashboard/users?q=nobody"); page.status != http.StatusNotFound || !strings.Contains(page.body, `id="not-found"`) {
				t.Errorf("unknown user: %d", page.status)
			}
			if page := b.get("/dashboard/users?q=" + strings.Repeat("x", 600)); page.status != http.StatusBadRequest || !strings.Contains(page.body, "q:") {
				t.Errorf("long query: %d %s", page.status, page.body)
			}
		})
	}
}

func TestSegmentBuilder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn(e.admin)
	e.track(`{"attributes":[{"external_id":"u1","plan":"gold"},{"external_id":"u2","plan":"gold"},{"external_id":"u3","plan":"free"}]}`)
	gold := `{"AND":[{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"gold"}}]}`
	size := func(filter string) (int, map[string]any) {
		res := b.post("/dashboard/segments/size", url.Values{"filter": {filter}}, "Accept", "application/json")
		var out map[string]any
		if err := json.Unmarshal([]byte(res.body), &out); err != nil {
			t.Fatalf("size %d: %s", res.status, res.body)
		}
		return res.status, out
	}
	if s, out := size(gold); s != 200 || out["size"] != float64(2) {
		t.Fatalf("gold size: %d %v", s, out)
	}
	if s, out := size(`{"AND":[]}`); s != 200 || out["size"] != float64(3) {
		t.Fatalf("everyone: %d %v", s, out)
	}
	if s, out := size(`{"AND":[`); s != 400 || !strings.Contains(mustJSON(out), `"field":"filter"`) {
		t.Fatalf("bad JSON: %d %v", s, out)
	}
	if s, out := size(`{"AND":[{"custom_attribute":{"custom_attribute_name":"plan","comparison":"sideways","value":"x"}}]}`); s != 400 || !strings.Contains(mustJSON(out), "comparison") {
		t.Fatalf("bad comparison: %d %v", s, out)
	}
	if res := b.post("/dashboard/segments", url.Values{"name": {"Gold"}, "filter": {gold}}); res.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.status, res.body)
	}
	if res := b.post("/dashboard/segments", url.Values{"name": {""}, "filter": {gold}}); res.status != 400 || !strings.Contains(res.body, "<code>name</code>: required") {
		t.Fatalf("save without a name: %d", res.status)
	}
	page := b.get("/dashboard/segments")
	if !strings.Contains(page.body, ">Gold<") {
		t.Fatalf("segment list: %s", page.body)
	}
	// the saved segment is offered as a campaign audience
	if nw := b.get("/dashboard/campaigns/new"); !strings.Contains(nw.body, ">Gold</option>") {
		t.Error("the editor does not offer the saved segment")
	}
}
