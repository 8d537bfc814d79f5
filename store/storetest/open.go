package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/store"
)

// Open returns a migrated store of driver ("sqlite": a file in the test's
// temporary directory; "postgres": a schema of the test's own), closed when
// the test ends.
func Open(t testing.TB, driver string) *store.Store {
	t.Helper()
	o := store.Options{Driver: driver}
	if driver == "sqlite" {
		o.SQLitePath = filepath.Join(t.TempDir(), "herald.db")
	} else {
		o.PostgresDSN = testdeps.Postgres(t)
		o.PostgresMaxConns = 16
	}
	st, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}
