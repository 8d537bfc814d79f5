package store

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

var _ campaigns.TriggerTx = (*tx)(nil)

const triggeredCols = "id, campaign_id, user_id, event_name, event_at, properties, due_at, status, reason, dispatch_id, created_at"

func scanTriggered(r rowScanner) (*campaigns.Triggered, error) {
	var t campaigns.Triggered
	var props string
	var eventAt, dueAt, created int64
	if err := r.Scan(&t.ID, &t.CampaignID, &t.UserID, &t.EventName, &eventAt, &props, &dueAt, &t.Status, &t.Reason,
		&t.DispatchID, &created); err != nil {
		return nil, err
	}
	t.Properties = []byte(props)
	t.EventAt, t.DueAt, t.CreatedAt = time.UnixMilli(eventAt).UTC(), time.UnixMilli(dueAt).UTC(), time.UnixMilli(created).UTC()
	return &t, nil
}

// AddTriggered inserts pending triggered sends in the transaction that
// stores their events; an id already present is left alone.
func (t *tx) AddTriggered(ctx context.Context, ts []campaigns.Triggered) error {
	cols := t.s.cols("", "", "", "", "", "", "", "", "", "")
	for start := 0; start < len(ts); start += rowsPerInsert {
		batch := ts[start:min(start+rowsPerInsert, len(ts))]
		args := make([]any, 0, len(batch)*len(cols))
		for _, r := range batch {
			props := string(r.Properties)
			if props == "" {
				props = "{}"
			}
			at := r.CreatedAt.UnixMilli()
			args = append(args, r.ID, r.CampaignID, r.UserID, r.EventName, r.EventAt.UnixMilli(), props, r.DueAt.UnixMilli(),
				campaigns.TriggeredPending, at, at)
		}
		if _, err := t.exec(ctx, `INSERT INTO triggered_sends (id, campaign_id, user_id, event_name, event_at, properties, due_at, status, created_at, updated_at)
VALUES `+placeholders(len(batch), cols)+` ON CONFLICT (id) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("store: add triggered sends: %w", err)
		}
	}
	return nil
}

// CancelTriggered cancels a user's pending sends of a campaign triggered at
// or before upTo.
func (t *tx) CancelTriggered(ctx context.Context, userID int64, campaignID string, upTo time.Time, reason string, at time.Time) (int64, error) {
	res, err := t.exec(ctx, `UPDATE triggered_sends SET status = ?, reason = ?, updated_at = ?
WHERE user_id = ? AND campaign_id = ? AND status = ? AND event_at <= ?`,
		campaigns.TriggeredCancelled, reason, at.UnixMilli(), userID, campaignID, campaigns.TriggeredPending, upTo.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: cancel triggered sends: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DueTriggered lists pending triggered sends due at now, oldest first.
func (s *Store) DueTriggered(ctx context.Context, now time.Time, limit int) ([]*campaigns.Triggered, error) {
	rows, err := s.query(ctx, "SELECT "+triggeredCols+" FROM triggered_sends WHERE status = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?",
		campaigns.TriggeredPending, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due triggered sends: %w", err)
	}
	return collect(rows, scanTriggered)
}

// FinishTriggered moves a pending triggered send to status; false when it
// was no longer pending.
func (s *Store) FinishTriggered(ctx context.Context, id, status, reason, dispatchID string, at time.Time) (bool, error) {
	res, err := s.exec(ctx, "UPDATE triggered_sends SET status = ?, reason = ?, dispatch_id = ?, updated_at = ? WHERE id = ? AND status = ?",
		status, reason, dispatchID, at.UnixMilli(), id, campaigns.TriggeredPending)
	if err != nil {
		return false, fmt.Errorf("store: finish triggered send: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TriggeredSends lists a campaign's triggered sends, newest first.
func (s *Store) TriggeredSends(ctx context.Context, campaignID string, limit int) ([]*campaigns.Triggered, error) {
	rows, err := s.query(ctx, "SELECT "+triggeredCols+" FROM triggered_sends WHERE campaign_id = ? ORDER BY created_at DESC, id LIMIT ?",
		campaignID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: triggered sends: %w", err)
	}
	return collect(rows, scanTriggered)
}
