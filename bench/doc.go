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
//	go run ./bench fanout --devices 100000 --store postgres --workers 2
//	go run ./bench help
//
// Scenarios live one per file (ingest.go, fanout.go, …) and share the helpers in
// env.go (common flags, store, Redis and queue isolation, the generated config,
// worker processes), herald.go (the binary and its process: build, migrate, keys
// create, start, /readyz, SIGTERM, peak RSS and CPU time from /proc), load.go (a
// closed-loop load generator with a warm-up phase) and report.go (table and JSON
// output, latency percentiles). --herald runs a prebuilt binary instead of
// building ./cmd/herald.
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
//
// Scenario fanout measures one campaign from launch to the last device. The
// APNs, FCM and Web Push fakes run inside the harness (fakes.go) on one TLS
// listener; their shared recorder is drained every 100 ms (tally.go) into a
// count and a collapse-id hash per device and a launch-to-accept time per
// message, so no payload is kept. The audience (devices.go) is one device per
// user in the --mix of platforms, --dead per cent of them with tokens the fakes
// answer as unregistered; web subscriptions are minted by the Web Push fake, so
// every push must really decrypt. First a bare loop (bare.go) sends one message
// per device straight to the fakes with sideshow/apns2, the firebase SDK's
// SendEach and webpush-go at Herald's default in-flight bounds, all three
// channels at once. Then Herald starts with apps pointing at the fakes (herald
// all on SQLite; herald serve and --workers herald worker on PostgreSQL, each
// run on its own schema, Redis prefix and queue name), the users are created
// through bulk /users/track, and one campaign (title with the first name, body
// chosen by an `if` on a custom attribute, audience push_enabled) is created,
// launched and polled until its dispatch is done. The report gives, per phase,
// messages accepted per second from the start (or launch) to the last accept,
// launch-to-accept percentiles from the fakes' receive times, lost (live
// devices with no message), duplicates (a second message with another collapse
// id), resends (the same collapse id), wrong content (title, body or dispatch
// id missing) and provider requests; for Herald each process's peak RSS before
// and during the fan-out (VmHWM, reset at the launch) and CPU seconds; and
// ratio = Herald's msgs/s over the bare loop's. It exits 1 when a phase lost,
// doubled or garbled a message.
package main
