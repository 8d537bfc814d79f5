package store

import (
	"strconv"
	"strings"
)

// PostgreSQL array parameters are passed as array literals ('{"a","b"}'):
// pgx sends a string parameter as text, as is, and the server parses it. For
// a page of rows that is one short loop here instead of pgx's generic array
// encoding (an interface value per element).

// textArray is the literal of a text[] holding vals.
func textArray(vals []string) string {
	n := 2
	for _, v := range vals {
		n += len(v) + 3
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('{')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for j := 0; j < len(v); j++ {
			if c := v[j]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// intArray is the literal of a bigint[] holding vals.
func intArray(vals []int64) string {
	b := make([]byte, 0, 2+len(vals)*8)
	b = append(b, '{')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, '}'))
}

// idSet returns the condition matching a column (written just before it) to
// one of ids, and its arguments: " IN (?,…)" on SQLite, one array parameter
// on PostgreSQL.
func (s *Store) idSet(ids []int64) (string, []any) {
	if s.dialect.name() == "postgres" {
		return " = ANY(?::bigint[])", []any{intArray(ids)}
	}
	return " IN (" + inList(len(ids)) + ")", int64Args(ids)
}
