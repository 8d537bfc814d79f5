package audiences

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/herald-oss/herald/profiles"
)

// Segment is a saved filter.
type Segment struct {
	ID   string
	Name string
	// Filter is the canonical filter JSON (segments.Filter.MarshalJSON).
	Filter json.RawMessage
	// Refs are the segment ids the filter references directly.
	Refs      []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Export states.
const (
	ExportQueued  = "queued"
	ExportRunning = "running"
	ExportDone    = "done"
	ExportFailed  = "failed"
)

// Export is a background export of a segment's users.
type Export struct {
	ID        string
	SegmentID string
	// Fields are the fields_to_export; nil means every field.
	Fields []string
	Status string
	// Dir is the directory the files are written to.
	Dir string
	// Files are the finished files, relative to Dir, in order.
	Files      []string
	Rows       int64
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // zero until done or failed
}

// ErrNotFound is returned for a segment or export that does not exist. It is
// profiles.ErrNotFound, which the API answers with 404.
var ErrNotFound = profiles.ErrNotFound

// RefError reports segment references a filter may not have: segments that do
// not exist, or references that lead back to the segment itself.
type RefError struct {
	// Missing are referenced segment ids that do not exist.
	Missing []string
	// Cycle are referenced segment ids through which the segment would
	// reference itself.
	Cycle []string
}

func (e *RefError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("referenced segment(s) %s do not exist", quoteAll(e.Missing)))
	}
	if len(e.Cycle) > 0 {
		parts = append(parts, fmt.Sprintf("the segment would reference itself through segment(s) %s", quoteAll(e.Cycle)))
	}
	return strings.Join(parts, "; ")
}

// InUseError reports a segment that other segments reference, so it cannot be
// deleted.
type InUseError struct {
	ID string
	// By are the ids of the segments referencing it; Names their names, when
	// known (Service.Delete sets them).
	By    []string
	Names []string
}

func (e *InUseError) Error() string {
	by := make([]string, len(e.By))
	for i, id := range e.By {
		by[i] = fmt.Sprintf("%q", id)
		if i < len(e.Names) && e.Names[i] != "" {
			by[i] += fmt.Sprintf(" (%s)", e.Names[i])
		}
	}
	return fmt.Sprintf("segment %q is referenced by segment(s) %s", e.ID, strings.Join(by, ", "))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
