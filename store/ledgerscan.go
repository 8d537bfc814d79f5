package store

import (
	"context"
	"fmt"
)

// LedgerRows streams a dispatch's ledger rows (user, channel, state, reason)
// to fn in key order.
func (s *Store) LedgerRows(ctx context.Context, dispatchID string, fn func(userID int64, channel, status, reason string) error) error {
	rows, err := s.query(ctx, "SELECT user_id, channel, status, reason FROM ledger WHERE dispatch_id = ? ORDER BY user_id, channel, device", dispatchID)
	if err != nil {
		return fmt.Errorf("store: ledger rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid int64
		var ch, status, reason string
		if err := rows.Scan(&uid, &ch, &status, &reason); err != nil {
			return fmt.Errorf("store: ledger rows: %w", err)
		}
		if err := fn(uid, ch, status, reason); err != nil {
			return err
		}
	}
	return rows.Err()
}
