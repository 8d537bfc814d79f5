package store

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// Claim claims ledger rows for one worker (token) in one transaction, in key
// order. A row that does not exist is created as claimed; a row left in
// retry, or claimed under a lease that ended before now, is taken over (its
// message id is kept, its attempts counted); a terminal row is Finished; a
// row under another worker's live lease is Busy.
func (s *Store) Claim(ctx context.Context, claims []campaigns.Claim, token string, now, leaseUntil time.Time) ([]campaigns.ClaimResult, error) {
	out := make([]campaigns.ClaimResult, len(claims))
	if len(claims) == 0 {
		return out, nil
	}
	err := s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		nowMS, leaseMS := now.UnixMilli(), leaseUntil.UnixMilli()
		cols := s.cols("", "", "", "", "", "", "", "", "", "", "", "")
		for start := 0; start < len(claims); start += rowsPerInsert {
			batch := claims[start:min(start+rowsPerInsert, len(claims))]
			args := make([]any, 0, len(batch)*len(cols))
			for _, c := range batch {
				args = append(args, c.DispatchID, c.UserID, c.Channel, c.Device, c.CampaignID, c.MessageID,
					campaigns.LedgerClaimed, token, leaseMS, 1, nowMS, nowMS)
			}
			if _, err := t.exec(ctx, "INSERT INTO ledger (dispatch_id, user_id, channel, device, campaign_id, message_id, status, claim_token, lease_until, attempts, created_at, updated_at) VALUES "+
				placeholders(len(batch), cols)+" ON CONFLICT (dispatch_id, user_id, channel, device) DO NOTHING", args...); err != nil {
				return fmt.Errorf("store: claim: %w", err)
			}
		}
		for i, c := range claims {
			// Take over what is claimable; then read what the row is now.
			if _, err := t.exec(ctx, `UPDATE ledger SET status = ?, claim_token = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
WHERE dispatch_id = ? AND user_id = ? AND channel = ? AND device = ? AND claim_token <> ?
AND (status = ? OR (status = ? AND lease_until < ?))`,
				campaigns.LedgerClaimed, token, leaseMS, nowMS, c.DispatchID, c.UserID, c.Channel, c.Device, token,
				campaigns.LedgerRetry, campaigns.LedgerClaimed, nowMS); err != nil {
				return fmt.Errorf("store: take over claim: %w", err)
			}
			var status, owner, msgID string
			var attempts int
			if err := t.queryRow(ctx, "SELECT status, claim_token, message_id, attempts FROM ledger WHERE dispatch_id = ? AND user_id = ? AND channel = ? AND device = ?",
				c.DispatchID, c.UserID, c.Channel, c.Device).Scan(&status, &owner, &msgID, &attempts); err != nil {
				return fmt.Errorf("store: read claim: %w", err)
			}
			r := campaigns.ClaimResult{MessageID: msgID, Attempts: attempts, State: campaigns.Busy}
			switch {
			case campaigns.Terminal(status):
				r.State = campaigns.Finished
			case status == campaigns.LedgerClaimed && owner == token:
				r.State = campaigns.Claimed
			}
			out[i] = r
		}
		return nil
	})
	return out, err
}

// Record writes the outcomes of one page in one transaction: claimed rows
// (only while token still owns them) take their state, reason and provider
// id; aborted rows that were never claimed are inserted as aborted (a row
// that exists is left alone). Engagement events are inserted once each.
func (s *Store) Record(ctx context.Context, outcomes []campaigns.Outcome, events []campaigns.Engagement, token string, now time.Time) error {
	if len(outcomes) == 0 && len(events) == 0 {
		return nil
	}
	nowMS := now.UnixMilli()
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		for _, o := range outcomes {
			if o.Claimed {
				if _, err := t.exec(ctx, `UPDATE ledger SET status = ?, reason = ?, provider_id = ?, lease_until = 0, updated_at = ?
WHERE dispatch_id = ? AND user_id = ? AND channel = ? AND device = ? AND claim_token = ?`,
					o.State, o.Reason, o.ProviderID, nowMS, o.DispatchID, o.UserID, o.Channel, o.Device, token); err != nil {
					return fmt.Errorf("store: record: %w", err)
				}
				continue
			}
			if _, err := t.exec(ctx, `INSERT INTO ledger (dispatch_id, user_id, channel, device, campaign_id, message_id, status, reason, created_at, updated_at)
VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (dispatch_id, user_id, channel, device) DO NOTHING`,
				o.DispatchID, o.UserID, o.Channel, o.Device, o.CampaignID, o.MessageID, o.State, o.Reason, nowMS, nowMS); err != nil {
				return fmt.Errorf("store: record abort: %w", err)
			}
		}
		cols := s.cols("", "", "", "", "", "", "", "")
		for start := 0; start < len(events); start += rowsPerInsert {
			batch := events[start:min(start+rowsPerInsert, len(events))]
			args := make([]any, 0, len(batch)*len(cols))
			for _, e := range batch {
				args = append(args, e.DispatchID, e.UserID, e.Channel, e.Device, e.Kind, e.CampaignID, e.Reason, e.At.UnixMilli())
			}
			if _, err := t.exec(ctx, "INSERT INTO engagement (dispatch_id, user_id, channel, device, kind, campaign_id, reason, at) VALUES "+
				placeholders(len(batch), cols)+" ON CONFLICT (dispatch_id, user_id, channel, device, kind) DO NOTHING", args...); err != nil {
				return fmt.Errorf("store: engagement: %w", err)
			}
		}
		return nil
	})
}

// LedgerCounts counts a dispatch's ledger rows by state and reason.
func (s *Store) LedgerCounts(ctx context.Context, dispatchID string) (map[string]int64, error) {
	rows, err := s.query(ctx, "SELECT status, reason, COUNT(*) FROM ledger WHERE dispatch_id = ? GROUP BY status, reason", dispatchID)
	if err != nil {
		return nil, fmt.Errorf("store: ledger counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var status, reason string
		var n int64
		if err := rows.Scan(&status, &reason, &n); err != nil {
			return nil, err
		}
		key := status
		if reason != "" && status == campaigns.LedgerAborted {
			key += ":" + reason
		}
		out[key] += n
	}
	return out, rows.Err()
}

// PurgeLedger deletes ledger rows last updated before the given time, of
// dispatches that are over, and reports how many it deleted.
func (s *Store) PurgeLedger(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM ledger WHERE updated_at < ? AND dispatch_id IN (SELECT id FROM dispatches WHERE status IN (?, ?))`,
		before.UnixMilli(), campaigns.DispatchDone, campaigns.DispatchStopped)
	if err != nil {
		return 0, fmt.Errorf("store: purge ledger: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
