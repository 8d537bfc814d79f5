package templates

import (
	"regexp"
	"strconv"
	"strings"
)

// rewriteExpr converts Braze's dialect in one Liquid expression to what
// osteele/liquid reads:
//
//	${first_name}                      → first_name
//	custom_attribute.${plan}           → custom_attribute.plan
//	custom_attribute.${favorite color} → custom_attribute["favorite color"]
//	x == blank, x != blank             → tests for nil, false and empty values
//	x == empty, x != empty             → tests for an empty string, array or map
//	{{ x }} inside an expression       → x ({% if {{custom_attribute.${n}}} > 0 %})
//
// Text inside string literals is left alone. A returned error's offset is
// relative to s.
func rewriteExpr(s string) (string, *posError) {
	if strings.Contains(s, "${") {
		var err *posError
		if s, err = rewriteRefs(s); err != nil {
			return "", err
		}
	}
	if strings.Contains(s, "{{") {
		s = stripNestedOutputs(s)
	}
	if strings.Contains(s, "blank") || strings.Contains(s, "empty") {
		s = rewriteBlank(s)
	}
	return s, nil
}

// stripNestedOutputs blanks the delimiters of the {{ ... }} Braze allows
// inside a tag's arguments or an output ({% assign b = {{custom_attribute.${n}}} %},
// {{ a | plus: {{b}} }}), which Ruby Liquid's lax parser reads as the
// expression inside. Offsets do not move.
func stripNestedOutputs(s string) string {
	b := []byte(s)
	var q quotes
	for i := 0; i+1 < len(b); i++ {
		c := b[i]
		switch {
		case q.in(c):
		case c == '{' && b[i+1] == '{', c == '}' && b[i+1] == '}':
			b[i], b[i+1] = ' ', ' '
			i++
		}
	}
	return string(b)
}

func rewriteRefs(s string) (string, *posError) {
	b := make([]byte, 0, len(s))
	var q quotes
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q.in(c):
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			k := strings.IndexByte(s[i+2:], '}')
			if k < 0 {
				return "", &posError{i, `"${" is not closed by "}"`}
			}
			name := strings.TrimSpace(s[i+2 : i+2+k])
			afterDot := len(b) > 0 && b[len(b)-1] == '.'
			switch {
			case name == "":
				return "", &posError{i, `empty "${}"`}
			case afterDot && isPlainIdent(name):
				b = append(b, name...)
			case afterDot:
				q := byte('"')
				if strings.IndexByte(name, '"') >= 0 {
					q = '\''
					if strings.IndexByte(name, '\'') >= 0 {
						return "", &posError{i, "a key cannot contain both kinds of quote"}
					}
				}
				b = append(b[:len(b)-1], '[', q)
				b = append(b, name...)
				b = append(b, q, ']')
			case isLiquidIdent(name):
				b = append(b, name...)
			default:
				return "", &posError{i, strconv.Quote("${"+name+"}") + " is not a valid variable name"}
			}
			i += 2 + k
			continue
		}
		b = append(b, c)
	}
	return string(b), nil
}

// rewriteBlank expands comparisons with blank and empty, which osteele/liquid
// treats as undefined variables, into tests with Shopify's meaning.
func rewriteBlank(s string) string {
	for from := 0; ; {
		i, word := findKeyword(s, from)
		if i < 0 {
			return s
		}
		from = i + len(word)
		j := i
		for j > 0 && s[j-1] == ' ' {
			j--
		}
		if j < 2 || (s[j-2:j] != "==" && s[j-2:j] != "!=") {
			continue
		}
		op := s[j-2 : j]
		k := j - 2
		for k > 0 && s[k-1] == ' ' {
			k--
		}
		start := pathStart(s, k)
		if start == k {
			continue
		}
		lhs := s[start:k]
		var rep string
		switch {
		case word == "blank" && op == "==":
			rep = "(" + lhs + " == nil or " + lhs + " == false or " + lhs + ".size == 0)"
		case word == "blank":
			rep = "(" + lhs + " != nil and " + lhs + " != false and " + lhs + ".size != 0)"
		case op == "==":
			rep = "(" + lhs + ".size == 0)"
		default:
			rep = "(" + lhs + ".size != 0)"
		}
		s = s[:start] + rep + s[i+len(word):]
		from = start + len(rep)
	}
}

// findKeyword finds the word blank or empty at or after from, outside string
// literals and not part of a longer name.
func findKeyword(s string, from int) (int, string) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote != 0 {
			if c == quote {
				quote = 0
			}
			continue
		}
		if c == '\'' || c == '"' {
			quote = c
			continue
		}
		if i < from || (i > 0 && (isWordChar(s[i-1]) || s[i-1] == '.')) {
			continue
		}
		for _, w := range [...]string{"blank", "empty"} {
			if strings.HasPrefix(s[i:], w) {
				e := i + len(w)
				if e == len(s) || !(isWordChar(s[e]) || s[e] == '.' || s[e] == '-' || s[e] == '?' || s[e] == '[') {
					return i, w
				}
			}
		}
	}
	return -1, ""
}

// pathStart returns where the variable path that ends at end begins
// (a.b["c"][0]), or end when there is none.
func pathStart(s string, end int) int {
	i := end
scan:
	for i > 0 {
		c := s[i-1]
		switch {
		case isWordChar(c) || c == '.' || c == '-' || c == '?':
			i--
		case c == ']':
			k := strings.LastIndexByte(s[:i-1], '[')
			if k < 0 {
				return end
			}
			i = k
		default:
			break scan
		}
	}
	if i < end && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		return i
	}
	return end
}

// isPlainIdent reports whether s is a letter or underscore followed by letters,
// digits and underscores.
func isPlainIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isWordChar(s[i]) {
			return false
		}
	}
	return true
}

// isLiquidIdent reports whether s is an identifier as osteele/liquid scans one:
// a letter or underscore, then letters, digits, underscores and dashes, and an
// optional final question mark.
func isLiquidIdent(s string) bool {
	s = strings.TrimSuffix(s, "?")
	if s == "" || !(s[0] == '_' || s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isWordChar(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// filterRef is a filter name used in an expression, at an offset of it.
type filterRef struct {
	name string
	off  int
}

// scanFilters lists the filters an expression applies: every identifier that
// follows a "|" outside string literals and ${...} references.
func scanFilters(s string) []filterRef {
	var out []filterRef
	var q quotes
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q.in(c):
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			if k := strings.IndexByte(s[i:], '}'); k >= 0 {
				i += k
			}
		case c == '|':
			j := i + 1
			for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
				j++
			}
			start := j
			if j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				for j < len(s) && (isWordChar(s[j]) || s[j] == '-') {
					j++
				}
				if j < len(s) && s[j] == '?' {
					j++
				}
				out = append(out, filterRef{s[start:j], start})
				i = j - 1
			}
		}
	}
	return out
}

// maxLiteralRange bounds a range written with two numbers, (1..n), so that a
// template cannot loop for minutes or build a huge array.
const maxLiteralRange = 10000

var rangeRE = regexp.MustCompile(`\(\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*\)`)

// checkRanges reports a literal range larger than maxLiteralRange.
func checkRanges(expr string) string {
	for _, m := range rangeRE.FindAllStringSubmatch(expr, -1) {
		lo, err1 := strconv.ParseInt(m[1], 10, 64)
		hi, err2 := strconv.ParseInt(m[2], 10, 64)
		if err1 != nil || err2 != nil || hi-lo >= maxLiteralRange || hi-lo < -maxLiteralRange {
			return "range " + m[0] + " is larger than " + strconv.Itoa(maxLiteralRange) + " items"
		}
	}
	return ""
}
