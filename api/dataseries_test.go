package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// GET /campaigns/data_series: a campaign's engagement and conversions by UTC
// day, every day of the window present, in Braze's shape.
func TestCampaignsDataSeries(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		id := e.createCampaign(campaignBody("Series", "immediate"))
		ctx := context.Background()
		day1 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		day2 := day1.Add(24 * time.Hour)
		var events []campaigns.Engagement
		add := func(uid int64, ch, kind string, at time.Time) {
			events = append(events, campaigns.Engagement{LedgerKey: campaigns.LedgerKey{DispatchID: "d1", UserID: uid, Channel: ch, Device: fmt.Sprint("dev", uid)},
				CampaignID: id, Kind: kind, At: at})
		}
		for uid := int64(1); uid <= 3; uid++ { // day 1: three iOS deliveries (each a send), one Android bounce (a send too)
			add(uid, campaigns.ApplePush, campaigns.EventDelivery, day1)
		}
		add(3, campaigns.AndroidPush, campaigns.EventBounce, day1) // user 3 on two channels: one recipient
		add(2, campaigns.Webhook, campaigns.EventDelivery, day2)   // day 2: a webhook delivered, one refused
		add(3, campaigns.Webhook, campaigns.EventAbort, day2)
		add(1, campaigns.ApplePush, campaigns.EngageOpen, day2) // day 2: an open
		if err := e.store.Record(ctx, nil, events, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		err := e.store.InTx(ctx, func(tx profiles.Tx) error {
			return tx.(campaigns.ConversionTx).AddConversions(ctx, []campaigns.Conversion{{CampaignID: id, UserID: 1, DispatchID: "d1", At: day2, Revenue: 4.5}})
		})
		if err != nil {
			t.Fatal(err)
		}
		key := e.key("series", "campaigns.data_series")
		r := e.do("GET", "/campaigns/data_series?campaign_id="+id+"&length=3&ending_at=2026-11-21T23:00:00Z", nil, "Authorization", "Bearer "+key)
		if r.status != 200 {
			t.Fatalf("data_series: %d %s", r.status, r.body)
		}
		data := r.json(t)["data"].([]any)
		got := ""
		for _, d := range data {
			m := d.(map[string]any)
			got += fmt.Sprintf("%v recipients=%v conv=%v rev=%v %v\n", m["time"], m["unique_recipients"], m["conversions"], m["revenue"], m["messages"])
		}
		want := "2026-11-19 recipients=0 conv=0 rev=0 map[]\n" +
			"2026-11-20 recipients=3 conv=0 rev=0 map[android_push:[map[bounces:1 direct_opens:0 sent:1 total_opens:0]] ios_push:[map[bounces:0 direct_opens:0 sent:3 total_opens:0]]]\n" +
			"2026-11-21 recipients=1 conv=1 rev=4.5 map[ios_push:[map[bounces:0 direct_opens:1 sent:0 total_opens:1]] webhook:[map[errors:1 sent:1]]]\n"
		if got != want {
			t.Fatalf("series:\n%s\nwant:\n%s", got, want)
		}
		for q, field := range map[string]string{"length=3": "campaign_id", "campaign_id=" + id + "&length=0": "length",
			"campaign_id=" + id + "&length=2&ending_at=yesterday": "ending_at", "campaign_id=nope&length=2": "campaign_id"} {
			r := e.do("GET", "/campaigns/data_series?"+q, nil, "Authorization", "Bearer "+key)
			if r.status != 400 || !strings.Contains(string(r.body), field) {
				t.Errorf("%s: %d %s, want a 400 on %s", q, r.status, r.body, field)
			}
		}
		if r := e.do("GET", "/campaigns/data_series?campaign_id="+id+"&length=1", nil, "Authorization", "Bearer "+e.key("nope", "campaigns.list")); r.status != 403 {
			t.Errorf("without the scope: %d", r.status)
		}
	})
}

// A campaign with A/B variants lists one entry per variation and channel,
// its users placed as campaigns.VariantOf places them.
func TestCampaignsDataSeriesVariants(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		id := e.createCampaign(`{"name":"AB series","audience":{"filter":` + goldFilter + `},
			"variants":[{"id":"a","percent":50,"messages":{"apple_push":{"alert":"a"}}},{"id":"b","percent":30,"messages":{"apple_push":{"alert":"b"}}}],
			"control_percent":20}`)
		r := e.do("POST", "/manage/campaigns/"+id+"/launch", nil)
		dispatchID, _ := r.json(t)["dispatch_id"].(string)
		d := e.dispatch(dispatchID)
		at := time.Now().UTC()
		var events []campaigns.Engagement
		want := map[string]float64{}
		for uid := int64(1); uid <= 60; uid++ {
			v := campaigns.VariantOf(d, uid)
			k := campaigns.LedgerKey{DispatchID: d.ID, UserID: uid, Channel: campaigns.ApplePush, Device: fmt.Sprint("dev", uid)}
			if v == campaigns.ControlGroup {
				events = append(events, campaigns.Engagement{LedgerKey: campaigns.LedgerKey{DispatchID: d.ID, UserID: uid, Channel: campaigns.ApplePush},
					CampaignID: id, Kind: campaigns.EventAbort, Reason: campaigns.AbortControlGroup, At: at})
				continue
			}
			events = append(events, campaigns.Engagement{LedgerKey: k, CampaignID: id, Kind: campaigns.EventDelivery, At: at})
			want[v]++
		}
		if err := e.store.Record(context.Background(), nil, events, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		key := e.key("series-ab", "campaigns.data_series")
		r = e.do("GET", "/campaigns/data_series?campaign_id="+id+"&length=1", nil, "Authorization", "Bearer "+key)
		if r.status != 200 {
			t.Fatalf("data_series: %d %s", r.status, r.body)
		}
		day := r.json(t)["data"].([]any)[0].(map[string]any)
		got := map[string]float64{}
		for _, entry := range day["messages"].(map[string]any)["ios_push"].([]any) {
			m := entry.(map[string]any)
			got[m["variation_name"].(string)] = m["sent"].(float64)
		}
		if want["a"] == 0 || want["b"] == 0 || got["a"] != want["a"] || got["b"] != want["b"] || got[campaigns.ControlGroup] != 0 {
			t.Fatalf("sent per variation %v, want %v (and the control group sent nothing)", got, want)
		}
		if day["unique_recipients"].(float64) != want["a"]+want["b"] {
			t.Fatalf("unique recipients %v", day["unique_recipients"])
		}
	})
}
