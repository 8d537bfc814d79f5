package api

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// brazeSeriesChannels names Herald's channels in Braze's data series.
var brazeSeriesChannels = map[string]string{
	campaigns.ApplePush: "ios_push", campaigns.AndroidPush: "android_push", campaigns.WebPush: "webpush",
	campaigns.ContentCard: "content_cards", campaigns.InAppMessage: "trigger_in_app_message",
	campaigns.Webhook: "webhook",
}

// campaignsDataSeries is Braze's GET /campaigns/data_series?campaign_id=
// &length=&ending_at=: one entry per UTC day (length 1–100, ending with the
// day of ending_at, default now), per channel the counts Herald records —
// push: sent, direct_opens, total_opens (direct and influenced opens),
// bounces; Content Cards: sent and total/unique impressions,
// clicks, dismissals; in-app: impressions, clicks, button clicks,
// dismissals; webhook: sent and errors (webhooks not delivered: refused,
// failed after retries, or aborted) — and the day's unique_recipients,
// conversions and revenue.
func (s *Server) campaignsDataSeries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("campaign_id")
	var bad []campaigns.Problem
	if id == "" {
		bad = append(bad, campaigns.Problem{Field: "campaign_id", Reason: "required"})
	}
	length, err := strconv.Atoi(q.Get("length"))
	if err != nil || length < 1 || length > 100 {
		bad = append(bad, campaigns.Problem{Field: "length", Reason: "required: a whole number of days from 1 to 100"})
	}
	ending := time.Now()
	if v := q.Get("ending_at"); v != "" {
		if ending, err = time.Parse(time.RFC3339, v); err != nil {
			bad = append(bad, campaigns.Problem{Field: "ending_at", Reason: "want an ISO 8601 time with its zone (2026-12-01T00:00:00Z)"})
		}
	}
	if len(bad) > 0 {
		writeProblems(w, "invalid request", bad)
		return
	}
	days, err := s.deps.Campaigns.DataSeries(r.Context(), id, length, ending)
	if errors.Is(err, campaigns.ErrNotFound) {
		writeProblems(w, "invalid request", []campaigns.Problem{{Field: "campaign_id", Reason: "no campaign " + strconv.Quote(id)}})
		return
	}
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(days))
	for _, d := range days {
		msgs := map[string][]map[string]any{}
		if d.Variants == nil {
			for ch, c := range d.Channels {
				if name, ok := brazeSeriesChannels[ch]; ok {
					msgs[name] = append(msgs[name], seriesEntry(ch, c))
				}
			}
		} else { // one entry per variation and channel, as Braze lists them
			for _, v := range slices.Sorted(maps.Keys(d.Variants)) {
				for ch, c := range d.Variants[v] {
					if name, ok := brazeSeriesChannels[ch]; ok {
						e := seriesEntry(ch, c)
						e["variation_name"] = v
						msgs[name] = append(msgs[name], e)
					}
				}
			}
		}
		out = append(out, map[string]any{"time": d.Day.Format("2006-01-02"), "messages": msgs,
			"unique_recipients": d.Channels["*"]["unique_"+campaigns.EventSend], "conversions": d.Conversions, "revenue": d.Revenue})
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "success", "data": out})
}

// seriesEntry is one channel's counts of a day in Braze's names.
func seriesEntry(ch string, c map[string]int64) map[string]any {
	switch ch {
	case campaigns.ContentCard:
		return map[string]any{"sent": c[campaigns.EventSend],
			"total_impressions": c[campaigns.EngageImpression], "unique_impressions": c["unique_"+campaigns.EngageImpression],
			"total_clicks": c[campaigns.EngageClick], "unique_clicks": c["unique_"+campaigns.EngageClick],
			"total_dismissals": c[campaigns.EngageDismiss], "unique_dismissals": c["unique_"+campaigns.EngageDismiss]}
	case campaigns.Webhook:
		return map[string]any{"sent": c[campaigns.EventSend], "errors": c[campaigns.EventAbort]}
	case campaigns.InAppMessage:
		return map[string]any{"impressions": c[campaigns.EngageImpression], "clicks": c[campaigns.EngageClick],
			"button_clicks": c[campaigns.EngageButtonClick], "dismissals": c[campaigns.EngageDismiss]}
	}
	return map[string]any{"sent": c[campaigns.EventSend], "direct_opens": c[campaigns.EngageOpen],
		"total_opens": c[campaigns.EngageOpen] + c[campaigns.EngageInfluencedOpen], "bounces": c[campaigns.EventBounce]}
}
