package profiles

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"time"
)

// trackPlan lists the distinct identifiers of a request and the apps it names.
type trackPlan struct {
	ensures []Ensure
	index   map[IdentKey]int
	apps    []string
}

func (s *Service) plan(reqs []*TrackRequest, now time.Time) *trackPlan {
	p := &trackPlan{index: map[IdentKey]int{}}
	add := func(id Identifier, updateOnly, idOnly bool) {
		k := id.Key()
		if i, ok := p.index[k]; ok {
			p.ensures[i].Create = p.ensures[i].Create || !updateOnly
			p.ensures[i].IDOnly = p.ensures[i].IDOnly && idOnly
			return
		}
		p.index[k] = len(p.ensures)
		p.ensures = append(p.ensures, Ensure{ID: id, Create: !updateOnly && id.BrazeID == "", IDOnly: idOnly, New: NewUser{
			ExternalID: id.ExternalID, Alias: id.Alias,
			RandomBucket: mrand.IntN(10000), CreatedAt: now,
		}})
	}
	apps := map[string]bool{}
	for _, req := range reqs {
		for _, a := range req.Attributes {
			add(a.ID, a.UpdateExistingOnly, false)
			for _, t := range a.PushTokens {
				apps[t.AppID] = true
			}
		}
		for _, e := range req.Events {
			add(e.ID, e.UpdateExistingOnly, true)
			if e.AppID != "" {
				apps[e.AppID] = true
			}
		}
		for _, pu := range req.Purchases {
			add(pu.ID, pu.UpdateExistingOnly, false)
			if pu.AppID != "" {
				apps[pu.AppID] = true
			}
		}
	}
	p.apps = sortedKeys(apps)
	return p
}

// track applies a group of requests in one transaction: each request in arrival
// order, and within it attributes, then events, then purchases, as Braze does;
// the writes of the whole group are then made together, a statement per table.
func (s *Service) track(ctx context.Context, tx Tx, reqs []*TrackRequest, plan *trackPlan, now time.Time) ([]*TrackResult, error) {
	results := make([]*TrackResult, len(reqs))
	var res *TrackResult
	fail := func(array string, index int, format string, args ...any) {
		res.Errors = append(res.Errors, ObjectError{Type: fmt.Sprintf(format, args...), InputArray: array, Index: index})
	}
	platforms, err := tx.AppPlatforms(ctx, plan.apps)
	if err != nil {
		return nil, err
	}
	users, fresh, err := tx.LoadUsers(ctx, plan.ensures)
	if err != nil {
		return nil, err
	}
	// A user to create is pending until the first object that may create it is
	// applied, so an earlier _update_existing_only object, or an object that
	// fails, creates nobody. Pending users are built in memory and inserted once,
	// with their final attributes; on a retry the store has created them up front
	// (fresh), and those never applied are deleted again.
	pending := make(map[int]*User)
	for i, e := range plan.ensures {
		switch {
		case users[i] != nil && fresh[i]:
			pending[i], users[i] = users[i], nil
		case users[i] == nil && e.Create:
			n := e.New
			pending[i] = &User{ExternalID: e.ID.ExternalID, RandomBucket: n.RandomBucket,
				CreatedAt: n.CreatedAt, UpdatedAt: now, Custom: Custom{},
				Standard: Standard{PushSubscribe: Subscribed, EmailSubscribe: Subscribed}}
		}
	}
	var created []Created
	// dirty lists existing users whose row must be rewritten: an update that sets
	// the values a user already has costs no write. touched collects, per
	// request, the users it created or changed (TrackResult.UsersChanged).
	dirty := map[*User]bool{}
	var touched map[*User]bool
	markDirty := func(u *User) {
		dirty[u] = true
		touched[u] = true
	}
	// target returns the user an object applies to, or nil when the object is
	// skipped: an unknown braze_id or app is an error; an unknown external id or
	// alias with _update_existing_only is skipped silently and counted, as Braze
	// does.
	target := func(array string, index int, id Identifier, updateOnly bool, appID string, processed *int) *User {
		if appID != "" {
			if _, ok := platforms[appID]; !ok {
				fail(array, index, "unknown app_id %q", appID)
				return nil
			}
		}
		i := plan.index[id.Key()]
		if users[i] == nil && pending[i] != nil && !updateOnly {
			u := pending[i]
			users[i] = u
			delete(pending, i)
			if u.ID == 0 {
				created = append(created, Created{User: u, Alias: plan.ensures[i].ID.Alias})
				touched[u] = true
			} else {
				markDirty(u) // created by the store with defaults on a retry
			}
		}
		u := users[i]
		if u == nil {
			if id.BrazeID != "" {
				fail(array, index, "braze_id %q not found", id.BrazeID)
			} else {
				*processed++
			}
			return nil
		}
		return u
	}

	// Rows that reference users are collected with their user and get the id once
	// new users are inserted.
	var devices []Device
	var devOwners []*User
	var events []Event
	var evOwners []*User
	var purchases []Purchase
	var puOwners []*User
	for ri, req := range reqs {
		res = &TrackResult{Errors: append([]ObjectError(nil), req.Errors...)}
		results[ri] = res
		touched = map[*User]bool{}
		for _, a := range req.Attributes {
			u := target("attributes", a.Index, a.ID, a.UpdateExistingOnly, "", &res.AttributesProcessed)
			if u == nil {
				continue
			}
			for _, op := range a.Standard {
				if op.apply(&u.Standard) {
					markDirty(u)
				}
			}
			if u.Custom == nil {
				u.Custom = Custom{}
			}
			for _, op := range a.Custom {
				changed, err := u.Custom.ApplyChanged(op, s.lim.MaxArrayLength)
				if err != nil {
					fail("attributes", a.Index, "%s: %v", op.Key, err)
				}
				if changed {
					markDirty(u)
				}
			}
			if a.FirstSession != nil && !a.FirstSession.Equal(u.FirstSessionAt) {
				u.FirstSessionAt = *a.FirstSession
				markDirty(u)
			}
			if a.LastSession != nil && !a.LastSession.Equal(u.LastSessionAt) {
				u.LastSessionAt = *a.LastSession
				markDirty(u)
			}
			for i, t := range a.PushTokens {
				platform, ok := platforms[t.AppID]
				if !ok {
					fail("attributes", a.Index, "push_tokens[%d]: unknown app_id %q", i, t.AppID)
					continue
				}
				stored, key, err := NormalizeToken(platform, t.Token)
				if err == nil && platform == PlatformWeb && s.checkEndpoint != nil {
					err = s.checkEndpoint(key)
				}
				if err != nil {
					fail("attributes", a.Index, "push_tokens[%d]: %v", i, err)
					continue
				}
				devices = append(devices, Device{AppID: t.AppID, Platform: platform, Token: stored, TokenKey: key,
					DeviceID: t.DeviceID, PushEnabled: true, CreatedAt: now, UpdatedAt: now})
				devOwners = append(devOwners, u)
			}
			res.AttributesProcessed++
		}

		for _, e := range req.Events {
			u := target("events", e.Index, e.ID, e.UpdateExistingOnly, e.AppID, &res.EventsProcessed)
			if u == nil {
				continue
			}
			events = append(events, Event{Name: e.Name, Time: e.Time, AppID: e.AppID, Properties: e.Properties})
			evOwners = append(evOwners, u)
			res.EventsProcessed++
		}

		for _, p := range req.Purchases {
			u := target("purchases", p.Index, p.ID, p.UpdateExistingOnly, p.AppID, &res.PurchasesProcessed)
			if u == nil {
				continue
			}
			for q := 0; q < p.Quantity; q++ {
				purchases = append(purchases, Purchase{ProductID: p.ProductID, Currency: p.Currency,
					Price: p.Price, Time: p.Time, AppID: p.AppID, Properties: p.Properties})
				puOwners = append(puOwners, u)
				u.TotalRevenue += p.Price
			}
			if p.Price != 0 {
				markDirty(u)
			}
			res.PurchasesProcessed++
		}
		res.UsersChanged = len(touched)
	}

	if err := tx.InsertUsers(ctx, created); err != nil {
		return nil, err
	}
	var unused []int64
	for _, u := range pending {
		if u.ID != 0 {
			unused = append(unused, u.ID)
		}
	}
	if len(unused) > 0 {
		if _, err := tx.DeleteUsers(ctx, unused); err != nil {
			return nil, err
		}
	}
	isNew := make(map[*User]bool, len(created))
	for _, c := range created {
		isNew[c.User] = true
	}
	changed := make([]*User, 0, len(dirty))
	for u := range dirty {
		if !isNew[u] {
			u.UpdatedAt = now
			changed = append(changed, u)
		}
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].ID < changed[j].ID })

	if err := tx.SaveUsers(ctx, changed); err != nil {
		return nil, err
	}
	// Users that get devices, events or purchases without being rewritten are
	// kept (share-locked), so a concurrent delete cannot leave their rows behind.
	keep := map[int64]bool{}
	for _, owners := range [][]*User{devOwners, evOwners, puOwners} {
		for _, u := range owners {
			if !isNew[u] && !dirty[u] {
				keep[u.ID] = true
			}
		}
	}
	if len(keep) > 0 {
		ids := make([]int64, 0, len(keep))
		for id := range keep {
			ids = append(ids, id)
		}
		if err := tx.KeepUsers(ctx, ids); err != nil {
			return nil, err
		}
	}
	for i := range devices {
		devices[i].UserID = devOwners[i].ID
	}
	if err := tx.UpsertDevices(ctx, devices); err != nil {
		return nil, err
	}
	for i := range events {
		events[i].UserID = evOwners[i].ID
	}
	if err := tx.AddEvents(ctx, events); err != nil {
		return nil, err
	}
	for i := range purchases {
		purchases[i].UserID = puOwners[i].ID
	}
	if err := tx.AddPurchases(ctx, purchases); err != nil {
		return nil, err
	}
	if s.onEvents != nil && len(events)+len(purchases) > 0 {
		hev := make([]HookEvent, len(events))
		for i, e := range events {
			hev[i] = HookEvent{Event: e, TimeZone: evOwners[i].Standard.TimeZone}
		}
		if err := s.onEvents(ctx, tx, hev, purchases); err != nil {
			return nil, fmt.Errorf("profiles: event hook: %w", err)
		}
	}
	for _, r := range results {
		sortErrors(r.Errors)
	}
	return results, nil
}

func arrayOrder(a string) int {
	switch a {
	case "attributes":
		return 0
	case "events":
		return 1
	}
	return 2
}
