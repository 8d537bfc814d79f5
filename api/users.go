package api

import (
	"net/http"

	"github.com/herald-oss/herald/profiles"
)

// trackResponse is Braze's /users/track answer; counts appear only for the arrays
// the request carried.
type trackResponse struct {
	Message             string                 `json:"message"`
	AttributesProcessed *int                   `json:"attributes_processed,omitempty"`
	EventsProcessed     *int                   `json:"events_processed,omitempty"`
	PurchasesProcessed  *int                   `json:"purchases_processed,omitempty"`
	Errors              []profiles.ObjectError `json:"errors,omitempty"`
}

func (s *Server) usersTrack(w http.ResponseWriter, r *http.Request) {
	svc := s.deps.Profiles
	req, err := profiles.DecodeTrack(r.Body, svc.Now(), svc.Limits())
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	req.Bulk = isBulk(r)
	res, err := svc.Track(r.Context(), req)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	s.metrics.objects.WithLabelValues("attributes", "processed").Add(float64(res.AttributesProcessed))
	s.metrics.objects.WithLabelValues("events", "processed").Add(float64(res.EventsProcessed))
	s.metrics.objects.WithLabelValues("purchases", "processed").Add(float64(res.PurchasesProcessed))
	s.metrics.objects.WithLabelValues("any", "error").Add(float64(len(res.Errors)))
	out := trackResponse{Message: "success", Errors: res.Errors}
	if req.HasAttributes {
		out.AttributesProcessed = &res.AttributesProcessed
	}
	if req.HasEvents {
		out.EventsProcessed = &res.EventsProcessed
	}
	if req.HasPurchases {
		out.PurchasesProcessed = &res.PurchasesProcessed
	}
	if res.Processed() == 0 && len(res.Errors) > 0 {
		// Braze's fatal shape: a message and the errors, no counts
		writeJSON(w, http.StatusBadRequest, brazeError{Message: "no valid objects: nothing was processed", Errors: res.Errors})
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) usersDelete(w http.ResponseWriter, r *http.Request) {
	req, err := profiles.DecodeDelete(r.Body)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	n, err := s.deps.Profiles.Delete(r.Context(), req)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "success", "deleted": n})
}

func (s *Server) usersExport(w http.ResponseWriter, r *http.Request) {
	req, err := profiles.DecodeExport(r.Body)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	res, err := s.deps.Profiles.Export(r.Context(), req)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "success", "users": res.Users, "invalid_user_ids": res.InvalidUserIDs})
}

type aliasResponse struct {
	Message          string                 `json:"message"`
	AliasesProcessed int                    `json:"aliases_processed"`
	Errors           []profiles.ObjectError `json:"errors,omitempty"`
}

func (s *Server) usersAliasNew(w http.ResponseWriter, r *http.Request) {
	items, err := profiles.DecodeAliasNew(r.Body)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	n, errs, err := s.deps.Profiles.AliasNew(r.Context(), items)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	s.writeAliasResult(w, n, errs)
}

func (s *Server) usersIdentify(w http.ResponseWriter, r *http.Request) {
	items, err := profiles.DecodeIdentify(r.Body)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	n, errs, err := s.deps.Profiles.Identify(r.Context(), items)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	s.writeAliasResult(w, n, errs)
}

func (s *Server) writeAliasResult(w http.ResponseWriter, n int, errs []profiles.ObjectError) {
	out := aliasResponse{Message: "success", AliasesProcessed: n, Errors: errs}
	if n == 0 && len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, brazeError{Message: "no valid objects: nothing was processed", Errors: errs})
		return
	}
	writeJSON(w, http.StatusCreated, out)
}
