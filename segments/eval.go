package segments

import (
	"time"

	"github.com/herald-oss/herald/profiles"
)

const dayMS = 24 * 60 * 60 * 1000

// clock is the time a filter is evaluated at, in the forms comparisons use.
type clock struct {
	nowMS int64
	today int64 // UTC day number (days since the Unix epoch)
}

func newClock(now time.Time) clock {
	ms := now.UnixMilli()
	return clock{nowMS: ms, today: floorDiv(ms, dayMS)}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// timeRange is the half-open [lo, hi) range of Unix ms a time comparison
// accepts; hasLo/hasHi say which ends bound it.
type timeRange struct {
	lo, hi       int64
	hasLo, hasHi bool
}

// rangeFor turns a time comparison into a range at c. "less than X days ago"
// is (now − X days, now], so its range is [now − X days + 1ms, now + 1ms).
func (c clock) rangeFor(n *node) timeRange {
	d := n.days * dayMS
	switch n.cmp {
	case cBefore:
		return timeRange{hi: n.ms, hasHi: true}
	case cAfter:
		return timeRange{lo: n.ms + 1, hasLo: true}
	case cLtDaysAgo:
		return timeRange{lo: c.nowMS - d + 1, hi: c.nowMS + 1, hasLo: true, hasHi: true}
	case cGtDaysAgo:
		return timeRange{hi: c.nowMS - d, hasHi: true}
	case cLtDaysFuture:
		return timeRange{lo: c.nowMS, hi: c.nowMS + d, hasLo: true, hasHi: true}
	case cGtDaysFuture:
		return timeRange{lo: c.nowMS + d + 1, hasLo: true}
	}
	return timeRange{}
}

func (r timeRange) contains(ms int64) bool {
	return (!r.hasLo || ms >= r.lo) && (!r.hasHi || ms < r.hi)
}

// Eval reports whether the profile is in the filter's audience at now. It
// reads p.User, p.Devices, p.Apps, p.Events (all-time summaries) and
// p.Recent (day rollups of the last RecentDays days). A filter that still
// references segments (not Resolve'd) evaluates those references as false.
func (f *Filter) Eval(p *profiles.Profile, now time.Time) bool {
	if p == nil || p.User == nil {
		return false
	}
	return evalNode(f.root, p, newClock(now))
}

func evalNode(n *node, p *profiles.Profile, c clock) bool {
	switch n.kind {
	case kAnd:
		for _, k := range n.kids {
			if !evalNode(k, p, c) {
				return false
			}
		}
		return true
	case kOr:
		for _, k := range n.kids {
			if evalNode(k, p, c) {
				return true
			}
		}
		return false
	case kNot:
		return !evalNode(n.kids[0], p, c)
	case kSegment:
		return false
	}
	pos, neg := n.cmp.positive()
	return evalLeaf(n, pos, p, c) != neg
}

// evalLeaf evaluates a leaf with its positive comparison pos.
func evalLeaf(n *node, pos cmp, p *profiles.Profile, c clock) bool {
	u := p.User
	switch n.kind {
	case kCustom:
		return evalCustom(n, pos, u.Custom[n.name], c)
	case kAttr:
		return evalString(n, pos, standardAttrs[n.name].get(u))
	case kPushSub:
		return subscription(u.Standard.PushSubscribe) == n.str
	case kEmailSub:
		return subscription(u.Standard.EmailSubscribe) == n.str
	case kPushEnabled:
		for _, d := range p.Devices {
			if d.Valid() && d.PushEnabled && (n.platform == "" || d.Platform == n.platform) && (n.appID == "" || d.AppID == n.appID) {
				return true
			}
		}
		return false
	case kLastUsed, kFirstUsed:
		t := u.LastSessionAt
		if n.kind == kFirstUsed {
			t = u.FirstSessionAt
		}
		return !t.IsZero() && c.rangeFor(n).contains(t.UnixMilli())
	case kSessionCount:
		var total int64
		for _, a := range p.Apps {
			total += a.Sessions
		}
		return compareNum(pos, float64(total), n.num)
	case kSessionsInDays:
		return compareNum(pos, float64(sumDays(p.Recent.Sessions, "", false, c.today-n.days)), n.num)
	case kEvent:
		return compareNum(pos, float64(sumDays(p.Recent.Events, n.name, true, c.today-n.days)), n.num)
	case kPurchase:
		return compareNum(pos, float64(sumDays(p.Recent.Purchases, n.name, n.name != "", c.today-n.days)), n.num)
	case kEventLast, kEventFirst:
		return evalDid(n, p.Events, c)
	case kMoney:
		spent := u.TotalRevenue
		if n.hasDays {
			spent = 0
			for _, d := range p.Recent.Purchases {
				if d.Day >= c.today-n.days {
					spent += d.Revenue
				}
			}
		}
		return compareMoney(pos, spent, n.num)
	case kBucket:
		return compareNum(pos, float64(u.RandomBucket), n.num)
	}
	return false
}

// subscription is a stored subscription state; an unset one is the
// database's default, subscribed.
func subscription(s string) string {
	if s == "" {
		return "subscribed"
	}
	return s
}

// sumDays adds the counts of days on or after since, of one name when byName.
func sumDays(days []profiles.DayCount, name string, byName bool, since int64) int64 {
	var n int64
	for _, d := range days {
		if d.Day >= since && (!byName || d.Name == name) {
			n += d.Count
		}
	}
	return n
}

func evalDid(n *node, events []profiles.Summary, c clock) bool {
	for _, s := range events {
		if s.Name != n.name || s.Count == 0 {
			continue
		}
		if n.cmp == cNever {
			return false
		}
		t := s.Last
		if n.kind == kEventFirst {
			t = s.First
		}
		return c.rangeFor(n).contains(t.UnixMilli())
	}
	return n.cmp == cNever
}

func evalString(n *node, pos cmp, s string) bool {
	switch pos {
	case cExists:
		return s != ""
	case cEq:
		return s != "" && s == n.str
	case cRegex:
		return s != "" && n.re.MatchString(s)
	}
	return false
}

func evalCustom(n *node, pos cmp, v any, c clock) bool {
	if pos == cExists {
		return v != nil
	}
	switch n.vt {
	case vString:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if pos == cRegex {
			return n.re.MatchString(s)
		}
		return s == n.str
	case vNumber:
		x, ok := v.(float64)
		return ok && compareNum(pos, x, n.num)
	case vBool:
		x, ok := v.(bool)
		return ok && x == n.b
	case vTime:
		t, ok := v.(time.Time)
		return ok && c.rangeFor(n).contains(t.UnixMilli())
	case vArray:
		arr, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range arr {
			switch x := e.(type) {
			case string:
				if n.elem == vString && x == n.str {
					return true
				}
			case float64:
				if n.elem == vNumber && x == n.num {
					return true
				}
			case bool:
				if n.elem == vBool && x == n.b {
					return true
				}
			}
		}
	}
	return false
}
