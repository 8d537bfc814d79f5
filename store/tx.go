package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/herald-oss/herald/profiles"
)

const maxTxAttempts = 5

// InTx runs fn in a transaction, retrying it when the database reports a
// serialization failure, a deadlock or a busy lock.
func (s *Store) InTx(ctx context.Context, fn func(profiles.Tx) error) error {
	return s.retry(ctx, func(attempt int) error { return s.inTxOnce(ctx, fn, attempt) })
}

// retry runs fn (one transaction, or one statement on its own) again while
// the database reports a serialization failure, a deadlock or a busy lock.
func (s *Store) retry(ctx context.Context, fn func(attempt int) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = fn(attempt)
		if err == nil || !(errors.Is(err, profiles.ErrRetry) || s.dialect.retryable(err)) || ctx.Err() != nil {
			return err
		}
		s.log.Debug("retrying transaction", "attempt", attempt, "err", err)
		backoff := time.Duration(attempt*attempt)*5*time.Millisecond + time.Duration(rand.IntN(5))*time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
	return fmt.Errorf("store: transaction failed after %d attempts: %w", maxTxAttempts, err)
}

func (s *Store) inTxOnce(ctx context.Context, fn func(profiles.Tx) error, attempt int) (err error) {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	t := &tx{s: s, tx: sqlTx, attempt: attempt}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err = fn(t); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// tx implements profiles.Tx on a database transaction.
type tx struct {
	s  *Store
	tx *sql.Tx
	// attempt counts runs of this transaction: the first reads users without
	// locks (optimistic), a retry after a conflict locks them.
	attempt int
	// locked holds the users this transaction has locked (PostgreSQL).
	locked map[int64]bool
}

// errRetry reports a conflict with a concurrent transaction (a row changed since
// it was read, or a user created meanwhile): InTx runs the function again.
var errRetry = fmt.Errorf("store: %w", profiles.ErrRetry)

var _ profiles.Tx = (*tx)(nil)

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.s.dialect.bind(q), args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.s.dialect.bind(q), args...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.s.dialect.bind(q), args...)
}

// queryer is what read helpers need: a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// ms converts a time to Unix milliseconds; the zero time is NULL.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// day returns the UTC day number (days since the Unix epoch) of t.
func day(t time.Time) int64 {
	return t.UTC().Unix() / 86400
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func strOf(n sql.NullString) string { return n.String }

// collect scans every row of a query with scan, closing the rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
