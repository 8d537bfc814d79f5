package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// SentTo reports whether a dispatch delivered the user a message on channel
// (to any device): an engagement the SDK reports counts only then.
func (s *Store) SentTo(ctx context.Context, dispatchID string, userID int64, channel string) (bool, error) {
	var one int
	err := s.queryRow(ctx, "SELECT 1 FROM ledger WHERE dispatch_id = ? AND user_id = ? AND channel = ? AND status = ? LIMIT 1",
		dispatchID, userID, channel, campaigns.LedgerDelivered).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: sent to: %w", err)
	}
	return true, nil
}

// EngagementCounts counts a dispatch's engagement events by channel and
// kind (delivery, impression, click, …, and send: every delivery and
// bounce); with dispatchID "", the
// campaign's over all its dispatches (and its in-app messages, which have
// none).
func (s *Store) EngagementCounts(ctx context.Context, campaignID, dispatchID string) (map[string]map[string]int64, error) {
	q, arg := "SELECT channel, kind, COUNT(*) FROM engagement WHERE dispatch_id = ? GROUP BY channel, kind", dispatchID
	if dispatchID == "" {
		q, arg = "SELECT channel, kind, COUNT(*) FROM engagement WHERE campaign_id = ? GROUP BY channel, kind", campaignID
	}
	rows, err := s.query(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("store: engagement counts: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var channel, kind string
		var n int64
		if err := rows.Scan(&channel, &kind, &n); err != nil {
			return nil, err
		}
		if out[channel] == nil {
			out[channel] = map[string]int64{}
		}
		out[channel][kind] = n
	}
	for _, c := range out { // every delivery and bounce is a send
		if n := c[campaigns.EventDelivery] + c[campaigns.EventBounce]; n > 0 {
			c[campaigns.EventSend] = n
		}
	}
	return out, rows.Err()
}

// InAppImpressions returns, by campaign, when the user last saw one of its
// in-app messages (engagement kind impression).
func (s *Store) InAppImpressions(ctx context.Context, userID int64) (map[string]time.Time, error) {
	rows, err := s.query(ctx, "SELECT campaign_id, MAX(at) FROM engagement WHERE user_id = ? AND channel = ? AND kind = ? GROUP BY campaign_id",
		userID, campaigns.InAppMessage, campaigns.EngageImpression)
	if err != nil {
		return nil, fmt.Errorf("store: in-app impressions: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("store: in-app impressions: %w", err)
		}
		out[id] = time.UnixMilli(at).UTC()
	}
	return out, rows.Err()
}

// HasEngagement reports whether an engagement event of kind is stored for
// the ledger key k (through the primary key).
func (s *Store) HasEngagement(ctx context.Context, k campaigns.LedgerKey, kind string) (bool, error) {
	var n int
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM engagement WHERE dispatch_id = ? AND user_id = ? AND channel = ? AND device = ? AND kind = ?",
		k.DispatchID, k.UserID, k.Channel, k.Device, kind).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: engagement: %w", err)
	}
	return n > 0, nil
}
