package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// liveViewer gives a campaign's real-time counters; *campaigns.Service
// implements it.
type liveViewer interface {
	Live(ctx context.Context, campaignID string) (*campaigns.Live, error)
}

// liveInterval is how often the live stream looks for changes.
const liveInterval = time.Second

// liveKeepAlive is the longest the live stream stays silent.
const liveKeepAlive = 15 * time.Second

// liveView is one event of the live stream: the campaign's live counters
// and its conversions.
type liveView struct {
	CampaignID string `json:"campaign_id"`
	*campaigns.Live
	Conversions map[string]map[int]int64 `json:"conversions"`
	Revenue     map[string]float64       `json:"revenue"`
	At          string                   `json:"at"`
}

func (s *Server) liveView(ctx context.Context, id string) (*liveView, error) {
	lv, ok := s.deps.Campaigns.(liveViewer)
	if !ok {
		return nil, fmt.Errorf("api: no live counters: %w", campaigns.ErrNotFound)
	}
	l, err := lv.Live(ctx, id)
	if err != nil {
		return nil, err
	}
	conv, revenue, err := s.deps.Campaigns.ConversionCounts(ctx, id)
	if err != nil {
		return nil, err
	}
	return &liveView{CampaignID: id, Live: l, Conversions: conv, Revenue: revenue}, nil
}

// campaignLive is GET /manage/campaigns/{id}/live: a server-sent event
// stream of the campaign's live view (event "live"), sent at once and then
// whenever it changes (looked at every second), with a comment line at
// least every 15 s to keep proxies from closing it.
func (s *Server) campaignLive(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v, err := s.liveView(r.Context(), id)
	if err != nil {
		s.writeCampaignError(w, r, err, id, "live")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	var last []byte
	silent := time.Now()
	tick := time.NewTicker(liveInterval)
	defer tick.Stop()
	for {
		v.At = ""
		body, err := json.Marshal(v)
		if err != nil {
			return
		}
		_ = rc.SetWriteDeadline(time.Now().Add(liveKeepAlive + 10*time.Second))
		switch {
		case !bytes.Equal(body, last):
			v.At = time.Now().UTC().Format(time.RFC3339Nano)
			stamped, _ := json.Marshal(v)
			_, err = fmt.Fprintf(w, "event: live\ndata: %s\n\n", stamped)
			last, silent = body, time.Now()
		case time.Since(silent) >= liveKeepAlive:
			_, err = fmt.Fprint(w, ": keep-alive\n\n")
			silent = time.Now()
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if v, err = s.liveView(r.Context(), id); err != nil {
			return
		}
	}
}
