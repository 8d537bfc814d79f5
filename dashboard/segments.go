package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

func (d *Dashboard) segmentRoutes() {
	d.mux.HandleFunc("GET /dashboard/segments", d.authed(d.segmentsPage))
	d.mux.HandleFunc("POST /dashboard/segments", d.authed(d.segmentSave))
	d.mux.HandleFunc("POST /dashboard/segments/size", d.authed(d.segmentSize))
}

// segmentsView is the segment builder: the saved segments and the form.
type segmentsView struct {
	Segments     []segmentRow
	Name, Filter string
	Errors       []fieldError
}

type segmentRow struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Filter    json.RawMessage `json:"filter"`
	UpdatedAt string          `json:"updated_at"`
}

func (d *Dashboard) segmentsPage(w http.ResponseWriter, r *http.Request, s *session) {
	d.renderSegments(w, r, s, http.StatusOK, segmentsView{Filter: "{\"AND\": []}"}, "")
}

func (d *Dashboard) renderSegments(w http.ResponseWriter, r *http.Request, s *session, status int, v segmentsView, msg string) {
	var list struct {
		Segments []segmentRow `json:"segments"`
	}
	if err := d.call(r.Context(), s.Secret, http.MethodGet, "/manage/segments", nil, &list); err != nil {
		d.fail(w, r, err)
		return
	}
	v.Segments = list.Segments
	d.render(w, r, status, "segments", s, page{Title: "Segments", Nav: "segments", Error: msg, Data: v})
}

// filterField reads the builder's filter: JSON, else a 400 naming it.
func filterField(r *http.Request) (json.RawMessage, *fieldError) {
	f := strings.TrimSpace(r.PostFormValue("filter"))
	if f == "" {
		return nil, &fieldError{Field: "filter", Reason: "required"}
	}
	if !json.Valid([]byte(f)) {
		var v any
		err := json.Unmarshal([]byte(f), &v)
		return nil, &fieldError{Field: "filter", Reason: "want JSON: " + err.Error()}
	}
	return json.RawMessage(f), nil
}

// segmentSize is the exact size of the filter being written (and a sample
// of external ids), from POST /manage/segments/preview.
func (d *Dashboard) segmentSize(w http.ResponseWriter, r *http.Request, s *session) {
	w.Header().Set("Content-Type", "application/json")
	filter, fe := filterField(r)
	if fe != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "invalid filter", "errors": []fieldError{*fe}})
		return
	}
	var out json.RawMessage
	err := d.call(r.Context(), s.Secret, http.MethodPost, "/manage/segments/preview", map[string]json.RawMessage{"filter": filter}, &out)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": ae.Message, "errors": ae.Errors})
	case err != nil:
		d.fail(w, r, err)
	default:
		_, _ = w.Write(out)
	}
}

func (d *Dashboard) segmentSave(w http.ResponseWriter, r *http.Request, s *session) {
	v := segmentsView{Name: strings.TrimSpace(r.PostFormValue("name")), Filter: r.PostFormValue("filter")}
	filter, fe := filterField(r)
	if fe == nil && v.Name == "" {
		fe = &fieldError{Field: "name", Reason: "required"}
	}
	if fe != nil {
		v.Errors = []fieldError{*fe}
		d.renderSegments(w, r, s, http.StatusBadRequest, v, "the segment was not saved")
		return
	}
	err := d.call(r.Context(), s.Secret, http.MethodPost, "/manage/segments", map[string]any{"name": v.Name, "filter": filter}, nil)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		v.Errors = ae.Errors
		if len(v.Errors) == 0 {
			v.Errors = []fieldError{{Field: "filter", Reason: ae.Message}}
		}
		d.renderSegments(w, r, s, http.StatusBadRequest, v, "the segment was not saved")
	case err != nil:
		d.fail(w, r, err)
	default:
		redirect(w, r, "/dashboard/segments", "segment "+v.Name+" saved")
	}
}
