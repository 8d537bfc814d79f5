package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/herald-oss/herald/profiles"
)

var _ profiles.Store = (*Store)(nil)

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.read.QueryContext(ctx, s.dialect.bind(q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.read.QueryRowContext(ctx, s.dialect.bind(q), args...)
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.write.ExecContext(ctx, s.dialect.bind(q), args...)
}

// FindUserIDs resolves an export lookup. Unmatched external ids and aliases are
// returned as given (aliases as "label:name").
func (s *Store) FindUserIDs(ctx context.Context, l profiles.Lookup) ([]int64, []string, error) {
	var ids []int64
	var missing []string
	seen := map[int64]bool{}
	addRows := func(q string, args ...any) (map[string]int64, error) {
		rows, err := s.query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("store: find users: %w", err)
		}
		defer rows.Close()
		got := map[string]int64{}
		for rows.Next() {
			var id int64
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				return nil, err
			}
			got[key] = id
		}
		return got, rows.Err()
	}
	keep := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(l.ExternalIDs) > 0 {
		got, err := addRows("SELECT id, external_id FROM users WHERE external_id IN ("+inList(len(l.ExternalIDs))+")", strArgs(l.ExternalIDs)...)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range l.ExternalIDs {
			if id, ok := got[e]; ok {
				keep(id)
			} else {
				missing = append(missing, e)
			}
		}
	}
	for _, a := range l.Aliases {
		var id int64
		err := s.queryRow(ctx, "SELECT user_id FROM user_aliases WHERE label = ? AND name = ?", a.Label, a.Name).Scan(&id)
		switch {
		case err == sql.ErrNoRows:
			missing = append(missing, profiles.AliasString(a))
		case err != nil:
			return nil, nil, fmt.Errorf("store: find alias: %w", err)
		default:
			keep(id)
		}
	}
	single := func(q string, arg any, val string) error {
		if val == "" {
			return nil
		}
		rows, err := s.query(ctx, q, arg)
		if err != nil {
			return fmt.Errorf("store: find users: %w", err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			keep(id)
			n++
		}
		if n == 0 {
			missing = append(missing, val)
		}
		return rows.Err()
	}
	if l.BrazeID != "" {
		id, ok := profiles.ParseBrazeID(l.BrazeID)
		if !ok {
			id = -1 // not one Herald issued: matches nobody
		}
		if err := single("SELECT id FROM users WHERE id = ?", id, l.BrazeID); err != nil {
			return nil, nil, err
		}
	}
	if err := single("SELECT DISTINCT user_id FROM devices WHERE device_id = ? ORDER BY user_id", l.DeviceID, l.DeviceID); err != nil {
		return nil, nil, err
	}
	if err := single("SELECT id FROM users WHERE email = ? ORDER BY id", l.Email, l.Email); err != nil {
		return nil, nil, err
	}
	if err := single("SELECT id FROM users WHERE phone = ? ORDER BY id", l.Phone, l.Phone); err != nil {
		return nil, nil, err
	}
	return ids, missing, nil
}

// Profiles loads users with aliases, devices, app usage and rollups, in id order
// of the request; unknown ids are skipped. One query per table.
func (s *Store) Profiles(ctx context.Context, ids []int64) ([]*profiles.Profile, error) {
	return s.loadProfiles(ctx, ids, true, true)
}

// DeliveryProfiles loads what a delivery reads of users: the user rows,
// devices and app usage, and the custom event summaries only when asked
// (a segment filter that tests when an event was last or first done).
// Aliases and purchase summaries are left out.
func (s *Store) DeliveryProfiles(ctx context.Context, ids []int64, eventSummaries bool) ([]*profiles.Profile, error) {
	return s.loadProfiles(ctx, ids, eventSummaries, false)
}

func (s *Store) loadProfiles(ctx context.Context, ids []int64, events, all bool) ([]*profiles.Profile, error) {
	ids = uniqueIDsKeepOrder(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	in, args := s.idSet(ids)
	byID := map[int64]*profiles.Profile{}
	rows, err := s.query(ctx, "SELECT "+userCols+" FROM users WHERE id"+in, args...)
	if err != nil {
		return nil, fmt.Errorf("store: load users: %w", err)
	}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		byID[u.ID] = &profiles.Profile{User: u}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if all {
		if err := s.loadAliases(ctx, in, args, byID); err != nil {
			return nil, err
		}
	}
	if err := s.loadDevices(ctx, in, args, byID); err != nil {
		return nil, err
	}
	if err := s.loadApps(ctx, in, args, byID); err != nil {
		return nil, err
	}
	if events {
		if err := s.loadSummaries(ctx, "SELECT user_id, name, MIN(first_at), MAX(last_at), CAST(SUM(count) AS BIGINT) FROM user_event_days WHERE user_id"+in+" GROUP BY user_id, name ORDER BY user_id, name", args, byID, false); err != nil {
			return nil, err
		}
	}
	if all {
		if err := s.loadSummaries(ctx, "SELECT user_id, product_id, MIN(first_at), MAX(last_at), CAST(SUM(count) AS BIGINT) FROM user_purchase_days WHERE user_id"+in+" GROUP BY user_id, product_id ORDER BY user_id, product_id", args, byID, true); err != nil {
			return nil, err
		}
	}
	out := make([]*profiles.Profile, 0, len(byID))
	for _, id := range ids {
		if p := byID[id]; p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func uniqueIDsKeepOrder(ids []int64) []int64 {
	seen := map[int64]bool{}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id != 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (s *Store) loadAliases(ctx context.Context, in string, args []any, byID map[int64]*profiles.Profile) error {
	rows, err := s.query(ctx, "SELECT user_id, label, name FROM user_aliases WHERE user_id"+in+" ORDER BY user_id, label, name", args...)
	if err != nil {
		return fmt.Errorf("store: load aliases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid int64
		var a profiles.Alias
		if err := rows.Scan(&uid, &a.Label, &a.Name); err != nil {
			return err
		}
		if p := byID[uid]; p != nil {
			p.Aliases = append(p.Aliases, a)
		}
	}
	return rows.Err()
}

const deviceCols = "id, user_id, app_id, platform, token, token_key, device_id, push_enabled, invalid_at, invalid_reason, created_at, updated_at"

func scanDevice(r rowScanner) (profiles.Device, error) {
	var d profiles.Device
	var invalidAt, created, updated sql.NullInt64
	var reason sql.NullString
	err := r.Scan(&d.ID, &d.UserID, &d.AppID, &d.Platform, &d.Token, &d.TokenKey, &d.DeviceID, &d.PushEnabled,
		&invalidAt, &reason, &created, &updated)
	d.InvalidAt, d.InvalidReason = fromMS(invalidAt), reason.String
	d.CreatedAt, d.UpdatedAt = fromMS(created), fromMS(updated)
	return d, err
}

func (s *Store) loadDevices(ctx context.Context, in string, args []any, byID map[int64]*profiles.Profile) error {
	rows, err := s.query(ctx, "SELECT "+deviceCols+" FROM devices WHERE user_id"+in+" ORDER BY user_id, id", args...)
	if err != nil {
		return fmt.Errorf("store: load devices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return err
		}
		if p := byID[d.UserID]; p != nil {
			p.Devices = append(p.Devices, d)
		}
	}
	return rows.Err()
}

func (s *Store) loadApps(ctx context.Context, in string, args []any, byID map[int64]*profiles.Profile) error {
	rows, err := s.query(ctx, "SELECT user_id, app_id, first_used, last_used, sessions, app_version FROM user_apps WHERE user_id"+in+" ORDER BY user_id, app_id", args...)
	if err != nil {
		return fmt.Errorf("store: load app usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid int64
		var a profiles.AppUsage
		var first, last sql.NullInt64
		if err := rows.Scan(&uid, &a.AppID, &first, &last, &a.Sessions, &a.Version); err != nil {
			return err
		}
		a.FirstUsed, a.LastUsed = fromMS(first), fromMS(last)
		if p := byID[uid]; p != nil {
			p.Apps = append(p.Apps, a)
		}
	}
	return rows.Err()
}

func (s *Store) loadSummaries(ctx context.Context, q string, args []any, byID map[int64]*profiles.Profile, purchases bool) error {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: load rollups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid int64
		var sum profiles.Summary
		var first, last sql.NullInt64
		if err := rows.Scan(&uid, &sum.Name, &first, &last, &sum.Count); err != nil {
			return err
		}
		sum.First, sum.Last = fromMS(first), fromMS(last)
		p := byID[uid]
		if p == nil {
			continue
		}
		if purchases {
			p.Purchases = append(p.Purchases, sum)
		} else {
			p.Events = append(p.Events, sum)
		}
	}
	return rows.Err()
}

// EventDays returns a user's per-day counts of one custom event, keyed by UTC day
// number (days since the Unix epoch).
func (s *Store) EventDays(ctx context.Context, userID int64, name string) (map[int64]int64, error) {
	rows, err := s.query(ctx, "SELECT day, count FROM user_event_days WHERE user_id = ? AND name = ?", userID, name)
	if err != nil {
		return nil, fmt.Errorf("store: event days: %w", err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var d, n int64
		if err := rows.Scan(&d, &n); err != nil {
			return nil, err
		}
		out[d] = n
	}
	return out, rows.Err()
}

// FindDevice returns the device of an app whose token key is key, or (for web
// subscriptions, with suffix set) ends in "/"+key; the most recently updated
// first. ErrNotFound when none.
func (s *Store) FindDevice(ctx context.Context, appID, key string, suffix bool) (*profiles.Device, error) {
	q := "SELECT " + deviceCols + " FROM devices WHERE app_id = ? AND token_key = ? ORDER BY updated_at DESC LIMIT 1"
	arg := key
	if suffix {
		q = "SELECT " + deviceCols + " FROM devices WHERE app_id = ? AND token_key LIKE ? ESCAPE '!' ORDER BY updated_at DESC LIMIT 1"
		r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
		arg = "%/" + r.Replace(key)
	}
	d, err := scanDevice(s.queryRow(ctx, q, appID, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: device: %w", profiles.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: device: %w", err)
	}
	return &d, nil
}
