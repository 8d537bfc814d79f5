package scheduler

import (
	"fmt"
	"slices"
	"time"
)

// WaveTimes is the instant each named zone's clocks reach local, under
// LocalTime.In's DST rules. Names that are not IANA zones (the empty name
// included) are left out: their users go with the company zone (PlanWaves
// does that). A name given twice appears once.
func WaveTimes(local LocalTime, zones []string) map[string]time.Time {
	out := make(map[string]time.Time, len(zones))
	for _, name := range zones {
		if _, done := out[name]; done {
			continue
		}
		if loc, err := LoadZone(name); err == nil {
			out[name] = local.In(loc).UTC()
		}
	}
	return out
}

// PassedEverywhere reports whether every zone's clocks, the last one's
// (UTC−12) included, have passed l by now: a local-time send for l can reach
// nobody on time (Braze answers such a schedule with an error).
func (l LocalTime) PassedEverywhere(now time.Time) bool {
	return l.In(lastWaveZone).Before(now)
}

// FirstWave is the instant the first zone's clocks (UTC+14) reach l: no
// wave of a local-time send of l is earlier.
func (l LocalTime) FirstWave() time.Time {
	return l.In(firstWaveZone).UTC()
}

// Policy says what happens to a zone whose moment has already passed when a
// local-time send launches.
type Policy int

const (
	// PolicySkip leaves the zone out (Braze's behaviour). A recurring
	// campaign uses it: the zone gets the next occurrence anyway.
	PolicySkip Policy = iota
	// PolicyNextOccurrence sends to the zone the next time its clocks show
	// the wall time: for a one-time scheduled send, the same wall time on
	// the next day (or the first later day still ahead of launch).
	PolicyNextOccurrence
)

// ParsePolicy reads "skip" or "next_occurrence".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "skip":
		return PolicySkip, nil
	case "next_occurrence":
		return PolicyNextOccurrence, nil
	}
	return 0, fmt.Errorf("passed-zone policy %q: want skip or next_occurrence", s)
}

func (p Policy) String() string {
	switch p {
	case PolicySkip:
		return "skip"
	case PolicyNextOccurrence:
		return "next_occurrence"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Wave is one instant of a local-time send and the zones sent at it: zones
// sharing an offset at that moment share a wave.
type Wave struct {
	At    time.Time // UTC
	Zones []string  // as given to PlanWaves, sorted
}

// Plan is a local-time send cut into waves. All waves belong to one dispatch.
type Plan struct {
	Waves []Wave // in order of At, all at or after launch
	// Skipped are zones whose moment had passed at launch (PolicySkip).
	Skipped []string
	// Deferred are zones whose moment had passed at launch and that were
	// moved to a later day (PolicyNextOccurrence); they are in Waves too.
	Deferred []string
	// Defaulted are names that are not IANA zones ("" for users with no
	// zone); they are sent with the company zone and are in its wave.
	Defaulted []string
}

// Zone returns the wave that sends to the named zone, as given to PlanWaves.
func (p Plan) Zone(name string) (Wave, bool) {
	for _, w := range p.Waves {
		if slices.Contains(w.Zones, name) {
			return w, true
		}
	}
	return Wave{}, false
}

// PlanWaves cuts a local-time send of local into waves for the users' zone
// names, launched at launch. A name that is not an IANA zone ("" for users
// with no zone) is sent with defaultZone, the company's zone, which must be
// valid. A zone whose moment is before launch follows policy; a moment equal
// to launch is due, not passed.
func PlanWaves(local LocalTime, zones []string, defaultZone string, launch time.Time, policy Policy) (Plan, error) {
	def, err := LoadZone(defaultZone)
	if err != nil {
		return Plan{}, fmt.Errorf("default time zone: %w", err)
	}
	var plan Plan
	byInstant := map[time.Time][]string{}
	seen := map[string]bool{}
	for _, name := range zones {
		if seen[name] {
			continue
		}
		seen[name] = true
		loc, err := LoadZone(name)
		if err != nil {
			loc = def
			plan.Defaulted = append(plan.Defaulted, name)
		}
		at := local.In(loc).UTC()
		if at.Before(launch) {
			if policy != PolicyNextOccurrence {
				plan.Skipped = append(plan.Skipped, name)
				continue
			}
			at = nextDay(local, loc, launch)
			plan.Deferred = append(plan.Deferred, name)
		}
		byInstant[at] = append(byInstant[at], name)
	}
	for at, names := range byInstant {
		slices.Sort(names)
		plan.Waves = append(plan.Waves, Wave{At: at, Zones: names})
	}
	slices.SortFunc(plan.Waves, func(a, b Wave) int { return a.At.Compare(b.At) })
	for _, s := range [][]string{plan.Skipped, plan.Deferred, plan.Defaulted} {
		slices.Sort(s)
	}
	return plan, nil
}

// nextDay is the first day after local's whose wall time in loc is at or
// after launch.
func nextDay(local LocalTime, loc *time.Location, launch time.Time) time.Time {
	days := 1
	if behind := launch.Sub(local.In(loc)); behind > 48*time.Hour {
		days = int(behind/(24*time.Hour)) - 1 // skip ahead; the loop finishes
	}
	for {
		at := local.AddDays(days).In(loc).UTC()
		if !at.Before(launch) {
			return at
		}
		days++
	}
}
