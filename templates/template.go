package templates

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"

	"github.com/osteele/liquid/render"
)

// Template is a parsed template. It is immutable and safe for concurrent
// Render calls.
type Template struct {
	e         *Engine
	root      render.Node
	fast      *fastTemplate // non-nil when the template is plain substitution
	static    string        // the whole output when isStatic
	isStatic  bool          // no Liquid at all
	connected bool          // uses {% connected_content %}
	vars      VarSet        // the variables its Liquid names
	locs      []regionLoc
}

// Parse parses and validates src. The error is a *SyntaxError, or several
// joined with errors.Join (SyntaxErrors lists them), each with the line and
// column in src: syntax errors, unknown tags and filters, unterminated "{{" and
// "{%", unclosed or stray blocks, bad tag arguments, an unknown :basic_auth.
func (e *Engine) Parse(src string) (*Template, error) {
	t, errs := e.parse(src)
	if len(errs) > 0 {
		return nil, joinSyntax(errs)
	}
	return t, nil
}

// Vars is the set of variables the template may read: ProfileVars with
// VarsOptions.Only set to it (or to a superset) renders it the same.
func (t *Template) Vars() VarSet { return t.vars }

// Render renders the template for one user. A template that runs
// {% abort_message %} returns an *AbortError; a failure while rendering (a
// filter given a value it cannot use) returns a *RenderError. Connected content
// calls use ctx.
func (t *Template) Render(ctx context.Context, vars Vars) (string, error) {
	return t.render(ctx, vars, nil)
}

// stateKey is the binding under which a render's state travels to the
// connected_content tag; templates cannot name it.
const stateKey = "\x00herald"

// renderState is what one Render (or one Object.Render) shares between tags:
// the context and the connected content responses already fetched.
type renderState struct {
	ctx  context.Context
	mu   sync.Mutex
	memo map[string]*fetchResult
}

func newRenderState(ctx context.Context) *renderState {
	return &renderState{ctx: contextOrBackground(ctx)}
}

func (t *Template) render(ctx context.Context, vars map[string]any, st *renderState) (string, error) {
	if t.isStatic {
		return t.static, nil
	}
	if t.fast != nil {
		if s, ok := t.fast.render(vars); ok {
			return s, nil
		}
	}
	bindings := vars
	if t.connected {
		if st == nil {
			st = newRenderState(ctx)
		}
		bindings = make(map[string]any, len(vars)+1)
		maps.Copy(bindings, vars)
		bindings[stateKey] = st
	}
	return t.renderLiquid(bindings)
}

// renderLiquid renders with osteele/liquid. Its panics (a write error after
// the output limit, a bug) become errors.
func (t *Template) renderLiquid(bindings map[string]any) (out string, err error) {
	buf := t.e.getBuffer()
	defer t.e.putBuffer(buf)
	defer func() {
		if r := recover(); r != nil {
			out = ""
			if rerr, ok := r.(error); ok && errors.Is(rerr, errOutputTooLarge) {
				err = &RenderError{Line: 1, Column: 1, Message: errOutputTooLarge.Error()}
				return
			}
			msg := fmt.Sprint(r)
			if rerr, ok := r.(error); ok {
				msg = rootCause(rerr).Error()
			}
			err = &RenderError{Line: 1, Column: 1, Message: "internal error: " + msg, internal: true}
		}
	}()
	if rerr := render.Render(t.root, buf, bindings, t.e.cfg); rerr != nil {
		return "", t.renderError(rerr)
	}
	return buf.String(), nil
}

// renderError converts an osteele/liquid render error: an abort, or a
// *RenderError at the region that failed.
func (t *Template) renderError(err error) error {
	for e := err; e != nil; {
		var abort *AbortError
		if errors.As(e, &abort) {
			return abort
		}
		if errors.Is(e, errOutputTooLarge) {
			return &RenderError{Line: 1, Column: 1, Message: errOutputTooLarge.Error()}
		}
		c, ok := e.(causer)
		if !ok {
			break
		}
		e = c.Cause()
	}
	line, col := t.locate(err)
	return &RenderError{Line: line, Column: col, Message: liquidMessage(err)}
}

// locate returns the user's line and column of the region an osteele/liquid
// error names by its (0-based, preprocessed) line.
func (t *Template) locate(err error) (line, col int) {
	le, ok := err.(interface{ LineNumber() int })
	if !ok || len(t.locs) == 0 {
		return 1, 1
	}
	n := le.LineNumber()
	i := sort.Search(len(t.locs), func(i int) bool { return t.locs[i].preLine > n }) - 1
	if i < 0 {
		return 1, 1
	}
	return t.locs[i].line, t.locs[i].col
}
