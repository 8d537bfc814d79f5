package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

const dispatchCols = "id, campaign_id, campaign_version, occurrence, spec, status, page_cursor, paging_done, pages, pages_done, created_at, updated_at, due_at"

func scanDispatch(r rowScanner) (*campaigns.Dispatch, error) {
	var d campaigns.Dispatch
	var spec string
	var created, updated int64
	var due sql.NullInt64
	if err := r.Scan(&d.ID, &d.CampaignID, &d.CampaignVersion, &d.Occurrence, &spec, &d.Status, &d.Cursor,
		&d.PagingDone, &d.Pages, &d.PagesDone, &created, &updated, &due); err != nil {
		return nil, err
	}
	d.DueAt = fromMS(due)
	if err := json.Unmarshal([]byte(spec), &d.Spec); err != nil {
		return nil, fmt.Errorf("store: dispatch %s spec: %w", d.ID, err)
	}
	d.CreatedAt, d.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &d, nil
}

// CreateDispatch stores a new dispatch. When the campaign already has a
// dispatch for the same occurrence, it stores nothing and returns that one
// with created false.
func (s *Store) CreateDispatch(ctx context.Context, d *campaigns.Dispatch) (*campaigns.Dispatch, bool, error) {
	spec, err := json.Marshal(d.Spec)
	if err != nil {
		return nil, false, fmt.Errorf("store: dispatch spec: %w", err)
	}
	var due any
	if !d.DueAt.IsZero() {
		due = d.DueAt.UnixMilli()
	}
	res, err := s.exec(ctx, "INSERT INTO dispatches ("+dispatchCols+") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (campaign_id, occurrence) DO NOTHING",
		d.ID, d.CampaignID, d.CampaignVersion, d.Occurrence, string(spec), d.Status, d.Cursor, d.PagingDone, d.Pages, d.PagesDone,
		d.CreatedAt.UnixMilli(), d.UpdatedAt.UnixMilli(), due)
	if err != nil {
		return nil, false, fmt.Errorf("store: create dispatch: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return d, true, nil
	}
	existing, err := scanDispatch(s.queryRow(ctx, "SELECT "+dispatchCols+" FROM dispatches WHERE campaign_id = ? AND occurrence = ?",
		d.CampaignID, d.Occurrence))
	if err != nil {
		return nil, false, fmt.Errorf("store: existing dispatch: %w", err)
	}
	return existing, false, nil
}

// Dispatch returns one dispatch (campaigns.ErrNotFound when there is none).
func (s *Store) Dispatch(ctx context.Context, id string) (*campaigns.Dispatch, error) {
	d, err := scanDispatch(s.queryRow(ctx, "SELECT "+dispatchCols+" FROM dispatches WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: dispatch %q: %w", id, campaigns.ErrNotFound)
	}
	return d, err
}

// CampaignDispatches lists a campaign's dispatches, newest first.
func (s *Store) CampaignDispatches(ctx context.Context, campaignID string) ([]*campaigns.Dispatch, error) {
	rows, err := s.query(ctx, "SELECT "+dispatchCols+" FROM dispatches WHERE campaign_id = ? ORDER BY created_at DESC, id", campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: dispatches: %w", err)
	}
	return collect(rows, scanDispatch)
}

// SetDispatchStatus changes the status of a campaign's dispatches that are
// in one of from (all of the campaign's when id is empty, else that one).
func (s *Store) SetDispatchStatus(ctx context.Context, campaignID, id, status string, from []string, at time.Time) error {
	q := "UPDATE dispatches SET status = ?, updated_at = ? WHERE campaign_id = ? AND status IN (" + inList(len(from)) + ")"
	args := []any{status, at.UnixMilli(), campaignID}
	for _, f := range from {
		args = append(args, f)
	}
	if id != "" {
		q += " AND id = ?"
		args = append(args, id)
	}
	if _, err := s.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("store: dispatch status: %w", err)
	}
	return nil
}

// AddPages records pages of a dispatch and advances its cursor, in one
// transaction. A page already recorded (a re-run of the dispatch task) is
// kept as it is. pagingDone marks the audience exhausted, for good (a stale
// run of the dispatch task does not undo it); the dispatch, running or
// paused, is then done when all its pages are.
func (s *Store) AddPages(ctx context.Context, dispatchID string, pages []campaigns.Page, cursor int64, pagingDone bool, at time.Time) error {
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		for _, p := range pages {
			if _, err := t.addPage(ctx, dispatchID, p, 0, at); err != nil {
				return err
			}
		}
		return t.advanceDispatch(ctx, dispatchID, cursor, pagingDone, at)
	})
}

// addPage records a page of a wave (0: of a dispatch without waves); false
// when the dispatch already has a page of that first user, which is kept.
func (t *tx) addPage(ctx context.Context, dispatchID string, p campaigns.Page, wave int, at time.Time) (bool, error) {
	ids, _ := json.Marshal(p.UserIDs) // []int64: cannot fail
	res, err := t.exec(ctx, "INSERT INTO dispatch_pages (dispatch_id, first_user_id, user_ids, enqueued_at, wave) VALUES (?,?,?,?,?) ON CONFLICT (dispatch_id, first_user_id) DO NOTHING",
		dispatchID, p.FirstUserID, string(ids), at.UnixMilli(), wave)
	if err != nil {
		return false, fmt.Errorf("store: add page: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// advanceDispatch moves a dispatch's cursor forward, sets its paging done
// for good when pagingDone, counts its pages, and finishes it (running or
// paused) when its paging is done and all its pages are.
func (t *tx) advanceDispatch(ctx context.Context, dispatchID string, cursor int64, pagingDone bool, at time.Time) error {
	_, err := t.exec(ctx, `UPDATE dispatches SET page_cursor = CASE WHEN page_cursor > ? THEN page_cursor ELSE ? END,
paging_done = (paging_done OR ?), pages = (SELECT COUNT(*) FROM dispatch_pages WHERE dispatch_id = ?),
status = CASE WHEN status IN (?, ?) AND (paging_done OR ?) AND pages_done = (SELECT COUNT(*) FROM dispatch_pages WHERE dispatch_id = ?) THEN ? ELSE status END,
updated_at = ? WHERE id = ?`,
		cursor, cursor, pagingDone, dispatchID, campaigns.DispatchRunning, campaigns.DispatchPaused, pagingDone, dispatchID,
		campaigns.DispatchDone, at.UnixMilli(), dispatchID)
	if err != nil {
		return fmt.Errorf("store: advance dispatch: %w", err)
	}
	return nil
}

// Page returns one page of a dispatch.
func (s *Store) Page(ctx context.Context, dispatchID string, firstUserID int64) (*campaigns.Page, error) {
	var ids string
	var enq int64
	var done sql.NullInt64
	err := s.queryRow(ctx, "SELECT user_ids, enqueued_at, done_at FROM dispatch_pages WHERE dispatch_id = ? AND first_user_id = ?",
		dispatchID, firstUserID).Scan(&ids, &enq, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: page %s/%d: %w", dispatchID, firstUserID, campaigns.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: page: %w", err)
	}
	p := &campaigns.Page{DispatchID: dispatchID, FirstUserID: firstUserID, Done: done.Valid, EnqueuedAt: time.UnixMilli(enq).UTC()}
	if err := json.Unmarshal([]byte(ids), &p.UserIDs); err != nil {
		return nil, fmt.Errorf("store: page %s/%d users: %w", dispatchID, firstUserID, err)
	}
	return p, nil
}

// CompletePage marks a page done and reports whether that finished its
// dispatch (all pages done and the audience exhausted).
func (s *Store) CompletePage(ctx context.Context, dispatchID string, firstUserID int64, at time.Time) (bool, error) {
	finished := false
	err := s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		// Every page of a dispatch counts itself on the dispatch's row, so
		// the pages of a dispatch commit one after another; on PostgreSQL
		// the commit does not wait for its WAL flush, which keeps the row
		// lock short. Losing such a commit in a database crash is safe: the
		// page's messages are final in the ledger (recorded durably before),
		// the reconciler runs the page again, and it completes again.
		if s.Driver() == "postgres" {
			if _, err := t.exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("store: complete page: %w", err)
			}
		}
		res, err := t.exec(ctx, "UPDATE dispatch_pages SET done_at = ? WHERE dispatch_id = ? AND first_user_id = ? AND done_at IS NULL",
			at.UnixMilli(), dispatchID, firstUserID)
		if err != nil {
			return fmt.Errorf("store: complete page: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := t.exec(ctx, `UPDATE dispatches SET pages_done = pages_done + 1, updated_at = ? WHERE id = ?`, at.UnixMilli(), dispatchID); err != nil {
			return fmt.Errorf("store: count page: %w", err)
		}
		// A paused dispatch finishes too: its last page was already running
		// when the pause came, and nothing would finish it after a resume.
		res, err = t.exec(ctx, "UPDATE dispatches SET status = ? WHERE id = ? AND status IN (?, ?) AND paging_done AND pages_done = pages",
			campaigns.DispatchDone, dispatchID, campaigns.DispatchRunning, campaigns.DispatchPaused)
		if err != nil {
			return fmt.Errorf("store: finish dispatch: %w", err)
		}
		n, _ := res.RowsAffected()
		finished = n == 1
		return nil
	})
	return finished, err
}

// OpenPages lists pages not done whose task was enqueued before the given
// time, of dispatches still running: the reconciler enqueues them again.
func (s *Store) OpenPages(ctx context.Context, enqueuedBefore time.Time, limit int) ([]campaigns.Page, error) {
	rows, err := s.query(ctx, `SELECT p.dispatch_id, p.first_user_id, p.enqueued_at FROM dispatch_pages p JOIN dispatches d ON d.id = p.dispatch_id
WHERE p.done_at IS NULL AND p.enqueued_at < ? AND d.status = ? ORDER BY p.enqueued_at LIMIT ?`,
		enqueuedBefore.UnixMilli(), campaigns.DispatchRunning, limit)
	if err != nil {
		return nil, fmt.Errorf("store: open pages: %w", err)
	}
	defer rows.Close()
	var out []campaigns.Page
	for rows.Next() {
		var p campaigns.Page
		var enq int64
		if err := rows.Scan(&p.DispatchID, &p.FirstUserID, &enq); err != nil {
			return nil, err
		}
		p.EnqueuedAt = time.UnixMilli(enq).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// TouchPage records that a page's task was enqueued again.
func (s *Store) TouchPage(ctx context.Context, dispatchID string, firstUserID int64, at time.Time) error {
	_, err := s.exec(ctx, "UPDATE dispatch_pages SET enqueued_at = ? WHERE dispatch_id = ? AND first_user_id = ?", at.UnixMilli(), dispatchID, firstUserID)
	if err != nil {
		return fmt.Errorf("store: touch page: %w", err)
	}
	return nil
}

// StalledDispatches lists running dispatches whose paging is not done and
// that have not moved since before: the reconciler enqueues their dispatch
// task again.
func (s *Store) StalledDispatches(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.query(ctx, "SELECT id FROM dispatches WHERE status = ? AND NOT paging_done AND updated_at < ? ORDER BY updated_at LIMIT ?",
		campaigns.DispatchRunning, before.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: stalled dispatches: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// TouchDispatch records progress of a dispatch (its task was enqueued again).
func (s *Store) TouchDispatch(ctx context.Context, id string, at time.Time) error {
	if _, err := s.exec(ctx, "UPDATE dispatches SET updated_at = ? WHERE id = ?", at.UnixMilli(), id); err != nil {
		return fmt.Errorf("store: touch dispatch: %w", err)
	}
	return nil
}

// DueDispatches lists scheduled dispatches whose time has come, oldest first.
func (s *Store) DueDispatches(ctx context.Context, now time.Time, limit int) ([]*campaigns.Dispatch, error) {
	rows, err := s.query(ctx, "SELECT "+dispatchCols+" FROM dispatches WHERE status = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?",
		campaigns.DispatchScheduled, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due dispatches: %w", err)
	}
	return collect(rows, scanDispatch)
}

// StartDispatch moves a scheduled dispatch to running; false when it was not
// scheduled any more (another scheduler started it, or it was stopped).
func (s *Store) StartDispatch(ctx context.Context, id string, at time.Time) (bool, error) {
	return s.moveScheduled(ctx, id, campaigns.DispatchRunning, at)
}

// moveScheduled moves a dispatch that is still scheduled to status; false
// when it was not scheduled any more.
func (s *Store) moveScheduled(ctx context.Context, id, status string, at time.Time) (bool, error) {
	res, err := s.exec(ctx, "UPDATE dispatches SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
		status, at.UnixMilli(), id, campaigns.DispatchScheduled)
	if err != nil {
		return false, fmt.Errorf("store: move scheduled dispatch %s to %s: %w", id, status, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// LastOccurrence returns the greatest occurrence of a campaign's dispatches
// that starts with prefix ("" when there is none).
func (s *Store) LastOccurrence(ctx context.Context, campaignID, prefix string) (string, error) {
	var occ sql.NullString
	err := s.queryRow(ctx, "SELECT MAX(occurrence) FROM dispatches WHERE campaign_id = ? AND occurrence LIKE ?",
		campaignID, prefix+"%").Scan(&occ)
	if err != nil {
		return "", fmt.Errorf("store: last occurrence: %w", err)
	}
	return occ.String, nil
}
