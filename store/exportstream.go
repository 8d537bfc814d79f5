package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/herald-oss/herald/analytics"
)

// The export stream's reads: each source in seq order, with the user's
// external id. On PostgreSQL a row is read only once stored_at is older than
// the caller's bound, so a transaction committing after a later seq was read
// is not skipped (SQLite has one writer, so seq order is commit order).
var exportQueries = map[string]string{
	analytics.SourceEngagement: `SELECT e.seq, e.user_id, u.external_id, e.at, e.dispatch_id, e.channel, e.device, e.kind, e.campaign_id, e.reason, '', '', '{}', '', '', 0
FROM engagement e LEFT JOIN users u ON u.id = e.user_id`,
	analytics.SourceEvents: `SELECT e.seq, e.user_id, u.external_id, e.time, '', '', '', '', '', '', e.name, e.app_id, e.properties, '', '', 0
FROM events e LEFT JOIN users u ON u.id = e.user_id`,
	analytics.SourcePurchases: `SELECT e.seq, e.user_id, u.external_id, e.time, '', '', '', '', '', '', '', e.app_id, e.properties, e.product_id, e.currency, e.price
FROM purchases e LEFT JOIN users u ON u.id = e.user_id`,
}

// ExportRead returns up to limit rows of source after seq, stored before
// storedBefore (PostgreSQL only), in seq order.
func (s *Store) ExportRead(ctx context.Context, source string, after int64, storedBefore time.Time, limit int) ([]analytics.Record, error) {
	q, ok := exportQueries[source]
	if !ok {
		return nil, fmt.Errorf("store: export read: unknown source %q", source)
	}
	q += " WHERE e.seq > ?"
	args := []any{after}
	if s.dialect.name() == "postgres" {
		q += " AND e.stored_at < ?"
		args = append(args, storedBefore.UnixMilli())
	}
	q += " ORDER BY e.seq LIMIT ?"
	args = append(args, limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: export read %s: %w", source, err)
	}
	defer rows.Close()
	var out []analytics.Record
	for rows.Next() {
		r := analytics.Record{Source: source}
		var ext sql.NullString
		var at int64
		var props string
		if err := rows.Scan(&r.Seq, &r.UserID, &ext, &at, &r.DispatchID, &r.Channel, &r.Device, &r.Kind, &r.CampaignID, &r.Reason,
			&r.Name, &r.AppID, &props, &r.ProductID, &r.Currency, &r.Price); err != nil {
			return nil, fmt.Errorf("store: export read %s: %w", source, err)
		}
		r.ExternalID, r.At, r.Properties = ext.String, time.UnixMilli(at).UTC(), []byte(props)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: export read %s: %w", source, err)
	}
	return out, nil
}

// ExportOldest returns the time of the oldest row after the cursor over all
// sources (ok false when everything is exported).
func (s *Store) ExportOldest(ctx context.Context, c analytics.Cursor) (time.Time, bool, error) {
	var oldest time.Time
	found := false
	for _, q := range []struct {
		sql   string
		after int64
	}{
		{"SELECT at FROM engagement WHERE seq > ? ORDER BY seq LIMIT 1", c.Engagement},
		{"SELECT time FROM events WHERE seq > ? ORDER BY seq LIMIT 1", c.Events},
		{"SELECT time FROM purchases WHERE seq > ? ORDER BY seq LIMIT 1", c.Purchases},
	} {
		var at int64
		err := s.queryRow(ctx, q.sql, q.after).Scan(&at)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("store: export oldest: %w", err)
		}
		if t := time.UnixMilli(at).UTC(); !found || t.Before(oldest) {
			oldest, found = t, true
		}
	}
	return oldest, found, nil
}

// ExportLease takes or renews owner's lease on connector until until, and
// returns its cursor; ok is false while another owner's lease runs.
func (s *Store) ExportLease(ctx context.Context, connector, owner string, now, until time.Time) (analytics.Cursor, bool, error) {
	if _, err := s.exec(ctx, "INSERT INTO export_cursors (connector) VALUES (?) ON CONFLICT (connector) DO NOTHING", connector); err != nil {
		return analytics.Cursor{}, false, fmt.Errorf("store: export lease: %w", err)
	}
	res, err := s.exec(ctx, "UPDATE export_cursors SET owner = ?, lease_until = ? WHERE connector = ? AND (owner = ? OR lease_until < ?)",
		owner, until.UnixMilli(), connector, owner, now.UnixMilli())
	if err != nil {
		return analytics.Cursor{}, false, fmt.Errorf("store: export lease: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return analytics.Cursor{}, false, nil
	}
	c, err := s.ExportCursor(ctx, connector)
	return c, err == nil, err
}

// ExportCursor returns connector's cursor (zero before its first lease).
func (s *Store) ExportCursor(ctx context.Context, connector string) (analytics.Cursor, error) {
	var c analytics.Cursor
	err := s.queryRow(ctx, "SELECT engagement_seq, events_seq, purchases_seq FROM export_cursors WHERE connector = ?", connector).
		Scan(&c.Engagement, &c.Events, &c.Purchases)
	if err == sql.ErrNoRows {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("store: export cursor: %w", err)
	}
	return c, nil
}

// ExportAdvance stores connector's cursor if owner still holds its lease;
// ok is false when it lost it (the batch is then sent again by the next
// owner: at least once).
func (s *Store) ExportAdvance(ctx context.Context, connector, owner string, c analytics.Cursor) (bool, error) {
	res, err := s.exec(ctx, "UPDATE export_cursors SET engagement_seq = ?, events_seq = ?, purchases_seq = ? WHERE connector = ? AND owner = ?",
		c.Engagement, c.Events, c.Purchases, connector, owner)
	if err != nil {
		return false, fmt.Errorf("store: export advance: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ExportRelease ends owner's lease on connector.
func (s *Store) ExportRelease(ctx context.Context, connector, owner string) error {
	if _, err := s.exec(ctx, "UPDATE export_cursors SET lease_until = 0 WHERE connector = ? AND owner = ?", connector, owner); err != nil {
		return fmt.Errorf("store: export release: %w", err)
	}
	return nil
}
