package api

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// brazeCampaign is one entry of Braze's /campaigns/list.
type brazeCampaign struct {
	ID            string   `json:"id"`
	LastEdited    string   `json:"last_edited"`
	Name          string   `json:"name"`
	IsAPICampaign bool     `json:"is_api_campaign"`
	Tags          []string `json:"tags"`
}

// allCampaigns returns every campaign, oldest first (a management list: a
// few hundred campaigns at most).
func (s *Server) allCampaigns(ctx context.Context) ([]*campaigns.Campaign, error) {
	const batch = 500
	var all []*campaigns.Campaign
	for {
		list, err := s.deps.Campaigns.List(ctx, batch, len(all))
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
		if len(list) < batch {
			break
		}
	}
	slices.Reverse(all) // List is newest first
	return all, nil
}

// brazeListCampaigns is Braze's GET /campaigns/list: 100 campaigns per page
// (page from 0), oldest first unless sort_direction=desc, only those edited
// after last_edit.time[gt] when given. Herald archives nothing, so
// include_archived changes nothing.
func (s *Server) brazeListCampaigns(w http.ResponseWriter, r *http.Request) {
	page, desc, ok := queryPageSort(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	switch q.Get("include_archived") {
	case "", "true", "false":
	default:
		writeMessage(w, http.StatusBadRequest, "include_archived must be true or false")
		return
	}
	var after time.Time
	if v := q.Get("last_edit.time[gt]"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeMessage(w, http.StatusBadRequest, "last_edit.time[gt] must be an ISO 8601 time such as 2026-01-02T15:04:05Z")
			return
		}
		after = t
	}
	all, err := s.allCampaigns(r.Context())
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	if desc {
		slices.Reverse(all)
	}
	out := make([]brazeCampaign, 0, campaignsPage)
	skip := page * campaignsPage
	for _, c := range all {
		if !after.IsZero() && !c.UpdatedAt.After(after) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(out) == campaignsPage {
			break
		}
		out = append(out, brazeCampaign{ID: c.ID, LastEdited: timestamp(c.UpdatedAt), Name: c.Name, Tags: []string{}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "success", "campaigns": out})
}

// brazeChannels names Herald's message channels as Braze's campaign details
// do.
var brazeChannels = map[string]string{
	campaigns.ApplePush:   "ios_push",
	campaigns.AndroidPush: "android_push",
	campaigns.WebPush:     "web_push",
	campaigns.ContentCard: "content_cards",
}

func brazeChannel(key string) string {
	if c, ok := brazeChannels[key]; ok {
		return c
	}
	return key
}

// brazeDetails is the answer of Braze's /campaigns/details.
type brazeDetails struct {
	Message             string                    `json:"message"`
	CreatedAt           string                    `json:"created_at"`
	UpdatedAt           string                    `json:"updated_at"`
	Archived            bool                      `json:"archived"`
	Draft               bool                      `json:"draft"`
	Enabled             bool                      `json:"enabled"`
	Name                string                    `json:"name"`
	Description         string                    `json:"description"`
	ScheduleType        string                    `json:"schedule_type"`
	Channels            []string                  `json:"channels"`
	FirstSent           *string                   `json:"first_sent"`
	LastSent            *string                   `json:"last_sent"`
	Tags                []string                  `json:"tags"`
	Messages            map[string]map[string]any `json:"messages"`
	ConversionBehaviors []any                     `json:"conversion_behaviors"`
}

// brazeCampaignDetails is Braze's GET /campaigns/details?campaign_id=, as
// far as Herald has the fields: no archive, description, tags or conversion
// behaviours; one message per channel, keyed by its channel key; first_sent
// and last_sent are when the first and the last dispatch started.
func (s *Server) brazeCampaignDetails(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("campaign_id")
	if id == "" {
		writeMessage(w, http.StatusBadRequest, "campaign_id is required")
		return
	}
	c, ds, ok := s.campaignAndDispatches(w, r, id)
	if !ok {
		return
	}
	// Messages are keyed by channel, or "<variant id>:<channel>" for an A/B
	// test's variants (Braze's message variation ids).
	variants := c.Definition.Variants
	if len(variants) == 0 {
		variants = []campaigns.Variant{{Messages: c.Definition.Messages}}
	}
	var chans []string
	msgs := map[string]map[string]any{}
	for _, v := range variants {
		keys := make([]string, 0, len(v.Messages))
		for k := range v.Messages {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !slices.Contains(chans, brazeChannel(k)) {
				chans = append(chans, brazeChannel(k))
			}
			m := make(map[string]any, len(v.Messages[k])+2)
			for f, val := range v.Messages[k] {
				m[f] = val
			}
			key := k
			if v.ID != "" {
				key = v.ID + ":" + k
			}
			m["channel"], m["name"] = brazeChannel(k), key
			msgs[key] = m
		}
	}
	out := brazeDetails{Message: "success", CreatedAt: timestamp(c.CreatedAt), UpdatedAt: timestamp(c.UpdatedAt),
		Draft: c.Status == campaigns.StatusDraft, Enabled: c.Status == campaigns.StatusActive, Name: c.Name,
		ScheduleType: c.Definition.Schedule.Type, Channels: chans, Tags: []string{}, Messages: msgs, ConversionBehaviors: []any{}}
	if len(ds) > 0 { // newest first
		first, last := timestamp(ds[len(ds)-1].CreatedAt), timestamp(ds[0].CreatedAt)
		out.FirstSent, out.LastSent = &first, &last
	}
	writeJSON(w, http.StatusOK, out)
}
