package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/herald-oss/herald/profiles"
)

// The audience queries run a WHERE clause compiled by package segments: a
// boolean expression over `users u` with ? placeholders, bound for the dialect
// like every other query.

// AudiencePage returns, in id order, up to limit ids of the users matching
// where whose id is greater than afterID: one keyset page of an audience.
func (s *Store) AudiencePage(ctx context.Context, where string, args []any, afterID int64, limit int) ([]int64, error) {
	q := "SELECT u.id FROM users u WHERE (" + where + ") AND u.id > ? ORDER BY u.id LIMIT ?"
	rows, err := s.query(ctx, q, append(append(make([]any, 0, len(args)+2), args...), afterID, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: audience page: %w", err)
	}
	defer rows.Close()
	ids := make([]int64, 0, limit)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audience page: %w", err)
	}
	return ids, nil
}

// AudienceScan streams, in id order, the ids of the users matching where
// whose id is greater than afterID, in batches of size: fn gets each full
// batch with last false, then the rest (possibly none) with last true. It is
// one query read as it goes, so the database plans the whole audience once
// (a semi-join over devices, say) instead of once per page, and memory holds
// one batch. An error from fn stops the scan and is returned.
func (s *Store) AudienceScan(ctx context.Context, where string, args []any, afterID int64, size int,
	fn func(ids []int64, last bool) error) error {
	if size < 1 {
		return fmt.Errorf("store: audience scan: batch size %d", size)
	}
	q := "SELECT u.id FROM users u WHERE (" + where + ") AND u.id > ? ORDER BY u.id"
	rows, err := s.query(ctx, q, append(append(make([]any, 0, len(args)+1), args...), afterID)...)
	if err != nil {
		return fmt.Errorf("store: audience scan: %w", err)
	}
	defer rows.Close()
	batch := make([]int64, 0, size)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("store: audience scan: %w", err)
		}
		if batch = append(batch, id); len(batch) == size {
			if err := fn(batch, false); err != nil {
				return err
			}
			batch = make([]int64, 0, size)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: audience scan: %w", err)
	}
	return fn(batch, true)
}

// CountWhere counts the users matching where.
func (s *Store) CountWhere(ctx context.Context, where string, args []any) (int64, error) {
	var n int64
	if err := s.queryRow(ctx, "SELECT COUNT(*) FROM users u WHERE ("+where+")", args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count audience: %w", err)
	}
	return n, nil
}

// SampleExternalIDs returns the external ids of up to n users matching where
// that have one, lowest user id first.
func (s *Store) SampleExternalIDs(ctx context.Context, where string, args []any, n int) ([]string, error) {
	q := "SELECT u.external_id FROM users u WHERE (" + where + ") AND u.external_id IS NOT NULL ORDER BY u.id LIMIT ?"
	rows, err := s.query(ctx, q, append(append(make([]any, 0, len(args)+1), args...), n)...)
	if err != nil {
		return nil, fmt.Errorf("store: audience sample: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var ext string
		if err := rows.Scan(&ext); err != nil {
			return nil, err
		}
		out = append(out, ext)
	}
	return out, rows.Err()
}

// recentChunk bounds the ids of one LoadRecent query.
const recentChunk = 500

// LoadRecent sets p.Recent of every profile from the session, event and
// purchase day rollups of UTC days >= sinceDay: one query per table per chunk
// of users, rows in day order.
func (s *Store) LoadRecent(ctx context.Context, ps []*profiles.Profile, sinceDay int64) error {
	byID := make(map[int64]*profiles.Profile, len(ps))
	ids := make([]int64, 0, len(ps))
	for _, p := range ps {
		p.Recent = profiles.Recent{}
		if _, ok := byID[p.User.ID]; !ok {
			byID[p.User.ID] = p
			ids = append(ids, p.User.ID)
		}
	}
	for start := 0; start < len(ids); start += recentChunk {
		chunk := ids[start:min(start+recentChunk, len(ids))]
		in := inList(len(chunk))
		args := append(int64Args(chunk), sinceDay)
		tables := []struct {
			q    string
			scan func(r *sql.Rows) (int64, profiles.DayCount, error)
			add  func(p *profiles.Profile, d profiles.DayCount)
		}{
			{"SELECT user_id, day, sessions FROM user_session_days WHERE user_id IN (" + in + ") AND day >= ? ORDER BY user_id, day",
				func(r *sql.Rows) (uid int64, d profiles.DayCount, err error) {
					err = r.Scan(&uid, &d.Day, &d.Count)
					return
				},
				func(p *profiles.Profile, d profiles.DayCount) { p.Recent.Sessions = append(p.Recent.Sessions, d) }},
			{"SELECT user_id, name, day, count FROM user_event_days WHERE user_id IN (" + in + ") AND day >= ? ORDER BY user_id, day, name",
				func(r *sql.Rows) (uid int64, d profiles.DayCount, err error) {
					err = r.Scan(&uid, &d.Name, &d.Day, &d.Count)
					return
				},
				func(p *profiles.Profile, d profiles.DayCount) { p.Recent.Events = append(p.Recent.Events, d) }},
			{"SELECT user_id, product_id, day, count, revenue FROM user_purchase_days WHERE user_id IN (" + in + ") AND day >= ? ORDER BY user_id, day, product_id",
				func(r *sql.Rows) (uid int64, d profiles.DayCount, err error) {
					err = r.Scan(&uid, &d.Name, &d.Day, &d.Count, &d.Revenue)
					return
				},
				func(p *profiles.Profile, d profiles.DayCount) { p.Recent.Purchases = append(p.Recent.Purchases, d) }},
		}
		for _, tb := range tables {
			if err := s.loadDays(ctx, tb.q, args, byID, tb.scan, tb.add); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) loadDays(ctx context.Context, q string, args []any, byID map[int64]*profiles.Profile,
	scan func(*sql.Rows) (int64, profiles.DayCount, error), add func(*profiles.Profile, profiles.DayCount)) error {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: load recent activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		uid, d, err := scan(rows)
		if err != nil {
			return err
		}
		if p := byID[uid]; p != nil {
			add(p, d)
		}
	}
	return rows.Err()
}
