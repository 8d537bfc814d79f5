package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// Queries of the scheduling endpoints: a schedule is a dispatch in status
// scheduled, found by its campaign and occurrence.

// DispatchByOccurrence returns a campaign's dispatch of one occurrence
// (campaigns.ErrNotFound when there is none). campaignID is "" for the
// dispatches of /messages endpoints.
func (s *Store) DispatchByOccurrence(ctx context.Context, campaignID, occurrence string) (*campaigns.Dispatch, error) {
	d, err := scanDispatch(s.queryRow(ctx, "SELECT "+dispatchCols+" FROM dispatches WHERE campaign_id = ? AND occurrence = ?",
		campaignID, occurrence))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: dispatch %q/%q: %w", campaignID, occurrence, campaigns.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: dispatch by occurrence: %w", err)
	}
	return d, nil
}

// RescheduleDispatch moves a dispatch still scheduled to a new due time and,
// when spec is not nil, replaces what it sends. It reports false, changing
// nothing, when the dispatch is not scheduled any more (started or stopped).
func (s *Store) RescheduleDispatch(ctx context.Context, id string, due time.Time, spec *campaigns.Spec, at time.Time) (bool, error) {
	q := "UPDATE dispatches SET due_at = ?, updated_at = ?"
	args := []any{due.UnixMilli(), at.UnixMilli()}
	if spec != nil {
		b, err := json.Marshal(spec)
		if err != nil {
			return false, fmt.Errorf("store: dispatch spec: %w", err)
		}
		q += ", spec = ?"
		args = append(args, string(b))
	}
	res, err := s.exec(ctx, q+" WHERE id = ? AND status = ?", append(args, id, campaigns.DispatchScheduled)...)
	if err != nil {
		return false, fmt.Errorf("store: reschedule dispatch: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CancelScheduled stops a dispatch that is still scheduled; false when it
// was not (a scheduler started it first, or it was already stopped).
func (s *Store) CancelScheduled(ctx context.Context, id string, at time.Time) (bool, error) {
	return s.moveScheduled(ctx, id, campaigns.DispatchStopped, at)
}

// ScheduledDispatches lists the scheduled dispatches due at or before until
// whose occurrence starts with prefix, by due time, at most limit of them.
func (s *Store) ScheduledDispatches(ctx context.Context, prefix string, until time.Time, limit int) ([]*campaigns.Dispatch, error) {
	rows, err := s.query(ctx, "SELECT "+dispatchCols+` FROM dispatches
WHERE status = ? AND due_at <= ? AND substr(occurrence, 1, ?) = ? ORDER BY due_at, id LIMIT ?`,
		campaigns.DispatchScheduled, until.UnixMilli(), len(prefix), prefix, limit)
	if err != nil {
		return nil, fmt.Errorf("store: scheduled dispatches: %w", err)
	}
	return collect(rows, scanDispatch)
}
