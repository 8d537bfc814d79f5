package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

var _ campaigns.ConversionTx = (*tx)(nil)

// UserSendsSince lists the users' sends of the campaigns since a time, in the
// transaction.
func (t *tx) UserSendsSince(ctx context.Context, userIDs []int64, campaignIDs []string, since time.Time) ([]campaigns.UserSend, error) {
	var out []campaigns.UserSend
	camps := make([]any, len(campaignIDs))
	for i, c := range campaignIDs {
		camps[i] = c
	}
	for start := 0; start < len(userIDs); start += rowsPerInsert {
		chunk := userIDs[start:min(start+rowsPerInsert, len(userIDs))]
		args := append(append(int64Args(chunk), camps...), since.UnixMilli())
		rows, err := t.query(ctx, "SELECT user_id, dispatch_id, channel, campaign_id, at FROM user_sends WHERE user_id IN ("+
			inList(len(chunk))+") AND campaign_id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(camps)), ",")+") AND at >= ?", args...)
		if err != nil {
			return nil, fmt.Errorf("store: user sends: %w", err)
		}
		got, err := collect(rows, scanUserSend)
		if err != nil {
			return nil, fmt.Errorf("store: user sends: %w", err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// AddConversions stores conversions once per (campaign, user, conversion
// event).
func (t *tx) AddConversions(ctx context.Context, cs []campaigns.Conversion) error {
	cols := t.s.cols("", "", "", "", "", "")
	for start := 0; start < len(cs); start += rowsPerInsert {
		batch := cs[start:min(start+rowsPerInsert, len(cs))]
		args := make([]any, 0, len(batch)*len(cols))
		for _, c := range batch {
			args = append(args, c.CampaignID, c.UserID, c.Index, c.DispatchID, c.At.UnixMilli(), c.Revenue)
		}
		if _, err := t.exec(ctx, "INSERT INTO conversions (campaign_id, user_id, conversion_index, dispatch_id, at, revenue) VALUES "+
			placeholders(len(batch), cols)+" ON CONFLICT (campaign_id, user_id, conversion_index) DO NOTHING", args...); err != nil {
			return fmt.Errorf("store: add conversions: %w", err)
		}
	}
	return nil
}

// Conversions lists a campaign's conversions.
func (s *Store) Conversions(ctx context.Context, campaignID string) ([]campaigns.Conversion, error) {
	rows, err := s.query(ctx, "SELECT campaign_id, user_id, conversion_index, dispatch_id, at, revenue FROM conversions WHERE campaign_id = ? ORDER BY at, user_id", campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: conversions: %w", err)
	}
	return collect(rows, func(r rowScanner) (campaigns.Conversion, error) {
		var c campaigns.Conversion
		var at int64
		err := r.Scan(&c.CampaignID, &c.UserID, &c.Index, &c.DispatchID, &at, &c.Revenue)
		c.At = time.UnixMilli(at).UTC()
		return c, err
	})
}
