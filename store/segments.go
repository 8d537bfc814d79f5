package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/herald-oss/herald/audiences"
	"github.com/herald-oss/herald/profiles"
)

var _ audiences.Store = (*Store)(nil)

const segmentCols = "id, name, filter, created_at, updated_at"

func scanSegment(r rowScanner) (*audiences.Segment, error) {
	var sg audiences.Segment
	var filter string
	var created, updated int64
	if err := r.Scan(&sg.ID, &sg.Name, &filter, &created, &updated); err != nil {
		return nil, err
	}
	sg.Filter = []byte(filter)
	sg.CreatedAt, sg.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &sg, nil
}

// segmentTx runs fn in a write transaction that holds the segments write lock:
// on PostgreSQL segment writes are serialized, so two concurrent updates cannot
// together create a reference cycle that neither sees (SQLite has one writer).
func (s *Store) segmentTx(ctx context.Context, fn func(t *tx) error) error {
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		if s.dialect.name() == "postgres" {
			if _, err := t.exec(ctx, "LOCK TABLE segments IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return fmt.Errorf("store: lock segments: %w", err)
			}
		}
		return fn(t)
	})
}

// CreateSegment stores a new segment and its references. A reference to a
// segment that does not exist is a *audiences.RefError.
func (s *Store) CreateSegment(ctx context.Context, sg *audiences.Segment) error {
	return s.segmentTx(ctx, func(t *tx) error {
		if err := t.checkRefsExist(ctx, sg.ID, sg.Refs); err != nil {
			return err
		}
		_, err := t.exec(ctx, "INSERT INTO segments ("+segmentCols+") VALUES (?,?,?,?,?)",
			sg.ID, sg.Name, string(sg.Filter), sg.CreatedAt.UnixMilli(), sg.UpdatedAt.UnixMilli())
		if isUniqueViolation(err) {
			return fmt.Errorf("store: segment %q: %w", sg.ID, profiles.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create segment: %w", err)
		}
		return t.writeRefs(ctx, sg.ID, sg.Refs)
	})
}

// UpdateSegment replaces a segment's name, filter and references and sets its
// CreatedAt from the stored row. A reference that does not exist or that leads
// back to the segment is a *audiences.RefError; an unknown id is
// audiences.ErrNotFound.
func (s *Store) UpdateSegment(ctx context.Context, sg *audiences.Segment) error {
	return s.segmentTx(ctx, func(t *tx) error {
		if err := t.checkRefsExist(ctx, sg.ID, sg.Refs); err != nil {
			return err
		}
		var created int64
		err := t.queryRow(ctx, "UPDATE segments SET name = ?, filter = ?, updated_at = ? WHERE id = ? RETURNING created_at",
			sg.Name, string(sg.Filter), sg.UpdatedAt.UnixMilli(), sg.ID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: segment %q: %w", sg.ID, audiences.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: update segment: %w", err)
		}
		sg.CreatedAt = time.UnixMilli(created).UTC()
		if _, err := t.exec(ctx, "DELETE FROM segment_refs WHERE segment_id = ?", sg.ID); err != nil {
			return fmt.Errorf("store: update segment references: %w", err)
		}
		return t.writeRefs(ctx, sg.ID, sg.Refs)
	})
}

// checkRefsExist returns a *audiences.RefError naming the references (other
// than the segment itself, which writeRefs reports as a cycle) that do not exist.
func (t *tx) checkRefsExist(ctx context.Context, id string, refs []string) error {
	var others []string
	for _, r := range refs {
		if r != id && !slices.Contains(others, r) {
			others = append(others, r)
		}
	}
	if len(others) == 0 {
		return nil
	}
	rows, err := t.query(ctx, "SELECT id FROM segments WHERE id IN ("+inList(len(others))+")", strArgs(others)...)
	if err != nil {
		return fmt.Errorf("store: check segment references: %w", err)
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		found[id] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []string
	for _, r := range others {
		if !found[r] {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return &audiences.RefError{Missing: missing}
	}
	return nil
}

// writeRefs records a segment's references, then refuses them if the segment
// now reaches itself through them.
func (t *tx) writeRefs(ctx context.Context, id string, refs []string) error {
	refs = slices.Compact(slices.Sorted(slices.Values(refs)))
	if len(refs) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(refs))
	for _, r := range refs {
		args = append(args, id, r)
	}
	_, err := t.exec(ctx, "INSERT INTO segment_refs (segment_id, ref_id) VALUES "+placeholders(len(refs), []string{"?", "?"}), args...)
	if isForeignKeyViolation(err) {
		return errRetry // a referenced segment was deleted meanwhile: the retry reports it missing
	}
	if err != nil {
		return fmt.Errorf("store: write segment references: %w", err)
	}
	// The direct references from which the segment is reachable again. UNION
	// (not UNION ALL) ends the recursion on cycles among other segments.
	rows, err := t.query(ctx, `WITH RECURSIVE reach(root, id) AS (
		SELECT ref_id, ref_id FROM segment_refs WHERE segment_id = ?
		UNION
		SELECT reach.root, r.ref_id FROM segment_refs r JOIN reach ON r.segment_id = reach.id
	) SELECT DISTINCT root FROM reach WHERE id = ? ORDER BY root`, id, id)
	if err != nil {
		return fmt.Errorf("store: check segment reference cycles: %w", err)
	}
	defer rows.Close()
	var cycle []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return err
		}
		cycle = append(cycle, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(cycle) > 0 {
		return &audiences.RefError{Cycle: cycle}
	}
	return nil
}

// DeleteSegment deletes a segment. One that other segments reference is a
// *audiences.InUseError; an unknown id is audiences.ErrNotFound.
func (s *Store) DeleteSegment(ctx context.Context, id string) error {
	return s.segmentTx(ctx, func(t *tx) error {
		by, err := segmentsReferencing(ctx, t.tx, s.dialect, id)
		if err != nil {
			return err
		}
		if len(by) > 0 {
			return &audiences.InUseError{ID: id, By: by}
		}
		res, err := t.exec(ctx, "DELETE FROM segments WHERE id = ?", id)
		if isForeignKeyViolation(err) {
			return errRetry // referenced meanwhile: the retry names the referencing segment
		}
		if err != nil {
			return fmt.Errorf("store: delete segment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: segment %q: %w", id, audiences.ErrNotFound)
		}
		return nil
	})
}

// SegmentsReferencing returns the ids of the other segments whose filters
// reference id directly, in id order.
func (s *Store) SegmentsReferencing(ctx context.Context, id string) ([]string, error) {
	return segmentsReferencing(ctx, s.read, s.dialect, id)
}

func segmentsReferencing(ctx context.Context, q queryer, d dialect, id string) ([]string, error) {
	rows, err := q.QueryContext(ctx, d.bind("SELECT segment_id FROM segment_refs WHERE ref_id = ? AND segment_id <> ? ORDER BY segment_id"), id, id)
	if err != nil {
		return nil, fmt.Errorf("store: segments referencing %q: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sid string
		if err := rows.Scan(&sid); err != nil {
			return nil, err
		}
		out = append(out, sid)
	}
	return out, rows.Err()
}

// Segment returns one segment with its references, or audiences.ErrNotFound.
func (s *Store) Segment(ctx context.Context, id string) (*audiences.Segment, error) {
	sg, err := scanSegment(s.queryRow(ctx, "SELECT "+segmentCols+" FROM segments WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: segment %q: %w", id, audiences.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: segment: %w", err)
	}
	refs, err := s.segmentRefs(ctx, "WHERE segment_id = ?", id)
	if err != nil {
		return nil, err
	}
	sg.Refs = refs[id]
	return sg, nil
}

// Segments returns every segment with its references, oldest first (by
// name among those created in the same millisecond).
func (s *Store) Segments(ctx context.Context) ([]*audiences.Segment, error) {
	rows, err := s.query(ctx, "SELECT "+segmentCols+" FROM segments ORDER BY created_at, name, id")
	if err != nil {
		return nil, fmt.Errorf("store: list segments: %w", err)
	}
	var out []*audiences.Segment
	for rows.Next() {
		sg, err := scanSegment(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, sg)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	refs, err := s.segmentRefs(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, sg := range out {
		sg.Refs = refs[sg.ID]
	}
	return out, nil
}

// segmentRefs returns references by segment id, each list in id order.
func (s *Store) segmentRefs(ctx context.Context, where string, args ...any) (map[string][]string, error) {
	rows, err := s.query(ctx, "SELECT segment_id, ref_id FROM segment_refs "+where+" ORDER BY segment_id, ref_id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: segment references: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var sid, ref string
		if err := rows.Scan(&sid, &ref); err != nil {
			return nil, err
		}
		out[sid] = append(out[sid], ref)
	}
	return out, rows.Err()
}
