package campaigns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

// pushPlatforms maps a push message key to the device platform it targets.
var pushPlatforms = map[string]string{ApplePush: profiles.PlatformIOS, AndroidPush: profiles.PlatformAndroid, WebPush: profiles.PlatformWeb}

// pending is one claimed message waiting to be sent.
type pending struct {
	claim  Claim
	appID  string
	token  string
	object map[string]any
	card   bool // a content card (no app, no device)
	hook   bool // a webhook (no app, no device)
}

// run is one deliver task's state.
type run struct {
	d        *Dispatch
	now      time.Time
	token    string
	outcomes []Outcome
	events   []Engagement
	drops    []profiles.TokenDrop
	again    bool          // some row must be tried again later
	after    time.Duration // the longest wait a provider asked for
	// heldUntil is the earliest end of the quiet hours holding a user's
	// messages (zero: none held).
	heldUntil time.Time
	// control lists the page's users in the control group (eligible,
	// sent nothing).
	control []int64
	// latency times the page's provider round trips by channel.
	latency map[string]*latencies
	// devices and noToken are prepare's scratch space, reused per user.
	devices []profiles.Device
	noToken []LedgerKey
}

// hold keeps a user's message for a later run of the page.
func (r *run) hold(until time.Time) {
	if r.heldUntil.IsZero() || until.Before(r.heldUntil) {
		r.heldUntil = until
	}
}

func (r *run) abort(k LedgerKey, reason string) {
	r.outcomes = append(r.outcomes, Outcome{LedgerKey: k, CampaignID: r.d.CampaignID, MessageID: messageID(k), State: LedgerAborted, Reason: reason})
	r.events = append(r.events, Engagement{LedgerKey: k, CampaignID: r.d.CampaignID, Kind: EventAbort, Reason: reason, At: r.now})
}

// Deliver runs a campaign:deliver task: one page of a dispatch. Every user
// is checked again at send time (still there, subscribed, in the audience),
// rendered, claimed in the ledger, and sent through the app's channel
// sender; results, aborts and engagement events are recorded per page. The
// page completes when every message of it is final; messages to retry, and
// rows another worker holds, make the task wait (queue.Backoff: not a
// failure).
func (p *Pipeline) Deliver(ctx context.Context, t queue.DeliverPayload) error {
	d, err := p.st.Dispatch(ctx, t.DispatchID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	switch d.Status {
	case DispatchPaused:
		p.metrics.pages.WithLabelValues("retry").Inc()
		return &queue.Backoff{After: p.opts.PageRetry, Reason: "dispatch paused"}
	case DispatchStopped:
		p.metrics.pages.WithLabelValues("skipped").Inc()
		return nil
	}
	page, err := p.st.Page(ctx, t.DispatchID, t.FirstUserID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	if page.Done {
		p.metrics.pages.WithLabelValues("skipped").Inc()
		return nil
	}
	c, err := p.compile(ctx, d)
	if err != nil {
		return err
	}
	profs, err := p.st.DeliveryProfiles(ctx, page.UserIDs, c.needs.EventSummaries) // deleted users are simply absent
	if err != nil {
		return err
	}
	r := &run{d: d, now: p.opts.Now(), token: newToken()}
	if c.needs.Recent {
		if err := p.st.LoadRecent(ctx, profs, r.now.Unix()/86400-segments.RecentDays); err != nil {
			return err
		}
	}
	byUser := make(map[int64]*profiles.Profile, len(profs))
	toSend := make([]pending, 0, len(profs)) // most users get one message
	for _, prof := range profs {
		byUser[prof.User.ID] = prof
		toSend = p.prepare(ctx, r, c, prof, toSend)
	}
	if toSend, err = p.gate(ctx, r, toSend, byUser); err != nil {
		return err
	}
	claims := make([]Claim, len(toSend))
	for i, pm := range toSend {
		claims[i] = pm.claim
	}
	claimedAt := time.Now() // the lease runs from here (on the wall clock; r.now may be a test's)
	results, err := p.st.Claim(ctx, claims, r.token, r.now, r.now.Add(p.opts.Lease))
	if err != nil {
		return err
	}
	mine := make([]pending, 0, len(results))
	for i, res := range results {
		switch res.State {
		case Claimed:
			p.metrics.claims.WithLabelValues("claimed").Inc()
			pm := toSend[i]
			pm.claim.MessageID = res.MessageID
			if res.Attempts > p.opts.MaxAttempts {
				r.finish(pm, LedgerFailed, AbortExhaustedRetries, "")
				continue
			}
			mine = append(mine, pm)
		case Finished:
			p.metrics.claims.WithLabelValues("finished").Inc()
		case Busy:
			p.metrics.claims.WithLabelValues("busy").Inc()
			r.again = true
		}
	}
	if mine, err = p.rateLimit(ctx, r, mine); err != nil {
		return err
	}
	r.outcomes = slices.Grow(r.outcomes, len(mine)) // one outcome each
	p.send(ctx, r, mine)
	// What was sent is recorded even when the task's context ends now (the
	// task timeout, asynq's shutdown abort, a lost lease): a claim left
	// unrecorded is sent again after its lease. Tried until shortly before
	// the lease ends (recordMarginDiv).
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), claimedAt.Add(p.opts.Lease-p.opts.Lease/recordMarginDiv))
	defer cancel()
	if err := p.record(ctx, r); err != nil {
		return err
	}
	for _, o := range r.outcomes {
		if o.State == LedgerAborted || o.State == LedgerFailed {
			p.metrics.aborts.WithLabelValues(o.Reason).Inc()
		}
	}
	p.countLive(ctx, r)
	if len(r.drops) > 0 {
		if _, err := p.st.InvalidateTokens(ctx, r.drops); err != nil {
			return err
		}
	}
	if r.again {
		p.metrics.pages.WithLabelValues("retry").Inc()
		return &queue.Backoff{After: max(r.after, p.opts.PageRetry), Reason: "messages to retry"}
	}
	if !r.heldUntil.IsZero() {
		p.metrics.pages.WithLabelValues("retry").Inc()
		return &queue.Backoff{After: max(r.heldUntil.Sub(p.opts.Now()), p.opts.PageRetry), Reason: "quiet hours"}
	}
	finished, err := p.st.CompletePage(ctx, d.ID, page.FirstUserID, p.opts.Now())
	if err != nil {
		return err
	}
	if finished {
		p.campaignDone(ctx, d)
	}
	p.metrics.pages.WithLabelValues("done").Inc()
	return nil
}

// recordMarginDiv sets how long before the claims' lease ends recording a
// page's outcomes gives up: a tenth of the lease. Until then nobody else can
// claim the rows, so a result recorded is a message not sent again; a slow
// database (a restart, a starved single SQLite writer) is waited out that
// long. (A result recorded after the lease could only meet rows claimed again:
// the claim token keeps it from overwriting them.)
const recordMarginDiv = 10

// record writes what a page sent, trying again (the write is idempotent)
// until it succeeds or ctx ends: the messages are sent, and a result not
// recorded leaves their claims to expire and the messages to be sent again
// after the lease. A database restart or failover is waited out here.
func (p *Pipeline) record(ctx context.Context, r *run) error {
	wait := 100 * time.Millisecond
	for {
		err := p.st.Record(ctx, r.outcomes, r.events, r.token, p.opts.Now())
		if err == nil {
			return nil
		}
		p.log.Warn("recording a page's results failed; trying again", "dispatch", r.d.ID, "error", err, "in", wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("recording results: %w (last error: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// finish records the final state of a claimed message. Its engagement
// event is the store's to write with the outcome (OutcomeEvent).
func (r *run) finish(pm pending, state, reason, providerID string) {
	r.outcomes = append(r.outcomes, Outcome{LedgerKey: pm.claim.LedgerKey, CampaignID: r.d.CampaignID, MessageID: pm.claim.MessageID,
		Claimed: true, State: state, Reason: reason, ProviderID: providerID})
}

// prepare decides, for one user, every message of the dispatch: aborts are
// recorded in r; the messages to claim and send are appended to out.
func (p *Pipeline) prepare(ctx context.Context, r *run, c *compiled, prof *profiles.Profile, out []pending) []pending {
	u := prof.User
	spec := r.d.Spec
	var vars templates.Vars
	inAudience := c.filter == nil || c.filter.Eval(prof, r.now)
	v := pick(c.variants, variantBucket(variantKey(r.d), u.ID))
	if v == nil { // the control group: eligible users are counted apart, sent nothing
		eligible := false
		for _, ch := range c.channels {
			reason := AbortControlGroup
			switch {
			case !inAudience:
				reason = AbortNotInSegment
			case !subscribed(spec.RecipientSubscriptionState, ch, u):
				reason = AbortNotSubscribed
			}
			r.abort(LedgerKey{DispatchID: r.d.ID, UserID: u.ID, Channel: ch}, reason)
			eligible = eligible || reason == AbortControlGroup
		}
		if eligible {
			r.control = append(r.control, u.ID)
		}
		return out
	}
	// A push channel the user has no device for is recorded as
	// no_valid_token only when the user has a device on none of the
	// campaign's push channels: a user reached on iOS is not also "aborted"
	// on Android and web (and the page writes a third of the rows).
	noToken := r.noToken[:0]
	reached := false
	for ch, obj := range v.objects {
		if ch == ContentCard && cardAtFirstImpression(spec, v.id) { // written at the user's first sync (cardsync.go)
			continue
		}
		platform, isPush := pushPlatforms[ch]
		userKey := LedgerKey{DispatchID: r.d.ID, UserID: u.ID, Channel: ch}
		switch {
		case !inAudience:
			r.abort(userKey, AbortNotInSegment)
			continue
		case !subscribed(spec.RecipientSubscriptionState, ch, u):
			r.abort(userKey, AbortNotSubscribed)
			continue
		case spec.SendBy != nil && r.now.After(*spec.SendBy):
			r.abort(userKey, AbortExpired)
			continue
		}
		if q := spec.Rules.QuietHours; q != nil && isPush {
			if until, quiet := q.quietUntil(r.now, p.zoneOf(prof)); quiet {
				if q.Action == QuietAbort {
					r.abort(userKey, AbortQuietHours)
				} else {
					r.hold(until)
				}
				continue
			}
		}
		if vars == nil {
			vars = templates.ProfileVars(prof, templates.VarsOptions{Now: r.now, Only: v.vars,
				APITriggerProperties: triggerProps(spec, u.ID), EventProperties: spec.EventProperties})
		}
		if !isPush { // a content card (into the feed) or a webhook: one per user
			if rendered, ok := p.render(ctx, r, obj, vars, userKey); ok {
				out = append(out, pending{claim: Claim{LedgerKey: userKey, CampaignID: r.d.CampaignID, MessageID: messageID(userKey)},
					object: rendered, card: ch == ContentCard, hook: ch == Webhook})
			}
			continue
		}
		devices := r.devices[:0]
	scan:
		for _, d := range prof.Devices {
			if !d.Valid() || !d.PushEnabled || d.Platform != platform {
				continue
			}
			// A token registered in two apps is one device (one ledger
			// row): it is sent once, through its latest registration. A
			// user has a few devices: a linear search is cheaper than a map.
			for i := range devices {
				if devices[i].TokenKey == d.TokenKey {
					if d.UpdatedAt.After(devices[i].UpdatedAt) {
						devices[i] = d
					}
					continue scan
				}
			}
			devices = append(devices, d)
		}
		r.devices = devices[:0] // reused by the next channel and user: out keeps copies of what it needs
		if len(devices) == 0 {
			noToken = append(noToken, userKey)
			continue
		}
		reached = true
		rendered, ok := p.render(ctx, r, obj, vars, userKey)
		if !ok {
			continue
		}
		for _, d := range devices {
			k := LedgerKey{DispatchID: r.d.ID, UserID: u.ID, Channel: ch, Device: d.TokenKey}
			out = append(out, pending{claim: Claim{LedgerKey: k, CampaignID: r.d.CampaignID, MessageID: messageID(k)},
				appID: d.AppID, token: d.Token, object: rendered})
		}
	}
	if !reached {
		slices.SortFunc(noToken, func(a, b LedgerKey) int { return strings.Compare(a.Channel, b.Channel) })
		for _, k := range noToken {
			r.abort(k, AbortNoValidToken)
		}
	}
	r.noToken = noToken[:0] // the next user's scratch
	return out
}

// render renders a message object for one user; an abort or a failure is
// recorded and reported false.
func (p *Pipeline) render(ctx context.Context, r *run, obj *templates.Object, vars templates.Vars, k LedgerKey) (map[string]any, bool) {
	rendered, err := obj.Render(ctx, vars)
	if err == nil {
		return rendered, true
	}
	var ab *templates.AbortError
	if errors.As(err, &ab) {
		r.abort(k, AbortLiquid)
	} else {
		p.log.Warn("render failed", "dispatch", r.d.ID, "user", k.UserID, "channel", k.Channel, "error", err)
		r.abort(k, AbortRenderError)
	}
	return nil, false
}

// triggerProps merges the request's trigger properties with the user's own.
func triggerProps(s Spec, userID int64) map[string]any {
	own := s.PerUserProperties[userID]
	if len(own) == 0 {
		return s.TriggerProperties
	}
	out := make(map[string]any, len(s.TriggerProperties)+len(own))
	for k, v := range s.TriggerProperties {
		out[k] = v
	}
	for k, v := range own {
		out[k] = v
	}
	return out
}

// subscribed applies recipient_subscription_state to a channel's state.
func subscribed(state, channel string, u *profiles.User) bool {
	s := u.Standard.PushSubscribe
	if _, push := pushPlatforms[channel]; !push {
		return true
	}
	if s == "" {
		s = SubscriptionSubscribed
	}
	switch state {
	case SubscriptionAll:
		return true
	case SubscriptionOptedIn:
		return s == SubscriptionOptedIn
	default:
		return s == SubscriptionOptedIn || s == SubscriptionSubscribed
	}
}

// send sends the claimed messages, grouped by app, and records each result.
func (p *Pipeline) send(ctx context.Context, r *run, mine []pending) {
	perApp := map[string]int{}
	for _, pm := range mine {
		if !pm.card && !pm.hook {
			perApp[pm.appID]++
		}
	}
	byApp := make(map[string][]pending, len(perApp))
	for appID, n := range perApp {
		byApp[appID] = make([]pending, 0, n)
	}
	var cards, hooks []pending
	for _, pm := range mine {
		switch {
		case pm.card:
			cards = append(cards, pm)
		case pm.hook:
			hooks = append(hooks, pm)
		default:
			byApp[pm.appID] = append(byApp[pm.appID], pm)
		}
	}
	p.writeCards(ctx, r, cards)
	if len(hooks) > 0 {
		if p.opts.Webhook == nil {
			p.log.Warn("no webhook sender", "dispatch", r.d.ID)
			for _, pm := range hooks {
				r.retry(pm, 0)
			}
		} else {
			p.sendGroup(ctx, r, p.opts.Webhook, channels.Webhook, "", hooks)
		}
	}
	for appID, group := range byApp {
		snd, channel, err := p.senders.For(ctx, appID)
		if err != nil {
			p.log.Warn("no sender for app", "app", appID, "error", err)
			for _, pm := range group {
				r.retry(pm, 0)
			}
			continue
		}
		p.sendGroup(ctx, r, snd, channel, appID, group)
	}
}

// sendGroup sends one sender's messages and records each result.
func (p *Pipeline) sendGroup(ctx context.Context, r *run, snd channels.Sender, channel, appID string, group []pending) {
	msgs := make([]channels.Message, len(group))
	for i, pm := range group {
		msgs[i] = channels.Message{ID: pm.claim.MessageID, DispatchID: r.d.ID, AppID: appID, Token: pm.token,
			CollapseID: pm.claim.MessageID, Object: pm.object}
	}
	sctx, cancel := context.WithTimeout(ctx, p.opts.SendTimeout)
	if p.opts.Live != nil && len(group) > 0 {
		ch := group[0].claim.Channel
		if r.latency == nil {
			r.latency = map[string]*latencies{}
		}
		if r.latency[ch] == nil {
			r.latency[ch] = &latencies{}
		}
		sctx = channels.WithLatencyRecorder(sctx, r.latency[ch].record)
	}
	results := snd.Send(sctx, msgs)
	cancel()
	for i, res := range results {
		pm := group[i]
		p.metrics.deliveries.WithLabelValues(channel, res.Outcome.String()).Inc()
		switch res.Outcome {
		case channels.Delivered:
			r.finish(pm, LedgerDelivered, "", res.ProviderID)
		case channels.DropToken:
			r.finish(pm, LedgerDropped, res.Reason, "")
			if pm.claim.Device != "" { // a webhook has no token to prune
				r.drops = append(r.drops, profiles.TokenDrop{AppID: appID, TokenKey: pm.claim.Device, Reason: res.Reason, At: r.now})
				p.metrics.prunes.WithLabelValues(channel).Inc()
			}
		case channels.Permanent:
			if res.Reason == channels.ReasonInvalidPayload {
				r.finish(pm, LedgerAborted, AbortInvalidPayload, "")
			} else {
				r.finish(pm, LedgerFailed, AbortProviderRejected, "")
			}
		default:
			r.retry(pm, res.After)
		}
	}
}

// retry leaves a claimed message to be sent again by a later run.
func (r *run) retry(pm pending, after time.Duration) {
	k := pm.claim.LedgerKey
	r.outcomes = append(r.outcomes, Outcome{LedgerKey: k, CampaignID: r.d.CampaignID, MessageID: pm.claim.MessageID,
		Claimed: true, State: LedgerRetry})
	r.again = true
	r.after = max(r.after, after)
}

// writeCards puts claimed content cards into their users' feeds.
func (p *Pipeline) writeCards(ctx context.Context, r *run, claimed []pending) {
	var cards []*Card
	var ok []pending
	for _, pm := range claimed {
		c, err := newCard(pm.object, pm.claim.UserID, r.d, pm.claim.MessageID, r.now)
		if err != nil {
			r.finish(pm, LedgerAborted, AbortCardSizeExceeded, "")
			continue
		}
		cards = append(cards, c)
		ok = append(ok, pm)
	}
	if len(cards) == 0 {
		return
	}
	if err := p.st.AddCards(ctx, cards); err != nil {
		p.log.Warn("writing content cards failed", "dispatch", r.d.ID, "error", err)
		for _, pm := range ok {
			r.retry(pm, 0)
		}
		return
	}
	for _, pm := range ok {
		p.metrics.deliveries.WithLabelValues(ContentCard, "delivered").Inc()
		r.finish(pm, LedgerDelivered, "", pm.claim.MessageID)
	}
}
