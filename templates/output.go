package templates

import (
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/render"
)

// outputTagName is the internal tag every {{ output }} becomes, so that values
// are written as Braze's Ruby Liquid writes them rather than as osteele/liquid
// does (which writes 1234567.0 as "1.234567e+06" and a UTC time with
// "+0000"). Users cannot write it.
const outputTagName = "_herald_out"

// outputTag compiles an output's expression.
func outputTag(args string) (func(io.Writer, render.Context) error, error) {
	expr, err := expressions.Parse(args)
	if err != nil {
		return nil, err
	}
	return func(w io.Writer, ctx render.Context) error {
		v, err := ctx.Evaluate(expr)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, liquidString(v))
		return err
	}, nil
}

// rubyTimeLayout is how Ruby writes a time with an offset; a UTC time ends in
// "UTC" instead ("2016-09-07 08:43:50 UTC", as Braze's documentation shows).
const rubyTimeLayout = "2006-01-02 15:04:05 -0700"

func formatTime(t time.Time) string {
	if t.Location() == time.UTC {
		return t.Format("2006-01-02 15:04:05") + " UTC"
	}
	return t.Format(rubyTimeLayout)
}

// formatNumber writes a float without an exponent, and without decimals when
// it is a whole number (profiles hold integers as float64).
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// liquidString is a value as an output writes it: nil is empty, a number
// has no exponent, a time is formatted as Ruby does, an array is its elements
// run together.
func liquidString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case float64:
		return formatNumber(x)
	case float32:
		return formatNumber(float64(x))
	case int:
		return strconv.Itoa(x)
	case time.Time:
		return formatTime(x)
	case []any:
		var b strings.Builder
		for _, e := range x {
			b.WriteString(liquidString(e))
		}
		return b.String()
	}
	if d, ok := v.(interface{ ToLiquid() any }); ok { // an osteele/liquid drop
		return liquidString(d.ToLiquid())
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		var b strings.Builder
		for i := range rv.Len() {
			b.WriteString(liquidString(rv.Index(i).Interface()))
		}
		return b.String()
	case reflect.Pointer:
		if rv.IsNil() {
			return ""
		}
		return liquidString(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}

// joinFilter joins an array's elements, written as outputs are, with a
// separator (default " "); nil elements are skipped.
func joinFilter(a []any, sep func(string) string) string {
	s := sep(" ")
	parts := make([]string, 0, len(a))
	for _, v := range a {
		if v != nil {
			parts = append(parts, liquidString(v))
		}
	}
	return strings.Join(parts, s)
}
