package segments_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// genFilter returns a random valid filter as JSON, up to depth levels of
// AND/OR/NOT, drawing names and values from the pools populate uses.
func genFilter(rng *rand.Rand, depth int, refs bool) string {
	b, _ := json.Marshal(genNode(rng, depth, refs))
	return string(b)
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

func genNode(rng *rand.Rand, depth int, refs bool) map[string]any {
	if depth > 0 && rng.IntN(3) == 0 {
		switch rng.IntN(3) {
		case 0, 1:
			kids := make([]any, rng.IntN(4))
			for i := range kids {
				kids[i] = genNode(rng, depth-1, refs)
			}
			return map[string]any{pick(rng, "AND", "OR"): kids}
		default:
			return map[string]any{"NOT": genNode(rng, depth-1, refs)}
		}
	}
	return genLeaf(rng, refs)
}

var (
	numCmps   = []string{"equals", "not_equal", "does_not_equal", "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to"}
	timeCmps  = []string{"before", "after", "less_than_x_days_ago", "greater_than_x_days_ago", "less_than_x_days_in_the_future", "greater_than_x_days_in_the_future"}
	countCmps = []string{"more_than", "less_than", "exactly"}
)

func genTimeValue(rng *rand.Rand, cmp string) any {
	switch cmp {
	case "before", "after":
		return diffNow.Add(time.Duration(rng.Int64N(int64(120*24*time.Hour))) - 60*24*time.Hour).Format(time.RFC3339)
	}
	return float64(rng.IntN(45))
}

func genLeaf(rng *rand.Rand, refs bool) map[string]any {
	leaf := func(name string, body map[string]any) map[string]any { return map[string]any{name: body} }
	n := 15
	if refs {
		n++
	}
	switch rng.IntN(n) {
	case 0: // custom string
		cmp := pick(rng, "equals", "not_equal", "does_not_equal", "matches_regex", "does_not_match_regex", "exists", "does_not_exist")
		v := any(pick(rng, "gold", "silver", "Gold", "", "ünï", "x"))
		if cmp == "matches_regex" || cmp == "does_not_match_regex" {
			v = pick(rng, "^gold", "(?i)gold", "old$", "^g.*n$", "[ü]", `\d`, "si(l|x)ver", "^$", "o{2,}", "[^a-z]")
		}
		return leaf("custom_attribute", map[string]any{"custom_attribute_name": pick(rng, "plan", "odd key", "score", "tags"), "comparison": cmp, "value": v})
	case 1: // custom number
		cmp := pick(rng, numCmps...)
		return leaf("custom_attribute", map[string]any{"custom_attribute_name": pick(rng, "score", "plan", "signup"), "comparison": cmp,
			"value": pick(rng, 0.0, 1.0, 2.5, 10.0, -3.0, 50.0)})
	case 2: // custom bool
		return leaf("custom_attribute", map[string]any{"custom_attribute_name": pick(rng, "vip", "score"),
			"comparison": pick(rng, "equals", "does_not_equal"), "value": rng.IntN(2) == 0})
	case 3: // custom time
		cmp := pick(rng, timeCmps...)
		return leaf("custom_attribute", map[string]any{"custom_attribute_name": pick(rng, "signup", "plan"), "comparison": cmp, "value": genTimeValue(rng, cmp)})
	case 4: // custom array
		return leaf("custom_attribute", map[string]any{"custom_attribute_name": pick(rng, "tags", "nums", "plan"),
			"comparison": pick(rng, "includes_value", "does_not_include_value"), "value": pick[any](rng, "a", "b", "A", "x", 1.0, 2.5, true)})
	case 5: // exists
		return leaf("custom_attribute", map[string]any{"custom_attribute_name": pick(rng, "plan", "score", "vip", "signup", "tags", "nope"),
			"comparison": pick(rng, "exists", "does_not_exist")})
	case 6: // standard attribute
		cmp := pick(rng, "equals", "not_equal", "matches_regex", "does_not_match_regex", "exists", "does_not_exist")
		v := any(pick(rng, "Ada", "ada", "US", "GB", "Zoë"))
		if cmp == "matches_regex" || cmp == "does_not_match_regex" {
			v = pick(rng, "^A", "(?i)^ada", "ë", "@example", "^U")
		}
		return leaf("attribute", map[string]any{"name": pick(rng, "first_name", "country", "email", "external_id"), "comparison": cmp, "value": v})
	case 7:
		return leaf(pick(rng, "push_subscription_status", "email_subscription_status"), map[string]any{"comparison": pick(rng, "is", "is_not"),
			"value": pick(rng, "opted_in", "subscribed", "unsubscribed")})
	case 8:
		body := map[string]any{}
		if rng.IntN(2) == 0 {
			body["platform"] = pick(rng, "ios", "android", "web")
		}
		if rng.IntN(3) == 0 {
			body["app_id"] = pick(rng, "app-ios", "app-and")
		}
		return leaf("push_enabled", body)
	case 9:
		cmp := pick(rng, "before", "after", "less_than_x_days_ago", "greater_than_x_days_ago")
		return leaf(pick(rng, "last_used_app", "first_used_app"), map[string]any{"comparison": cmp, "value": genTimeValue(rng, cmp)})
	case 10:
		if rng.IntN(2) == 0 {
			return leaf("session_count", map[string]any{"comparison": pick(rng, numCmps...), "value": float64(rng.IntN(6))})
		}
		return leaf("sessions_in_last_x_days", map[string]any{"days": float64(1 + rng.IntN(30)), "comparison": pick(rng, append(numCmps, "more_than", "exactly")...), "value": float64(rng.IntN(4))})
	case 11:
		return leaf("custom_event", map[string]any{"event_name": pick(rng, "open", "buy", "share", "never"), "comparison": pick(rng, countCmps...),
			"count": float64(rng.IntN(4)), "days": float64(1 + rng.IntN(30))})
	case 12:
		cmp := pick(rng, "less_than_x_days_ago", "greater_than_x_days_ago", "never")
		body := map[string]any{"event_name": pick(rng, "open", "buy", "share", "never"), "comparison": cmp}
		if cmp != "never" {
			body["value"] = float64(rng.IntN(45))
		}
		return leaf(pick(rng, "custom_event_last_did", "custom_event_first_did"), body)
	case 13:
		body := map[string]any{"comparison": pick(rng, countCmps...), "count": float64(rng.IntN(3)), "days": float64(1 + rng.IntN(30))}
		if rng.IntN(2) == 0 {
			body["product_id"] = pick(rng, "p1", "p2", "p3")
		}
		if rng.IntN(2) == 0 {
			delete(body, "count")
			body["value"] = pick(rng, 0.0, 0.3, 0.6, 1.99, 2.29, 5.0, 7.3)
			delete(body, "product_id")
			body["comparison"] = pick(rng, append(numCmps, countCmps...)...)
			if rng.IntN(2) == 0 {
				delete(body, "days")
			}
			return leaf("money_spent", body)
		}
		return leaf("purchase", body)
	case 14:
		return leaf("random_bucket", map[string]any{"comparison": pick(rng, numCmps...), "value": float64(rng.IntN(10000))})
	default:
		return leaf("segment", map[string]any{"segment_id": fmt.Sprintf("s%d", rng.IntN(3)), "comparison": pick(rng, "in", "not_in")})
	}
}
