package campaigns

import (
	"context"
	"slices"
	"time"

	"github.com/herald-oss/herald/profiles"
)

// UserSend is one (user, dispatch, push channel) a worker decided to send:
// what frequency capping counts and re-eligibility looks back on.
type UserSend struct {
	UserID     int64
	DispatchID string
	Channel    string
	CampaignID string
	At         time.Time
}

// Frequency capping channel groups besides a single channel key.
const (
	CapAnyChannel = "any"  // every push channel
	CapPush       = "push" // the same: apple_push, android_push and web_push
)

// CapRule is one global frequency capping rule: at most Limit messages on
// Channel per Window. Content cards (and in-app messages) are exempt.
type CapRule struct {
	Channel string
	Limit   int
	Window  Window
}

func (c CapRule) covers(channel string) bool {
	if _, push := pushPlatforms[channel]; !push {
		return false
	}
	return c.Channel == CapAnyChannel || c.Channel == CapPush || c.Channel == channel
}

// gate applies re-eligibility and frequency capping to a page's push
// messages, and remembers the sends of campaigns with conversion events: one ReserveSends transaction decides every (user, channel) of
// the page against the users' earlier sends, including those another worker
// is making right now. What is stopped is recorded as an abort and dropped.
func (p *Pipeline) gate(ctx context.Context, r *run, toSend []pending, byUser map[int64]*profiles.Profile) ([]pending, error) {
	rules := r.d.Spec.Rules
	reElig := rules.ReEligibility
	if r.d.CampaignID == "" {
		reElig = nil // ad-hoc sends are no campaign to be re-eligible for
	}
	caps := p.opts.FrequencyCaps
	// Sends are remembered whenever they may matter: global caps exist (a
	// campaign that overrides them is not capped, but its messages count
	// against the others'), re-eligibility, or conversion events (counted
	// for the users a campaign was sent to, its control group included).
	convs := len(rules.ConversionEvents) > 0 && r.d.CampaignID != ""
	if reElig == nil && len(caps) == 0 && !convs {
		return toSend, nil
	}
	if rules.OverrideFrequencyCapping {
		caps = nil
	}
	type group struct {
		user    int64
		channel string
	}
	var groups []group
	seen := map[group]bool{}
	for _, pm := range toSend {
		g := group{pm.claim.UserID, pm.claim.Channel}
		if pm.card || seen[g] {
			continue
		}
		seen[g] = true
		groups = append(groups, g)
	}
	if convs {
		for _, uid := range r.control {
			g := group{uid, ControlGroup}
			if !seen[g] {
				seen[g] = true
				groups = append(groups, g)
			}
		}
	}
	if len(groups) == 0 {
		return toSend, nil
	}
	// Each user's window starts, in their own zone; the query reads from the
	// earliest of them.
	since := func(u int64, w Window) time.Time { return w.Since(r.now, p.zoneOf(byUser[u])) }
	var reWindow Window
	if reElig != nil && !reElig.Never {
		reWindow, _ = ParseWindow(reElig.After) // validated at save
	}
	earliest := r.now
	for _, g := range groups {
		for _, c := range caps {
			earliest = minTime(earliest, since(g.user, c.Window))
		}
		if reElig != nil {
			if reElig.Never {
				earliest = time.Unix(0, 0)
			} else {
				earliest = minTime(earliest, since(g.user, reWindow))
			}
		}
	}
	ids := make([]int64, 0, len(groups))
	for _, g := range groups {
		ids = append(ids, g.user)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	stopped := map[group]string{}
	err := p.st.ReserveSends(ctx, ids, earliest, func(existing []UserSend) []UserSend {
		clear(stopped)
		byU := map[int64][]UserSend{}
		for _, s := range existing {
			byU[s.UserID] = append(byU[s.UserID], s)
		}
		var add []UserSend
		for _, g := range groups {
			sends := byU[g.user]
			if slices.ContainsFunc(sends, func(s UserSend) bool { return s.DispatchID == r.d.ID && s.Channel == g.channel }) {
				continue // decided before (a re-run of the page): still allowed
			}
			if g.channel == ControlGroup { // remembered for conversions only
				s := UserSend{UserID: g.user, DispatchID: r.d.ID, Channel: g.channel, CampaignID: r.d.CampaignID, At: r.now}
				byU[g.user] = append(sends, s)
				add = append(add, s)
				continue
			}
			if reElig != nil && slices.ContainsFunc(sends, func(s UserSend) bool {
				return s.CampaignID == r.d.CampaignID && s.DispatchID != r.d.ID && s.Channel != ControlGroup &&
					(reElig.Never || !s.At.Before(since(g.user, reWindow)))
			}) {
				stopped[g] = AbortNotReEligible
				continue
			}
			capped := false
			for _, c := range caps {
				if !c.covers(g.channel) {
					continue
				}
				from, n := since(g.user, c.Window), 0
				for _, s := range sends {
					if c.covers(s.Channel) && !s.At.Before(from) {
						n++
					}
				}
				if n >= c.Limit {
					capped = true
					break
				}
			}
			if capped {
				stopped[g] = AbortFrequencyCapped
				continue
			}
			s := UserSend{UserID: g.user, DispatchID: r.d.ID, Channel: g.channel, CampaignID: r.d.CampaignID, At: r.now}
			byU[g.user] = append(sends, s)
			add = append(add, s)
		}
		return add
	})
	if err != nil || len(stopped) == 0 {
		return toSend, err
	}
	out := toSend[:0:0]
	for _, pm := range toSend {
		g := group{pm.claim.UserID, pm.claim.Channel}
		if reason, ok := stopped[g]; ok && !pm.card {
			if reason != "" {
				r.abort(LedgerKey{DispatchID: r.d.ID, UserID: g.user, Channel: g.channel}, reason)
				stopped[g] = "" // one abort per (user, channel)
			}
			continue
		}
		out = append(out, pm)
	}
	return out, nil
}

// zoneOf is a user's time zone, the company zone when unknown or invalid.
func (p *Pipeline) zoneOf(prof *profiles.Profile) *time.Location {
	if prof != nil && prof.User.Standard.TimeZone != "" {
		if loc, err := p.zones.Load(prof.User.Standard.TimeZone); err == nil {
			return loc
		}
	}
	return p.opts.DefaultZone
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// rateLimit takes the campaign's per-minute budget for the claimed push
// messages; those over it are given back to the ledger (not counted as an
// attempt) and the page runs again next minute. Messages still waiting
// rateLimitGiveUp after the dispatch began are aborted as rate_limit.
func (p *Pipeline) rateLimit(ctx context.Context, r *run, mine []pending) ([]pending, error) {
	rl := r.d.Spec.Rules.RateLimit
	if rl == nil || p.opts.Limiter == nil {
		return mine, nil
	}
	var cards, push []pending
	for _, pm := range mine {
		if pm.card {
			cards = append(cards, pm)
		} else {
			push = append(push, pm)
		}
	}
	if len(push) == 0 {
		return mine, nil
	}
	began := r.d.CreatedAt // a scheduled dispatch begins at its time
	if r.d.DueAt.After(began) {
		began = r.d.DueAt
	}
	if r.now.Sub(began) > rateLimitGiveUp {
		for _, pm := range push {
			r.finish(pm, LedgerAborted, AbortRateLimit, "")
		}
		return cards, nil
	}
	key := "campaign:" + r.d.CampaignID
	if r.d.CampaignID == "" {
		key = "dispatch:" + r.d.ID
	}
	got, wait, err := p.opts.Limiter.Take(ctx, key, len(push), rl.PerMinute)
	if err != nil {
		got = 0 // give every claim back: nothing is sent unmetered
	}
	if got < len(push) {
		keys := make([]LedgerKey, 0, len(push)-got)
		for _, pm := range push[got:] {
			keys = append(keys, pm.claim.LedgerKey)
		}
		if rerr := p.st.ReleaseClaims(ctx, keys, r.token); rerr != nil {
			return nil, rerr
		}
		if err != nil {
			return nil, err
		}
		r.again = true
		r.after = max(r.after, wait)
	}
	return append(cards, push[:got]...), nil
}
