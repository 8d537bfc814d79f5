package segments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// RecentDays is how many UTC days of rollups (profiles.Profile.Recent) Eval
// needs: the longest window (30 days) plus the current day.
const RecentDays = 31

// maxDepth bounds nesting, segment references included.
const maxDepth = 32

// Filter is a parsed, validated filter. It is immutable and safe for
// concurrent use.
type Filter struct {
	root *node
	raw  json.RawMessage // canonical JSON of the input
	refs []string
}

type kind uint8

const (
	kAnd kind = iota
	kOr
	kNot
	kCustom         // custom_attribute
	kAttr           // attribute (standard)
	kPushSub        // push_subscription_status
	kEmailSub       // email_subscription_status
	kPushEnabled    // push_enabled
	kLastUsed       // last_used_app
	kFirstUsed      // first_used_app
	kSessionCount   // session_count
	kSessionsInDays // sessions_in_last_x_days
	kEvent          // custom_event
	kEventLast      // custom_event_last_did
	kEventFirst     // custom_event_first_did
	kPurchase       // purchase
	kMoney          // money_spent
	kBucket         // random_bucket
	kSegment        // segment (before Resolve)
)

// vtype is the type a comparison applies to.
type vtype uint8

const (
	vAny vtype = iota // exists, does_not_exist
	vString
	vNumber
	vBool
	vTime
	vArray
)

var vtypeNames = [...]string{vAny: "any", vString: "string", vNumber: "number", vBool: "boolean", vTime: "time", vArray: "array"}

// node is one node of the tree. Leaves use the fields their kind needs.
type node struct {
	kind kind
	kids []*node

	name     string // attribute key, column, event name, product id, segment id
	cmp      cmp
	vt       vtype
	elem     vtype   // includes_value: the value's type
	str      string  // string value (equals, includes_value of a string)
	num      float64 // number value, or count
	b        bool    // boolean value
	ms       int64   // absolute time, Unix ms (before, after)
	days     int64   // x days, or a window in days
	hasDays  bool    // money_spent with days
	re       *regexp.Regexp
	pgRegex  string // re translated for PostgreSQL
	reFold   bool   // (?i)
	platform string // push_enabled
	appID    string // push_enabled
}

// Problem is one invalid node: its path in the filter ("AND[2].OR[0].comparison")
// and what is wrong.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error lists every problem of a filter.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Path + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// parser collects problems while it walks the input.
type parser struct {
	problems []Problem
	refs     map[string]bool
}

func (p *parser) add(path, format string, args ...any) {
	if path == "" {
		path = "filter"
	}
	p.problems = append(p.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Parse parses and validates a filter. The error is an *Error naming the path
// of every bad node.
func Parse(data []byte) (*Filter, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Problems: []Problem{{Path: "filter", Message: "invalid JSON: " + err.Error()}}}
	}
	if dec.More() {
		return nil, &Error{Problems: []Problem{{Path: "filter", Message: "invalid JSON: data after the filter"}}}
	}
	p := &parser{refs: map[string]bool{}}
	root := p.node(v, "", 0)
	if len(p.problems) > 0 {
		return nil, &Error{Problems: p.problems}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("segments: canonical JSON: %w", err)
	}
	f := &Filter{root: root, raw: raw}
	for id := range p.refs {
		f.refs = append(f.refs, id)
	}
	sort.Strings(f.refs)
	return f, nil
}

// MarshalJSON returns the filter as canonical JSON (keys sorted).
func (f *Filter) MarshalJSON() ([]byte, error) { return f.raw, nil }

// Refs lists the segment ids the filter references directly, sorted.
func (f *Filter) Refs() []string { return append([]string(nil), f.refs...) }

func child(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// node parses one filter object: a combinator or a leaf.
func (p *parser) node(v any, path string, depth int) *node {
	if depth > maxDepth {
		p.add(path, "nested deeper than %d levels", maxDepth)
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 1 {
		p.add(path, "want an object with exactly one key (AND, OR, NOT or a filter name)")
		return nil
	}
	var key string
	var body any
	for key, body = range obj {
	}
	switch key {
	case "AND", "OR":
		arr, ok := body.([]any)
		if !ok {
			p.add(child(path, key), "want an array of filters")
			return nil
		}
		n := &node{kind: kAnd}
		if key == "OR" {
			n.kind = kOr
		}
		for i, x := range arr {
			n.kids = append(n.kids, p.node(x, fmt.Sprintf("%s[%d]", child(path, key), i), depth+1))
		}
		return n
	case "NOT":
		return &node{kind: kNot, kids: []*node{p.node(body, child(path, key), depth+1)}}
	}
	parse, ok := leafParsers[key]
	if !ok {
		p.add(child(path, key), "unknown filter %q", key)
		return nil
	}
	fields, ok := body.(map[string]any)
	if !ok {
		p.add(child(path, key), "want an object")
		return nil
	}
	// A leaf's fields are named from the node's path, as in
	// "AND[2].OR[0].comparison".
	l := &leafInput{p: p, path: path, fields: fields, used: map[string]bool{}}
	n := parse(l)
	l.unused()
	return n
}
