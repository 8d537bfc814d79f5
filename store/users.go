package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/herald-oss/herald/profiles"
)

// userCols are the users columns in the order scanUser reads them.
const userCols = `id, external_id, random_bucket, created_at, updated_at, first_name, last_name, email, phone,
country, home_city, language, time_zone, dob, gender, push_subscribe, email_subscribe, custom, total_revenue,
first_session_at, last_session_at, version`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (*profiles.User, error) {
	var (
		u                                     profiles.User
		ext                                   sql.NullString
		created, updated, firstSess, lastSess sql.NullInt64
		fn, ln, email, phone, country, city   sql.NullString
		lang, tz, dob, gender                 sql.NullString
		custom                                []byte
	)
	err := r.Scan(&u.ID, &ext, &u.RandomBucket, &created, &updated, &fn, &ln, &email, &phone,
		&country, &city, &lang, &tz, &dob, &gender, &u.Standard.PushSubscribe, &u.Standard.EmailSubscribe,
		&custom, &u.TotalRevenue, &firstSess, &lastSess, &u.Version)
	if err != nil {
		return nil, err
	}
	u.ExternalID = ext.String
	u.BrazeID = profiles.BrazeIDFor(u.ID)
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	u.FirstSessionAt, u.LastSessionAt = fromMS(firstSess), fromMS(lastSess)
	u.Standard.FirstName, u.Standard.LastName = fn.String, ln.String
	u.Standard.Email, u.Standard.Phone = email.String, phone.String
	u.Standard.Country, u.Standard.HomeCity = country.String, city.String
	u.Standard.Language, u.Standard.TimeZone = lang.String, tz.String
	u.Standard.DOB, u.Standard.Gender = dob.String, gender.String
	// Custom's own parser, called directly: json.Unmarshal would first scan
	// the whole document to validate it, and the parser validates as it goes.
	if err := u.Custom.UnmarshalJSON(custom); err != nil {
		return nil, fmt.Errorf("store: user %d custom attributes: %w", u.ID, err)
	}
	return &u, nil
}

// LockUsers loads users for update (PostgreSQL row locks, taken in id order to
// avoid deadlocks; SQLite's write transaction already excludes other writers).
func (t *tx) LockUsers(ctx context.Context, ids []int64) (map[int64]*profiles.User, error) {
	return t.loadWhere(ctx, nil, nil, uniqueIDs(ids), true)
}

func uniqueIDs(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id != 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// saveCols are the columns SaveUsers writes, with their PostgreSQL types.
var saveCols = []struct{ name, typ string }{
	{"id", "bigint"}, {"updated_at", "bigint"}, {"first_name", "text"}, {"last_name", "text"}, {"email", "text"},
	{"phone", "text"}, {"country", "text"}, {"home_city", "text"}, {"language", "text"}, {"time_zone", "text"},
	{"dob", "text"}, {"gender", "text"}, {"push_subscribe", "text"}, {"email_subscribe", "text"},
	{"custom", "jsonb"}, {"total_revenue", "double precision"}, {"first_session_at", "bigint"}, {"last_session_at", "bigint"},
	{"version", "bigint"},
}

// SaveUsers writes users' attributes in one statement per 200 users. Rows read
// without a lock are locked first, in id order, so concurrent writers always lock
// users in the same order and cannot deadlock; the version check then catches a
// change made between the read and the lock.
func (t *tx) SaveUsers(ctx context.Context, users []*profiles.User) error {
	if len(users) == 0 {
		return nil
	}
	if t.attempt == 1 && t.s.dialect.forUpdate() != "" {
		ids := make([]int64, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		ids = uniqueIDs(ids)
		rows, err := t.query(ctx, "SELECT id FROM users WHERE id IN ("+inList(len(ids))+") ORDER BY id"+t.s.dialect.forUpdate(), int64Args(ids)...)
		if err != nil {
			return fmt.Errorf("store: lock users: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err == nil {
				t.kept(id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: lock users: %w", err)
		}
	}
	const chunk = 200
	for len(users) > 0 {
		n := min(len(users), chunk)
		if err := t.saveUsers(ctx, users[:n]); err != nil {
			return err
		}
		users = users[n:]
	}
	return nil
}

func (t *tx) saveUsers(ctx context.Context, users []*profiles.User) error {
	names := make([]string, len(saveCols))
	types := make([]string, len(saveCols))
	sets := make([]string, 0, len(saveCols))
	for i, c := range saveCols {
		names[i], types[i] = c.name, c.typ
		if c.name != "id" && c.name != "version" {
			sets = append(sets, c.name+" = v."+c.name)
		}
	}
	sets = append(sets, "version = users.version + 1")
	args := make([]any, 0, len(users)*len(saveCols))
	for _, u := range users {
		custom, err := u.Custom.MarshalJSON()
		if err != nil {
			return fmt.Errorf("store: encode custom attributes: %w", err)
		}
		st := u.Standard
		args = append(args, u.ID, u.UpdatedAt.UnixMilli(), nullStr(st.FirstName), nullStr(st.LastName), nullStr(st.Email),
			nullStr(st.Phone), nullStr(st.Country), nullStr(st.HomeCity), nullStr(st.Language), nullStr(st.TimeZone),
			nullStr(st.DOB), nullStr(st.Gender), defaultSub(st.PushSubscribe), defaultSub(st.EmailSubscribe),
			string(custom), u.TotalRevenue, ms(u.FirstSessionAt), ms(u.LastSessionAt), u.Version)
	}
	// The version check turns a lost update into a retry: a row written by another
	// transaction since we read it is not updated, and the count tells.
	q := "WITH v (" + strings.Join(names, ", ") + ") AS (VALUES " + placeholders(len(users), t.s.cols(types...)) + ") " +
		"UPDATE users SET " + strings.Join(sets, ", ") + " FROM v WHERE users.id = v.id AND users.version = v.version"
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: save users: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: save users: %w", err)
	} else if int(n) != len(users) {
		return errRetry
	}
	for _, u := range users {
		u.Version++
	}
	return nil
}

func defaultSub(s string) string {
	if s == "" {
		return profiles.Subscribed
	}
	return s
}

// DeleteUsers deletes users and everything they own. Aliases, devices and app
// usage go by foreign key; the high-volume tables, which carry no foreign key, are
// cleared explicitly.
func (t *tx) DeleteUsers(ctx context.Context, ids []int64) (int, error) {
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return 0, nil
	}
	in, args := inList(len(ids)), int64Args(ids)
	res, err := t.exec(ctx, "DELETE FROM users WHERE id IN ("+in+")", args...)
	if err != nil {
		return 0, fmt.Errorf("store: delete users: %w", err)
	}
	for _, table := range []string{"events", "purchases", "user_event_days", "user_purchase_days", "user_session_days"} {
		if _, err := t.exec(ctx, "DELETE FROM "+table+" WHERE user_id IN ("+in+")", args...); err != nil {
			return 0, fmt.Errorf("store: delete users' %s: %w", table, err)
		}
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// AddAlias attaches an alias to a user.
func (t *tx) AddAlias(ctx context.Context, userID int64, a profiles.Alias) error {
	res, err := t.exec(ctx, "INSERT INTO user_aliases (label, name, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", a.Label, a.Name, userID)
	if err != nil {
		return fmt.Errorf("store: add alias: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		owner, err := t.UserByAlias(ctx, a)
		if err != nil {
			return err
		}
		if owner != userID {
			return fmt.Errorf("store: alias %s/%s: %w", a.Label, a.Name, profiles.ErrConflict)
		}
	}
	return nil
}

// UserByAlias returns the owner of an alias, or 0.
func (t *tx) UserByAlias(ctx context.Context, a profiles.Alias) (int64, error) {
	return t.oneID(ctx, "SELECT user_id FROM user_aliases WHERE label = ? AND name = ?", a.Label, a.Name)
}

// UserByExternalID returns the user with that external id, or 0.
func (t *tx) UserByExternalID(ctx context.Context, ext string) (int64, error) {
	return t.oneID(ctx, "SELECT id FROM users WHERE external_id = ?", ext)
}

func (t *tx) oneID(ctx context.Context, q string, args ...any) (int64, error) {
	var id int64
	err := t.queryRow(ctx, q, args...).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return id, nil
}

// SetExternalID gives a user an external id.
func (t *tx) SetExternalID(ctx context.Context, userID int64, ext string) error {
	_, err := t.exec(ctx, "UPDATE users SET external_id = ? WHERE id = ?", ext, userID)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: external id %q: %w", ext, profiles.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: set external id: %w", err)
	}
	return nil
}

// MoveUserData moves everything a user owns to another user, merging rollups.
func (t *tx) MoveUserData(ctx context.Context, from, into int64) error {
	least, greatest := t.s.dialect.least(), t.s.dialect.greatest()
	stmts := []string{
		"UPDATE user_aliases SET user_id = ? WHERE user_id = ?",
		"UPDATE devices SET user_id = ? WHERE user_id = ?",
		"UPDATE events SET user_id = ? WHERE user_id = ?",
		"UPDATE purchases SET user_id = ? WHERE user_id = ?",
		`INSERT INTO user_event_days (user_id, name, day, count, first_at, last_at) SELECT ?, name, day, count, first_at, last_at FROM user_event_days WHERE user_id = ?
		 ON CONFLICT (user_id, name, day) DO UPDATE SET count = user_event_days.count + excluded.count,
		 first_at = ` + least + `(user_event_days.first_at, excluded.first_at), last_at = ` + greatest + `(user_event_days.last_at, excluded.last_at)`,
		`INSERT INTO user_purchase_days (user_id, product_id, day, count, revenue, first_at, last_at) SELECT ?, product_id, day, count, revenue, first_at, last_at FROM user_purchase_days WHERE user_id = ?
		 ON CONFLICT (user_id, product_id, day) DO UPDATE SET count = user_purchase_days.count + excluded.count, revenue = user_purchase_days.revenue + excluded.revenue,
		 first_at = ` + least + `(user_purchase_days.first_at, excluded.first_at), last_at = ` + greatest + `(user_purchase_days.last_at, excluded.last_at)`,
		`INSERT INTO user_apps (user_id, app_id, first_used, last_used, sessions, app_version) SELECT ?, app_id, first_used, last_used, sessions, app_version FROM user_apps WHERE user_id = ?
		 ON CONFLICT (user_id, app_id) DO UPDATE SET first_used = ` + least + `(user_apps.first_used, excluded.first_used),
		 last_used = ` + greatest + `(user_apps.last_used, excluded.last_used), sessions = user_apps.sessions + excluded.sessions`,
		`INSERT INTO user_session_days (user_id, day, sessions) SELECT ?, day, sessions FROM user_session_days WHERE user_id = ?
		 ON CONFLICT (user_id, day) DO UPDATE SET sessions = user_session_days.sessions + excluded.sessions`,
	}
	for _, q := range stmts {
		if _, err := t.exec(ctx, q, into, from); err != nil {
			return fmt.Errorf("store: merge users: %w", err)
		}
	}
	for _, table := range []string{"user_event_days", "user_purchase_days", "user_apps", "user_session_days"} {
		if _, err := t.exec(ctx, "DELETE FROM "+table+" WHERE user_id = ?", from); err != nil {
			return fmt.Errorf("store: merge users: %w", err)
		}
	}
	return nil
}

// AppPlatforms returns the platform of each known app id.
func (t *tx) AppPlatforms(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.query(ctx, "SELECT id, platform FROM apps WHERE id IN ("+inList(len(ids))+")", strArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: apps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, rows.Err()
}
