package store

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/herald-oss/herald/profiles"
)

// LoadUsers resolves, creates and locks the users of a batch with as few
// statements as possible: aliases are resolved first (when any), then every
// existing user is loaded and locked by one query in id order, then missing users
// are created (in key order) and built in memory.
func (t *tx) LoadUsers(ctx context.Context, reqs []profiles.Ensure) ([]*profiles.User, error) {
	out := make([]*profiles.User, len(reqs))
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
	aliasOwner := map[profiles.IdentKey]int64{}
	if len(aliases) > 0 {
		found, err := t.findIdentifiers(ctx, nil, nil, aliases)
		if err != nil {
			return nil, err
		}
		aliasOwner = found
	}
	var ownerIDs []int64
	for _, id := range aliasOwner {
		ownerIDs = append(ownerIDs, id)
	}
	byID, err := t.lockWhere(ctx, ext, braze, ownerIDs)
	if err != nil {
		return nil, err
	}
	byExt := make(map[string]*profiles.User, len(byID))
	byBraze := make(map[string]*profiles.User, len(byID))
	for _, u := range byID {
		if u.ExternalID != "" {
			byExt[u.ExternalID] = u
		}
		byBraze[u.BrazeID] = u
	}
	resolve := func(r profiles.Ensure) *profiles.User {
		switch {
		case r.ID.ExternalID != "":
			return byExt[r.ID.ExternalID]
		case r.ID.BrazeID != "":
			return byBraze[r.ID.BrazeID]
		case r.ID.Alias != nil:
			return byID[aliasOwner[r.ID.Key()]]
		}
		return nil
	}
	var missing []profiles.Ensure
	for i, r := range reqs {
		if out[i] = resolve(r); out[i] == nil && r.Create && r.ID.BrazeID == "" {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	// Create the missing users (a user another transaction created meanwhile is
	// found instead), then load and lock them.
	ids, err := t.EnsureUsers(ctx, missing)
	if err != nil {
		return nil, err
	}
	fresh, err := t.LockUsers(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, u := range fresh {
		byID[id] = u
		byBraze[u.BrazeID] = u
		if u.ExternalID != "" {
			byExt[u.ExternalID] = u
		}
	}
	for i, r := range missing {
		if r.ID.Alias != nil && ids[i] != 0 {
			aliasOwner[r.ID.Key()] = ids[i]
		}
	}
	for i, r := range reqs {
		if out[i] == nil {
			out[i] = resolve(r)
		}
	}
	return out, nil
}

// lockWhere loads and locks, in one statement ordered by id, the users with any of
// the external ids, braze ids or ids.
func (t *tx) lockWhere(ctx context.Context, ext, braze []string, ids []int64) (map[int64]*profiles.User, error) {
	out := map[int64]*profiles.User{}
	var conds []string
	var args []any
	if len(ext) > 0 {
		conds = append(conds, "external_id IN ("+inList(len(ext))+")")
		args = append(args, strArgs(ext)...)
	}
	if len(braze) > 0 {
		conds = append(conds, "braze_id IN ("+inList(len(braze))+")")
		args = append(args, strArgs(braze)...)
	}
	if len(ids) > 0 {
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		conds = append(conds, "id IN ("+inList(len(ids))+")")
		args = append(args, int64Args(ids)...)
	}
	if len(conds) == 0 {
		return out, nil
	}
	rows, err := t.query(ctx, "SELECT "+userCols+" FROM users WHERE "+strings.Join(conds, " OR ")+" ORDER BY id"+t.s.dialect.forUpdate(), args...)
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
	}
	return out, rows.Err()
}
