package campaigns

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/herald-oss/herald/profiles"
)

// CardState is one state change of a user's card: Kind EngageImpression
// (viewed), EngageClick (clicked) or EngageDismiss (dismissed, for good).
type CardState struct {
	ID   string
	Kind string
	At   time.Time
}

// engageKinds are the kinds recorded per SDK channel.
var engageKinds = map[string]map[string]bool{
	EngageContentCard: {EngageImpression: true, EngageClick: true, EngageDismiss: true},
	EngageInApp:       {EngageImpression: true, EngageClick: true, EngageButtonClick: true, EngageDismiss: true},
	EngagePush:        {EngageOpen: true},
}

// pushChannels maps an app's platform to its push channel.
var pushChannels = map[string]string{profiles.PlatformIOS: ApplePush, profiles.PlatformAndroid: AndroidPush, profiles.PlatformWeb: WebPush}

// RecordEngagement records what an app's SDK reports of a user's
// engagement, beside the delivery pipeline's events (one engagement row per
// dispatch, user, channel and kind: counts are of unique users, and a
// report replayed, or reported twice, is written once):
//   - Content Cards (ID the card id): impression, click and dismiss set the
//     card's viewed, clicked and dismissed state (a dismissed card leaves
//     the feed); the user's own cards only.
//   - In-app messages (ID the message id, "<campaign>:<version>", kept as
//     the row's dispatch id unless DispatchID is given): impression, click,
//     button_click (the button id as the reason) and dismiss, of a campaign
//     that exists.
//   - Push (DispatchID the herald_dispatch_id it carried): open, a direct
//     open, counted when the dispatch delivered the user a push on the
//     app's platform.
//
// Reports of other kinds, unknown cards, campaigns and dispatches are left
// out; a report without a time, or with one in the future, takes now.
func (s *Service) RecordEngagement(ctx context.Context, app *profiles.App, userID int64, es []SDKEngagement) error {
	now := s.now().UTC()
	var cardIDs []string
	for _, e := range es {
		if e.Channel == EngageContentCard {
			cardIDs = append(cardIDs, e.ID)
		}
	}
	cards := map[string]*Card{}
	if len(cardIDs) > 0 {
		found, err := s.st.CardsByID(ctx, userID, cardIDs)
		if err != nil {
			return err
		}
		for _, c := range found {
			cards[c.ID] = c
		}
	}
	var states []CardState
	var events []Engagement
	seen := map[LedgerKey]map[string]bool{}
	add := func(k LedgerKey, campaignID, kind, reason string, at time.Time) {
		if seen[k] == nil {
			seen[k] = map[string]bool{}
		}
		if !seen[k][kind] {
			seen[k][kind] = true
			events = append(events, Engagement{LedgerKey: k, CampaignID: campaignID, Kind: kind, Reason: reason, At: at})
		}
	}
	campaignOK := map[string]bool{}
	dispatches := map[string]*Dispatch{}
	for _, e := range es {
		if !engageKinds[e.Channel][e.Kind] || e.ID == "" && e.DispatchID == "" {
			continue
		}
		at := e.At.UTC()
		if at.IsZero() || at.After(now) {
			at = now
		}
		switch e.Channel {
		case EngageContentCard:
			c := cards[e.ID]
			if c == nil {
				continue
			}
			states = append(states, CardState{ID: c.ID, Kind: e.Kind, At: at})
			add(LedgerKey{DispatchID: c.DispatchID, UserID: userID, Channel: ContentCard}, c.CampaignID, e.Kind, "", at)
		case EngageInApp:
			campaignID, _, _ := strings.Cut(e.ID, ":")
			ok, known := campaignOK[campaignID]
			if !known {
				_, err := s.st.Campaign(ctx, campaignID)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				ok = err == nil
				campaignOK[campaignID] = ok
			}
			if !ok {
				continue
			}
			id := e.DispatchID
			if id == "" {
				id = e.ID
			}
			reason := ""
			if e.Kind == EngageButtonClick {
				reason = e.ButtonID
			}
			add(LedgerKey{DispatchID: id, UserID: userID, Channel: InAppMessage}, campaignID, e.Kind, reason, at)
		case EngagePush:
			channel := pushChannels[app.Platform]
			if e.DispatchID == "" || channel == "" {
				continue
			}
			d, known := dispatches[e.DispatchID]
			if !known {
				var err error
				d, err = s.st.Dispatch(ctx, e.DispatchID)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				if d != nil {
					sent, err := s.st.SentTo(ctx, d.ID, userID, channel)
					if err != nil {
						return err
					}
					if !sent {
						d = nil
					}
				}
				dispatches[e.DispatchID] = d
			}
			if d != nil {
				add(LedgerKey{DispatchID: d.ID, UserID: userID, Channel: channel}, d.CampaignID, e.Kind, "", at)
			}
		}
	}
	if err := s.st.SetCardStates(ctx, userID, states, now); err != nil {
		return err
	}
	return s.recordCounted(ctx, nil, events, now)
}

// EngagementCounts counts engagement events (send, delivery, impression,
// click, dismiss, open, …) by channel and kind: a dispatch's, or a whole
// campaign's when dispatchID is "" (in-app messages have no dispatch).
func (s *Service) EngagementCounts(ctx context.Context, campaignID, dispatchID string) (map[string]map[string]int64, error) {
	return s.st.EngagementCounts(ctx, campaignID, dispatchID)
}
