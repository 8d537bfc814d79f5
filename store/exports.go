package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/herald-oss/herald/audiences"
)

const exportCols = "id, segment_id, fields, status, dir, files, rows, error, created_at, updated_at, finished_at"

func scanExport(r rowScanner) (*audiences.Export, error) {
	var e audiences.Export
	var fields sql.NullString
	var files string
	var created, updated int64
	var finished sql.NullInt64
	if err := r.Scan(&e.ID, &e.SegmentID, &fields, &e.Status, &e.Dir, &files, &e.Rows, &e.Error, &created, &updated, &finished); err != nil {
		return nil, err
	}
	if fields.Valid {
		if err := json.Unmarshal([]byte(fields.String), &e.Fields); err != nil {
			return nil, fmt.Errorf("store: export %s fields: %w", e.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(files), &e.Files); err != nil {
		return nil, fmt.Errorf("store: export %s files: %w", e.ID, err)
	}
	e.CreatedAt, e.UpdatedAt, e.FinishedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC(), fromMS(finished)
	return &e, nil
}

// jsonList encodes a list, nil as "[]".
func jsonList(ss []string) string {
	if ss == nil {
		return "[]"
	}
	b, _ := json.Marshal(ss) // a []string always encodes
	return string(b)
}

// CreateExport stores a new export.
func (s *Store) CreateExport(ctx context.Context, e *audiences.Export) error {
	var fields any
	if e.Fields != nil {
		fields = jsonList(e.Fields)
	}
	_, err := s.exec(ctx, "INSERT INTO exports ("+exportCols+") VALUES (?,?,?,?,?,?,?,?,?,?,?)",
		e.ID, e.SegmentID, fields, e.Status, e.Dir, jsonList(e.Files), e.Rows, e.Error,
		e.CreatedAt.UnixMilli(), e.UpdatedAt.UnixMilli(), ms(e.FinishedAt))
	if err != nil {
		return fmt.Errorf("store: create export: %w", err)
	}
	return nil
}

// Export returns one export, or audiences.ErrNotFound.
func (s *Store) Export(ctx context.Context, id string) (*audiences.Export, error) {
	e, err := scanExport(s.queryRow(ctx, "SELECT "+exportCols+" FROM exports WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: export %q: %w", id, audiences.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: export: %w", err)
	}
	return e, nil
}

// ExportsByStatus returns the exports in a status, oldest first.
func (s *Store) ExportsByStatus(ctx context.Context, status string) ([]*audiences.Export, error) {
	rows, err := s.query(ctx, "SELECT "+exportCols+" FROM exports WHERE status = ? ORDER BY created_at, id", status)
	if err != nil {
		return nil, fmt.Errorf("store: list exports: %w", err)
	}
	return collect(rows, scanExport)
}

// ClaimExport moves a queued export to running; false when it was not queued
// (another node claimed it first).
func (s *Store) ClaimExport(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := s.exec(ctx, "UPDATE exports SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
		audiences.ExportRunning, now.UnixMilli(), id, audiences.ExportQueued)
	if err != nil {
		return false, fmt.Errorf("store: claim export: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UpdateExport writes an export's status, files, rows, error and times.
func (s *Store) UpdateExport(ctx context.Context, e *audiences.Export) error {
	res, err := s.exec(ctx, "UPDATE exports SET status = ?, files = ?, rows = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?",
		e.Status, jsonList(e.Files), e.Rows, e.Error, e.UpdatedAt.UnixMilli(), ms(e.FinishedAt), e.ID)
	if err != nil {
		return fmt.Errorf("store: update export: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: export %q: %w", e.ID, audiences.ErrNotFound)
	}
	return nil
}
