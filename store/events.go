package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/herald-oss/herald/profiles"
)

const rowsPerInsert = 500

// UpsertDevices registers push tokens. A token already known in its app moves to
// the user given here and becomes valid again; a row that would not change is not
// rewritten.
func (t *tx) UpsertDevices(ctx context.Context, devices []profiles.Device) error {
	if len(devices) == 0 {
		return nil
	}
	// One statement may not touch a row twice: keep the last registration of each
	// token, and write in key order so concurrent transactions lock alike.
	last := map[[2]string]profiles.Device{}
	for _, d := range devices {
		last[[2]string{d.AppID, d.TokenKey}] = d
	}
	uniq := make([]profiles.Device, 0, len(last))
	for _, d := range last {
		uniq = append(uniq, d)
	}
	sort.Slice(uniq, func(i, j int) bool {
		if uniq[i].AppID != uniq[j].AppID {
			return uniq[i].AppID < uniq[j].AppID
		}
		return uniq[i].TokenKey < uniq[j].TokenKey
	})
	for start := 0; start < len(uniq); start += rowsPerInsert {
		batch := uniq[start:min(start+rowsPerInsert, len(uniq))]
		args := make([]any, 0, len(batch)*9)
		for _, d := range batch {
			args = append(args, d.UserID, d.AppID, d.Platform, d.TokenKey, d.Token, d.DeviceID, d.PushEnabled,
				d.CreatedAt.UnixMilli(), d.UpdatedAt.UnixMilli())
		}
		q := `INSERT INTO devices (user_id, app_id, platform, token_key, token, device_id, push_enabled, created_at, updated_at)
VALUES ` + placeholders(len(batch), t.s.cols("", "", "", "", "", "", "", "", "")) + `
ON CONFLICT (app_id, token_key) DO UPDATE SET user_id = excluded.user_id, token = excluded.token,
  device_id = CASE WHEN excluded.device_id <> '' THEN excluded.device_id ELSE devices.device_id END,
  push_enabled = excluded.push_enabled, invalid_at = NULL, invalid_reason = NULL, updated_at = excluded.updated_at
WHERE devices.user_id <> excluded.user_id OR devices.token <> excluded.token OR devices.invalid_at IS NOT NULL
  OR devices.push_enabled <> excluded.push_enabled OR (excluded.device_id <> '' AND devices.device_id <> excluded.device_id)`
		if _, err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("store: upsert devices: %w", err)
		}
	}
	return nil
}

type rollupKey struct {
	user int64
	name string
	day  int64
}

type rollup struct {
	count       int64
	revenue     float64
	first, last int64
}

// AddEvents stores events and updates their rollups.
func (t *tx) AddEvents(ctx context.Context, events []profiles.Event) error {
	if len(events) == 0 {
		return nil
	}
	for start := 0; start < len(events); start += rowsPerInsert {
		batch := events[start:min(start+rowsPerInsert, len(events))]
		args := make([]any, 0, len(batch)*5)
		for _, e := range batch {
			args = append(args, e.UserID, e.Name, e.Time.UnixMilli(), e.AppID, string(e.Properties))
		}
		q := "INSERT INTO events (user_id, name, time, app_id, properties) VALUES " + placeholders(len(batch), t.s.cols("", "", "", "", "jsonb"))
		if _, err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("store: insert events: %w", err)
		}
	}
	days := map[rollupKey]*rollup{}
	for _, e := range events {
		add(days, rollupKey{e.UserID, e.Name, day(e.Time)}, e.Time.UnixMilli(), 0)
	}
	return t.upsertDays(ctx, "user_event_days", "name", days)
}

// AddPurchases stores purchases and updates their rollups.
func (t *tx) AddPurchases(ctx context.Context, purchases []profiles.Purchase) error {
	if len(purchases) == 0 {
		return nil
	}
	for start := 0; start < len(purchases); start += rowsPerInsert {
		batch := purchases[start:min(start+rowsPerInsert, len(purchases))]
		args := make([]any, 0, len(batch)*7)
		for _, p := range batch {
			args = append(args, p.UserID, p.ProductID, p.Currency, p.Price, p.Time.UnixMilli(), p.AppID, string(p.Properties))
		}
		q := "INSERT INTO purchases (user_id, product_id, currency, price, time, app_id, properties) VALUES " +
			placeholders(len(batch), t.s.cols("", "", "", "", "", "", "jsonb"))
		if _, err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("store: insert purchases: %w", err)
		}
	}
	days := map[rollupKey]*rollup{}
	for _, p := range purchases {
		add(days, rollupKey{p.UserID, p.ProductID, day(p.Time)}, p.Time.UnixMilli(), p.Price)
	}
	return t.upsertDays(ctx, "user_purchase_days", "product_id", days)
}

func add(m map[rollupKey]*rollup, k rollupKey, at int64, revenue float64) {
	r := m[k]
	if r == nil {
		r = &rollup{first: at, last: at}
		m[k] = r
	}
	r.count++
	r.revenue += revenue
	r.first = min(r.first, at)
	r.last = max(r.last, at)
}

func sortedRollupKeys(m map[rollupKey]*rollup) []rollupKey {
	keys := make([]rollupKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.user != b.user {
			return a.user < b.user
		}
		if a.name != b.name {
			return a.name < b.name
		}
		return a.day < b.day
	})
	return keys
}

// upsertDays merges per-day rollups (count, first and last time; revenue for
// purchases); nameCol is name or product_id. Totals are derived from the days.
func (t *tx) upsertDays(ctx context.Context, table, nameCol string, days map[rollupKey]*rollup) error {
	least, greatest := t.s.dialect.least(), t.s.dialect.greatest()
	purchase := nameCol == "product_id"
	cols := []string{"", "", "", "", "", ""}
	colNames := "user_id, " + nameCol + ", day, count, first_at, last_at"
	set := "count = " + table + ".count + excluded.count, first_at = " + least + "(" + table + ".first_at, excluded.first_at), " +
		"last_at = " + greatest + "(" + table + ".last_at, excluded.last_at)"
	if purchase {
		cols = append(cols, "")
		colNames += ", revenue"
		set += ", revenue = " + table + ".revenue + excluded.revenue"
	}
	keys := sortedRollupKeys(days)
	for start := 0; start < len(keys); start += rowsPerInsert {
		batch := keys[start:min(start+rowsPerInsert, len(keys))]
		args := make([]any, 0, len(batch)*len(cols))
		for _, k := range batch {
			r := days[k]
			args = append(args, k.user, k.name, k.day, r.count, r.first, r.last)
			if purchase {
				args = append(args, r.revenue)
			}
		}
		q := "INSERT INTO " + table + " (" + colNames + ") VALUES " + placeholders(len(batch), t.s.cols(cols...)) +
			" ON CONFLICT (user_id, " + nameCol + ", day) DO UPDATE SET " + set
		if _, err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("store: %s: %w", table, err)
		}
	}
	return nil
}

// InvalidateTokens marks devices invalid by app and token key, in key order.
func (s *Store) InvalidateTokens(ctx context.Context, drops []profiles.TokenDrop) (int, error) {
	sort.Slice(drops, func(i, j int) bool {
		if drops[i].AppID != drops[j].AppID {
			return drops[i].AppID < drops[j].AppID
		}
		return drops[i].TokenKey < drops[j].TokenKey
	})
	n := 0
	err := s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		n = 0
		for start := 0; start < len(drops); start += rowsPerInsert {
			batch := drops[start:min(start+rowsPerInsert, len(drops))]
			args := make([]any, 0, len(batch)*4)
			for _, d := range batch {
				args = append(args, d.AppID, d.TokenKey, d.At.UnixMilli(), d.Reason)
			}
			q := "WITH v (app_id, token_key, at, reason) AS (VALUES " + placeholders(len(batch), s.cols("text", "text", "bigint", "text")) + ") " +
				"UPDATE devices SET invalid_at = v.at, invalid_reason = v.reason, updated_at = v.at FROM v " +
				"WHERE devices.app_id = v.app_id AND devices.token_key = v.token_key AND devices.invalid_at IS NULL"
			res, err := t.exec(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("store: invalidate tokens: %w", err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}
