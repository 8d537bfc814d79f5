package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-oss/herald/audiences"
	"github.com/herald-oss/herald/profiles"
)

// exportView is an export as GET /manage/exports/{id} shows it.
type exportView struct {
	ID        string   `json:"id"`
	SegmentID string   `json:"segment_id"`
	Status    string   `json:"status"`
	Fields    []string `json:"fields_to_export"`
	Dir       string   `json:"dir"`
	Files     []string `json:"files"`
	Rows      int64    `json:"rows"`
	Error     string   `json:"error,omitempty"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
	// FinishedAt is set once the export is done or failed.
	FinishedAt string `json:"finished_at,omitempty"`
}

func viewExport(x *audiences.Export) exportView {
	v := exportView{ID: x.ID, SegmentID: x.SegmentID, Status: x.Status, Fields: x.Fields, Dir: x.Dir, Files: x.Files,
		Rows: x.Rows, Error: x.Error, CreatedAt: x.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: x.UpdatedAt.UTC().Format(time.RFC3339)}
	if v.Files == nil {
		v.Files = []string{}
	}
	if !x.FinishedAt.IsZero() {
		v.FinishedAt = x.FinishedAt.UTC().Format(time.RFC3339)
	}
	return v
}

// usersExportSegment is Braze's POST /users/export/segment: it queues the
// export and answers at once with where its files will be.
func (s *Server) usersExportSegment(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SegmentID string   `json:"segment_id"`
		Fields    []string `json:"fields_to_export"`
		// Braze's options: files are always gzipped NDJSON in the export
		// directory, and progress is polled rather than called back.
		OutputFormat     string `json:"output_format"`
		CallbackEndpoint string `json:"callback_endpoint"`
	}
	if err := decodeManage(r, &body); err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	switch {
	case body.SegmentID == "":
		s.writeRequestError(w, r, &profiles.RequestError{Message: "segment_id is required"})
		return
	case body.OutputFormat != "" && body.OutputFormat != "gzip":
		s.writeRequestError(w, r, &profiles.RequestError{Message: `output_format: only "gzip" is supported (gzipped NDJSON files)`})
		return
	case body.CallbackEndpoint != "":
		s.writeRequestError(w, r, &profiles.RequestError{Message: "callback_endpoint is not supported: poll GET /manage/exports/{export_id}"})
		return
	}
	x, err := s.deps.Exports.Submit(r.Context(), body.SegmentID, body.Fields)
	if err != nil {
		if errors.Is(err, audiences.ErrNotFound) {
			writeMessage(w, http.StatusNotFound, "segment "+strconv.Quote(body.SegmentID)+" not found")
			return
		}
		s.writeRequestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"message": "success", "export_id": x.ID, "object_prefix": x.ID,
		"dir": x.Dir, "status_url": "/manage/exports/" + x.ID,
	})
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request) {
	x, err := s.deps.Exports.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeSegmentError(w, r, err, "export")
		return
	}
	writeJSON(w, http.StatusOK, viewExport(x))
}
