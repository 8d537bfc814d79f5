package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/store"
	"github.com/herald-oss/herald/store/storetest"
)

func openSQLite(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "herald.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func openPostgres(t *testing.T) *store.Store {
	t.Helper()
	dsn := testdeps.Postgres(t)
	s, err := store.Open(context.Background(), store.Options{Driver: "postgres", PostgresDSN: dsn, PostgresMaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContractSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openSQLite)
}

func TestContractPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openPostgres)
}

func TestSQLiteRefusesSecondProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: path})
	if err == nil || !strings.Contains(err.Error(), "in use by") || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("second Open = %v; want a clear refusal", err)
	}
	s.Close()
	s2, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: path})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}
