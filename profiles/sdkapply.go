package profiles

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SDKTx is what applying an SDK batch needs of the store's transaction
// beyond Tx. Package store implements it.
type SDKTx interface {
	Tx
	// ClaimSDKItems records item keys as applied at `at` and reports, per
	// key, whether it was new (false: applied before, or by a concurrent
	// transaction that committed first).
	ClaimSDKItems(ctx context.Context, keys [][]byte, at time.Time) ([]bool, error)
	// SDKItemsSeen reports, per key, whether it was recorded before.
	SDKItemsSeen(ctx context.Context, keys [][]byte) ([]bool, error)
	// AddSessions records session starts: per user and app the first and
	// last use, the session count and the app version; per UTC day the
	// session count; the user's first and last session times.
	AddSessions(ctx context.Context, sessions []Session) error
}

// SDKResult is the outcome of applying a batch.
type SDKResult struct {
	// UserID is the user the batch applied to; 0 when nothing was applied.
	UserID int64
	// Processed counts the items applied now (engagement items are the
	// caller's: see Engagement); Replayed those skipped as applied before.
	Processed int
	Replayed  int
	// Engagement holds the engagement items not recorded before, for the
	// caller to record and then mark with RecordSDKItems.
	Engagement []SDKItem
	Errors     []SDKItemError
}

// SDKPrepared is what PrepareSDK found out before a batch is applied.
type SDKPrepared struct {
	// Before is the user's profile as it was before the request (with
	// SDKBefore.Want only), as SDKBefore describes it.
	Before *Profile
	// Owner is, for a request without user_id whose device user has been
	// identified (changeUser before), that user's external id: the batch
	// applies to that user, so it is the user SDK authentication must allow.
	Owner string
}

// SDKBefore says whether PrepareSDK finds the user's profile as it was
// before the request, and whether with the all-time custom event summaries
// (Profile.Events). The profile it finds has the user row, devices and app
// usage; aliases and purchase summaries are left out.
type SDKBefore struct {
	Want           bool
	EventSummaries bool
}

// PrepareSDK runs before a batch is applied. When the request names a user
// and the device's anonymous user exists, the anonymous user is identified
// as that user as /users/identify does: it takes the external id, or when a
// user has it already, is merged into that user (changeUser). With
// before.Want it also finds the user's profile as it was before this request
// changed it: the identified user's, else the device's anonymous user's,
// else a new user's (no sessions, no attributes).
func (s *Service) PrepareSDK(ctx context.Context, app *App, b *SDKBatch, before SDKBefore) (*SDKPrepared, error) {
	wantBefore := before.Want
	dev := DeviceAlias(app.ID, b.Device.DeviceID)
	find := func(l Lookup) (int64, error) {
		ids, _, err := s.store.FindUserIDs(ctx, l)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		return ids[0], nil
	}
	var extID int64
	if b.UserID != "" {
		var err error
		if extID, err = find(Lookup{ExternalIDs: []string{b.UserID}}); err != nil {
			return nil, err
		}
	}
	devID, err := find(Lookup{Aliases: []Alias{dev}})
	if err != nil {
		return nil, err
	}
	mergeCandidate := b.UserID != "" && devID != 0 && devID != extID
	var load []int64
	if wantBefore && extID != 0 {
		load = append(load, extID)
	}
	if devID != 0 && (mergeCandidate || b.UserID == "" || wantBefore && extID == 0) {
		load = append(load, devID)
	}
	byID := map[int64]*Profile{}
	if len(load) > 0 {
		ps, err := s.store.DeliveryProfiles(ctx, load, wantBefore && before.EventSummaries)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			byID[p.User.ID] = p
		}
	}
	out := &SDKPrepared{}
	anonymous := byID[devID] != nil && byID[devID].User.ExternalID == ""
	if b.UserID == "" && byID[devID] != nil {
		out.Owner = byID[devID].User.ExternalID
	}
	if mergeCandidate && anonymous {
		// the identify's own checks run again under locks; an item error
		// means the alias changed hands meanwhile: nothing to merge
		if _, _, err := s.Identify(ctx, []IdentifyItem{{ExternalID: b.UserID, Alias: dev}}); err != nil {
			return nil, fmt.Errorf("profiles: identify the device's anonymous user: %w", err)
		}
	}
	if !wantBefore {
		return out, nil
	}
	out.Before = byID[extID]
	if out.Before == nil && (b.UserID == "" || anonymous) {
		out.Before = byID[devID]
	}
	if out.Before == nil {
		out.Before = &Profile{User: &User{ExternalID: b.UserID, CreatedAt: s.now().UTC(), Custom: Custom{},
			Standard: Standard{PushSubscribe: Subscribed, EmailSubscribe: Subscribed}}}
	}
	return out, nil
}

// ApplySDK applies a decoded batch in one transaction: item ids applied
// before (same app and device) are skipped and the new ones recorded with
// the writes, so a replayed batch applies nothing twice. Custom events,
// purchases and attributes are applied as /users/track applies them (the
// event hook sees the events and purchases), push tokens are registered for
// the device, session starts update the app usage and session rollups.
// Engagement items are not written: the fresh ones are returned.
func (s *Service) ApplySDK(ctx context.Context, app *App, b *SDKBatch) (*SDKResult, error) {
	now := s.now().UTC()
	pre := append([]SDKItemError(nil), b.Errors...)
	items := make([]SDKItem, 0, len(b.Items))
	tokenKeys := map[int]string{}
	for _, it := range b.Items {
		if it.Type == SDKPushToken {
			stored, key, err := NormalizeToken(app.Platform, it.Token)
			if err == nil && app.Platform == PlatformWeb && s.checkEndpoint != nil {
				err = s.checkEndpoint(key)
			}
			if err != nil {
				pre = append(pre, SDKItemError{Type: "data.token: " + err.Error(), InputArray: "items", Index: it.Index, ID: it.ID})
				continue
			}
			it.Token, tokenKeys[it.Index] = stored, key
		}
		items = append(items, it)
	}
	res := &SDKResult{Errors: pre}
	if len(items) == 0 {
		sortSDKErrors(res.Errors)
		return res, nil
	}
	ident := Identifier{ExternalID: b.UserID}
	if b.UserID == "" {
		a := DeviceAlias(app.ID, b.Device.DeviceID)
		ident.Alias = &a
	}
	err := s.store.InTx(ctx, func(tx Tx) error {
		stx, ok := tx.(SDKTx)
		if !ok {
			return errors.New("profiles: the store's transaction cannot record SDK items")
		}
		r := &SDKResult{Errors: append([]SDKItemError(nil), pre...)}
		fresh, err := s.freshItems(ctx, stx, app, b.Device.DeviceID, items, now)
		if err != nil {
			return err
		}
		r.Replayed = len(items) - len(fresh)
		res = r
		if len(fresh) == 0 {
			return nil
		}
		ids, err := tx.EnsureUsers(ctx, []Ensure{{ID: ident, Create: true, New: s.newUser(ident.ExternalID, ident.Alias)}})
		if err != nil {
			return err
		}
		if len(ids) != 1 || ids[0] == 0 {
			return fmt.Errorf("profiles: the SDK user was not created")
		}
		r.UserID = ids[0]
		return s.applyFresh(ctx, stx, app, b, ident, fresh, tokenKeys, r, now)
	})
	if err != nil {
		return nil, err
	}
	sortSDKErrors(res.Errors)
	return res, nil
}

// freshItems claims the ids of the items written in this transaction and
// checks those of engagement items (recorded by RecordSDKItems once the
// caller has recorded them); it returns the items not applied before.
func (s *Service) freshItems(ctx context.Context, stx SDKTx, app *App, deviceID string, items []SDKItem, now time.Time) ([]SDKItem, error) {
	var claim, check [][]byte
	for _, it := range items {
		k := SDKItemKey(app.ID, deviceID, it.ID)
		if it.IsEngagement() {
			check = append(check, k)
		} else {
			claim = append(claim, k)
		}
	}
	claimed, err := stx.ClaimSDKItems(ctx, claim, now)
	if err != nil {
		return nil, err
	}
	seen, err := stx.SDKItemsSeen(ctx, check)
	if err != nil {
		return nil, err
	}
	var fresh []SDKItem
	ci, si := 0, 0
	for _, it := range items {
		if it.IsEngagement() {
			if !seen[si] {
				fresh = append(fresh, it)
			}
			si++
		} else {
			if claimed[ci] {
				fresh = append(fresh, it)
			}
			ci++
		}
	}
	return fresh, nil
}

// applyFresh writes the items not applied before for the user r.UserID.
func (s *Service) applyFresh(ctx context.Context, stx SDKTx, app *App, b *SDKBatch, ident Identifier, fresh []SDKItem,
	tokenKeys map[int]string, r *SDKResult, now time.Time) error {
	req := &TrackRequest{}
	var devices []Device
	var sessions []Session
	byIndex := map[int]string{}
	for _, it := range fresh {
		byIndex[it.Index] = it.ID
		switch {
		case it.IsEngagement():
			r.Engagement = append(r.Engagement, it)
			continue
		case it.Attributes != nil:
			a := *it.Attributes
			a.ID, a.UpdateExistingOnly = ident, false
			req.Attributes = append(req.Attributes, a)
		case it.Event != nil:
			e := *it.Event
			e.ID, e.UpdateExistingOnly, e.AppID = ident, false, app.ID
			req.Events = append(req.Events, e)
		case it.Purchase != nil:
			p := *it.Purchase
			p.ID, p.UpdateExistingOnly, p.AppID = ident, false, app.ID
			req.Purchases = append(req.Purchases, p)
		case it.Type == SDKPushToken:
			devices = append(devices, Device{UserID: r.UserID, AppID: app.ID, Platform: app.Platform, Token: it.Token,
				TokenKey: tokenKeys[it.Index], DeviceID: b.Device.DeviceID, PushEnabled: it.PushEnabled, CreatedAt: now, UpdatedAt: now})
		case it.Type == SDKSessionStart:
			sessions = append(sessions, Session{UserID: r.UserID, AppID: app.ID, Time: it.Time, AppVersion: b.Device.AppVersion})
		}
		r.Processed++
	}
	if len(sessions) > 0 {
		if ops := deviceAttributes(b.Device); len(ops) > 0 {
			// the device's zone and language, before the batch's own attributes
			req.Attributes = append([]AttributeUpdate{{Index: -1, ID: ident, Standard: ops}}, req.Attributes...)
		}
	}
	if len(req.Attributes)+len(req.Events)+len(req.Purchases) > 0 {
		reqs := []*TrackRequest{req}
		results, err := s.track(ctx, stx, reqs, s.plan(reqs, now), now)
		if err != nil {
			return err
		}
		for _, e := range results[0].Errors {
			if id, ok := byIndex[e.Index]; ok {
				r.Errors = append(r.Errors, SDKItemError{Type: e.Type, InputArray: "items", Index: e.Index, ID: id})
			}
		}
	}
	if err := stx.UpsertDevices(ctx, devices); err != nil {
		return err
	}
	if err := stx.AddSessions(ctx, sessions); err != nil {
		return err
	}
	if s.onSessions != nil && len(sessions) > 0 {
		if err := s.onSessions(ctx, stx, sessions); err != nil {
			return fmt.Errorf("profiles: session hook: %w", err)
		}
	}
	return nil
}

// deviceAttributes are the profile's time zone and language as the device
// reports them (Braze's SDKs set both); values Herald would refuse are left
// out.
func deviceAttributes(d SDKDevice) []StandardOp {
	var ops []StandardOp
	if d.TimeZone != "" {
		if op, err := standardOp("time_zone", d.TimeZone); err == nil && op.Value != nil {
			ops = append(ops, op)
		}
	}
	if lang, _, _ := strings.Cut(strings.ReplaceAll(d.Locale, "_", "-"), "-"); lang != "" {
		if op, err := standardOp("language", lang); err == nil && op.Value != nil {
			ops = append(ops, op)
		}
	}
	return ops
}

// RecordSDKItems records engagement items as applied once the caller has
// recorded them, so a replay does not report them again.
func (s *Service) RecordSDKItems(ctx context.Context, app *App, deviceID string, items []SDKItem) error {
	if len(items) == 0 {
		return nil
	}
	keys := make([][]byte, len(items))
	for i, it := range items {
		keys[i] = SDKItemKey(app.ID, deviceID, it.ID)
	}
	now := s.now().UTC()
	return s.store.InTx(ctx, func(tx Tx) error {
		stx, ok := tx.(SDKTx)
		if !ok {
			return errors.New("profiles: the store's transaction cannot record SDK items")
		}
		_, err := stx.ClaimSDKItems(ctx, keys, now)
		return err
	})
}

func sortSDKErrors(errs []SDKItemError) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Index < errs[j].Index })
}
