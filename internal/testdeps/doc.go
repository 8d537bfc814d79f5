// Package testdeps gives tests the real services they need: a fresh PostgreSQL
// schema, a Redis address with a key prefix of its own, a temporary SQLite file.
//
// When a service is unreachable the test is skipped with a message saying how to
// enable it, unless HERALD_TEST_REQUIRE_SERVICES=1 (set by CI), in which case it
// fails: in CI a missing service is a failure, never a skip.
//
// Environment: HERALD_TEST_POSTGRES_DSN (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and HERALD_TEST_REDIS_ADDR
// (default 127.0.0.1:6379).
package testdeps
