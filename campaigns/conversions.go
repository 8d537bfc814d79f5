package campaigns

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/herald-oss/herald/profiles"
)

// Conversion is a user who did one of a campaign's conversion events within
// its window after the campaign was sent to them.
type Conversion struct {
	CampaignID string
	UserID     int64
	Index      int    // the conversion event's index in the campaign's list
	DispatchID string // the send it is attributed to: the latest before it
	At         time.Time
	Revenue    float64 // a purchase's price
}

// ConversionTx is what the event hook reads and writes for conversions, in
// the transaction that stores the events.
type ConversionTx interface {
	// UserSendsSince lists the users' sends of the campaigns since a time.
	UserSendsSince(ctx context.Context, userIDs []int64, campaignIDs []string, since time.Time) ([]UserSend, error)
	// AddConversions stores conversions; one already counted for the user,
	// campaign and conversion event is left alone.
	AddConversions(ctx context.Context, cs []Conversion) error
}

// convCampaign is a campaign with conversion events, parsed.
type convCampaign struct {
	id      string
	events  []ConversionEvent
	windows []time.Duration
}

// occurrence is one stored event or purchase as conversions see it.
type occurrence struct {
	userID  int64
	kind    string // ConversionCustomEvent or ConversionPurchase
	name    string // event name or product id
	at      time.Time
	revenue float64
}

func (c *convCampaign) matches(i int, o occurrence) bool {
	e := c.events[i]
	return e.Type == o.kind && (e.Name == o.name || e.Type != ConversionCustomEvent && e.Name == "")
}

// convert records the conversions of the stored events and purchases: for
// each campaign (whatever its status now) with a matching conversion event
// and each user it was sent to within that event's window before the
// occurrence.
func (tr *Triggers) convert(ctx context.Context, ctx2 ConversionTx, convs []*convCampaign, events []profiles.HookEvent,
	purchases []profiles.Purchase, sessions []profiles.Session) error {
	var occs []occurrence
	for _, s := range sessions {
		occs = append(occs, occurrence{userID: s.UserID, kind: ConversionSessionStart, at: s.Time})
	}
	for _, e := range events {
		occs = append(occs, occurrence{userID: e.UserID, kind: ConversionCustomEvent, name: e.Name, at: e.Time})
	}
	for _, p := range purchases {
		occs = append(occs, occurrence{userID: p.UserID, kind: ConversionPurchase, name: p.ProductID, at: p.Time, revenue: p.Price})
	}
	if len(occs) == 0 || len(convs) == 0 {
		return nil
	}
	var users []int64
	since := occs[0].at
	for _, o := range occs {
		users = append(users, o.userID)
		since = minTime(since, o.at)
	}
	slices.Sort(users)
	users = slices.Compact(users)
	ids := make([]string, len(convs))
	for i, c := range convs {
		ids[i] = c.id
	}
	sends, err := ctx2.UserSendsSince(ctx, users, ids, since.Add(-maxConversionWindow))
	if err != nil {
		return err
	}
	var out []Conversion
	seen := map[string]bool{}
	for _, o := range occs {
		for _, c := range convs {
			for i := range c.events {
				if !c.matches(i, o) {
					continue
				}
				var last *UserSend
				for j := range sends {
					s := &sends[j]
					if s.UserID == o.userID && s.CampaignID == c.id && !s.At.After(o.at) && o.at.Sub(s.At) <= c.windows[i] &&
						(last == nil || s.At.After(last.At)) {
						last = s
					}
				}
				key := c.id + "\x00" + strconv.FormatInt(o.userID, 10) + "\x00" + strconv.Itoa(i)
				if last == nil || seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, Conversion{CampaignID: c.id, UserID: o.userID, Index: i, DispatchID: last.DispatchID, At: o.at, Revenue: o.revenue})
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return ctx2.AddConversions(ctx, out)
}

// ConversionCounts counts a campaign's conversions by variant (as
// VariantCounts names them) and conversion event index, with their revenue.
func (s *Service) ConversionCounts(ctx context.Context, campaignID string) (map[string]map[int]int64, map[string]float64, error) {
	cs, err := s.st.Conversions(ctx, campaignID)
	if err != nil {
		return nil, nil, err
	}
	counts, revenue := map[string]map[int]int64{}, map[string]float64{}
	dispatches := map[string]*Dispatch{}
	for _, c := range cs {
		d, ok := dispatches[c.DispatchID]
		if !ok {
			if d, err = s.st.Dispatch(ctx, c.DispatchID); err != nil {
				return nil, nil, err
			}
			dispatches[c.DispatchID] = d
		}
		v := VariantOf(d, c.UserID)
		if counts[v] == nil {
			counts[v] = map[int]int64{}
		}
		counts[v][c.Index]++
		revenue[v] += c.Revenue
	}
	return counts, revenue, nil
}
