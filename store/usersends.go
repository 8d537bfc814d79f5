package store

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// ReserveSends runs decide over the users' sends since the given time, in
// one transaction that holds their user rows (PostgreSQL: FOR UPDATE, in id
// order; SQLite: the single writer), and inserts the sends it returns (one
// already there is left alone). Two workers deciding for the same user
// therefore see each other's sends: a frequency cap holds under concurrency.
func (s *Store) ReserveSends(ctx context.Context, userIDs []int64, since time.Time,
	decide func(existing []campaigns.UserSend) []campaigns.UserSend) error {
	if len(userIDs) == 0 {
		return nil
	}
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		var existing []campaigns.UserSend
		for start := 0; start < len(userIDs); start += rowsPerInsert {
			chunk := userIDs[start:min(start+rowsPerInsert, len(userIDs))]
			in := inList(len(chunk))
			if s.Driver() == "postgres" {
				if _, err := t.exec(ctx, "SELECT id FROM users WHERE id IN ("+in+") ORDER BY id FOR UPDATE", int64Args(chunk)...); err != nil {
					return fmt.Errorf("store: lock users: %w", err)
				}
			}
			rows, err := t.query(ctx, "SELECT user_id, dispatch_id, channel, campaign_id, at FROM user_sends WHERE user_id IN ("+in+") AND at >= ?",
				append(int64Args(chunk), since.UnixMilli())...)
			if err != nil {
				return fmt.Errorf("store: user sends: %w", err)
			}
			got, err := collect(rows, scanUserSend)
			if err != nil {
				return fmt.Errorf("store: user sends: %w", err)
			}
			existing = append(existing, got...)
		}
		add := decide(existing)
		cols := s.cols("", "", "", "", "")
		for start := 0; start < len(add); start += rowsPerInsert {
			batch := add[start:min(start+rowsPerInsert, len(add))]
			args := make([]any, 0, len(batch)*len(cols))
			for _, u := range batch {
				args = append(args, u.UserID, u.DispatchID, u.Channel, u.CampaignID, u.At.UnixMilli())
			}
			if _, err := t.exec(ctx, "INSERT INTO user_sends (user_id, dispatch_id, channel, campaign_id, at) VALUES "+
				placeholders(len(batch), cols)+" ON CONFLICT (user_id, dispatch_id, channel) DO NOTHING", args...); err != nil {
				return fmt.Errorf("store: reserve sends: %w", err)
			}
		}
		return nil
	})
}

func scanUserSend(r rowScanner) (campaigns.UserSend, error) {
	var u campaigns.UserSend
	var at int64
	err := r.Scan(&u.UserID, &u.DispatchID, &u.Channel, &u.CampaignID, &at)
	u.At = time.UnixMilli(at).UTC()
	return u, err
}
