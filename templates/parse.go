package templates

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
)

// maxErrors caps the syntax errors reported for one template.
const maxErrors = 50

// rawTagName is the internal tag raw and comment blocks become; users cannot
// write it (it is not in the tag list Parse accepts).
const rawTagName = "_herald_raw"

// tagKind classifies the tags Parse accepts.
type tagKind uint8

const (
	tagUnknown tagKind = iota
	tagSimple
	tagLoopOnly // break, continue, cycle: only inside for or tablerow
	tagBlock
	tagClause
	tagEnd
)

func kindOfTag(name string) tagKind {
	switch name {
	case "assign", "abort_message", "connected_content", "echo":
		return tagSimple
	case "break", "continue", "cycle":
		return tagLoopOnly
	case "if", "unless", "case", "for", "tablerow", "capture":
		return tagBlock
	case "elsif", "else", "when":
		return tagClause
	case "endif", "endunless", "endcase", "endfor", "endtablerow", "endcapture":
		return tagEnd
	}
	return tagUnknown
}

// clauseParents lists the blocks a clause may appear in.
func clauseParents(name string) []string {
	switch name {
	case "elsif":
		return []string{"if"}
	case "when":
		return []string{"case"}
	}
	return []string{"if", "unless", "for", "case"}
}

// regionLoc ties a line of the preprocessed source (where exactly one
// non-text region starts) to the region's place in the user's source.
type regionLoc struct {
	preLine   int
	line, col int
}

// parseState validates one template source and builds what osteele/liquid
// compiles.
type parseState struct {
	e     *Engine
	src   string
	lines lineIndex
	errs  []*SyntaxError
	// connVars are the variables the connected_content tags read, found
	// as checkConnected parses them.
	connVars VarSet
}

func (p *parseState) errorAt(off int, msg string) {
	if len(p.errs) >= maxErrors {
		return
	}
	line, col := p.lines.position(off)
	p.errs = append(p.errs, &SyntaxError{Line: line, Column: col, Message: msg})
}

// parse validates src, compiles it and returns the template, or every error
// found (at most maxErrors), sorted by position.
func (e *Engine) parse(src string) (t *Template, errs []*SyntaxError) {
	defer func() {
		if r := recover(); r != nil {
			t, errs = nil, []*SyntaxError{{Line: 1, Column: 1, Message: fmt.Sprintf("template cannot be parsed: %v", r)}}
		}
	}()
	p := &parseState{e: e, src: src, lines: newLineIndex(src)}
	regions, serr := scan(src)
	if serr != nil {
		p.errorAt(serr.off, serr.msg)
	}
	emitted := p.prepare(regions, serr == nil)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *SyntaxError) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		return nil, p.errs
	}
	// A connected_content tag's header values are JSON strings, decoded
	// before they are parsed ("{{\u0066irst_name}}" reads first_name): its
	// variables are those of its parsed parts (p.connVars).
	t = &Template{e: e, vars: varsListed | p.connVars}
	var b strings.Builder
	preLine := 0
	for i, r := range regions {
		if r.kind != textRegion {
			line, col := p.lines.position(r.start)
			t.locs = append(t.locs, regionLoc{preLine: preLine, line: line, col: col})
		}
		if r.kind == tagRegion && r.name == "connected_content" {
			t.connected = true
		}
		if r.kind != textRegion {
			t.vars |= referencedVars(emitted[i])
		}
		b.WriteString(emitted[i])
		preLine += strings.Count(emitted[i], "\n")
	}
	root, err := e.compile(b.String())
	if err != nil {
		line, col := t.locate(err)
		return nil, []*SyntaxError{{Line: line, Column: col, Message: liquidMessage(err)}}
	}
	t.root = root
	t.fast, t.static, t.isStatic = compileFast(regions)
	return t, nil
}

// compile compiles preprocessed source. The path makes osteele/liquid keep the
// location of the innermost node in errors.
func (e *Engine) compile(src string) (node render.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			node, err = nil, fmt.Errorf("%v", r)
		}
	}()
	n, perr := e.cfg.Compile(src, parser.SourceLoc{Pathname: "template"})
	if perr != nil {
		return nil, perr
	}
	return n, nil
}

// prepare checks every region and returns the text osteele/liquid is given for
// each: Braze's dialect rewritten, and every non-text region ending in a
// newline inside its delimiters so that it starts a line of its own (errors
// then name the region by their line). Blocks are checked only when the scan
// completed.
func (p *parseState) prepare(regions []region, complete bool) []string {
	emitted := make([]string, len(regions))
	var stack []region
	for i, r := range regions {
		switch r.kind {
		case textRegion:
			emitted[i] = r.body
		case rawRegion:
			args := ""
			if r.body != "" {
				args = base64.StdEncoding.EncodeToString([]byte(r.body))
			}
			emitted[i] = emitTag(r, rawTagName, args)
		case objectRegion:
			emitted[i] = p.object(r)
		case tagRegion:
			emitted[i] = p.tag(r, &stack)
		}
	}
	if complete {
		for _, open := range stack {
			p.errorAt(open.start, fmt.Sprintf("%q block is not closed: missing {%% end%s %%}", open.name, open.name))
		}
	}
	return emitted
}

func dash(b bool) string {
	if b {
		return "-"
	}
	return ""
}

func emitTag(r region, name, args string) string {
	if args != "" {
		args = " " + args
	}
	return "{%" + dash(r.trimL) + " " + name + args + " \n" + dash(r.trimR) + "%}"
}

func (p *parseState) object(r region) string {
	expr, perr := rewriteExpr(r.body)
	if perr != nil {
		p.errorAt(r.bodyStart+perr.off, perr.msg)
		return ""
	}
	ok := p.checkFilters(r.body, r.bodyStart)
	if msg := checkRanges(expr); msg != "" {
		p.errorAt(r.start, msg)
		ok = false
	}
	if expr == "" {
		expr = "nil"
	}
	expr = strings.ReplaceAll(expr, "\n", " ")
	if ok {
		if err := parseExpression(expr); err != nil {
			msg := fmt.Sprintf("invalid expression %q", r.body)
			if strings.ContainsRune(stripQuoted(expr), '}') {
				msg = `"{{" is not closed by "}}"`
			} else if d := liquidMessage(err); strings.Contains(d, "out of range") {
				msg += ": number out of range"
			} else if !strings.HasPrefix(d, "syntax error") {
				msg += ": " + d
			}
			p.errorAt(r.start, msg)
		}
	}
	if strings.Contains(expr, "%}") { // cannot be a tag's arguments
		return "{{" + dash(r.trimL) + " " + expr + " \n" + dash(r.trimR) + "}}"
	}
	return emitTag(r, outputTagName, expr)
}

// parseExpression parses an expression with osteele/liquid, turning its panics
// (an integer literal out of range) into errors.
func parseExpression(expr string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	_, err = expressions.Parse(expr)
	return err
}

func (p *parseState) checkFilters(expr string, base int) bool {
	ok := true
	for _, f := range scanFilters(expr) {
		if !p.e.filters[f.name] {
			p.errorAt(base+f.off, fmt.Sprintf("unknown filter %q", f.name))
			ok = false
		}
	}
	return ok
}

// tag checks a tag's place in the block structure and its arguments, and
// returns the text osteele/liquid is given for it.
func (p *parseState) tag(r region, stack *[]region) string {
	kind := kindOfTag(r.name)
	switch kind {
	case tagUnknown:
		p.errorAt(r.start, fmt.Sprintf("unknown tag %q", r.name))
		return ""
	case tagBlock:
		*stack = append(*stack, r)
	case tagClause:
		parents := clauseParents(r.name)
		if len(*stack) == 0 || !slices.Contains(parents, (*stack)[len(*stack)-1].name) {
			p.errorAt(r.start, fmt.Sprintf("%q is only allowed inside %s", r.name, strings.Join(parents, ", ")))
			return ""
		}
	case tagEnd:
		return p.endTag(r, stack)
	case tagLoopOnly:
		if !slices.ContainsFunc(*stack, func(o region) bool { return o.name == "for" || o.name == "tablerow" }) {
			p.errorAt(r.start, fmt.Sprintf("%q is only allowed inside a for loop", r.name))
			return ""
		}
	}
	switch r.name {
	case "echo": // {% echo x | f %} is {{ x | f }}
		r.kind = objectRegion
		return p.object(r)
	case "connected_content":
		p.checkConnected(r)
		return emitTag(r, r.name, r.body)
	case "capture":
		if !isLiquidIdent(r.body) {
			p.errorAt(r.start, `"capture" needs a variable name`)
		}
		return emitTag(r, r.name, r.body)
	case "else", "break", "continue":
		return emitTag(r, r.name, "")
	case "abort_message":
	default:
		if r.body == "" {
			p.errorAt(r.start, fmt.Sprintf("%q is missing its arguments", r.name))
			return ""
		}
	}
	expr, perr := rewriteExpr(r.body)
	if perr != nil {
		p.errorAt(r.bodyStart+perr.off, perr.msg)
		return ""
	}
	ok := p.checkFilters(r.body, r.bodyStart)
	if msg := checkRanges(expr); msg != "" {
		p.errorAt(r.start, msg)
		ok = false
	}
	out := emitTag(r, r.name, expr)
	if r.name == "for" || r.name == "tablerow" {
		out += "{% " + tickTagName + " \n%}" // on a line of its own: errors name the loop
	}
	if ok {
		p.compileCheck(r, kind, out)
	}
	return out
}

func (p *parseState) endTag(r region, stack *[]region) string {
	name := strings.TrimPrefix(r.name, "end")
	s := *stack
	switch {
	case len(s) == 0:
		p.errorAt(r.start, fmt.Sprintf("unexpected %q: no %q block is open", r.name, name))
		return ""
	case s[len(s)-1].name != name:
		top := s[len(s)-1]
		line, col := p.lines.position(top.start)
		p.errorAt(r.start, fmt.Sprintf("unexpected %q: the %q block opened at %d:%d is not closed", r.name, top.name, line, col))
		if i := slices.IndexFunc(s, func(o region) bool { return o.name == name }); i >= 0 {
			*stack = s[:i]
		}
		return ""
	}
	*stack = s[:len(s)-1]
	return emitTag(r, r.name, "")
}

// compileCheck compiles one tag on its own (inside the block it needs), so an
// error in its arguments is reported at the tag.
func (p *parseState) compileCheck(r region, kind tagKind, emitted string) {
	snippet := emitted
	switch {
	case kind == tagBlock:
		snippet += "{% end" + r.name + " %}"
	case r.name == "elsif":
		snippet = "{% if true %}" + emitted + "{% endif %}"
	case r.name == "when":
		snippet = "{% case 1 %}" + emitted + "{% endcase %}"
	}
	if _, err := p.e.compile(snippet); err != nil {
		p.errorAt(r.start, fmt.Sprintf("%q: %s", r.name, liquidMessage(err)))
	}
}

// stripQuoted returns s without its string literals.
func stripQuoted(s string) string {
	var b strings.Builder
	var q quotes
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q.in(c):
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// causer is how osteele/liquid chains errors.
type causer interface{ Cause() error }

// rootCause follows osteele/liquid's Cause chain to the innermost error.
func rootCause(err error) error {
	for {
		c, ok := err.(causer)
		if !ok || c.Cause() == nil {
			return err
		}
		err = c.Cause()
	}
}

// liquidMessage is an osteele/liquid error's message without its location
// decoration ("Liquid error (line 3): … in template").
func liquidMessage(err error) string {
	root := rootCause(err)
	if fe, ok := root.(expressions.FilterError); ok {
		return fmt.Sprintf("filter %q: %v", fe.FilterName, fe.Err)
	}
	s := root.Error()
	if strings.HasPrefix(s, "Liquid error") {
		if i := strings.Index(s, ": "); i >= 0 {
			s = s[i+2:]
		}
		s = strings.TrimSuffix(s, " in template")
	}
	for _, sel := range []string{"%assign ", "{%cycle ", "%loop ", "{%when "} {
		s = strings.ReplaceAll(s, `"`+sel, `"`)
	}
	return s
}
