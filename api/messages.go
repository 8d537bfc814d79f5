package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/herald-oss/herald/campaigns"
)

// sendResponse answers Braze's send endpoints.
type sendResponse struct {
	DispatchID string `json:"dispatch_id"`
	Message    string `json:"message"`
}

// messagesSend is Braze's POST /messages/send: ad-hoc message objects to up
// to 50 external ids, or to a segment with broadcast. A request_id (Herald's
// extension) makes a retry return the first request's dispatch.
func (s *Server) messagesSend(w http.ResponseWriter, r *http.Request) {
	var req campaigns.SendRequest
	if err := decodeManage(r, &req); err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	ps := payloadProblems(req.Validate())
	if len(ps) > 0 {
		writeProblems(w, "invalid request", ps)
		return
	}
	d, err := s.deps.Campaigns.Send(r.Context(), s.deps.CampaignUsers, &req)
	if !s.dispatchStarted(w, r, d, err) {
		s.writeSendError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusCreated, sendResponse{DispatchID: d.ID, Message: "success"})
}

// campaignsTriggerSend is Braze's POST /campaigns/trigger/send: an
// API-triggered campaign to up to 50 recipients (their attributes written
// first) or, with broadcast, to its audience.
func (s *Server) campaignsTriggerSend(w http.ResponseWriter, r *http.Request) {
	var req campaigns.TriggerRequest
	if err := decodeManage(r, &req); err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	ps := payloadProblems(req.Validate())
	if len(ps) > 0 {
		writeProblems(w, "invalid request", ps)
		return
	}
	d, err := s.deps.Campaigns.Trigger(r.Context(), s.deps.CampaignUsers, &req)
	if !s.dispatchStarted(w, r, d, err) {
		s.writeSendError(w, r, err, req.CampaignID)
		return
	}
	writeJSON(w, http.StatusCreated, sendResponse{DispatchID: d.ID, Message: "success"})
}

// writeSendError answers a refused send: an unknown campaign is a 400 naming
// campaign_id (Braze's "Invalid Campaign ID"), problems a 400 naming every
// field.
func (s *Server) writeSendError(w http.ResponseWriter, r *http.Request, err error, campaignID string) {
	var ve *campaigns.ValidationError
	switch {
	case errors.As(err, &ve):
		writeProblems(w, "invalid request", ve.Problems)
	case campaignID != "" && errors.Is(err, campaigns.ErrNotFound):
		writeProblems(w, "invalid request", []campaigns.Problem{{Field: "campaign_id", Reason: "no campaign " + strconv.Quote(campaignID)}})
	default:
		s.writeRequestError(w, r, err)
	}
}

// payloadProblems turns a queue payload's Validate error (joined
// "field: reason" errors) into problems.
func payloadProblems(err error) []campaigns.Problem {
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	ps := make([]campaigns.Problem, 0, len(errs))
	for _, e := range errs {
		field, reason, ok := strings.Cut(e.Error(), ": ")
		if !ok {
			field, reason = "body", e.Error()
		}
		ps = append(ps, campaigns.Problem{Field: field, Reason: reason})
	}
	return ps
}
