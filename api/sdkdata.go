package api

import (
	"context"
	"net/http"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// InAppService finds the in-app messages a user is eligible for at session
// start, from the user's profile as it was before the session began.
type InAppService interface {
	Eligible(ctx context.Context, app *profiles.App, before *profiles.Profile, now time.Time) ([]map[string]any, error)
}

// EngagementRecorder records the engagement an SDK reports (in-app message
// and Content Card impressions, clicks and dismissals, push opens). es
// carry the SDK's item ids (EventID): a recorder may be handed an item again
// after a crash between its recording and /sdk/v1/data marking it applied.
type EngagementRecorder interface {
	RecordEngagement(ctx context.Context, app *profiles.App, userID int64, es []campaigns.SDKEngagement) error
}

// defaultMinInAppInterval is the minimum time between two in-app message
// displays sent to SDKs when the in-app service does not say (Braze: 30 s).
const defaultMinInAppInterval = 30 * time.Second

// sdkDataResponse is the answer to POST /sdk/v1/data.
type sdkDataResponse struct {
	Message        string                  `json:"message"`
	ItemsProcessed int                     `json:"items_processed"`
	ItemsReplayed  int                     `json:"items_replayed"`
	Config         sdkConfig               `json:"config"`
	InAppMessages  []map[string]any        `json:"in_app_messages"`
	Errors         []profiles.SDKItemError `json:"errors"`
}

// sdkConfig is what the server tells SDKs to follow.
type sdkConfig struct {
	MinInAppIntervalS int `json:"min_in_app_interval_s"`
	MaxItems          int `json:"max_items"`
	MaxItemAgeS       int `json:"max_item_age_s"`
}

// sdkData serves POST /sdk/v1/data (docs/sdk-protocol.md): decode, check
// SDK authentication for the user, resolve the user (merging the device's
// anonymous user on changeUser), at session
// start the in-app messages for the profile as it was, then the batch in one
// transaction, then the engagement items to their recorder.
func (s *Server) sdkData(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	app := sdkApp(ctx)
	svc := s.deps.Profiles
	now := svc.Now()
	b, err := profiles.DecodeSDK(r.Body, now, svc.Limits())
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	if err := sdkCheckUser(ctx, b.UserID); err != nil {
		writeMessage(w, http.StatusUnauthorized, err.Error())
		return
	}
	wantBefore := s.deps.InApp != nil && b.HasSessionStart()
	prep, err := svc.PrepareSDK(ctx, app, b, s.sdkBefore(ctx, wantBefore))
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	if prep.Owner != "" {
		// an anonymous batch from a device whose user logged in: it applies
		// to that user, whom SDK authentication must allow
		if err := sdkCheckUser(ctx, prep.Owner); err != nil {
			writeMessage(w, http.StatusUnauthorized, err.Error())
			return
		}
	}
	msgs := []map[string]any{}
	if wantBefore {
		// evaluated before the batch is applied, so the session start and the
		// batch's attributes are not yet in what the evaluator reads
		got, err := s.deps.InApp.Eligible(ctx, app, prep.Before, now)
		if err != nil {
			// the batch is still applied; the messages come at the next session
			s.log.Error("in-app eligibility failed", "app", app.ID, "err", err)
		} else if got != nil {
			msgs = got
		}
	}
	if s.deps.Engagement == nil {
		b.Refuse((*profiles.SDKItem).IsEngagement, "engagement recording unavailable")
	}
	res, err := svc.ApplySDK(ctx, app, b)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	processed := res.Processed
	if len(res.Engagement) > 0 {
		es := make([]campaigns.SDKEngagement, len(res.Engagement))
		for i, it := range res.Engagement {
			es[i] = sdkEngagement(it)
		}
		if err := s.deps.Engagement.RecordEngagement(ctx, app, res.UserID, es); err != nil {
			// everything else is applied and skipped on the retry
			s.writeRequestError(w, r, err)
			return
		}
		if err := svc.RecordSDKItems(ctx, app, b.Device.DeviceID, res.Engagement); err != nil {
			s.writeRequestError(w, r, err)
			return
		}
		processed += len(res.Engagement)
	}
	s.influencedOpens(ctx, app, res.UserID, b)
	errs := res.Errors
	if errs == nil {
		errs = []profiles.SDKItemError{}
	}
	writeJSON(w, http.StatusOK, sdkDataResponse{
		Message: "success", ItemsProcessed: processed, ItemsReplayed: res.Replayed,
		Config:        s.sdkConfig(),
		InAppMessages: msgs, Errors: errs,
	})
}

// sdkBefore says what of the profile before the request the in-app service
// reads: the event summaries only when an in-app service that says so needs
// them (one that does not say gets them).
func (s *Server) sdkBefore(ctx context.Context, want bool) profiles.SDKBefore {
	out := profiles.SDKBefore{Want: want, EventSummaries: want}
	if n, ok := s.deps.InApp.(interface {
		NeedsEventSummaries(context.Context) (bool, error)
	}); ok && want {
		if need, err := n.NeedsEventSummaries(ctx); err == nil {
			out.EventSummaries = need
		}
	}
	return out
}

func (s *Server) sdkConfig() sdkConfig {
	interval := defaultMinInAppInterval
	if mi, ok := s.deps.InApp.(interface{ MinInterval() time.Duration }); ok && mi.MinInterval() > 0 {
		interval = mi.MinInterval()
	}
	return sdkConfig{
		MinInAppIntervalS: int(interval / time.Second),
		MaxItems:          profiles.SDKMaxItems,
		MaxItemAgeS:       int(profiles.SDKReplayWindow / time.Second),
	}
}

// sdkEngagementKinds maps engagement item types to their channel and kind.
var sdkEngagementKinds = map[string][2]string{
	profiles.SDKInAppImpression:  {campaigns.EngageInApp, campaigns.EngageImpression},
	profiles.SDKInAppClick:       {campaigns.EngageInApp, campaigns.EngageClick},
	profiles.SDKInAppButtonClick: {campaigns.EngageInApp, campaigns.EngageButtonClick},
	profiles.SDKInAppDismiss:     {campaigns.EngageInApp, campaigns.EngageDismiss},
	profiles.SDKCardImpression:   {campaigns.EngageContentCard, campaigns.EngageImpression},
	profiles.SDKCardClick:        {campaigns.EngageContentCard, campaigns.EngageClick},
	profiles.SDKCardDismiss:      {campaigns.EngageContentCard, campaigns.EngageDismiss},
	profiles.SDKPushOpen:         {campaigns.EngagePush, campaigns.EngageOpen},
}

func sdkEngagement(it profiles.SDKItem) campaigns.SDKEngagement {
	k := sdkEngagementKinds[it.Type]
	return campaigns.SDKEngagement{Channel: k[0], Kind: k[1], ID: it.Engagement.Target, DispatchID: it.Engagement.DispatchID,
		ButtonID: it.Engagement.ButtonID, At: it.Time, EventID: it.ID}
}

// influenceRecorder records influenced opens from session starts;
// *campaigns.Service implements it.
type influenceRecorder interface {
	RecordSessionStarts(ctx context.Context, app *profiles.App, userID int64, starts []time.Time, opened map[string]bool) error
}

// influencedOpens passes a batch's session starts, with the dispatches
// whose push it opened, to the influenced-open recorder. A failure is
// logged: the batch is applied, and the counts are engagement statistics.
func (s *Server) influencedOpens(ctx context.Context, app *profiles.App, userID int64, b *profiles.SDKBatch) {
	rec, ok := s.deps.Engagement.(influenceRecorder)
	if !ok || userID == 0 {
		return
	}
	var starts []time.Time
	opened := map[string]bool{}
	for _, it := range b.Items {
		switch {
		case it.Type == profiles.SDKSessionStart:
			starts = append(starts, it.Time)
		case it.Type == profiles.SDKPushOpen && it.Engagement != nil:
			opened[it.Engagement.DispatchID] = true
		}
	}
	if len(starts) == 0 {
		return
	}
	if err := rec.RecordSessionStarts(ctx, app, userID, starts, opened); err != nil {
		s.log.Error("influenced opens failed", "app", app.ID, "err", err)
	}
}
