package store

import (
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds the few places SQLite and PostgreSQL differ. Queries are written
// with ? placeholders; bind rewrites them for PostgreSQL.
type dialect interface {
	name() string
	bind(q string) string
	// cast types a placeholder where PostgreSQL cannot infer it (VALUES in a CTE).
	cast(typ string) string
	least() string
	greatest() string
	forUpdate() string
	retryable(err error) bool
}

type sqliteDialect struct{}

func (sqliteDialect) name() string         { return "sqlite" }
func (sqliteDialect) bind(q string) string { return q }
func (sqliteDialect) cast(string) string   { return "" }
func (sqliteDialect) least() string        { return "min" }
func (sqliteDialect) greatest() string     { return "max" }
func (sqliteDialect) forUpdate() string    { return "" }
func (sqliteDialect) retryable(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) bind(q string) string {
	n := strings.Count(q, "?")
	if n == 0 {
		return q
	}
	b := make([]byte, 0, len(q)+n*4)
	i := int64(1)
	for j := 0; j < len(q); j++ {
		if q[j] == '?' {
			b = append(b, '$')
			b = strconv.AppendInt(b, i, 10)
			i++
			continue
		}
		b = append(b, q[j])
	}
	return string(b)
}

func (postgresDialect) cast(typ string) string { return "::" + typ }
func (postgresDialect) least() string          { return "LEAST" }
func (postgresDialect) greatest() string       { return "GREATEST" }
func (postgresDialect) forUpdate() string      { return " FOR NO KEY UPDATE" }

func (postgresDialect) retryable(err error) bool {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		switch e.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	return false
}

// isUniqueViolation reports a unique constraint failure in either database.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKeyViolation reports a foreign key failure in either database.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// placeholders returns "(?,?,…),(?,?,…)" for rows of width cols, with per-column casts.
func placeholders(rows int, casts []string) string {
	var b strings.Builder
	one := "(" + strings.Join(casts, ",") + ")"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}

// cols returns len(types) placeholders typed for the dialect.
func (s *Store) cols(types ...string) []string {
	out := make([]string, len(types))
	for i, t := range types {
		if t == "" {
			out[i] = "?"
		} else {
			out[i] = "?" + s.dialect.cast(t)
		}
	}
	return out
}

// inList returns "?,?,…" for n values.
func inList(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
