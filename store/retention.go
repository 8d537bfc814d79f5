package store

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// PurgeUserSends deletes the sends (user_sends: what frequency capping,
// re-eligibility and conversions look back on) made before the given time,
// except those of the campaigns in keep (re-eligible never: their sends
// matter for ever), and reports how many it deleted.
func (s *Store) PurgeUserSends(ctx context.Context, before time.Time, keep []string) (int64, error) {
	q, args := "DELETE FROM user_sends WHERE at < ?", []any{before.UnixMilli()}
	if len(keep) > 0 {
		if s.dialect.name() == "postgres" {
			q += " AND campaign_id <> ALL(?::text[])"
			args = append(args, textArray(keep))
		} else {
			q += " AND campaign_id NOT IN (" + inList(len(keep)) + ")"
			for _, id := range keep {
				args = append(args, id)
			}
		}
	}
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: purge user sends: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// PurgeTriggeredSends deletes the triggered sends no longer pending
// (dispatched or cancelled) since before the given time, and reports how
// many it deleted. A triggered send's id is derived from its event: an
// event posted again after its row is gone triggers again, so the caller
// keeps rows longer than events are replayed.
func (s *Store) PurgeTriggeredSends(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM triggered_sends WHERE status <> ? AND updated_at < ?", campaigns.TriggeredPending, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: purge triggered sends: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
