package segments

// Needs says which parts of a profile beyond the user row, devices and app
// usage Eval reads for a filter, so a caller can load only those.
type Needs struct {
	// Recent: day rollups of recent days (store.LoadRecent).
	Recent bool
	// EventSummaries: all-time custom event summaries (Profile.Events).
	EventSummaries bool
}

// Needs returns what Eval reads for the filter. A filter that still
// references segments needs everything (its references are unknown).
func (f *Filter) Needs() Needs {
	var n Needs
	needs(f.root, &n)
	return n
}

func needs(n *node, out *Needs) {
	switch n.kind {
	case kSessionsInDays, kEvent, kPurchase:
		out.Recent = true
	case kMoney:
		out.Recent = out.Recent || n.hasDays
	case kEventLast, kEventFirst:
		out.EventSummaries = true
	case kSegment:
		out.Recent, out.EventSummaries = true, true
	}
	for _, k := range n.kids {
		needs(k, out)
	}
}
