package templates

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Object is a parsed message object (an apple_push, android_push, web_push,
// content_card, in-app message or webhook object, or any JSON-like tree):
// every string leaf is a template. It is safe for concurrent Render calls.
type Object struct {
	root      onode
	connected bool
	vars      VarSet
}

type nodeKind uint8

const (
	valueNode    nodeKind = iota // a non-string leaf, or a string without Liquid: copied
	templateNode                 // a string with Liquid
	mapNode
	sliceNode
)

type onode struct {
	kind nodeKind
	val  any
	tmpl *Template
	path string
	keys []string // mapNode, sorted
	kids []onode
}

// ParseObject parses every string leaf of obj, through nested maps
// (map[string]any, map[string]string) and slices ([]any, []string). The error
// holds every *SyntaxError found, each with Field set to the leaf's path
// ("apple_push.alert.title", "buttons[0].text").
func (e *Engine) ParseObject(obj map[string]any) (*Object, error) {
	o := &Object{vars: varsListed}
	var errs []*SyntaxError
	o.root = e.objectNode(obj, "", o, &errs)
	if len(errs) > 0 {
		return nil, joinSyntax(errs)
	}
	return o, nil
}

func childPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (e *Engine) objectNode(v any, path string, o *Object, errs *[]*SyntaxError) onode {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{") && !strings.Contains(x, "{%") {
			return onode{kind: valueNode, val: x}
		}
		t, serrs := e.parse(x)
		for _, se := range serrs {
			se.Field = path
			*errs = append(*errs, se)
		}
		if t != nil {
			o.connected = o.connected || t.connected
			o.vars |= t.vars
		}
		return onode{kind: templateNode, tmpl: t, path: path}
	case map[string]any:
		n := onode{kind: mapNode, keys: make([]string, 0, len(x))}
		for k := range x {
			n.keys = append(n.keys, k)
		}
		slices.Sort(n.keys)
		for _, k := range n.keys {
			n.kids = append(n.kids, e.objectNode(x[k], childPath(path, k), o, errs))
		}
		return n
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return e.objectNode(m, path, o, errs)
	case []any:
		n := onode{kind: sliceNode}
		for i, el := range x {
			n.kids = append(n.kids, e.objectNode(el, path+"["+strconv.Itoa(i)+"]", o, errs))
		}
		return n
	case []string:
		n := onode{kind: sliceNode}
		for i, el := range x {
			n.kids = append(n.kids, e.objectNode(el, path+"["+strconv.Itoa(i)+"]", o, errs))
		}
		return n
	}
	return onode{kind: valueNode, val: v}
}

// Vars is the set of variables the object's templates may read (see
// Template.Vars).
func (o *Object) Vars() VarSet { return o.vars }

// Render renders the object for one user into a fresh tree: maps become
// map[string]any, slices []any, templates their output; other leaves are
// copied. Connected content calls are shared by all the fields (a URL is
// fetched once per Render). An abort in any field returns the *AbortError; a
// *RenderError names its field.
func (o *Object) Render(ctx context.Context, vars Vars) (map[string]any, error) {
	var st *renderState
	if o.connected {
		st = newRenderState(ctx)
	}
	v, err := o.root.render(ctx, vars, st)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func (n *onode) render(ctx context.Context, vars Vars, st *renderState) (any, error) {
	switch n.kind {
	case templateNode:
		s, err := n.tmpl.render(ctx, vars, st)
		if err != nil {
			var re *RenderError
			if errors.As(err, &re) {
				re.Field = n.path
			}
			return nil, err
		}
		return s, nil
	case mapNode:
		m := make(map[string]any, len(n.keys))
		for i := range n.kids {
			v, err := n.kids[i].render(ctx, vars, st)
			if err != nil {
				return nil, err
			}
			m[n.keys[i]] = v
		}
		return m, nil
	case sliceNode:
		s := make([]any, len(n.kids))
		for i := range n.kids {
			v, err := n.kids[i].render(ctx, vars, st)
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	}
	return n.val, nil
}
