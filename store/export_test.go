package store

import (
	"context"
	"database/sql"
)

// QueryRowForTest runs a read query (tests only).
func (s *Store) QueryRowForTest(ctx context.Context, q string, args ...any) *sql.Row {
	return s.queryRow(ctx, q, args...)
}
