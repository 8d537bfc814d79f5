package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// ScheduleService is what the scheduling endpoints call; *campaigns.Service
// implements it. The endpoints are served when Deps.Campaigns implements it
// too (and Deps.CampaignUsers is set).
type ScheduleService interface {
	ScheduleSend(ctx context.Context, users campaigns.Users, req *campaigns.ScheduleSendRequest) (*campaigns.ScheduledSend, error)
	ScheduleTrigger(ctx context.Context, users campaigns.Users, req *campaigns.ScheduleTriggerRequest) (*campaigns.ScheduledSend, error)
	UpdateMessagesSchedule(ctx context.Context, req *campaigns.MessagesScheduleUpdate) error
	UpdateTriggerSchedule(ctx context.Context, req *campaigns.TriggerScheduleUpdate) error
	DeleteSchedule(ctx context.Context, campaignID, scheduleID string) error
	ScheduledBroadcasts(ctx context.Context, until time.Time, api bool) ([]campaigns.Broadcast, error)
}

var _ ScheduleService = (*campaigns.Service)(nil)

func (s *Server) scheduleRoutes() {
	svc, ok := s.deps.Campaigns.(ScheduleService)
	if !ok || s.deps.CampaignUsers == nil {
		return
	}
	h := scheduleHandlers{s: s, svc: svc}
	ep := func(scope string) endpoint { return endpoint{scope: scope, class: classDefault} }
	s.handle("POST /messages/schedule/create", ep("messages.schedule.create"), h.messagesCreate)
	s.handle("POST /messages/schedule/update", ep("messages.schedule.update"), change(h, svc.UpdateMessagesSchedule))
	s.handle("POST /messages/schedule/delete", ep("messages.schedule.delete"),
		change(h, func(ctx context.Context, req *campaigns.MessagesScheduleDelete) error {
			return svc.DeleteSchedule(ctx, "", req.ScheduleID)
		}))
	s.handle("POST /campaigns/trigger/schedule/create", ep("campaigns.trigger.schedule.create"), h.triggerCreate)
	s.handle("POST /campaigns/trigger/schedule/update", ep("campaigns.trigger.schedule.update"), change(h, svc.UpdateTriggerSchedule))
	s.handle("POST /campaigns/trigger/schedule/delete", ep("campaigns.trigger.schedule.delete"),
		change(h, func(ctx context.Context, req *campaigns.TriggerScheduleDelete) error {
			return svc.DeleteSchedule(ctx, req.CampaignID, req.ScheduleID)
		}))
	s.handle("GET /messages/scheduled_broadcasts", ep("messages.schedule_broadcasts"), h.broadcasts)
}

type scheduleHandlers struct {
	s   *Server
	svc ScheduleService
}

// scheduleResponse answers the schedule create endpoints.
type scheduleResponse struct {
	DispatchID string `json:"dispatch_id"`
	ScheduleID string `json:"schedule_id"`
	Message    string `json:"message"`
}

// validatable is a request body that checks itself (joined "field: reason"
// errors, as queue payloads do).
type validatable interface{ Validate() error }

// decodeValid decodes a body strictly and checks it, answering 400 when
// either fails.
func (h scheduleHandlers) decodeValid(w http.ResponseWriter, r *http.Request, v validatable) bool {
	if err := decodeManage(r, v); err != nil {
		h.s.writeRequestError(w, r, err)
		return false
	}
	if ps := payloadProblems(v.Validate()); len(ps) > 0 {
		writeProblems(w, "invalid request", ps)
		return false
	}
	return true
}

// created answers a schedule create: 201 with its ids.
func (h scheduleHandlers) created(w http.ResponseWriter, r *http.Request, sc *campaigns.ScheduledSend, err error, campaignID string) {
	if err != nil {
		h.s.writeSendError(w, r, err, campaignID)
		return
	}
	writeJSON(w, http.StatusCreated, scheduleResponse{DispatchID: sc.Dispatch.ID, ScheduleID: sc.ID, Message: "success"})
}

// change serves an update or a delete: decode and check the body, apply
// it, answer 200 {"message":"success"}.
func change[R any, P interface {
	*R
	validatable
}](h scheduleHandlers, apply func(context.Context, *R) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req R
		if !h.decodeValid(w, r, P(&req)) {
			return
		}
		if err := apply(r.Context(), &req); err != nil {
			h.s.writeSendError(w, r, err, "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"message": "success"})
	}
}

// messagesCreate is Braze's POST /messages/schedule/create: /messages/send
// at schedule.time.
func (h scheduleHandlers) messagesCreate(w http.ResponseWriter, r *http.Request) {
	var req campaigns.ScheduleSendRequest
	if !h.decodeValid(w, r, &req) {
		return
	}
	sc, err := h.svc.ScheduleSend(r.Context(), h.s.deps.CampaignUsers, &req)
	h.created(w, r, sc, err, "")
}

// triggerCreate is Braze's POST /campaigns/trigger/schedule/create:
// /campaigns/trigger/send at schedule.time.
func (h scheduleHandlers) triggerCreate(w http.ResponseWriter, r *http.Request) {
	var req campaigns.ScheduleTriggerRequest
	if !h.decodeValid(w, r, &req) {
		return
	}
	sc, err := h.svc.ScheduleTrigger(r.Context(), h.s.deps.CampaignUsers, &req)
	h.created(w, r, sc, err, req.CampaignID)
}

// scheduledBroadcast is one entry of Braze's /messages/scheduled_broadcasts.
type scheduledBroadcast struct {
	Name         string   `json:"name"`
	ID           string   `json:"id"`
	Type         string   `json:"type"`
	Tags         []string `json:"tags"`
	NextSendTime string   `json:"next_send_time"`
	ScheduleType string   `json:"schedule_type"`
	// Herald's: set on the schedules of the scheduling endpoints, listed
	// with include_api_schedules=true.
	ScheduleID string `json:"schedule_id,omitempty"`
	DispatchID string `json:"dispatch_id,omitempty"`
}

// broadcasts is Braze's GET /messages/scheduled_broadcasts?end_time=: the
// upcoming sends of scheduled and recurring campaigns due by end_time (an
// ISO 8601 time, or a date meaning its midnight UTC), soonest first. Like
// Braze, it lists campaigns, not the schedules of the scheduling endpoints;
// include_api_schedules=true (Herald's) adds those, a campaign's as type
// "Campaign" and a /messages one as type "Message" with its schedule id as
// id.
func (h scheduleHandlers) broadcasts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	until, err := parseEndTime(q.Get("end_time"))
	if err != nil {
		writeProblems(w, "invalid request", []campaigns.Problem{{Field: "end_time", Reason: err.Error()}})
		return
	}
	var api bool
	switch q.Get("include_api_schedules") {
	case "", "false":
	case "true":
		api = true
	default:
		writeProblems(w, "invalid request", []campaigns.Problem{{Field: "include_api_schedules", Reason: "must be true or false"}})
		return
	}
	list, err := h.svc.ScheduledBroadcasts(r.Context(), until, api)
	if err != nil {
		h.s.writeRequestError(w, r, err)
		return
	}
	out := make([]scheduledBroadcast, 0, len(list))
	for _, b := range list {
		e := scheduledBroadcast{Name: b.CampaignName, ID: b.CampaignID, Type: "Campaign", Tags: []string{},
			NextSendTime: timestamp(b.Next), ScheduleType: b.TimeZone, ScheduleID: b.ScheduleID, DispatchID: b.DispatchID}
		if b.CampaignID == "" {
			e.ID, e.Type = b.ScheduleID, "Message"
		}
		if b.InLocalTime {
			e.ScheduleType = "local_time_zones"
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"scheduled_broadcasts": out, "message": "success"})
}

// parseEndTime reads end_time: an ISO 8601 time with its zone, or a date
// (its midnight UTC).
func parseEndTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, errors.New("required")
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want an ISO 8601 time such as 2026-12-01T00:00:00Z, or a date such as 2026-12-01, got " + v)
}
