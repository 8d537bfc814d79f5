package campaigns

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

// Content Cards sync limits.
const (
	// MaxFeedCards is how many cards a user holds (Braze's 250): the newest
	// non-expired ones, dismissed ones included; older cards stop being
	// returned.
	MaxFeedCards = 250
	// syncOverlap is how far before its token's time an incremental sync
	// looks: it covers a card written by a transaction still open when the
	// token was made, and clock differences between nodes. What changed in
	// it is sent again (clients apply changes as upserts).
	syncOverlap = 2 * time.Minute
	// maxTokenAge: an older token gets a full sync (every card the client
	// had has expired since).
	maxTokenAge = MaxCardTTL
	// tokenSkew is how far in the future a token may be (a node's clock
	// ahead of this one's) before it is taken for a foreign one.
	tokenSkew = time.Minute
)

// Request field limits.
const (
	maxSyncUserID   = 512
	maxSyncDeviceID = 255
	maxSyncToken    = 512
)

// CardSyncRequest is POST /sdk/v1/content_cards/sync.
type CardSyncRequest struct {
	UserID    string `json:"user_id"`   // external id; "" or unknown: no cards
	DeviceID  string `json:"device_id"` // required: the sync rate limit is per device
	SyncToken string `json:"sync_token,omitempty"`
}

// DecodeCardSync reads a sync request; every problem is reported at once as
// a *ValidationError. Unknown fields are ignored (newer SDKs).
func DecodeCardSync(r io.Reader) (*CardSyncRequest, error) {
	var ps problems
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil || raw == nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if err != nil && !errors.As(err, &syn) && !errors.As(err, &typ) && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("reading the request: %w", err) // the body (its size limit, gzip)
		}
		ps.add("body", "want a JSON object")
		return nil, ps.err()
	}
	if _, err := dec.Token(); err != io.EOF {
		ps.add("body", "want one JSON object, found more after it")
	}
	req := &CardSyncRequest{}
	str := func(field string, dst *string, limit int, required bool) {
		v, ok := raw[field]
		if !ok || bytes.Equal(v, []byte("null")) {
			if required {
				ps.add(field, "required")
			}
			return
		}
		if err := json.Unmarshal(v, dst); err != nil {
			ps.add(field, "want a string")
			return
		}
		switch {
		case required && *dst == "":
			ps.add(field, "required")
		case len(*dst) > limit:
			ps.add(field, "at most %d bytes", limit)
		}
	}
	str("user_id", &req.UserID, maxSyncUserID, false)
	str("device_id", &req.DeviceID, maxSyncDeviceID, true)
	str("sync_token", &req.SyncToken, maxSyncToken, false)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return req, nil
}

// CardSync is a sync's answer: the whole feed (Full), or the cards added or
// changed since the token and the ids of those gone from the feed
// (dismissed, expired, pushed past MaxFeedCards).
type CardSync struct {
	Cards   []*Card // in feed order: pinned first, then newest first
	Removed []string
	Token   string
	Full    bool
}

// syncToken is what a sync token says: the feed of this app's user as of At.
// It is not a secret and not signed: a forged one only changes what its
// holder is sent. The checksum turns a damaged token into a full sync.
type syncToken struct {
	AppID  string
	UserID int64
	At     time.Time
}

func (t syncToken) String() string {
	payload := "1|" + strconv.FormatInt(t.UserID, 10) + "|" + strconv.FormatInt(t.At.UnixMilli(), 10) + "|" + t.AppID
	sum := sha256.Sum256([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(sum[:6])
}

// parseSyncToken reads a token; false when it is not one.
func parseSyncToken(s string) (syncToken, bool) {
	body, sum, ok := strings.Cut(s, ".")
	if !ok {
		return syncToken{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return syncToken{}, false
	}
	want := sha256.Sum256(payload)
	if got, err := base64.RawURLEncoding.DecodeString(sum); err != nil || !bytes.Equal(got, want[:6]) {
		return syncToken{}, false
	}
	parts := strings.SplitN(string(payload), "|", 4)
	if len(parts) != 4 || parts[0] != "1" {
		return syncToken{}, false
	}
	uid, err1 := strconv.ParseInt(parts[1], 10, 64)
	ms, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return syncToken{}, false
	}
	return syncToken{AppID: parts[3], UserID: uid, At: time.UnixMilli(ms).UTC()}, true
}

// SyncCards answers a Content Cards sync for an app's user: cards created
// at first impression that the user is now eligible for are written first;
// then the feed, whole or as the changes since the request's token. A
// token of another app or user, a damaged, stale or future one gets a full
// sync. An unknown user has no cards.
func (s *Service) SyncCards(ctx context.Context, app *profiles.App, req *CardSyncRequest) (*CardSync, error) {
	now := s.now().UTC()
	var uid int64
	if req.UserID != "" {
		ids, _, err := s.st.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{req.UserID}})
		if err != nil {
			return nil, err
		}
		if len(ids) == 1 {
			uid = ids[0]
		}
	}
	out := &CardSync{Token: syncToken{AppID: app.ID, UserID: uid, At: now}.String(), Full: true, Cards: []*Card{}, Removed: []string{}}
	if uid == 0 {
		return out, nil
	}
	if err := s.createFirstImpressionCards(ctx, uid, now); err != nil {
		return nil, err
	}
	tok, ok := parseSyncToken(req.SyncToken)
	incremental := ok && tok.AppID == app.ID && tok.UserID == uid &&
		!tok.At.After(now.Add(tokenSkew)) && now.Sub(tok.At) < maxTokenAge
	since := now
	var w time.Time
	if incremental {
		w = tok.At.Add(-syncOverlap) // before now: tokens are at most tokenSkew ahead
		since = w
	}
	cards, err := s.st.UserCards(ctx, uid, since)
	if err != nil {
		return nil, err
	}
	feed := cardFeed(cards, now)
	if !incremental {
		out.Cards = feed
		return out, nil
	}
	out.Full = false
	out.Cards, out.Removed = cardChanges(cards, feed, w)
	return out, nil
}

// feedWindow is the cards a feed is made of at a time: the MaxFeedCards
// newest of those known then and not expired then (dismissed ones count).
// cards are newest first.
func feedWindow(cards []*Card, at time.Time, known func(*Card) bool) []*Card {
	var out []*Card
	for _, c := range cards {
		if len(out) == MaxFeedCards {
			break
		}
		if known(c) && (c.ExpiresAt.IsZero() || c.ExpiresAt.After(at)) {
			out = append(out, c)
		}
	}
	return out
}

// cardFeed is the feed at now of cards (newest first): the window without
// dismissed cards, pinned first, then newest first.
func cardFeed(cards []*Card, now time.Time) []*Card {
	feed := []*Card{}
	for _, c := range feedWindow(cards, now, func(*Card) bool { return true }) {
		if c.DismissedAt.IsZero() {
			feed = append(feed, c)
		}
	}
	slices.SortStableFunc(feed, func(a, b *Card) int {
		switch {
		case a.Pinned == b.Pinned:
			return 0
		case a.Pinned:
			return -1
		}
		return 1
	})
	return feed
}

// cardChanges compares the feed now with what a client synced at w may
// hold: the window at w (of the cards created by then), and anything
// written or changed after w. Changed are the feed's cards outside that
// window or written or changed after w (a card written late, after its
// creation time, is caught by its changed_at); removed are the cards the
// client may hold that are not in the feed, except those dismissed before
// w (it was told).
func cardChanges(cards, feed []*Card, w time.Time) (changed []*Card, removed []string) {
	inFeed := map[string]bool{}
	for _, c := range feed {
		inFeed[c.ID] = true
	}
	had := map[string]bool{}
	for _, c := range feedWindow(cards, w, func(c *Card) bool { return !c.CreatedAt.After(w) }) {
		had[c.ID] = true
	}
	changed, removed = []*Card{}, []string{}
	for _, c := range feed {
		if !had[c.ID] || c.ChangedAt.After(w) {
			changed = append(changed, c)
		}
	}
	for _, c := range cards {
		mayHold := had[c.ID] || newer(c, w)
		toldBefore := !c.DismissedAt.IsZero() && !c.ChangedAt.After(w)
		if mayHold && !inFeed[c.ID] && !toldBefore {
			removed = append(removed, c.ID)
		}
	}
	return changed, removed
}

// newer reports whether a card may have been written or changed after w.
func newer(c *Card, w time.Time) bool { return c.CreatedAt.After(w) || c.ChangedAt.After(w) }

// createFirstImpressionCards writes the cards of running and done
// dispatches created at first impression that the user is eligible for
// now and has not had decided: in the dispatch's recipients and audience
// (the segment filter evaluated on the profile), not in its control group.
// Each card is rendered for the user and recorded in the ledger (delivered,
// or its abort) as the worker records an at-launch card; the card table's
// (dispatch, user) key makes it once per user per dispatch.
func (s *Service) createFirstImpressionCards(ctx context.Context, uid int64, now time.Time) error {
	ds, err := s.st.FirstImpressionDispatches(ctx, now.Add(-MaxCardTTL))
	if err != nil || len(ds) == 0 {
		return err
	}
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	decided, err := s.st.CardsDecided(ctx, uid, ids)
	if err != nil {
		return err
	}
	type candidate struct {
		d      *Dispatch
		filter *segments.Filter
	}
	var todo []candidate
	var needs segments.Needs
	for _, d := range ds {
		if decided[d.ID] || (d.Spec.SendBy != nil && now.After(*d.Spec.SendBy)) ||
			(d.Spec.UserIDs != nil && !slices.Contains(d.Spec.UserIDs, uid)) {
			continue
		}
		c := candidate{d: d}
		if len(d.Spec.Filter) > 0 {
			f, err := segments.Parse(d.Spec.Filter)
			if err != nil { // validated when saved; the worker skips it too
				continue
			}
			c.filter = f
			n := f.Needs()
			needs.EventSummaries = needs.EventSummaries || n.EventSummaries
			needs.Recent = needs.Recent || n.Recent
		}
		todo = append(todo, c)
	}
	if len(todo) == 0 {
		return nil
	}
	profs, err := s.st.DeliveryProfiles(ctx, []int64{uid}, needs.EventSummaries)
	if err != nil || len(profs) == 0 {
		return err
	}
	prof := profs[0]
	if needs.Recent {
		if err := s.st.LoadRecent(ctx, profs, now.Unix()/86400-segments.RecentDays); err != nil {
			return err
		}
	}
	var cards []*Card
	var outcomes []Outcome
	var events []Engagement
	abort := func(k LedgerKey, campaignID, reason string) {
		outcomes = append(outcomes, Outcome{LedgerKey: k, CampaignID: campaignID, MessageID: messageID(k), State: LedgerAborted, Reason: reason})
		events = append(events, Engagement{LedgerKey: k, CampaignID: campaignID, Kind: EventAbort, Reason: reason, At: now})
	}
	for _, c := range todo {
		d := c.d
		if c.filter != nil && !c.filter.Eval(prof, now) {
			continue // not in the audience now: asked again at the next sync
		}
		k := LedgerKey{DispatchID: d.ID, UserID: uid, Channel: ContentCard}
		var variants []compiledVariant
		for _, v := range variantsOf(d.Spec) {
			variants = append(variants, compiledVariant{id: v.ID, percent: v.Percent})
		}
		v := pick(variants, variantBucket(variantKey(d), uid))
		if v == nil {
			abort(k, d.CampaignID, AbortControlGroup)
			continue
		}
		obj, err := s.firstImpressionCard(d, v.id)
		if obj == nil || err != nil {
			continue // this variant's card is at launch, or none
		}
		vars := templates.ProfileVars(prof, templates.VarsOptions{Now: now, Only: obj.Vars(),
			APITriggerProperties: triggerProps(d.Spec, uid), EventProperties: d.Spec.EventProperties})
		rendered, err := obj.Render(ctx, vars)
		if err != nil {
			var ab *templates.AbortError
			if errors.As(err, &ab) {
				abort(k, d.CampaignID, AbortLiquid)
			} else {
				abort(k, d.CampaignID, AbortRenderError)
			}
			continue
		}
		card, err := newCard(rendered, uid, d, messageID(k), now)
		if err != nil {
			abort(k, d.CampaignID, AbortCardSizeExceeded)
			continue
		}
		if !card.ExpiresAt.After(now) {
			continue // its expire_at has passed: nobody gets it any more
		}
		cards = append(cards, card)
		outcomes = append(outcomes, Outcome{LedgerKey: k, CampaignID: d.CampaignID, MessageID: card.ID, State: LedgerDelivered, ProviderID: card.ID})
		events = append(events, Engagement{LedgerKey: k, CampaignID: d.CampaignID, Kind: EventDelivery, At: now})
	}
	// The cards first: a ledger row without its card would not be retried.
	if err := s.st.AddCards(ctx, cards); err != nil {
		return err
	}
	return s.recordCounted(ctx, outcomes, events, now)
}

// firstImpressionCard parses a dispatch variant's content card when it is
// created at first impression (nil otherwise).
func (s *Service) firstImpressionCard(d *Dispatch, variantID string) (*templates.Object, error) {
	if !cardAtFirstImpression(d.Spec, variantID) {
		return nil, nil
	}
	msgs := d.Spec.Messages
	for _, v := range d.Spec.Variants {
		if v.ID == variantID {
			msgs = v.Messages
		}
	}
	o, err := s.tmpl.ParseObject(msgs[ContentCard])
	if err != nil {
		return nil, fmt.Errorf("dispatch %s content card: %w", d.ID, err)
	}
	return o, nil
}
