#!/usr/bin/env bash
# Runs Herald's whole test suite: gofmt, go vet, and every test with the race
# detector (when cgo is available). Extra arguments go to `go test`.
#
# The PostgreSQL and real-Redis suites need those services, the web SDK's
# tests need node and Chromium (sdk/web). Without them this
# script still runs everything else (SQLite, an in-process Redis) and says which
# suites it skipped and how to enable them. With HERALD_TEST_REQUIRE_SERVICES=1
# (CI) a missing service fails the run instead.
set -u
cd "$(dirname "$0")"

pg_dsn=${HERALD_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
redis_addr=${HERALD_TEST_REDIS_ADDR:-127.0.0.1:6379}

# reachable HOST PORT: a TCP connection succeeds within 2 seconds
reachable() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

pg_hostport=$(printf '%s' "$pg_dsn" | sed -nE 's#^[a-z]+://([^@/]*@)?([^:/?]+)(:([0-9]+))?.*#\2 \4#p')
pg_host=${pg_hostport% *}; pg_port=${pg_hostport#* }
[ -n "$pg_host" ] || pg_host=127.0.0.1
[ -n "$pg_port" ] || pg_port=5432
skipped=()
if ! reachable "$pg_host" "$pg_port"; then
  skipped+=("PostgreSQL suites (store contract, API and daemon on PostgreSQL): no PostgreSQL at $pg_host:$pg_port; start it or set HERALD_TEST_POSTGRES_DSN")
fi
if ! reachable "${redis_addr%:*}" "${redis_addr##*:}"; then
  skipped+=("real-Redis suites (they fall back to an in-process Redis where they can): no Redis at $redis_addr; start redis-server or set HERALD_TEST_REDIS_ADDR")
fi
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && [ -z "${HERALD_TEST_CHROMIUM:-}" ]; then
  skipped+=("web SDK browser test (sdk/web/e2e): no Chromium; apt-get install chromium or set HERALD_TEST_CHROMIUM")
fi

say_skipped() {
  if [ ${#skipped[@]} -gt 0 ]; then
    echo "test.sh: SKIPPED:" >&2
    for s in "${skipped[@]}"; do echo "  - $s" >&2; done
  fi
}
say_skipped

race=()
if [ "$(go env CGO_ENABLED)" = "1" ] && command -v "$(go env CC)" >/dev/null 2>&1; then
  race=(-race)
else
  echo "test.sh: no C compiler for cgo: running without -race (install gcc to enable it)" >&2
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt needed on:" >&2; echo "$unformatted" >&2
  exit 1
fi
go vet ./... || exit 1

go test "${race[@]}" -count=1 -timeout 20m "$@" ./...
status=$?
# The patched webpush-go (its own module, so ./... does not reach it).
(cd third_party/webpush-go && go vet ./... && go test "${race[@]}" -count=1 ./...) || status=1

# The web SDK's unit tests: node's test runner, no npm packages. (Its browser
# test, sdk/web/e2e, is a Go test above: it needs Chromium.)
if command -v node >/dev/null 2>&1; then
  node --test sdk/web/test/*.test.js || status=1
elif [ "${HERALD_TEST_REQUIRE_SERVICES:-}" = "1" ]; then
  echo "test.sh: node is required for the web SDK's unit tests (sdk/web/test)" >&2
  status=1
else
  skipped+=("web SDK unit tests (sdk/web/test): node is not installed")
fi
say_skipped
if [ $status -eq 0 ]; then echo "test.sh: all tests passed"; else echo "test.sh: FAILED" >&2; fi
exit $status
