package segments

// cmp is a comparison. Negative ones are evaluated as NOT of their positive
// form (positive, negated).
type cmp uint8

const (
	cNone cmp = iota
	cEq
	cNe
	cGt
	cGe
	cLt
	cLe
	cRegex
	cNotRegex
	cExists
	cNotExists
	cBefore
	cAfter
	cLtDaysAgo
	cGtDaysAgo
	cLtDaysFuture
	cGtDaysFuture
	cIncludes
	cNotIncludes
	cNever
)

// positive returns the positive form of c and whether c negates it.
func (c cmp) positive() (cmp, bool) {
	switch c {
	case cNe:
		return cEq, true
	case cNotRegex:
		return cRegex, true
	case cNotExists:
		return cExists, true
	case cNotIncludes:
		return cIncludes, true
	}
	return c, false
}

// Comparison names per type, as Braze spells them.
var (
	stringCmps = map[string]cmp{"equals": cEq, "not_equal": cNe, "does_not_equal": cNe, "matches_regex": cRegex,
		"does_not_match_regex": cNotRegex, "exists": cExists, "does_not_exist": cNotExists}
	numberCmps = map[string]cmp{"equals": cEq, "not_equal": cNe, "does_not_equal": cNe, "greater_than": cGt,
		"greater_than_or_equal_to": cGe, "less_than": cLt, "less_than_or_equal_to": cLe,
		"exists": cExists, "does_not_exist": cNotExists}
	boolCmps = map[string]cmp{"equals": cEq, "does_not_equal": cNe, "not_equal": cNe,
		"exists": cExists, "does_not_exist": cNotExists}
	timeCmps = map[string]cmp{"before": cBefore, "after": cAfter,
		"less_than_x_days_ago": cLtDaysAgo, "greater_than_x_days_ago": cGtDaysAgo,
		"less_than_x_days_in_the_future": cLtDaysFuture, "greater_than_x_days_in_the_future": cGtDaysFuture,
		"exists": cExists, "does_not_exist": cNotExists}
	arrayCmps = map[string]cmp{"includes_value": cIncludes, "does_not_include_value": cNotIncludes,
		"exists": cExists, "does_not_exist": cNotExists}
	// countCmps compare a count of events or purchases over days.
	countCmps = map[string]cmp{"more_than": cGt, "less_than": cLt, "exactly": cEq}
	// usedCmps compare first or last use of the app.
	usedCmps = map[string]cmp{"before": cBefore, "after": cAfter,
		"less_than_x_days_ago": cLtDaysAgo, "greater_than_x_days_ago": cGtDaysAgo}
	// didCmps compare the first or last time an event happened.
	didCmps = map[string]cmp{"less_than_x_days_ago": cLtDaysAgo, "greater_than_x_days_ago": cGtDaysAgo, "never": cNever}
	// statusCmps compare a subscription status.
	statusCmps = map[string]cmp{"is": cEq, "is_not": cNe}
	// segmentCmps test membership of another segment.
	segmentCmps = map[string]cmp{"in": cEq, "not_in": cNe}
)

// cmpsFor returns the comparisons of a value type.
func cmpsFor(t vtype) map[string]cmp {
	switch t {
	case vString:
		return stringCmps
	case vNumber:
		return numberCmps
	case vBool:
		return boolCmps
	case vTime:
		return timeCmps
	case vArray:
		return arrayCmps
	}
	return nil
}

// compareNum applies a number comparison.
func compareNum(c cmp, a, b float64) bool {
	switch c {
	case cEq:
		return a == b
	case cGt:
		return a > b
	case cGe:
		return a >= b
	case cLt:
		return a < b
	case cLe:
		return a <= b
	}
	return false
}

// moneyEpsilon absorbs the rounding of summing prices in another order.
const moneyEpsilon = 1e-9

// compareMoney applies a number comparison with moneyEpsilon.
func compareMoney(c cmp, a, b float64) bool {
	switch c {
	case cEq:
		return a > b-moneyEpsilon && a < b+moneyEpsilon
	case cGt:
		return a > b+moneyEpsilon
	case cGe:
		return a > b-moneyEpsilon
	case cLt:
		return a < b-moneyEpsilon
	case cLe:
		return a < b+moneyEpsilon
	}
	return false
}
