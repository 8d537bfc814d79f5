package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/dashboard"
	"github.com/herald-oss/herald/profiles"
)

// withDashboard serves the web dashboard at /dashboard beside the API h.
// The session cookie's key derives from security.encryption_key; without
// one, /dashboard says how to enable it.
func (n *node) withDashboard(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	d, err := n.dashboard(h)
	if err != nil {
		n.log.Warn("dashboard disabled", "reason", err.Error())
		off := func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "the dashboard is disabled: "+err.Error(), http.StatusServiceUnavailable)
		}
		mux.HandleFunc("/dashboard", off)
		mux.HandleFunc("/dashboard/", off)
		return mux
	}
	mux.Handle("/dashboard", d)
	mux.Handle("/dashboard/", d)
	return mux
}

func (n *node) dashboard(api http.Handler) (*dashboard.Dashboard, error) {
	raw, err := readSecret(n.cfg, n.cfg.Security.EncryptionKey, n.cfg.Security.EncryptionKeyFile)
	if err != nil {
		return nil, err
	}
	if raw == "" {
		return nil, errors.New("set security.encryption_key (or _file): it derives the session cookie key")
	}
	key, err := config.DecodeKey(raw)
	if err != nil {
		return nil, fmt.Errorf("security.encryption_key: %w", err)
	}
	return dashboard.New(dashboard.Deps{API: api, Keys: n.keys, MasterKey: key, APIKeys: n.store,
		Previewer: n.campaigns, Users: n.store, TestSender: dashboardTests{n}, Stats: liveStats{n}, Logger: n.log}, dashboard.Options{})
}

// liveStats feeds the dashboard's live view, read every second by every
// viewer, from the campaign's real-time counters in Redis (the funnel) and
// the newest dispatch's ledger by state, instead of the full stats answer
// (every dispatch's ledger per variant and the campaign's engagement rows).
type liveStats struct{ n *node }

func (l liveStats) Stats(ctx context.Context, id string) (*dashboard.CampaignStats, error) {
	live, err := l.n.campaigns.Live(ctx, id)
	if errors.Is(err, campaigns.ErrNotFound) {
		return nil, fmt.Errorf("campaign %s: %w", id, dashboard.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	out := &dashboard.CampaignStats{CampaignID: id, Engagement: live.Counts}
	ds, err := l.n.campaigns.Dispatches(ctx, id)
	if err != nil || len(ds) == 0 {
		return out, err
	}
	d := ds[0] // the newest
	totals, err := l.n.store.LedgerCounts(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	out.Dispatches = []dashboard.DispatchStats{{ID: d.ID, Status: d.Status, CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339), Totals: totals}}
	return out, nil
}

// dashboardTests checks an app's stored credentials with one test push,
// through a sender built from them now (not the delivery cache, which may
// still hold the previous credentials).
type dashboardTests struct{ n *node }

func (t dashboardTests) TestSend(ctx context.Context, appID, token string) (string, error) {
	s := t.n.senders
	app, creds, err := s.load(ctx, appID)
	if err != nil {
		return "", err
	}
	msgToken, err := resolveToken(ctx, t.n.store, t.n.apps, s, app, token, "")
	if err != nil {
		return "", err
	}
	snd, _, err := s.build(ctx, app.Platform, creds)
	if err != nil {
		return "", err
	}
	defer snd.Close()
	id := fmt.Sprintf("dashboard-test-%x", randomBytes(6))
	object := map[string]any{"title": "Herald test", "alert": "A test message from the Herald dashboard"}
	if app.Platform == profiles.PlatformIOS {
		object = map[string]any{"alert": map[string]any{"title": "Herald test", "body": "A test message from the Herald dashboard"}}
	}
	r := snd.Send(ctx, []channels.Message{{ID: id, DispatchID: "send-test", AppID: app.ID, Token: msgToken, CollapseID: id, Object: object}})[0]
	if r.Outcome == channels.Delivered {
		return "delivered (provider id " + r.ProviderID + ")", nil
	}
	if r.Err != nil {
		return fmt.Sprintf("%s: %s (%v)", r.Outcome, r.Reason, r.Err), nil
	}
	return fmt.Sprintf("%s: %s", r.Outcome, r.Reason), nil
}
