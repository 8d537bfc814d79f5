package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// CampaignService is what the campaign and send endpoints call;
// *campaigns.Service implements it.
type CampaignService interface {
	Create(ctx context.Context, in *campaigns.Input) (*campaigns.Campaign, error)
	Update(ctx context.Context, id string, in *campaigns.Input) (*campaigns.Campaign, error)
	Get(ctx context.Context, id string) (*campaigns.Campaign, error)
	// List returns campaigns newest first.
	List(ctx context.Context, limit, offset int) ([]*campaigns.Campaign, error)
	// Dispatches returns a campaign's dispatches newest first.
	Dispatches(ctx context.Context, id string) ([]*campaigns.Dispatch, error)
	Launch(ctx context.Context, id string) (*campaigns.Dispatch, error)
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
	Send(ctx context.Context, users campaigns.Users, req *campaigns.SendRequest) (*campaigns.Dispatch, error)
	Trigger(ctx context.Context, users campaigns.Users, req *campaigns.TriggerRequest) (*campaigns.Dispatch, error)
	// VariantCounts counts a dispatch's ledger rows by variant and state.
	VariantCounts(ctx context.Context, dispatchID string) (map[string]map[string]int64, error)
	// DataSeries is a campaign's daily series (Braze's data_series).
	DataSeries(ctx context.Context, campaignID string, length int, endingAt time.Time) ([]campaigns.SeriesDay, error)
	// ConversionCounts counts a campaign's conversions by variant and
	// conversion event, with revenue by variant.
	ConversionCounts(ctx context.Context, campaignID string) (map[string]map[int]int64, map[string]float64, error)
}

var _ CampaignService = (*campaigns.Service)(nil)

// campaignsPage is the page size of GET /manage/campaigns and /campaigns/list.
const campaignsPage = 100

func (s *Server) campaignRoutes() {
	if s.deps.Campaigns == nil {
		return
	}
	manage := endpoint{scope: "manage", class: classDefault}
	s.handle("POST /manage/campaigns", manage, s.createCampaign)
	s.handle("GET /manage/campaigns", manage, s.listCampaigns)
	s.handle("GET /manage/campaigns/{id}", manage, s.getCampaign)
	s.handle("PUT /manage/campaigns/{id}", manage, s.updateCampaign)
	s.handle("POST /manage/campaigns/{id}/launch", manage, s.launchCampaign)
	s.handle("GET /manage/campaigns/{id}/stats", manage, s.campaignStats)
	s.handle("GET /manage/campaigns/{id}/live", manage, s.campaignLive)
	s.handle("POST /manage/campaigns/{id}/pause", manage, s.campaignState("pause", s.deps.Campaigns.Pause))
	s.handle("POST /manage/campaigns/{id}/resume", manage, s.campaignState("resume", s.deps.Campaigns.Resume))
	s.handle("POST /manage/campaigns/{id}/stop", manage, s.campaignState("stop", s.deps.Campaigns.Stop))
	s.handle("GET /campaigns/list", endpoint{scope: "campaigns.list", class: classDefault}, s.brazeListCampaigns)
	s.handle("GET /campaigns/details", endpoint{scope: "campaigns.details", class: classDefault}, s.brazeCampaignDetails)
	s.handle("GET /campaigns/data_series", endpoint{scope: "campaigns.data_series", class: classDefault}, s.campaignsDataSeries)
	if s.deps.CampaignUsers != nil {
		s.handle("POST /messages/send", endpoint{scope: "messages.send", class: classDefault}, s.messagesSend)
		s.handle("POST /campaigns/trigger/send", endpoint{scope: "campaigns.trigger.send", class: classDefault}, s.campaignsTriggerSend)
	}
}

// campaignView is a campaign as the management API shows it.
type campaignView struct {
	ID                         string                    `json:"id"`
	Name                       string                    `json:"name"`
	Status                     string                    `json:"status"`
	Version                    int64                     `json:"version"`
	Messages                   map[string]map[string]any `json:"messages"`
	Audience                   campaigns.Audience        `json:"audience"`
	RecipientSubscriptionState string                    `json:"recipient_subscription_state"`
	Schedule                   campaigns.Schedule        `json:"schedule"`
	SendBy                     string                    `json:"send_by,omitempty"`
	Variants                   []campaigns.Variant       `json:"variants,omitempty"`
	ControlPercent             int                       `json:"control_percent,omitempty"`
	campaigns.Rules
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// dispatchView is one dispatch of a campaign.
type dispatchView struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	CampaignVersion int64  `json:"campaign_version"`
	Pages           int    `json:"pages"`
	PagesDone       int    `json:"pages_done"`
	CreatedAt       string `json:"created_at"`
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func viewCampaign(c *campaigns.Campaign) campaignView {
	d := c.Definition
	v := campaignView{ID: c.ID, Name: c.Name, Status: c.Status, Version: c.Version, Messages: d.Messages,
		Audience: d.Audience, RecipientSubscriptionState: d.RecipientSubscriptionState, Schedule: d.Schedule,
		Variants: d.Variants, ControlPercent: d.ControlPercent, Rules: d.Rules,
		CreatedAt: timestamp(c.CreatedAt), UpdatedAt: timestamp(c.UpdatedAt)}
	if d.SendBy != nil {
		v.SendBy = timestamp(*d.SendBy)
	}
	return v
}

// writeCampaignError answers campaign errors: 400 with every problem, 404 for
// an unknown campaign, 409 with the reason a state change was refused; the
// rest as every request error. action names what was refused ("launch").
func (s *Server) writeCampaignError(w http.ResponseWriter, r *http.Request, err error, id, action string) {
	var ve *campaigns.ValidationError
	switch {
	case errors.As(err, &ve):
		writeProblems(w, "invalid campaign", ve.Problems)
	case errors.Is(err, campaigns.ErrNotFound):
		writeMessage(w, http.StatusNotFound, "campaign "+strconv.Quote(id)+" not found")
	case errors.Is(err, campaigns.ErrConflict):
		writeMessage(w, http.StatusConflict, "cannot "+action+": "+conflictReason(err))
	default:
		s.writeRequestError(w, r, err)
	}
}

func writeProblems(w http.ResponseWriter, msg string, ps []campaigns.Problem) {
	fes := make([]fieldError, len(ps))
	for i, p := range ps {
		fes[i] = fieldError{Field: p.Field, Reason: p.Reason}
	}
	writeJSON(w, http.StatusBadRequest, manageError{Message: msg, Errors: fes})
}

// conflictReason is a conflict's message without the store's prefix and the
// sentinel's suffix: "campaign 1f… is stopped".
func conflictReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), "store: ")
	return strings.TrimSuffix(msg, ": "+campaigns.ErrConflict.Error())
}

// decodeCampaign reads a campaign body (campaigns.DecodeInput), keeping a
// body over the limit a 413.
func decodeCampaign(r *http.Request) (*campaigns.Input, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	return campaigns.DecodeInput(bytes.NewReader(b))
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) {
	in, err := decodeCampaign(r)
	if err != nil {
		s.writeCampaignError(w, r, err, "", "create")
		return
	}
	c, err := s.deps.Campaigns.Create(r.Context(), in)
	if err != nil {
		s.writeCampaignError(w, r, err, "", "create")
		return
	}
	writeJSON(w, http.StatusCreated, viewCampaign(c))
}

func (s *Server) updateCampaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	in, err := decodeCampaign(r)
	if err != nil {
		s.writeCampaignError(w, r, err, id, "update")
		return
	}
	c, err := s.deps.Campaigns.Update(r.Context(), id, in)
	if err != nil {
		s.writeCampaignError(w, r, err, id, "update")
		return
	}
	writeJSON(w, http.StatusOK, viewCampaign(c))
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) {
	page, ok := queryPage(w, r)
	if !ok {
		return
	}
	list, err := s.deps.Campaigns.List(r.Context(), campaignsPage, page*campaignsPage)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	out := make([]campaignView, 0, len(list))
	for _, c := range list {
		out = append(out, viewCampaign(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": out})
}

// campaignAndDispatches reads a campaign and its dispatches (newest first),
// answering the error when that fails.
func (s *Server) campaignAndDispatches(w http.ResponseWriter, r *http.Request, id string) (*campaigns.Campaign, []*campaigns.Dispatch, bool) {
	c, err := s.deps.Campaigns.Get(r.Context(), id)
	if err == nil {
		var ds []*campaigns.Dispatch
		if ds, err = s.deps.Campaigns.Dispatches(r.Context(), id); err == nil {
			return c, ds, true
		}
	}
	s.writeCampaignError(w, r, err, id, "get")
	return nil, nil, false
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) {
	c, ds, ok := s.campaignAndDispatches(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	out := struct {
		campaignView
		Dispatches []dispatchView `json:"dispatches"`
	}{campaignView: viewCampaign(c), Dispatches: make([]dispatchView, 0, len(ds))}
	for _, d := range ds {
		out.Dispatches = append(out.Dispatches, dispatchView{ID: d.ID, Status: d.Status, CampaignVersion: d.CampaignVersion,
			Pages: d.Pages, PagesDone: d.PagesDone, CreatedAt: timestamp(d.CreatedAt)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) launchCampaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, err := s.deps.Campaigns.Launch(r.Context(), id)
	if d == nil && err == nil { // recurring or action-based: activated (unless paused), its schedule sends
		c, err := s.deps.Campaigns.Get(r.Context(), id)
		if err != nil {
			s.writeCampaignError(w, r, err, id, "launch")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"message": "success", "status": c.Status})
		return
	}
	if !s.dispatchStarted(w, r, d, err) {
		s.writeCampaignError(w, r, err, id, "launch")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"dispatch_id": d.ID})
}

// dispatchStarted reports whether a dispatch is recorded. One recorded whose
// enqueue failed counts: the store is the source of truth and the worker's
// reconciler enqueues it again, so the caller must not retry (and send twice).
func (s *Server) dispatchStarted(w http.ResponseWriter, r *http.Request, d *campaigns.Dispatch, err error) bool {
	if d == nil {
		return false
	}
	if err != nil {
		s.log.Warn("dispatch recorded but not enqueued; the reconciler will enqueue it",
			"route", r.Pattern, "dispatch_id", d.ID, "err", err)
	}
	return true
}

// campaignState serves pause, resume and stop.
func (s *Server) campaignState(action string, change func(context.Context, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := change(r.Context(), id); err != nil {
			s.writeCampaignError(w, r, err, id, action)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"message": "success"})
	}
}

// queryPageSort reads the page and sort_direction query parameters of
// Braze's list endpoints.
func queryPageSort(w http.ResponseWriter, r *http.Request) (page int, desc, ok bool) {
	if page, ok = queryPage(w, r); !ok {
		return 0, false, false
	}
	desc, ok = querySortDesc(w, r)
	return page, desc, ok
}

// queryPage reads the page query parameter (from 0; default 0), answering
// 400 when it is not a whole number.
func queryPage(w http.ResponseWriter, r *http.Request) (int, bool) {
	p := r.URL.Query().Get("page")
	if p == "" {
		return 0, true
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 1_000_000 {
		writeMessage(w, http.StatusBadRequest, "page must be a whole number from 0")
		return 0, false
	}
	return n, true
}

// querySortDesc reads sort_direction: asc (the default) or desc.
func querySortDesc(w http.ResponseWriter, r *http.Request) (bool, bool) {
	switch r.URL.Query().Get("sort_direction") {
	case "", "asc":
		return false, true
	case "desc":
		return true, true
	}
	writeMessage(w, http.StatusBadRequest, `sort_direction must be "asc" or "desc"`)
	return false, false
}
