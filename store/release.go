package store

import (
	"context"
	"fmt"

	"github.com/herald-oss/herald/campaigns"
)

// ReleaseClaims gives claimed ledger rows back while token still holds them:
// status retry, no lease, and the attempt the claim counted taken back (a
// message a rate limit deferred was not tried). The next claim takes them
// over with their message id.
func (s *Store) ReleaseClaims(ctx context.Context, keys []campaigns.LedgerKey, token string) error {
	cols := s.cols("text", "bigint", "text", "text")
	for start := 0; start < len(keys); start += rowsPerInsert {
		batch := keys[start:min(start+rowsPerInsert, len(keys))]
		bound, bargs := ledgerRange("", batch, func(k campaigns.LedgerKey) campaigns.LedgerKey { return k })
		args := append([]any{campaigns.LedgerRetry}, bargs...)
		for _, k := range batch {
			args = append(args, k.DispatchID, k.UserID, k.Channel, k.Device)
		}
		args = append(args, token, campaigns.LedgerClaimed)
		if _, err := s.exec(ctx, `UPDATE ledger SET status = ?, lease_until = 0, attempts = attempts - 1
WHERE `+bound+`(dispatch_id, user_id, channel, device) IN (VALUES `+placeholders(len(batch), cols)+`) AND claim_token = ? AND status = ?`, args...); err != nil {
			return fmt.Errorf("store: release claims: %w", err)
		}
	}
	return nil
}
