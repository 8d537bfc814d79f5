package testdeps

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Required reports whether missing services must fail tests (CI).
func Required() bool { return os.Getenv("HERALD_TEST_REQUIRE_SERVICES") == "1" }

// PostgresDSN returns the base DSN tests connect to.
func PostgresDSN() string {
	if v := os.Getenv("HERALD_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// RedisAddr returns the Redis address tests use.
func RedisAddr() string {
	if v := os.Getenv("HERALD_TEST_REDIS_ADDR"); v != "" {
		return v
	}
	return "127.0.0.1:6379"
}

func unavailable(t testing.TB, what, how string, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required (HERALD_TEST_REQUIRE_SERVICES=1) but unreachable: %v", what, err)
	}
	t.Skipf("%s unreachable (%v): skipped; %s", what, err, how)
}

var (
	pgOnce sync.Once
	pgErr  error
)

// Postgres returns a DSN whose search_path is a fresh schema, dropped when the
// test ends, so tests can run in parallel against one database.
func Postgres(t testing.TB) string {
	t.Helper()
	base := PostgresDSN()
	pgOnce.Do(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			pgErr = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pgErr = db.PingContext(ctx)
	})
	if pgErr != nil {
		unavailable(t, "PostgreSQL at "+redact(base), "start PostgreSQL or set HERALD_TEST_POSTGRES_DSN", pgErr)
	}
	schema := "t_" + Random(8)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	return withSearchPath(base, schema)
}

func withSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	return dsn
}

// Redis returns the address of the real Redis server and a key prefix unique to
// the test. Without one (and outside CI) it skips.
func Redis(t testing.TB) (addr, prefix string) {
	t.Helper()
	addr = RedisAddr()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		unavailable(t, "Redis at "+addr, "start redis-server or set HERALD_TEST_REDIS_ADDR", err)
	}
	c.Close()
	return addr, "herald-test:" + Random(6) + ":"
}

// RedisOrMini returns the real Redis when reachable (always in CI), otherwise an
// in-process miniredis, so a developer without Redis still runs the test.
func RedisOrMini(t testing.TB) (addr, prefix string) {
	t.Helper()
	addr = RedisAddr()
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		c.Close()
		return addr, "herald-test:" + Random(6) + ":"
	} else if Required() {
		t.Fatalf("Redis at %s is required (HERALD_TEST_REQUIRE_SERVICES=1) but unreachable: %v", addr, err)
	}
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m.Addr(), "herald-test:"
}

// Random returns n random bytes as hex.
func Random(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
