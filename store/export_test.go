package store

import (
	"context"
	"database/sql"
)

// QueryRowForTest runs a read query (tests only).
func (s *Store) QueryRowForTest(ctx context.Context, q string, args ...any) *sql.Row {
	return s.queryRow(ctx, q, args...)
}

// ExecForTest runs a write statement (tests only).
func (s *Store) ExecForTest(ctx context.Context, q string, args ...any) error {
	_, err := s.exec(ctx, q, args...)
	return err
}
