package templates

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The fast path renders templates that are plain substitution — text and
// {{ a.b["c"][0] }} outputs without filters, tags or whitespace control —
// without osteele/liquid. It follows osteele/liquid's lookup rules and the
// output tag's writing rules for the common value types and hands anything else (a struct, a typed map, a
// Drop) back to the full renderer.

type stepKind uint8

const (
	stepRoot     stepKind = iota // a variable
	stepProperty                 // .name
	stepKey                      // ["name"]
	stepIndex                    // [0]
)

type pathStep struct {
	kind  stepKind
	key   string
	index int
}

// fastPart is text (path nil) or an output.
type fastPart struct {
	text string
	path []pathStep
}

// fastTemplate is a compiled plain-substitution template.
type fastTemplate struct {
	parts []fastPart
	size  int // bytes of text, to size the output
}

// compileFast returns the fast form of a template, its whole output when it
// has no Liquid at all, or nothing when it needs the full renderer.
func compileFast(regions []region) (ft *fastTemplate, static string, isStatic bool) {
	ft = &fastTemplate{}
	var text strings.Builder
	outputs := 0
	for _, r := range regions {
		switch {
		case r.kind == textRegion:
			text.WriteString(r.body)
			ft.parts = append(ft.parts, fastPart{text: r.body})
			ft.size += len(r.body)
		case r.kind == objectRegion && !r.trimL && !r.trimR:
			expr, err := rewriteExpr(r.body)
			if err != nil {
				return nil, "", false
			}
			if expr == "" {
				continue
			}
			path, ok := parsePath(expr)
			if !ok {
				return nil, "", false
			}
			ft.parts = append(ft.parts, fastPart{path: path})
			outputs++
		default:
			return nil, "", false
		}
	}
	if outputs == 0 {
		return nil, text.String(), true
	}
	return ft, "", false
}

// parsePath parses a variable path: name, then .name, ["key"], ['key'] or [n]
// steps, with no spaces.
func parsePath(s string) ([]pathStep, bool) {
	name, i := scanIdent(s, 0)
	switch name {
	case "", "true", "false", "nil", "and", "or", "contains", "in":
		return nil, false
	}
	path := []pathStep{{kind: stepRoot, key: name}}
	for i < len(s) {
		switch s[i] {
		case '.':
			name, i = scanIdent(s, i+1)
			if name == "" {
				return nil, false
			}
			path = append(path, pathStep{kind: stepProperty, key: name})
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, false
			}
			arg := s[i+1 : i+end]
			i += end + 1
			if len(arg) >= 2 && (arg[0] == '"' || arg[0] == '\'') && arg[len(arg)-1] == arg[0] &&
				strings.IndexByte(arg[1:len(arg)-1], arg[0]) < 0 {
				path = append(path, pathStep{kind: stepKey, key: arg[1 : len(arg)-1]})
				continue
			}
			n, err := strconv.Atoi(arg)
			if err != nil || strings.HasPrefix(arg, "+") {
				return nil, false
			}
			path = append(path, pathStep{kind: stepIndex, index: n})
		default:
			return nil, false
		}
	}
	return path, true
}

// scanIdent reads an osteele/liquid identifier at i.
func scanIdent(s string, i int) (string, int) {
	j := i
	if j >= len(s) || !(s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
		return "", i
	}
	for j < len(s) && (isWordChar(s[j]) || s[j] == '-') {
		j++
	}
	if j < len(s) && s[j] == '?' {
		j++
	}
	return s[i:j], j
}

// render renders ft, or reports false when a value needs the full renderer.
func (ft *fastTemplate) render(vars map[string]any) (string, bool) {
	var b strings.Builder
	b.Grow(ft.size + 16*len(ft.parts))
	for _, p := range ft.parts {
		if p.path == nil {
			b.WriteString(p.text)
			continue
		}
		v, ok := lookup(vars, p.path)
		if !ok || !writeValue(&b, v) {
			return "", false
		}
	}
	return b.String(), true
}

func lookup(vars map[string]any, path []pathStep) (any, bool) {
	v := vars[path[0].key]
	for _, st := range path[1:] {
		var ok bool
		if v, ok = step(v, st); !ok {
			return nil, false
		}
	}
	return v, true
}

// step applies one property or index step as osteele/liquid's values package
// does, for the types it knows.
func step(v any, st pathStep) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case map[string]any:
		return mapStep(x, st)
	case Vars:
		return mapStep(x, st)
	case []any:
		switch {
		case st.kind == stepIndex:
			n := st.index
			if n < 0 {
				n += len(x)
			}
			if n >= 0 && n < len(x) {
				return x[n], true
			}
			return nil, true
		case st.kind == stepProperty && len(x) > 0 && st.key == "first":
			return x[0], true
		case st.kind == stepProperty && len(x) > 0 && st.key == "last":
			return x[len(x)-1], true
		case st.kind == stepProperty && st.key == "size":
			return len(x), true
		}
		return nil, true
	case string:
		if st.kind == stepProperty && st.key == "size" {
			return len(x), true
		}
		return nil, true
	case bool, int, int64, float64, json.Number:
		return nil, true
	}
	return nil, false
}

func mapStep(m map[string]any, st pathStep) (any, bool) {
	switch st.kind {
	case stepIndex:
		return nil, false // osteele/liquid converts the number to a one-rune key
	case stepKey:
		return m[st.key], true
	}
	if x, ok := m[st.key]; ok {
		return x, true
	}
	if st.key == "size" {
		return len(m), true
	}
	return nil, true
}

// writeValue writes v as outputs do (liquidString), or reports false.
func writeValue(b *strings.Builder, v any) bool {
	switch x := v.(type) {
	case nil:
	case string:
		b.WriteString(x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64, json.Number, time.Time:
		b.WriteString(liquidString(x))
	default:
		return false
	}
	return true
}
