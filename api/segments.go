package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-oss/herald/audiences"
)

// segmentView is a segment as the management API shows it.
type segmentView struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Filter    json.RawMessage `json:"filter"`
	CreatedAt string          `json:"created_at"`
	UpdatedAt string          `json:"updated_at"`
}

func viewSegment(sg *audiences.Segment) segmentView {
	return segmentView{ID: sg.ID, Name: sg.Name, Filter: sg.Filter,
		CreatedAt: sg.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: sg.UpdatedAt.UTC().Format(time.RFC3339)}
}

// segmentBody is the body of POST and PUT /manage/segments.
type segmentBody struct {
	Name   string          `json:"name"`
	Filter json.RawMessage `json:"filter"`
}

// writeSegmentError answers audience errors: 409 naming the segments that
// reference one being deleted, 404 naming what was not found; the rest as
// every request error.
func (s *Server) writeSegmentError(w http.ResponseWriter, r *http.Request, err error, what string) {
	var inUse *audiences.InUseError
	switch {
	case errors.As(err, &inUse):
		by := make([]map[string]string, len(inUse.By))
		for i, id := range inUse.By {
			by[i] = map[string]string{"id": id}
			if i < len(inUse.Names) {
				by[i]["name"] = inUse.Names[i]
			}
		}
		writeJSON(w, http.StatusConflict, map[string]any{"message": inUse.Error(), "referenced_by": by})
	case errors.Is(err, audiences.ErrNotFound):
		writeMessage(w, http.StatusNotFound, what+" "+strconv.Quote(r.PathValue("id"))+" not found")
	default:
		s.writeRequestError(w, r, err)
	}
}

func (s *Server) createSegment(w http.ResponseWriter, r *http.Request) {
	var body segmentBody
	if err := decodeManage(r, &body); err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	sg, err := s.deps.Audiences.Create(r.Context(), body.Name, body.Filter)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewSegment(sg))
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request) {
	list, err := s.deps.Audiences.List(r.Context())
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	out := make([]segmentView, 0, len(list))
	for _, sg := range list {
		out = append(out, viewSegment(sg))
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": out})
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request) {
	sg, err := s.deps.Audiences.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeSegmentError(w, r, err, "segment")
		return
	}
	writeJSON(w, http.StatusOK, viewSegment(sg))
}

func (s *Server) updateSegment(w http.ResponseWriter, r *http.Request) {
	var body segmentBody
	if err := decodeManage(r, &body); err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	sg, err := s.deps.Audiences.Update(r.Context(), r.PathValue("id"), body.Name, body.Filter)
	if err != nil {
		s.writeSegmentError(w, r, err, "segment")
		return
	}
	writeJSON(w, http.StatusOK, viewSegment(sg))
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.Audiences.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.writeSegmentError(w, r, err, "segment")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) segmentSize(w http.ResponseWriter, r *http.Request) {
	n, err := s.deps.Audiences.Size(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeSegmentError(w, r, err, "segment")
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"size": n})
}

func (s *Server) previewSegment(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Filter json.RawMessage `json:"filter"`
	}
	if err := decodeManage(r, &body); err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	n, sample, err := s.deps.Audiences.Preview(r.Context(), body.Filter)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"size": n, "sample": sample})
}

// brazeSegmentsPage is the page size of Braze's /segments/list.
const brazeSegmentsPage = 100

// brazeSegment is one entry of Braze's /segments/list.
type brazeSegment struct {
	ID                       string   `json:"id"`
	Name                     string   `json:"name"`
	AnalyticsTrackingEnabled bool     `json:"analytics_tracking_enabled"`
	Tags                     []string `json:"tags"`
}

// brazeListSegments is Braze's GET /segments/list: 100 segments per page
// (page from 0), oldest first unless sort_direction=desc.
func (s *Server) brazeListSegments(w http.ResponseWriter, r *http.Request) {
	page, desc, ok := queryPageSort(w, r)
	if !ok {
		return
	}
	list, err := s.deps.Audiences.List(r.Context())
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	out := make([]brazeSegment, 0, brazeSegmentsPage)
	for i := page * brazeSegmentsPage; i < len(list) && len(out) < brazeSegmentsPage && i >= 0; i++ {
		sg := list[i]
		if desc {
			sg = list[len(list)-1-i]
		}
		out = append(out, brazeSegment{ID: sg.ID, Name: sg.Name, Tags: []string{}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "success", "segments": out})
}
