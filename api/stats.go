package api

import (
	"context"
	"maps"
	"net/http"

	"github.com/herald-oss/herald/campaigns"
)

// engagementCounter counts engagement events by channel and kind;
// *campaigns.Service implements it.
type engagementCounter interface {
	EngagementCounts(ctx context.Context, campaignID, dispatchID string) (map[string]map[string]int64, error)
}

// statsDispatches is how many of a campaign's newest dispatches the stats
// answer counts.
const statsDispatches = 20

// dispatchStats is one dispatch's ledger by state, overall and per variant.
type dispatchStats struct {
	ID        string                      `json:"id"`
	Status    string                      `json:"status"`
	CreatedAt string                      `json:"created_at"`
	Totals    map[string]int64            `json:"totals"`
	Variants  map[string]map[string]int64 `json:"variants"`
	// Engagement counts the dispatch's engagement events by channel and
	// kind: send, delivery, bounce, abort from delivery; impression, click,
	// button_click, dismiss and open reported by SDKs (unique users).
	Engagement map[string]map[string]int64 `json:"engagement"`
}

// campaignStats is GET /manage/campaigns/{id}/stats: the newest dispatches'
// messages by ledger state ("delivered", "dropped", "aborted:<reason>", …),
// in total and per A/B variant ("control" for the control group; "" for a
// campaign without variants), its engagement events by channel and kind,
// and the campaign's conversions per variant and engagement over all its
// dispatches and in-app messages.
func (s *Server) campaignStats(w http.ResponseWriter, r *http.Request) {
	c, ds, ok := s.campaignAndDispatches(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	conv, revenue, err := s.deps.Campaigns.ConversionCounts(r.Context(), c.ID)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	out := struct {
		CampaignID string `json:"campaign_id"`
		// Conversions count users by variant and conversion event index;
		// Revenue sums their purchases' prices by variant.
		Conversions map[string]map[int]int64    `json:"conversions"`
		Revenue     map[string]float64          `json:"revenue"`
		Engagement  map[string]map[string]int64 `json:"engagement"`
		Dispatches  []dispatchStats             `json:"dispatches"`
		// Live are the real-time counters (GET .../live streams them),
		// with the provider latency percentiles.
		Live *campaigns.Live `json:"live,omitempty"`
	}{CampaignID: c.ID, Conversions: conv, Revenue: revenue, Engagement: map[string]map[string]int64{}, Dispatches: []dispatchStats{}}
	if lv, ok := s.deps.Campaigns.(liveViewer); ok {
		if out.Live, err = lv.Live(r.Context(), c.ID); err != nil {
			s.writeRequestError(w, r, err)
			return
		}
	}
	ec, _ := s.deps.Campaigns.(engagementCounter)
	if ec != nil {
		if out.Engagement, err = ec.EngagementCounts(r.Context(), c.ID, ""); err != nil {
			s.writeRequestError(w, r, err)
			return
		}
	}
	for _, d := range ds[:min(len(ds), statsDispatches)] {
		vs, err := s.deps.Campaigns.VariantCounts(r.Context(), d.ID)
		if err != nil {
			s.writeRequestError(w, r, err)
			return
		}
		st := dispatchStats{ID: d.ID, Status: d.Status, CreatedAt: timestamp(d.CreatedAt), Totals: map[string]int64{}, Variants: vs,
			Engagement: map[string]map[string]int64{}}
		if ec != nil {
			if st.Engagement, err = ec.EngagementCounts(r.Context(), c.ID, d.ID); err != nil {
				s.writeRequestError(w, r, err)
				return
			}
		}
		for _, counts := range vs {
			for k, n := range maps.All(counts) {
				st.Totals[k] += n
			}
		}
		out.Dispatches = append(out.Dispatches, st)
	}
	writeJSON(w, http.StatusOK, out)
}
