package segments

import (
	"encoding/json"
	"strings"
)

// measureCmps compare counts and amounts: the number comparisons without
// exists, and Braze's more_than, less_than and exactly.
var measureCmps = map[string]cmp{"equals": cEq, "not_equal": cNe, "does_not_equal": cNe, "greater_than": cGt,
	"greater_than_or_equal_to": cGe, "less_than": cLt, "less_than_or_equal_to": cLe,
	"more_than": cGt, "exactly": cEq}

// customType infers the type a custom_attribute comparison applies to.
func customType(name string, v any, hasValue bool) (vtype, bool) {
	switch name {
	case "matches_regex", "does_not_match_regex":
		return vString, true
	case "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to":
		return vNumber, true
	case "before", "after", "less_than_x_days_ago", "greater_than_x_days_ago",
		"less_than_x_days_in_the_future", "greater_than_x_days_in_the_future":
		return vTime, true
	case "includes_value", "does_not_include_value":
		return vArray, true
	case "exists", "does_not_exist":
		return vAny, true
	case "equals", "not_equal", "does_not_equal":
		if !hasValue {
			return vAny, false
		}
		switch v.(type) {
		case string:
			return vString, true
		case json.Number:
			return vNumber, true
		case bool:
			return vBool, true
		}
	}
	return vAny, false
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return "object"
}

func parseCustom(l *leafInput) *node {
	n := &node{kind: kCustom, name: l.str("custom_attribute_name")}
	if strings.Contains(n.name, `"`) {
		l.bad("custom_attribute_name", `must not contain '"'`)
	}
	name := l.str("comparison")
	v, hasValue := l.get("value")
	vt, ok := customType(name, v, hasValue)
	switch {
	case name == "":
		return n
	case !ok && (name == "equals" || name == "not_equal" || name == "does_not_equal"):
		l.bad("value", "want a string, number or boolean")
		return n
	case !ok && hasValue:
		l.bad("comparison", "unknown comparison %q for %s", name, describe(v))
		return n
	case !ok:
		l.bad("comparison", "unknown comparison %q", name)
		return n
	}
	n.vt = vt
	if vt == vAny {
		n.cmp = stringCmps[name]
		return n
	}
	n.cmp = cmpsFor(vt)[name]
	if n.cmp == cNone {
		l.bad("comparison", "unknown comparison %q for %s", name, vtypeNames[vt])
		return n
	}
	if !hasValue {
		l.bad("value", "required")
		return n
	}
	switch vt {
	case vString:
		s, ok := v.(string)
		if !ok {
			l.bad("value", "want a string")
			return n
		}
		n.str = s
		if n.cmp == cRegex || n.cmp == cNotRegex {
			l.regex(n, s)
		}
	case vNumber:
		n.num = l.num("value")
	case vBool:
		n.b = v.(bool)
	case vTime:
		l.timeCmpValue(n)
	case vArray:
		switch x := v.(type) {
		case string:
			n.elem, n.str = vString, x
		case json.Number:
			n.elem, n.num = vNumber, l.num("value")
		case bool:
			n.elem, n.b = vBool, x
		default:
			l.bad("value", "want a string, number or boolean, got %s", describe(v))
		}
	}
	return n
}

// regex compiles a pattern into n.
func (l *leafInput) regex(n *node, pattern string) {
	re, pg, fold, err := compileRegex(pattern)
	if err != nil {
		l.bad("value", "%v", err)
		return
	}
	n.re, n.pgRegex, n.reFold = re, pg, fold
}

func parseAttr(l *leafInput) *node {
	n := &node{kind: kAttr, vt: vString, name: l.str("name")}
	if _, ok := standardAttrs[n.name]; n.name != "" && !ok {
		l.bad("name", "unknown attribute %q (want one of %s)", n.name, strings.Join(standardAttrNames(), ", "))
	}
	n.cmp = l.comparison(stringCmps, "string")
	switch n.cmp {
	case cEq, cNe:
		n.str = l.strValue("value")
	case cRegex, cNotRegex:
		if s := l.str("value"); s != "" {
			l.regex(n, s)
		}
	default:
		l.used["value"] = true
	}
	return n
}

// strValue reads a required string (which may be empty).
func (l *leafInput) strValue(field string) string {
	v, ok := l.get(field)
	s, isStr := v.(string)
	if !ok || !isStr {
		l.bad(field, "want a string")
	}
	return s
}

var subscriptionStates = map[string]bool{"opted_in": true, "subscribed": true, "unsubscribed": true}

func parseStatus(l *leafInput, k kind) *node {
	n := &node{kind: k, cmp: l.comparison(statusCmps, "a subscription status")}
	if n.str = l.str("value"); n.str != "" && !subscriptionStates[n.str] {
		l.bad("value", "want opted_in, subscribed or unsubscribed, got %q", n.str)
	}
	return n
}

func parsePushEnabled(l *leafInput) *node {
	n := &node{kind: kPushEnabled, platform: l.optStr("platform"), appID: l.optStr("app_id")}
	switch n.platform {
	case "", "ios", "android", "web":
	default:
		l.bad("platform", "want ios, android or web, got %q", n.platform)
	}
	return n
}

func parseUsed(l *leafInput, k kind) *node {
	n := &node{kind: k, cmp: l.comparison(usedCmps, "a time")}
	l.timeCmpValue(n)
	return n
}

// maxCount bounds counts and count values.
const maxCount = 1_000_000_000

func parseSessionCount(l *leafInput) *node {
	n := &node{kind: kSessionCount, cmp: l.comparison(measureCmps, "a count")}
	n.num = float64(l.whole("value", 0, maxCount))
	return n
}

func parseSessionsInDays(l *leafInput) *node {
	n := &node{kind: kSessionsInDays, cmp: l.comparison(measureCmps, "a count")}
	n.days = l.whole("days", 1, 30)
	n.num = float64(l.whole("value", 0, maxCount))
	return n
}

func parseEvent(l *leafInput) *node {
	n := &node{kind: kEvent, name: l.str("event_name"), cmp: l.comparison(countCmps, "a count")}
	n.num = float64(l.whole("count", 0, maxCount))
	n.days = l.whole("days", 1, 30)
	return n
}

func parseDid(l *leafInput, k kind) *node {
	n := &node{kind: k, name: l.str("event_name"), cmp: l.comparison(didCmps, "a time")}
	if n.cmp == cNever {
		l.used["value"] = true
	} else {
		n.days = l.whole("value", 0, maxDays)
	}
	return n
}

func parsePurchase(l *leafInput) *node {
	n := &node{kind: kPurchase, name: l.optStr("product_id"), cmp: l.comparison(countCmps, "a count")}
	n.num = float64(l.whole("count", 0, maxCount))
	n.days = l.whole("days", 1, 30)
	return n
}

func parseMoney(l *leafInput) *node {
	n := &node{kind: kMoney, cmp: l.comparison(measureCmps, "an amount")}
	n.num = l.num("value")
	if _, ok := l.fields["days"]; ok {
		n.hasDays, n.days = true, l.whole("days", 1, 30)
	}
	l.used["days"] = true
	return n
}

func parseBucket(l *leafInput) *node {
	n := &node{kind: kBucket, cmp: l.comparison(measureCmps, "a number")}
	n.num = float64(l.whole("value", 0, 10000))
	return n
}

func parseSegment(l *leafInput) *node {
	n := &node{kind: kSegment, name: l.str("segment_id"), cmp: l.comparison(segmentCmps, "a segment")}
	if n.name != "" {
		l.p.refs[n.name] = true
	}
	return n
}
