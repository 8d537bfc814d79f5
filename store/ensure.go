package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/herald-oss/herald/profiles"
)

// EnsureUsers resolves identifiers to user ids, creating users where asked.
func (t *tx) EnsureUsers(ctx context.Context, reqs []profiles.Ensure) ([]int64, error) {
	ids, _, err := t.ensureUsers(ctx, reqs)
	return ids, err
}

// ensureUsers is EnsureUsers that also reports the ids it inserted itself.
func (t *tx) ensureUsers(ctx context.Context, reqs []profiles.Ensure) ([]int64, map[int64]bool, error) {
	ids := make([]int64, len(reqs))
	created := map[int64]bool{}
	var ext, braze []string
	var aliases []profiles.Alias
	for _, r := range reqs {
		switch {
		case r.ID.ExternalID != "":
			ext = append(ext, r.ID.ExternalID)
		case r.ID.BrazeID != "":
			braze = append(braze, r.ID.BrazeID)
		case r.ID.Alias != nil:
			aliases = append(aliases, *r.ID.Alias)
		}
	}
	found, err := t.findIdentifiers(ctx, ext, braze, aliases)
	if err != nil {
		return nil, nil, err
	}
	var createExt, createAlias []profiles.Ensure
	for i, r := range reqs {
		if id, ok := found[r.ID.Key()]; ok {
			ids[i] = id
			continue
		}
		if !r.Create {
			continue
		}
		switch {
		case r.ID.ExternalID != "":
			createExt = append(createExt, r)
		case r.ID.Alias != nil:
			createAlias = append(createAlias, r)
		}
	}
	if len(createExt)+len(createAlias) == 0 {
		return ids, created, nil
	}
	if err := t.createExternal(ctx, createExt, found, created); err != nil {
		return nil, nil, err
	}
	if err := t.createAliased(ctx, createAlias, found, created); err != nil {
		return nil, nil, err
	}
	for i, r := range reqs {
		if ids[i] == 0 {
			ids[i] = found[r.ID.Key()]
		}
	}
	return ids, created, nil
}

func (t *tx) findIdentifiers(ctx context.Context, ext, braze []string, aliases []profiles.Alias) (map[profiles.IdentKey]int64, error) {
	found := map[profiles.IdentKey]int64{}
	scan := func(kind byte, q string, args []any) error {
		rows, err := t.query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("store: find users: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var a, b string
			dest := []any{&id, &a}
			if kind == 'a' {
				dest = append(dest, &b)
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			found[profiles.IdentKey{Kind: kind, A: a, B: b}] = id
		}
		return rows.Err()
	}
	if len(ext) > 0 {
		if err := scan('e', "SELECT id, external_id FROM users WHERE external_id IN ("+inList(len(ext))+")", strArgs(ext)); err != nil {
			return nil, err
		}
	}
	if len(braze) > 0 {
		var ids []any
		for _, b := range braze {
			if id, ok := profiles.ParseBrazeID(b); ok {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			rows, err := t.query(ctx, "SELECT id FROM users WHERE id IN ("+inList(len(ids))+")", ids...)
			if err != nil {
				return nil, fmt.Errorf("store: find users: %w", err)
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return nil, err
				}
				found[profiles.IdentKey{Kind: 'b', A: profiles.BrazeIDFor(id)}] = id
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	if len(aliases) > 0 {
		args := make([]any, 0, 2*len(aliases))
		for _, a := range aliases {
			args = append(args, a.Label, a.Name)
		}
		q := "SELECT user_id, label, name FROM user_aliases WHERE (label, name) IN (" + placeholders(len(aliases), []string{"?", "?"}) + ")"
		if err := scan('a', q, args); err != nil {
			return nil, err
		}
	}
	return found, nil
}

func strArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

const insertUserCols = "(external_id, random_bucket, created_at, updated_at, custom)"

func newUserArgs(n profiles.NewUser) []any {
	return []any{nullStr(n.ExternalID), n.RandomBucket, n.CreatedAt.UnixMilli(), n.CreatedAt.UnixMilli(), "{}"}
}

// createExternal inserts users by external id; a concurrent insert of the same
// external id wins and its id is used.
func (t *tx) createExternal(ctx context.Context, reqs []profiles.Ensure, found map[profiles.IdentKey]int64, created map[int64]bool) error {
	if len(reqs) == 0 {
		return nil
	}
	// Insert in external id order: concurrent transactions creating overlapping
	// sets of users then take the unique-index locks in the same order and cannot
	// deadlock.
	byExt := map[string]profiles.Ensure{}
	var uniq []string
	for _, r := range reqs {
		if _, ok := byExt[r.ID.ExternalID]; !ok {
			byExt[r.ID.ExternalID] = r
			uniq = append(uniq, r.ID.ExternalID)
		}
	}
	sort.Strings(uniq)
	args := make([]any, 0, len(uniq)*5)
	for _, ext := range uniq {
		n := byExt[ext].New
		n.ExternalID = ext
		args = append(args, newUserArgs(n)...)
	}
	q := "INSERT INTO users " + insertUserCols + " VALUES " + placeholders(len(uniq), t.s.cols("", "", "", "", "jsonb")) +
		" ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id"
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: create users: %w", err)
	}
	for rows.Next() {
		var id int64
		var ext string
		if err := rows.Scan(&id, &ext); err != nil {
			rows.Close()
			return err
		}
		found[profiles.IdentKey{Kind: 'e', A: ext}] = id
		created[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var lost []string
	for _, e := range uniq {
		if _, ok := found[profiles.IdentKey{Kind: 'e', A: e}]; !ok {
			lost = append(lost, e)
		}
	}
	if len(lost) > 0 {
		more, err := t.findIdentifiers(ctx, lost, nil, nil)
		if err != nil {
			return err
		}
		for k, v := range more {
			found[k] = v
		}
	}
	return nil
}

// createAliased creates alias-only users; if another transaction took the alias
// first, the user created here is removed and the alias owner is used.
func (t *tx) createAliased(ctx context.Context, reqs []profiles.Ensure, found map[profiles.IdentKey]int64, created map[int64]bool) error {
	reqs = append([]profiles.Ensure(nil), reqs...)
	sort.Slice(reqs, func(i, j int) bool {
		a, b := reqs[i].ID.Alias, reqs[j].ID.Alias
		if a.Label != b.Label {
			return a.Label < b.Label
		}
		return a.Name < b.Name
	})
	for _, r := range reqs {
		k := r.ID.Key()
		if _, ok := found[k]; ok {
			continue
		}
		n := r.New
		n.ExternalID = ""
		var id int64
		q := "INSERT INTO users " + insertUserCols + " VALUES " + placeholders(1, t.s.cols("", "", "", "", "jsonb")) + " RETURNING id"
		if err := t.queryRow(ctx, q, newUserArgs(n)...).Scan(&id); err != nil {
			return fmt.Errorf("store: create alias user: %w", err)
		}
		res, err := t.exec(ctx, "INSERT INTO user_aliases (label, name, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			r.ID.Alias.Label, r.ID.Alias.Name, id)
		if err != nil {
			return fmt.Errorf("store: create alias: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := t.exec(ctx, "DELETE FROM users WHERE id = ?", id); err != nil {
				return err
			}
			owner, err := t.UserByAlias(ctx, *r.ID.Alias)
			if err != nil {
				return err
			}
			id = owner
		} else {
			created[id] = true
		}
		found[k] = id
	}
	return nil
}
