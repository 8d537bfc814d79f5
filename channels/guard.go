package channels

import "fmt"

// massInvalidMin and massInvalidShare decide when "invalid token" answers are a
// sign of a wrong environment (APNs sandbox vs production, wrong topic or FCM
// project) rather than of dead devices: at least this many, and more than this
// share of a batch.
const (
	massInvalidMin   = 3
	massInvalidShare = 0.05
)

// GuardMassInvalidation rewrites a batch's results when too many tokens came back
// invalid at once: instead of pruning every token (which a misconfigured app
// would do to its whole audience), those messages are retried and the channel
// paused. isInvalid picks the answers that would prune a token for being
// invalid (not for being unregistered, which is always trusted). It reports
// whether it rewrote anything.
func GuardMassInvalidation(results []Result, isInvalid func(Result) bool) bool {
	n := 0
	for _, r := range results {
		if isInvalid(r) {
			n++
		}
	}
	if n < massInvalidMin || float64(n) <= massInvalidShare*float64(len(results)) {
		return false
	}
	for i, r := range results {
		if isInvalid(r) {
			results[i] = Result{Outcome: Retry, Reason: r.Reason, Pause: true,
				Err: fmt.Errorf("%d of %d tokens in the batch reported invalid: likely a wrong environment, topic or project, so none is pruned: %w", n, len(results), r.Err)}
		}
	}
	return true
}
