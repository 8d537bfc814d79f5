package campaigns

import (
	"time"

	"github.com/herald-oss/herald/profiles"
)

// SendsRetention is how long a user's recorded sends matter, given the
// global frequency caps and the campaigns: the longest cap window, every
// campaign's re-eligibility window, and the longest conversion window (30
// days) back from the oldest event the SDK still delivers (30 days old:
// conversions look back from the event's own time), plus two days for
// windows counted in calendar days in users' time zones. An event posted
// through /users/track with an older time finds no send to convert. The sends of campaigns re-eligible never matter for ever: their ids
// are returned apart, for the purge to keep. (A campaign edited to a longer
// window, or to never, after older sends were purged makes those users
// eligible again.)
func SendsRetention(caps []CapRule, cs []*Campaign) (keep time.Duration, forever []string) {
	keep = maxConversionWindow + profiles.SDKReplayWindow
	for _, c := range caps {
		keep = max(keep, c.Window.span())
	}
	for _, c := range cs {
		re := c.Definition.ReEligibility
		switch {
		case re == nil:
		case re.Never:
			forever = append(forever, c.ID)
		default:
			if w, err := ParseWindow(re.After); err == nil {
				keep = max(keep, w.span())
			}
		}
	}
	return keep + 2*24*time.Hour, forever
}
