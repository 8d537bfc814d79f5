package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// GET /manage/campaigns/{id}/stats counts each dispatch's ledger by state,
// in total and per variant (users placed as campaigns.VariantOf places them).
func TestCampaignStats(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		id := e.createCampaign(`{"name":"AB","audience":{"filter":` + goldFilter + `},
			"variants":[{"id":"a","percent":50,"messages":{"apple_push":{"alert":"a"}}},{"id":"b","percent":30,"messages":{"apple_push":{"alert":"b"}}}],
			"control_percent":20}`)
		r := e.do("POST", "/manage/campaigns/"+id+"/launch", nil)
		dispatchID, _ := r.json(t)["dispatch_id"].(string)
		if r.status != 200 || dispatchID == "" {
			t.Fatalf("launch: %d %s", r.status, r.body)
		}
		d := e.dispatch(dispatchID)
		// the outcomes a worker would record for users 1..40
		var outcomes []campaigns.Outcome
		want := map[string]map[string]float64{}
		for uid := int64(1); uid <= 40; uid++ {
			v := campaigns.VariantOf(d, uid)
			reason := campaigns.AbortNoValidToken
			if v == campaigns.ControlGroup {
				reason = campaigns.AbortControlGroup
			}
			outcomes = append(outcomes, campaigns.Outcome{LedgerKey: campaigns.LedgerKey{DispatchID: d.ID, UserID: uid, Channel: campaigns.ApplePush},
				CampaignID: id, MessageID: fmt.Sprint(uid), State: campaigns.LedgerAborted, Reason: reason})
			if want[v] == nil {
				want[v] = map[string]float64{}
			}
			want[v]["aborted:"+reason]++
		}
		if err := e.store.Record(context.Background(), outcomes, nil, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		r = e.do("GET", "/manage/campaigns/"+id+"/stats", nil)
		if r.status != 200 {
			t.Fatalf("stats: %d %s", r.status, r.body)
		}
		ds := r.json(t)["dispatches"].([]any)
		got := ds[0].(map[string]any)
		if got["id"] != dispatchID || fmt.Sprint(got["variants"]) != fmt.Sprint(want) || len(want) != 3 {
			t.Fatalf("stats %s, want variants %v", r.body, want)
		}
		totals := got["totals"].(map[string]any)
		if totals["aborted:control_group"] != want[campaigns.ControlGroup]["aborted:control_group"] ||
			totals["aborted:no_valid_token"].(float64)+totals["aborted:control_group"].(float64) != 40 {
			t.Fatalf("totals %v", totals)
		}
		if r := e.do("GET", "/manage/campaigns/nope/stats", nil); r.status != 404 {
			t.Fatalf("unknown campaign: %d", r.status)
		}
	})
}
