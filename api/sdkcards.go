package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// cardSyncer answers Content Cards syncs; *campaigns.Service implements it
// (Deps.Campaigns), and the endpoint is left out when Campaigns does not.
type cardSyncer interface {
	SyncCards(ctx context.Context, app *profiles.App, req *campaigns.CardSyncRequest) (*campaigns.CardSync, error)
}

var _ cardSyncer = (*campaigns.Service)(nil)

// The per-device sync rate limit: a burst of cardSyncBurst syncs, then one
// every cardSyncEvery (Braze's 3 refreshes per 10 minutes per device).
const (
	cardSyncBurst = 3
	cardSyncEvery = 200 * time.Second
)

// sdkCardRoutes registers the Content Cards SDK endpoint.
func (s *Server) sdkCardRoutes() {
	cs, ok := s.deps.Campaigns.(cardSyncer)
	if !ok {
		return
	}
	s.handleSDK("POST /sdk/v1/content_cards/sync", func(w http.ResponseWriter, r *http.Request) { s.contentCardsSync(w, r, cs) })
}

// sdkCard is a card as the SDK receives it (docs/content-cards.md).
type sdkCard struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"` // classic, captioned_image, banner
	Title       string            `json:"title"`
	Description string            `json:"description"`
	ImageURL    string            `json:"image_url,omitempty"`
	URL         string            `json:"url,omitempty"` // the link for the app's platform
	UseWebView  bool              `json:"use_webview,omitempty"`
	LinkText    string            `json:"link_text,omitempty"`
	URIs        map[string]string `json:"uris,omitempty"` // ios, android, web
	Extras      map[string]any    `json:"extras"`
	Pinned      bool              `json:"pinned"`
	CampaignID  string            `json:"campaign_id"`
	DispatchID  string            `json:"dispatch_id"`
	CreatedAt   string            `json:"created_at"`
	ExpiresAt   string            `json:"expires_at,omitempty"`
	Viewed      bool              `json:"viewed"`
	Clicked     bool              `json:"clicked"`
	Dismissed   bool              `json:"dismissed"` // always false: a dismissed card is removed
}

// cardPlatforms maps the uri fields of a content_card to platforms.
var cardPlatforms = map[string]string{profiles.PlatformIOS: "ios", profiles.PlatformAndroid: "android", profiles.PlatformWeb: "web"}

func newSDKCard(c *campaigns.Card, platform string) sdkCard {
	str := func(k string) string { v, _ := c.Card[k].(string); return v }
	out := sdkCard{ID: c.ID, Type: strings.ToLower(str("type")), Title: str("title"), Description: str("description"),
		ImageURL: str("image_url"), LinkText: str("uri_text"), Extras: map[string]any{}, Pinned: c.Pinned,
		CampaignID: c.CampaignID, DispatchID: c.DispatchID, CreatedAt: timestamp(c.CreatedAt),
		Viewed: !c.ViewedAt.IsZero(), Clicked: !c.ClickedAt.IsZero()}
	if !c.ExpiresAt.IsZero() {
		out.ExpiresAt = timestamp(c.ExpiresAt)
	}
	if extra, ok := c.Card["extra"].(map[string]any); ok {
		out.Extras = extra
	}
	for _, p := range []string{"ios", "android", "web"} {
		if u := str(p + "_uri"); u != "" {
			if out.URIs == nil {
				out.URIs = map[string]string{}
			}
			out.URIs[p] = u
		}
	}
	if p := cardPlatforms[platform]; p != "" {
		out.URL = out.URIs[p]
		out.UseWebView, _ = c.Card[p+"_use_webview"].(bool)
	}
	return out
}

// contentCardsSync is POST /sdk/v1/content_cards/sync: the user's feed, or
// the changes since sync_token (docs/content-cards.md). 401 when SDK
// authentication does not allow the user; 429 with Retry-After past the
// device's sync rate limit.
func (s *Server) contentCardsSync(w http.ResponseWriter, r *http.Request, cs cardSyncer) {
	req, err := campaigns.DecodeCardSync(r.Body)
	var ve *campaigns.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ve):
		writeProblems(w, "invalid request", ve.Problems)
		return
	case errors.As(err, &mbe):
		s.writeRequestError(w, r, err)
		return
	case err != nil:
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := sdkCheckUser(r.Context(), req.UserID); err != nil {
		writeMessage(w, http.StatusUnauthorized, err.Error())
		return
	}
	app := sdkApp(r.Context())
	if wait := s.cardSyncWait(r.Context(), app.ID, req.DeviceID); wait > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		writeMessage(w, http.StatusTooManyRequests, "content cards synced too often from this device, retry after the Retry-After seconds")
		return
	}
	res, err := cs.SyncCards(r.Context(), app, req)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	out := struct {
		Cards     []sdkCard `json:"cards"`
		Removed   []string  `json:"removed"`
		SyncToken string    `json:"sync_token"`
		FullSync  bool      `json:"full_sync"`
	}{Cards: make([]sdkCard, len(res.Cards)), Removed: res.Removed, SyncToken: res.Token, FullSync: res.Full}
	for i, c := range res.Cards {
		out.Cards[i] = newSDKCard(c, app.Platform)
	}
	writeJSON(w, http.StatusOK, out)
}

// gcraScript is a generic cell rate limit: KEYS[1] holds the theoretical
// arrival time (ms). ARGV: now (ms), the interval between requests (ms), the
// burst tolerance (ms). It returns 0 when the request is allowed, else how
// many ms until it would be.
var gcraScript = redis.NewScript(`
local now, every, tau = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
if tat - now > tau then return tat - tau - now end
redis.call('SET', KEYS[1], tat + every, 'PX', tat + every - now)
return 0`)

// cardSyncWait takes one sync of an app's device from its budget in Redis
// (shared by every API node) and returns 0, or how long until it may sync.
// Without Redis the limit is not applied (it fails open, as the API's).
func (s *Server) cardSyncWait(ctx context.Context, appID, deviceID string) time.Duration {
	l := s.deps.Limiter
	if l == nil {
		return 0
	}
	every := cardSyncEvery.Milliseconds()
	key := l.prefix + "cardsync:" + appID + ":" + deviceID
	ms, err := gcraScript.Run(ctx, l.rdb, []string{key}, l.now().UnixMilli(), every, (cardSyncBurst-1)*every).Int64()
	if err != nil {
		s.metrics.limiterErrors.Inc()
		if now := l.now().Unix(); l.warned.Load() < now-60 {
			l.warned.Store(now)
			s.log.Warn("rate limiter unavailable, allowing content card syncs", "err", err)
		}
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
