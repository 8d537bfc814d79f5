package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// purgeBatch is how many rows one purge statement deletes: a large backlog
// goes in many short statements, each committed, rather than one long one.
const purgeBatch = 10000

// PurgeUserSends deletes the sends (user_sends: what frequency capping,
// re-eligibility and conversions look back on) made before the given time,
// except those of the campaigns in keep (re-eligible never: their sends
// matter for ever), and reports how many it deleted. It deletes in batches
// until none is left or ctx ends.
func (s *Store) PurgeUserSends(ctx context.Context, before time.Time, keep []string) (int64, error) {
	cond, args := "at < ?", []any{before.UnixMilli()}
	if len(keep) > 0 {
		if s.dialect.name() == "postgres" {
			cond += " AND campaign_id <> ALL(?::text[])"
			args = append(args, textArray(keep))
		} else {
			cond += " AND campaign_id NOT IN (" + inList(len(keep)) + ")"
			for _, id := range keep {
				args = append(args, id)
			}
		}
	}
	n, err := s.purgeBatches(ctx, "user_sends", cond, args)
	if err != nil {
		return n, fmt.Errorf("store: purge user sends: %w", err)
	}
	return n, nil
}

// PurgeTriggeredSends deletes the triggered sends no longer pending
// (dispatched or cancelled) since before the given time, in batches, and
// reports how many it deleted. A triggered send's id is derived from its
// event: an event posted again after its row is gone triggers again, so the
// caller keeps rows longer than events are replayed.
func (s *Store) PurgeTriggeredSends(ctx context.Context, before time.Time) (int64, error) {
	// The status is a literal, as in the partial index triggered_sends_finished.
	n, err := s.purgeBatches(ctx, "triggered_sends", "status <> '"+campaigns.TriggeredPending+"' AND updated_at < ?", []any{before.UnixMilli()})
	if err != nil {
		return n, fmt.Errorf("store: purge triggered sends: %w", err)
	}
	return n, nil
}

// purgeBatches deletes the rows of table matching cond, purgeBatch at a
// time (by physical row: PostgreSQL's ctid, SQLite's rowid), and reports how
// many it deleted.
func (s *Store) purgeBatches(ctx context.Context, table, cond string, args []any) (int64, error) {
	q := "DELETE FROM " + table + " WHERE rowid IN (SELECT rowid FROM " + table + " WHERE " + cond + " LIMIT ?)"
	if s.dialect.name() == "postgres" {
		q = "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " + cond + " LIMIT ?))"
	}
	var total int64
	for {
		res, err := s.exec(ctx, q, append(slices.Clone(args), purgeBatch)...)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}
