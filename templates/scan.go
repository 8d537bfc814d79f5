package templates

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// regionKind is what a region of the source is.
type regionKind uint8

const (
	textRegion   regionKind = iota
	objectRegion            // {{ expression }}
	tagRegion               // {% name args %}
	rawRegion               // {% raw %}…{% endraw %} (verbatim), {% comment %}…{% endcomment %} and {% # … %} (nothing)
)

// region is one piece of a template source: text, an output, a tag, or a raw or
// comment block. Offsets are byte offsets into the source as the user wrote it.
type region struct {
	kind         regionKind
	start, end   int // the whole token, delimiters included
	trimL, trimR bool
	name         string // tag name
	body         string // object: the expression; tag: the arguments; raw: the verbatim content
	bodyStart    int    // offset of body in the source
}

// posError is an error at a byte offset of the source.
type posError struct {
	off int
	msg string
}

var (
	endRawRE     = regexp.MustCompile(`\{%-?\s*endraw\s*-?%\}`)
	endCommentRE = regexp.MustCompile(`\{%-?\s*endcomment\s*-?%\}`)
)

// scan splits src into regions the way Liquid's tokenizer does, with the rules
// osteele/liquid leaves out: an unterminated "{{" or "{%" is an error (rather
// than text), a "${...}" reference may contain "}" inside "{{ }}", and the
// content of raw and comment blocks is not tokenized. On error, the regions
// scanned before it are returned with it.
func scan(src string) ([]region, *posError) {
	var out []region
	i := 0
	for i < len(src) {
		j := nextOpen(src, i)
		if j < 0 {
			out = append(out, region{kind: textRegion, start: i, end: len(src), body: src[i:], bodyStart: i})
			break
		}
		if j > i {
			out = append(out, region{kind: textRegion, start: i, end: j, body: src[i:j], bodyStart: i})
		}
		var r region
		var err *posError
		if src[j+1] == '{' {
			r, err = scanObject(src, j)
		} else {
			r, err = scanTag(src, j)
			if err == nil && r.kind == tagRegion && (r.name == "raw" || r.name == "comment") {
				r, err = scanVerbatim(src, r)
			}
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
		i = r.end
	}
	return out, nil
}

// nextOpen returns the offset of the next "{{" or "{%" at or after i, or -1.
func nextOpen(s string, i int) int {
	for {
		k := strings.IndexByte(s[i:], '{')
		if k < 0 {
			return -1
		}
		k += i
		if k+1 < len(s) && (s[k+1] == '{' || s[k+1] == '%') {
			return k
		}
		i = k + 1
	}
}

func scanObject(src string, j int) (region, *posError) {
	k := findObjectClose(src, j+2)
	if k < 0 {
		rest := src[j+2:]
		if d := strings.Index(rest, "${"); d >= 0 && strings.Contains(rest, "}}") {
			return region{}, &posError{j + 2 + d, `"${" is not closed by "}"`}
		}
		if c := strings.Index(rest, "}}"); c >= 0 && openOutsideQuotes(rest[:c], false) >= 0 {
			return region{}, &posError{j, `unterminated "{{": missing "}}" before the next "{{" or "{%"`}
		}
		return region{}, &posError{j, `unterminated "{{": missing "}}"`}
	}
	inner := src[j+2 : k]
	if openOutsideQuotes(inner, true) >= 0 {
		return region{}, &posError{j, `unterminated "{{": missing "}}" before the next "{{" or "{%"`}
	}
	r := region{kind: objectRegion, start: j, end: k + 2}
	r.body, r.bodyStart, r.trimL, r.trimR = trimMarkers(inner, j+2)
	return r, nil
}

func scanTag(src string, j int) (region, *posError) {
	k := strings.Index(src[j+2:], "%}")
	if k < 0 {
		return region{}, &posError{j, `unterminated "{%": missing "%}"`}
	}
	k += j + 2
	inner := src[j+2 : k]
	if openOutsideQuotes(inner, true) >= 0 {
		return region{}, &posError{j, `unterminated "{%": missing "%}" before the next "{%"`}
	}
	r := region{kind: tagRegion, start: j, end: k + 2}
	body, bodyStart, trimL, trimR := trimMarkers(inner, j+2)
	r.trimL, r.trimR = trimL, trimR
	if strings.HasPrefix(body, "#") { // inline comment {% # ... %}
		r.kind, r.name = rawRegion, "#"
		return r, nil
	}
	n := 0
	for n < len(body) && isWordChar(body[n]) {
		n++
	}
	if n == 0 {
		return region{}, &posError{j, "missing tag name after \"{%\""}
	}
	r.name = body[:n]
	args := body[n:]
	lead := len(args) - len(strings.TrimLeft(args, " \t\r\n"))
	r.body = strings.TrimSpace(args)
	r.bodyStart = bodyStart + n + lead
	return r, nil
}

// scanVerbatim extends a raw or comment tag to its end tag.
func scanVerbatim(src string, open region) (region, *posError) {
	re := endRawRE
	if open.name == "comment" {
		re = endCommentRE
	}
	loc := re.FindStringIndex(src[open.end:])
	if loc == nil {
		return region{}, &posError{open.start, `"` + open.name + `" block is not closed: missing {% end` + open.name + ` %}`}
	}
	content := src[open.end : open.end+loc[0]]
	closeTok := src[open.end+loc[0] : open.end+loc[1]]
	if open.trimR {
		content = strings.TrimLeft(content, " \t\r\n")
	}
	if closeTok[2] == '-' {
		content = strings.TrimRight(content, " \t\r\n")
	}
	if open.name == "comment" {
		content = ""
	}
	return region{
		kind: rawRegion, name: open.name, start: open.start, end: open.end + loc[1],
		trimL: open.trimL, trimR: closeTok[len(closeTok)-3] == '-',
		body: content, bodyStart: open.end,
	}, nil
}

// findObjectClose returns the offset of the "}}" that closes an output whose
// expression starts at from, or -1. It skips over Braze's ${...} references and
// over the {{ ... }} Braze allows inside an expression ({{ a | plus: {{b}} }});
// a "{{" inside a string literal does not count, but a "}}" always closes, as
// in Liquid's tokenizer.
func findObjectClose(src string, from int) int {
	depth := 0
	var quote byte
	for i := from; i+1 < len(src); i++ {
		c := src[i]
		switch {
		case c == '$' && src[i+1] == '{':
			e := strings.IndexByte(src[i:], '}')
			if e < 0 {
				return -1
			}
			i += e
		case c == '}' && src[i+1] == '}':
			if depth == 0 {
				return i
			}
			depth--
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '{' && src[i+1] == '{':
			depth++
			i++
		}
	}
	return -1
}

// openOutsideQuotes returns the offset of a "{%" (or, unless tagsOnly, a "{{")
// in s outside string literals, or -1.
func openOutsideQuotes(s string, tagsOnly bool) int {
	var q quotes
	for i := 0; i+1 < len(s); i++ {
		c := s[i]
		switch {
		case q.in(c):
		case c == '{' && (s[i+1] == '%' || s[i+1] == '{' && !tagsOnly):
			return i
		}
	}
	return -1
}

// trimMarkers strips whitespace-control dashes and surrounding space from the
// inside of a delimiter pair that starts at offset base.
func trimMarkers(inner string, base int) (body string, start int, trimL, trimR bool) {
	body, start = inner, base
	if strings.HasPrefix(body, "-") {
		trimL, body, start = true, body[1:], start+1
	}
	if strings.HasSuffix(body, "-") {
		trimR, body = true, body[:len(body)-1]
	}
	lead := len(body) - len(strings.TrimLeft(body, " \t\r\n"))
	return strings.TrimSpace(body), start + lead, trimL, trimR
}

func isWordChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// lineIndex maps byte offsets of a source to 1-based lines and columns.
type lineIndex struct {
	src    string
	starts []int
}

func newLineIndex(src string) lineIndex {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return lineIndex{src, starts}
}

// position returns the 1-based line and column (in characters) of offset off.
func (li lineIndex) position(off int) (line, col int) {
	off = max(0, min(off, len(li.src)))
	line = sort.Search(len(li.starts), func(i int) bool { return li.starts[i] > off })
	start := li.starts[line-1]
	return line, utf8.RuneCountInString(li.src[start:off]) + 1
}

// offset is the inverse of position: the byte offset of a 1-based line and column.
func (li lineIndex) offset(line, col int) int {
	if line < 1 {
		return 0
	}
	if line > len(li.starts) {
		return len(li.src)
	}
	off := li.starts[line-1]
	for n := 1; n < col && off < len(li.src) && li.src[off] != '\n'; n++ {
		_, size := utf8.DecodeRuneInString(li.src[off:])
		off += size
	}
	return off
}

// quotes tracks string literals ('…' or "…") while a scan walks an expression.
type quotes struct{ q byte }

// in reports whether c belongs to a string literal (its quotes included).
func (s *quotes) in(c byte) bool {
	switch {
	case s.q != 0:
		if c == s.q {
			s.q = 0
		}
		return true
	case c == '\'' || c == '"':
		s.q = c
		return true
	}
	return false
}
