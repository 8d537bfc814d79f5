package templates

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/osteele/liquid/values"
)

// addShopifyFilters replaces the standard filters whose osteele/liquid v1.6.0
// versions panic or differ from Shopify Liquid's (which Braze runs), and adds
// the Liquid 5 filters Braze supports that osteele/liquid lacks.
func (e *Engine) addShopifyFilters() {
	e.addFilter("capitalize", capitalize)
	e.addFilter("slice", sliceFilter)
	e.addFilter("truncate", truncate)
	e.addFilter("truncatewords", truncateWords)
	e.addFilter("sort_natural", sortNatural)
	e.addFilter("divided_by", dividedBy)
	e.addFilter("at_least", func(v, n any) any { return pickNumber(v, n, true) })
	e.addFilter("at_most", func(v, n any) any { return pickNumber(v, n, false) })
	e.addFilter("where", where)
}

// capitalize upcases the first character and downcases the rest (Ruby's
// String#capitalize): "ada LOVELACE" → "Ada lovelace".
func capitalize(v any) string {
	s := liquidString(v)
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToTitle(r)) + strings.ToLower(s[size:])
}

// sliceFilter returns length (default 1) characters of a string, or elements
// of an array, from start (negative: from the end); out of range is empty.
func sliceFilter(v any, start int, length func(int) int) any {
	n := length(1)
	if a, ok := toArray(v); ok {
		lo, hi, ok := sliceBounds(len(a), start, n)
		if !ok {
			return []any{}
		}
		return a[lo:hi]
	}
	s := []rune(liquidString(v))
	lo, hi, ok := sliceBounds(len(s), start, n)
	if !ok {
		return ""
	}
	return string(s[lo:hi])
}

func sliceBounds(size, start, n int) (lo, hi int, ok bool) {
	if start < 0 {
		start += size
	}
	if start < 0 || start > size || n < 0 {
		return 0, 0, false
	}
	return start, start + min(n, size-start), true
}

// toArray returns v as []any when it is an array or slice (but not bytes).
func toArray(v any) ([]any, bool) {
	if a, ok := v.([]any); ok {
		return a, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false
	}
	a := make([]any, rv.Len())
	for i := range a {
		a[i] = rv.Index(i).Interface()
	}
	return a, true
}

// truncate shortens a string to length characters (default 50), the ellipsis
// (default "...") included.
func truncate(v any, length func(int) int, ellipsis func(string) string) any {
	if v == nil {
		return nil
	}
	s, n, el := liquidString(v), length(50), ellipsis("...")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	keep := max(0, n-utf8.RuneCountInString(el))
	return string([]rune(s)[:keep]) + el
}

// truncateWords keeps the first words (default 15, at least 1) of a string,
// joined by single spaces, and appends the ellipsis when words were dropped.
func truncateWords(v any, words func(int) int, ellipsis func(string) string) any {
	if v == nil {
		return nil
	}
	s, n, el := liquidString(v), max(1, words(15)), ellipsis("...")
	list := strings.Fields(s)
	if len(list) <= n {
		return s
	}
	return strings.Join(list[:n], " ") + el
}

// sortNatural sorts case-insensitively, by a property when one is given;
// nil values go last.
func sortNatural(a []any, prop any) []any {
	out := append([]any(nil), a...)
	key := func(x any) any {
		if prop == nil {
			return x
		}
		return values.ValueOf(x).PropertyValue(values.ValueOf(prop)).Interface()
	}
	sort.SliceStable(out, func(i, j int) bool {
		x, y := key(out[i]), key(out[j])
		if x == nil || y == nil {
			return y == nil && x != nil
		}
		return strings.ToLower(liquidString(x)) < strings.ToLower(liquidString(y))
	})
	return out
}

// toNumber converts v as Shopify's Utils.to_number does: integers stay
// integers (int64), numeric strings are parsed, anything else is 0.
func toNumber(v any) (any, float64) {
	switch x := v.(type) {
	case float64:
		return x, x
	case json.Number:
		return toNumber(x.String())
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, float64(i)
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, f
		}
		return int64(0), 0
	}
	rv := reflect.ValueOf(v)
	switch {
	case !rv.IsValid():
	case rv.CanInt():
		return rv.Int(), float64(rv.Int())
	case rv.CanUint():
		return int64(rv.Uint()), float64(rv.Uint())
	case rv.CanFloat():
		return rv.Float(), rv.Float()
	}
	return int64(0), 0
}

// pickNumber is at_least (the larger of v and n) and at_most (the smaller).
func pickNumber(v, n any, larger bool) any {
	a, af := toNumber(v)
	b, bf := toNumber(n)
	if larger == (bf > af) {
		return b
	}
	return a
}

// dividedBy divides as Shopify does: integer division (rounded down) when
// the divisor is an integer and the dividend a whole number, float division
// otherwise; dividing by zero is an error.
func dividedBy(v, d any) (any, error) {
	_, af := toNumber(v)
	b, bf := toNumber(d)
	if bf == 0 {
		return nil, errDivisionByZero
	}
	if bi, ok := b.(int64); ok && af == math.Trunc(af) && math.Abs(af) < 1<<53 {
		ai := int64(af)
		q := ai / bi
		if (ai%bi != 0) && (ai < 0) != (bi < 0) {
			q--
		}
		return q, nil
	}
	return af / bf, nil
}

// where keeps the elements of an array whose property equals target, or,
// without a target, whose property is truthy (neither nil nor false).
func where(a []any, prop string, target any) []any {
	out := []any{}
	key := values.ValueOf(prop)
	for _, x := range a {
		p := values.ValueOf(x).PropertyValue(key).Interface()
		if target == nil && p != nil && p != false || target != nil && values.Equal(p, target) {
			out = append(out, x)
		}
	}
	return out
}
