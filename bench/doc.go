// Command bench is Herald's benchmark harness. It builds the herald binary once,
// starts it against a throw-away store (a temporary SQLite file, or a fresh
// PostgreSQL schema bench_<random> reached through search_path and dropped at the
// end) and a Redis key prefix of its own, drives one scenario against it over
// HTTP, and prints the results as an aligned table (or JSON with --json).
//
// Run it from the module root:
//
//	go run ./bench ingest --store sqlite --duration 20s
//	go run ./bench ingest --store postgres --concurrency 32 --json
//	go run ./bench help
//
// Scenarios live one per file (ingest.go, …) and share the helpers in env.go
// (common flags, store and Redis isolation, the generated config), herald.go (the
// binary and its process: build, migrate, keys create, start, /readyz, SIGTERM,
// peak RSS and CPU time from /proc), load.go (a closed-loop load generator with
// a warm-up phase) and report.go (table and JSON output, latency percentiles).
//
// Scenario ingest posts Braze-format /users/track requests from N workers over
// one keep-alive HTTP client. Every request picks random users from a population
// of --users external ids; attribute objects set standard attributes and custom
// ones whose values change on every write (a {"inc":1} counter, a random plan,
// a score and a last_seen time), so every object is a real write. The first
// touch of a user creates it, so short runs over a large population measure
// mostly inserts; a small --users measures updates of existing profiles.
//
// The generated config disables every API rate limit, raises api.max_in_flight
// above the concurrency and logs at warn level. The harness exits 1 when any
// request failed (non-201, transport error or per-object error), after printing
// the report with the first failure.
//
// Figures measure the herald process and the load generator on the same
// machine; read them as ratios between runs of one session, not as absolutes.
// Peak RSS is the kernel's VmHWM of the herald process (warm-up included);
// herald CPU is its user+system time during the measured window divided by the
// window, in cores.
package main
