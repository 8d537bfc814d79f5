package audiences

import (
	"context"
	"time"
)

// Store is the persistence audiences need. Package store implements it for
// SQLite and PostgreSQL; both pass one contract suite.
type Store interface {
	// Driver names the SQL dialect: "sqlite" or "postgres".
	Driver() string

	// CreateSegment stores a segment and its references; UpdateSegment
	// replaces its name, filter and references and sets CreatedAt from the
	// stored row. Both return a *RefError for a reference to a segment that
	// does not exist or that leads back to the segment.
	CreateSegment(ctx context.Context, s *Segment) error
	UpdateSegment(ctx context.Context, s *Segment) error
	// DeleteSegment returns a *InUseError while other segments reference it.
	DeleteSegment(ctx context.Context, id string) error
	// Segment returns ErrNotFound (wrapped) for an unknown id.
	Segment(ctx context.Context, id string) (*Segment, error)
	// Segments lists every segment, oldest first.
	Segments(ctx context.Context) ([]*Segment, error)
	// SegmentsReferencing lists the ids of the segments referencing id.
	SegmentsReferencing(ctx context.Context, id string) ([]string, error)

	// The audience queries take a WHERE clause compiled by segments.Filter.SQL.
	CountWhere(ctx context.Context, where string, args []any) (int64, error)
	SampleExternalIDs(ctx context.Context, where string, args []any, n int) ([]string, error)
	// AudiencePage returns up to limit matching user ids above afterID, in order.
	AudiencePage(ctx context.Context, where string, args []any, afterID int64, limit int) ([]int64, error)

	CreateExport(ctx context.Context, e *Export) error
	// Export returns ErrNotFound (wrapped) for an unknown id.
	Export(ctx context.Context, id string) (*Export, error)
	ExportsByStatus(ctx context.Context, status string) ([]*Export, error)
	// ClaimExport moves a queued export to running; false if it was not queued.
	ClaimExport(ctx context.Context, id string, now time.Time) (bool, error)
	UpdateExport(ctx context.Context, e *Export) error
}
