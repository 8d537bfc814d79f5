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
//	go run ./bench chaos --scenario kill-worker --devices 10000 --workers 2
//	go run ./bench scale --workers 1,2,3
//	go run ./bench audience --sizes 10000,100000,1000000
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
//
// # Chaos
//
// Scenario chaos (chaos.go) runs one campaign like fanout (the same fakes,
// audience, launch, tally and dispatch polling, without the bare loop) and
// strikes one fault once --at (default 0.3) of the live devices have been
// reached:
//
//	go run ./bench chaos --scenario kill-worker      --devices 10000 [--workers 2]
//	go run ./bench chaos --scenario dead-tokens      --devices 10000
//	go run ./bench chaos --scenario provider-storm   --devices 10000 [--storm 60s]
//	go run ./bench chaos --scenario redis-restart    --devices 10000 [--down 2s] [--hard=false]
//	go run ./bench chaos --scenario postgres-restart --devices 10000 [--down 2s] [--hard=false]
//
// It runs herald serve and --workers herald worker on PostgreSQL (a
// throw-away schema; --store sqlite runs one herald all, for dead-tokens,
// provider-storm and redis-restart) with delivery.lease 1m and
// delivery.reconcile_after 10s, the shortest Herald accepts, so a claim left
// by a dead worker is re-sent after a minute rather than five. The faults:
// kill-worker sends SIGKILL to the worker that used the most CPU since the
// launch and starts another; provider-storm
// makes the fakes answer one attempt in three with 429 (Retry-After: 1) or
// 503, in each provider's format, for --storm (storm.go: the fakes'
// Config.Script hooks, no change to the fake packages); dead-tokens gives 20%
// of the devices unregistered tokens and checks in the store that each ends
// invalid (and no live one) after exactly one attempt at the fakes;
// redis-restart runs its own redis-server (services.go: a free loopback
// port, a temporary directory, appendonly yes, appendfsync everysec) and
// kills it (SIGKILL, or SIGTERM with --hard=false), then starts it again on
// the same port and directory after --down; postgres-restart runs its own
// cluster made with initdb (as the postgres OS user when the harness runs as
// root, trust authentication, a free loopback port) and restarts it with
// pg_ctl stop -m immediate (fast with --hard=false) and pg_ctl start. The
// machine's shared Redis and PostgreSQL are never restarted. The report ends
// with lost=<n> duplicates=<n>, counted from what the fakes accepted: lost
// are live devices that got nothing, duplicates second messages to a device
// for the dispatch with another collapse id; re-sends with the same collapse
// id (a lease expired) are counted as resends, which the device shows once.
// The run exits 1 unless lost and duplicates are 0, no message went to a
// dead or unknown token or carried the wrong content, the dispatch is done,
// the fault struck while it ran and (dead-tokens) the dead tokens were
// pruned after one attempt each. Processes, temporary directories, schemas
// and Redis keys are removed at the end, also on failure and Ctrl-C.
//
// # Redis Cluster
//
// fanout and chaos (except redis-restart, which runs its own single Redis)
// take --redis-cluster: the harness starts a Redis Cluster of three masters
// (cluster.go: redis-server --cluster-enabled yes on free loopback ports,
// each in a directory under one temporary directory, redis-cli --cluster
// create, then every node waited for at cluster_state:ok) and gives Herald
// redis.cluster_addrs and queue.shards (--queue-shards, default 6 with a
// cluster, else 1), picking a queue name whose shard queues fall on every
// master. Every Redis access of the harness (redis.go) works on a cluster:
// the clean-up SCANs every master for the key prefix and each shard queue's
// keys, and Redis CPU is summed over the masters' INFO cpu. The report says
// which Redis ran, its masters, and per master the shard queues it holds and
// the tasks they processed. The cluster is stopped and its directory removed
// at the end, also on failure and Ctrl-C:
//
//	go run ./bench fanout --devices 100000 --store postgres --workers 1 --redis-cluster
//	go run ./bench chaos --scenario kill-worker --devices 10000 --redis-cluster
//
// chaos_test.go runs a short version of each scenario (3,000 to 5,000
// devices, a 3 s storm, a 1 s outage), and kill-worker again on a Redis
// Cluster, through the same code path, in parallel, with one herald binary
// built for all of them; kill-worker and postgres-restart each wait out the
// 1-minute lease.
//
// Scenarios scale and audience run the fan-out once per configuration, each on
// a Herald of its own (fresh schema, Redis prefix and queue; PostgreSQL unless
// --store sqlite is given to audience), with ANALYZE before each launch:
//
//	go run ./bench scale --workers 1,2,3 --devices 100000
//	go run ./bench audience --sizes 10000,100000,1000000
//
// scale keeps one audience, runs the bare loop once and gives each worker
// count's msgs/s and ratio; audience makes a new audience per size and gives
// its time and every process's peak RSS, to show memory does not grow with N.
package main
