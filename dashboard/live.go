package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// CampaignStats is a campaign's stats as GET /manage/campaigns/{id}/stats
// answers them (docs/campaigns.md#stats).
type CampaignStats struct {
	CampaignID  string                      `json:"campaign_id"`
	Conversions map[string]map[string]int64 `json:"conversions"`
	Revenue     map[string]float64          `json:"revenue"`
	Engagement  map[string]map[string]int64 `json:"engagement"`
	Dispatches  []DispatchStats             `json:"dispatches"`
}

// DispatchStats is one dispatch's ledger and engagement counts.
type DispatchStats struct {
	ID         string                      `json:"id"`
	Status     string                      `json:"status"`
	CreatedAt  string                      `json:"created_at"`
	Totals     map[string]int64            `json:"totals"`
	Engagement map[string]map[string]int64 `json:"engagement"`
}

// ErrNotFound is what a Stats source answers (wrapped) for an unknown
// campaign.
var ErrNotFound = errors.New("not found")

// Stats is where the live view reads a campaign's numbers. The default reads
// the stats endpoint; a real-time counter source can replace it.
type Stats interface {
	Stats(ctx context.Context, campaignID string) (*CampaignStats, error)
}

// apiStats reads GET /manage/campaigns/{id}/stats as one signed-in key.
type apiStats struct {
	d      *Dashboard
	secret string
}

func (a apiStats) Stats(ctx context.Context, id string) (*CampaignStats, error) {
	var out CampaignStats
	err := a.d.call(ctx, a.secret, http.MethodGet, "/manage/campaigns/"+url.PathEscape(id)+"/stats", nil, &out)
	return &out, err
}

// statsFor returns the stats source for a session.
func (d *Dashboard) statsFor(s *session) Stats {
	if d.deps.Stats != nil {
		return d.deps.Stats
	}
	return apiStats{d: d, secret: s.Secret}
}

// liveEvent is one server-sent event of the live view: the latest
// dispatch's counts, the campaign's funnel per channel and the time.
type liveEvent struct {
	At        int64                       `json:"at"` // unix seconds
	Dispatch  string                      `json:"dispatch"`
	Status    string                      `json:"status"`
	Totals    map[string]int64            `json:"totals"`
	Delivered int64                       `json:"delivered"`
	Messages  int64                       `json:"messages"`
	Funnel    map[string]map[string]int64 `json:"funnel"`
}

func newLiveEvent(st *CampaignStats, at time.Time) liveEvent {
	ev := liveEvent{At: at.Unix(), Totals: map[string]int64{}, Funnel: st.Engagement}
	if ev.Funnel == nil {
		ev.Funnel = map[string]map[string]int64{}
	}
	if len(st.Dispatches) > 0 {
		d := st.Dispatches[0]
		ev.Dispatch, ev.Status = d.ID, d.Status
		if d.Totals != nil {
			ev.Totals = d.Totals
		}
	}
	for state, n := range ev.Totals {
		ev.Messages += n
		if state == "delivered" {
			ev.Delivered += n
		}
	}
	return ev
}

// live streams a campaign's stats as server-sent events ("stats", one per
// LiveInterval) until the client goes away; a failed read is sent as an
// "error" event and the stream goes on. It ends with "signedout" when the
// session expires or its key is revoked, and with "shutdown" when the
// server stops (the browser's EventSource reconnects, to another replica).
func (d *Dashboard) live(w http.ResponseWriter, r *http.Request, s *session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	id := r.PathValue("id")
	src := d.statsFor(s)
	// the first read answers a wrong id with its status before the stream starts
	st, err := src.Stats(r.Context(), id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		if _, hooked := d.hooked.LoadOrStore(srv, true); !hooked {
			srv.RegisterOnShutdown(d.Shutdown)
		}
	}
	if rc := http.NewResponseController(w); rc != nil {
		_ = rc.SetWriteDeadline(time.Time{}) // the stream outlives the server's write timeout
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(d.opts.LiveInterval)
	defer tick.Stop()
	// a session ends with its expiry or its key even while streaming
	expires := time.Unix(s.Expires, 0)
	for {
		if err != nil {
			fmt.Fprintf(w, "event: error\ndata: %q\n\n", err.Error())
		} else {
			b, _ := json.Marshal(newLiveEvent(st, d.opts.Now()))
			fmt.Fprintf(w, "event: stats\ndata: %s\n\n", b)
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-d.stopping:
			fmt.Fprint(w, "retry: 2000\nevent: shutdown\ndata: \"server stopping\"\n\n")
			fl.Flush()
			return
		case <-tick.C:
		}
		if !d.opts.Now().Before(expires) {
			fmt.Fprint(w, "event: signedout\ndata: \"session expired\"\n\n")
			return
		}
		if _, kerr := d.deps.Keys.Verify(r.Context(), s.Secret); kerr != nil {
			fmt.Fprint(w, "event: signedout\ndata: \"key revoked\"\n\n")
			return
		}
		st, err = src.Stats(r.Context(), id)
	}
}
