package store

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/herald-oss/herald/profiles"
)

// LoadUsers loads the existing users of a batch: aliases are resolved first (when
// any), then every user is loaded by one query in id order. The first attempt of
// a transaction reads without locks (SaveUsers checks versions) and lets the
// caller create missing users in memory; a retry creates them up front and locks
// every row, so a contended batch still makes progress.
func (t *tx) LoadUsers(ctx context.Context, reqs []profiles.Ensure) ([]*profiles.User, []bool, error) {
	fresh := make([]bool, len(reqs))
	var freshIDs map[int64]bool
	if t.attempt > 1 {
		// A retry after a conflict makes progress for sure: users to create are
		// created first (waiting for concurrent creators instead of racing them),
		// then everything is loaded with row locks.
		var create []profiles.Ensure
		for _, r := range reqs {
			if r.Create && r.ID.BrazeID == "" {
				create = append(create, r)
			}
		}
		_, created, err := t.ensureUsers(ctx, create)
		if err != nil {
			return nil, nil, err
		}
		freshIDs = created
	}
	out := make([]*profiles.User, len(reqs))
	var ext, extIDOnly, braze []string
	var aliases []profiles.Alias
	for _, r := range reqs {
		switch {
		case r.ID.ExternalID != "" && r.IDOnly:
			extIDOnly = append(extIDOnly, r.ID.ExternalID)
		case r.ID.ExternalID != "":
			ext = append(ext, r.ID.ExternalID)
		case r.ID.BrazeID != "":
			braze = append(braze, r.ID.BrazeID)
		case r.ID.Alias != nil:
			aliases = append(aliases, *r.ID.Alias)
		}
	}
	var aliasOwner map[profiles.IdentKey]int64
	var ownerIDs []int64
	if len(aliases) > 0 {
		found, err := t.findIdentifiers(ctx, nil, nil, aliases)
		if err != nil {
			return nil, nil, err
		}
		aliasOwner = found
		for _, id := range found {
			ownerIDs = append(ownerIDs, id)
		}
	}
	byID, err := t.loadWhere(ctx, ext, braze, ownerIDs, t.attempt > 1)
	if err != nil {
		return nil, nil, err
	}
	byExt := make(map[string]*profiles.User, len(byID)+len(extIDOnly))
	byBraze := make(map[string]*profiles.User, len(byID))
	for _, u := range byID {
		if u.ExternalID != "" {
			byExt[u.ExternalID] = u
		}
		byBraze[u.BrazeID] = u
	}
	if len(extIDOnly) > 0 {
		// Users only named by events need no row, only their ids; they are
		// share-locked at once (PostgreSQL), as KeepUsers would do later.
		q := "SELECT id, external_id FROM users WHERE external_id IN (" + inList(len(extIDOnly)) + ") ORDER BY id"
		if t.s.dialect.name() == "postgres" {
			q += " FOR KEY SHARE"
		}
		rows, err := t.query(ctx, q, strArgs(extIDOnly)...)
		if err != nil {
			return nil, nil, fmt.Errorf("store: find users: %w", err)
		}
		for rows.Next() {
			var id int64
			var ext string
			if err := rows.Scan(&id, &ext); err != nil {
				rows.Close()
				return nil, nil, err
			}
			byExt[ext] = &profiles.User{ID: id, ExternalID: ext, BrazeID: profiles.BrazeIDFor(id)}
			t.kept(id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	for i, r := range reqs {
		switch {
		case r.ID.ExternalID != "":
			out[i] = byExt[r.ID.ExternalID]
		case r.ID.BrazeID != "":
			out[i] = byBraze[r.ID.BrazeID]
		case r.ID.Alias != nil:
			out[i] = byID[aliasOwner[r.ID.Key()]]
		}
		fresh[i] = out[i] != nil && freshIDs[out[i].ID]
	}
	return out, fresh, nil
}

// loadWhere loads, in one statement ordered by id, the users with any of the
// external ids, braze ids or ids; lock takes row locks (PostgreSQL).
func (t *tx) loadWhere(ctx context.Context, ext, braze []string, ids []int64, lock bool) (map[int64]*profiles.User, error) {
	out := map[int64]*profiles.User{}
	var conds []string
	var args []any
	if len(ext) > 0 {
		conds = append(conds, "external_id IN ("+inList(len(ext))+")")
		args = append(args, strArgs(ext)...)
	}
	for _, b := range braze {
		if id, ok := profiles.ParseBrazeID(b); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		conds = append(conds, "id IN ("+inList(len(ids))+")")
		args = append(args, int64Args(ids)...)
	}
	if len(conds) == 0 {
		return out, nil
	}
	q := "SELECT " + userCols + " FROM users WHERE " + strings.Join(conds, " OR ") + " ORDER BY id"
	if lock {
		q += t.s.dialect.forUpdate()
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: load users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out[u.ID] = u
		if lock {
			t.kept(u.ID)
		}
	}
	return out, rows.Err()
}

// insertCols are the users columns InsertUsers writes.
const insertCols = `external_id, random_bucket, created_at, updated_at, first_name, last_name, email, phone,
country, home_city, language, time_zone, dob, gender, push_subscribe, email_subscribe, custom, total_revenue,
first_session_at, last_session_at`

// InsertUsers inserts users built in memory, in key order (so concurrent inserts
// of overlapping users cannot deadlock), and sets their ids. A user another
// transaction created meanwhile makes the transaction retry; the retry finds it.
func (t *tx) InsertUsers(ctx context.Context, created []profiles.Created) error {
	if len(created) == 0 {
		return nil
	}
	var ext, alias []profiles.Created
	for _, c := range created {
		if c.User.ExternalID != "" {
			ext = append(ext, c)
		} else {
			alias = append(alias, c)
		}
	}
	sort.Slice(ext, func(i, j int) bool { return ext[i].User.ExternalID < ext[j].User.ExternalID })
	sort.Slice(alias, func(i, j int) bool {
		a, b := alias[i].Alias, alias[j].Alias
		if a.Label != b.Label {
			return a.Label < b.Label
		}
		return a.Name < b.Name
	})
	types := t.s.cols("", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "jsonb", "", "", "")
	for start := 0; start < len(ext); start += 200 {
		batch := ext[start:min(start+200, len(ext))]
		args := make([]any, 0, len(batch)*len(types))
		byExt := make(map[string]*profiles.User, len(batch))
		for _, c := range batch {
			row, err := insertArgs(c.User)
			if err != nil {
				return err
			}
			args = append(args, row...)
			byExt[c.User.ExternalID] = c.User
		}
		q := "INSERT INTO users (" + insertCols + ") VALUES " + placeholders(len(batch), types) +
			" ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id"
		rows, err := t.query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("store: insert users: %w", err)
		}
		n := 0
		for rows.Next() {
			var id int64
			var e string
			if err := rows.Scan(&id, &e); err != nil {
				rows.Close()
				return err
			}
			if u := byExt[e]; u != nil {
				u.ID, u.BrazeID = id, profiles.BrazeIDFor(id)
				n++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n != len(batch) {
			return errRetry // created concurrently
		}
	}
	for _, c := range alias {
		row, err := insertArgs(c.User)
		if err != nil {
			return err
		}
		q := "INSERT INTO users (" + insertCols + ") VALUES " + placeholders(1, types) + " RETURNING id"
		if err := t.queryRow(ctx, q, row...).Scan(&c.User.ID); err != nil {
			return fmt.Errorf("store: insert alias user: %w", err)
		}
		c.User.BrazeID = profiles.BrazeIDFor(c.User.ID)
		res, err := t.exec(ctx, "INSERT INTO user_aliases (label, name, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			c.Alias.Label, c.Alias.Name, c.User.ID)
		if err != nil {
			return fmt.Errorf("store: insert alias: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errRetry // the alias was taken concurrently
		}
	}
	return nil
}

func insertArgs(u *profiles.User) ([]any, error) {
	custom, err := u.Custom.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("store: encode custom attributes: %w", err)
	}
	st := u.Standard
	return []any{nullStr(u.ExternalID), u.RandomBucket, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli(),
		nullStr(st.FirstName), nullStr(st.LastName), nullStr(st.Email), nullStr(st.Phone), nullStr(st.Country),
		nullStr(st.HomeCity), nullStr(st.Language), nullStr(st.TimeZone), nullStr(st.DOB), nullStr(st.Gender),
		defaultSub(st.PushSubscribe), defaultSub(st.EmailSubscribe), string(custom), u.TotalRevenue,
		ms(u.FirstSessionAt), ms(u.LastSessionAt)}, nil
}

// KeepUsers share-locks users rows are written for, in id order, so a concurrent
// delete waits for this transaction (and then deletes what it wrote) instead of
// leaving orphan rows. SQLite's single writer needs no lock.
func (t *tx) KeepUsers(ctx context.Context, ids []int64) error {
	if t.s.dialect.name() != "postgres" {
		return nil
	}
	var todo []int64
	for _, id := range uniqueIDs(ids) {
		if !t.locked[id] {
			todo = append(todo, id)
		}
	}
	ids = todo
	if len(ids) == 0 {
		return nil
	}
	rows, err := t.query(ctx, "SELECT id FROM users WHERE id IN ("+inList(len(ids))+") ORDER BY id FOR KEY SHARE", int64Args(ids)...)
	if err != nil {
		return fmt.Errorf("store: keep users: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: keep users: %w", err)
	}
	if n != len(ids) {
		return errRetry // deleted meanwhile
	}
	for _, id := range ids {
		t.kept(id)
	}
	return nil
}

// kept records that the transaction holds a lock on a user row.
func (t *tx) kept(id int64) {
	if t.locked == nil {
		t.locked = map[int64]bool{}
	}
	t.locked[id] = true
}
