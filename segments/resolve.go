package segments

import (
	"context"
	"fmt"
	"slices"
)

// Resolver returns the filter of a saved segment.
type Resolver func(ctx context.Context, id string) (*Filter, error)

// Resolve returns the filter with every segment reference replaced by the
// referenced segment's filter ("in"), or its negation ("not_in"), through
// any depth. A reference cycle, or nesting deeper than 32 levels, is an
// error; so is an error of r (wrapped).
func (f *Filter) Resolve(ctx context.Context, r Resolver) (*Filter, error) {
	if len(f.refs) == 0 {
		return f, nil
	}
	root, err := resolveNode(ctx, f.root, r, nil)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root, raw: f.raw}, nil
}

func resolveNode(ctx context.Context, n *node, r Resolver, stack []string) (*node, error) {
	switch n.kind {
	case kAnd, kOr, kNot:
		var kids []*node
		for i, k := range n.kids {
			rk, err := resolveNode(ctx, k, r, stack)
			if err != nil {
				return nil, err
			}
			if rk != k && kids == nil {
				kids = append(make([]*node, 0, len(n.kids)), n.kids[:i]...)
			}
			if kids != nil {
				kids = append(kids, rk)
			}
		}
		if kids == nil {
			return n, nil
		}
		c := *n
		c.kids = kids
		return &c, nil
	case kSegment:
	default:
		return n, nil
	}
	if slices.Contains(stack, n.name) {
		return nil, fmt.Errorf("segment %q references itself (through %v)", n.name, append(stack, n.name))
	}
	if len(stack) >= maxDepth {
		return nil, fmt.Errorf("segment references nest deeper than %d levels", maxDepth)
	}
	ref, err := r(ctx, n.name)
	if err != nil {
		return nil, fmt.Errorf("segment %q: %w", n.name, err)
	}
	root, err := resolveNode(ctx, ref.root, r, append(stack, n.name))
	if err != nil {
		return nil, err
	}
	if n.cmp == cNe {
		return &node{kind: kNot, kids: []*node{root}}, nil
	}
	return root, nil
}
