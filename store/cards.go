package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// AddCards puts content cards into users' feeds, in one transaction; a
// dispatch's card already in a user's feed is kept as it is.
func (s *Store) AddCards(ctx context.Context, cards []*campaigns.Card) error {
	if len(cards) == 0 {
		return nil
	}
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		cols := s.cols("", "", "", "", "", "", "", "")
		for start := 0; start < len(cards); start += rowsPerInsert {
			batch := cards[start:min(start+rowsPerInsert, len(cards))]
			args := make([]any, 0, len(batch)*len(cols))
			for _, c := range batch {
				body, err := json.Marshal(c.Card)
				if err != nil {
					return fmt.Errorf("store: card %s: %w", c.ID, err)
				}
				args = append(args, c.ID, c.UserID, c.CampaignID, c.DispatchID, string(body), c.Pinned, c.CreatedAt.UnixMilli(), c.ExpiresAt.UnixMilli())
			}
			if _, err := t.exec(ctx, "INSERT INTO cards (id, user_id, campaign_id, dispatch_id, card, pinned, created_at, expires_at) VALUES "+
				placeholders(len(batch), cols)+" ON CONFLICT (dispatch_id, user_id) DO NOTHING", args...); err != nil {
				return fmt.Errorf("store: add cards: %w", err)
			}
		}
		return nil
	})
}

// Cards returns a user's cards that have not expired at now, newest first.
func (s *Store) Cards(ctx context.Context, userID int64, now time.Time) ([]*campaigns.Card, error) {
	rows, err := s.query(ctx, `SELECT id, campaign_id, dispatch_id, card, pinned, created_at, expires_at FROM cards
WHERE user_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, id`, userID, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: cards: %w", err)
	}
	defer rows.Close()
	var out []*campaigns.Card
	for rows.Next() {
		c := &campaigns.Card{UserID: userID}
		var body string
		var created int64
		var expires sql.NullInt64
		if err := rows.Scan(&c.ID, &c.CampaignID, &c.DispatchID, &body, &c.Pinned, &created, &expires); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &c.Card); err != nil {
			return nil, fmt.Errorf("store: card %s: %w", c.ID, err)
		}
		c.CreatedAt, c.ExpiresAt = time.UnixMilli(created).UTC(), fromMS(expires)
		out = append(out, c)
	}
	return out, rows.Err()
}
