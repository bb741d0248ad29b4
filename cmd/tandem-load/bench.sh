#!/usr/bin/env bash
# bench.sh runs tandem-load's workloads against Tandem (`tandem serve --memory`) and against
# the reference y-websocket server (docsync/testdata/js/refserver.mjs), restarting the server
# before every run, and prints one JSON result per line (server, case, then tandem-load's
# fields) to stdout.
#
#   cmd/tandem-load/bench.sh [quick | idle]
#
# "idle" runs only the idle-connection cases, ROUNDS times each (default 3), alternating the
# servers: process memory after a burst of connections varies from run to run with when the
# garbage collectors last ran, most with few connections.
#
# SERVERS selects the servers (default "tandem ref"; "tandem-bolt" is Tandem on a bbolt file
# with fsync, i.e. `tandem serve --db FILE`).
#
# Needs node and `npm ci` in docsync/testdata/js. TANDEM_SERVE overrides the command that
# starts Tandem (it gets --addr and --memory appended). Loopback only; each run is bounded by
# tandem-load's --timeout.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/tandem-load" ./cmd/tandem-load
if [ -z "${TANDEM_SERVE:-}" ]; then
  go build -o "$bin/tandem" ./cmd/tandem
  TANDEM_SERVE="$bin/tandem serve"
fi
PORT=${PORT:-18431}

start_server() { # $1 = tandem | ref; sets SPID and URL
  case "$1" in
  tandem)
    $TANDEM_SERVE --addr "127.0.0.1:$PORT" --memory 2>/dev/null &
    SPID=$!
    URL="ws://127.0.0.1:$PORT/sync"
    ;;
  tandem-bolt) # durable: bbolt file with fsync, a fresh file per run
    rm -f "$bin/bench.db"
    $TANDEM_SERVE --addr "127.0.0.1:$PORT" --db "$bin/bench.db" 2>/dev/null &
    SPID=$!
    URL="ws://127.0.0.1:$PORT/sync"
    ;;
  ref)
    node docsync/testdata/js/refserver.mjs --port "$PORT" >/dev/null 2>&1 &
    SPID=$!
    URL="ws://127.0.0.1:$PORT"
    ;;
  esac
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "server $1 did not start" >&2
  return 1
}

stop_server() {
  kill "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
}

run_case() { # $1 = server, $2 = case label, rest = tandem-load flags
  local server=$1 label=$2
  shift 2
  start_server "$server"
  sleep 0.5
  local out
  if out=$("$bin/tandem-load" --url "$URL" --pid "$SPID" --json "$@" 2>&1); then
    printf '{"server":"%s","case":"%s",%s\n' "$server" "$label" "${out#\{}"
  else
    printf '{"server":"%s","case":"%s","error":%s}\n' "$server" "$label" "$(printf '%s' "$out" | head -c 300 | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
  fi
  stop_server
}

idle_cases() { # $1 = server, $2 = round label suffix
  run_case "$1" "idle N=1000 1 doc$2" --mode idle --conns 1000 --docs 1
  run_case "$1" "idle N=5000 1 doc$2" --mode idle --conns 5000 --docs 1
  run_case "$1" "idle N=10000 1 doc$2" --mode idle --conns 10000 --docs 1
  run_case "$1" "idle N=1000 1000 docs$2" --mode idle --conns 1000 --docs 1000
}

if [ "${1:-}" = idle ]; then # the idle cases only, ROUNDS times each (default 3), servers interleaved
  for r in $(seq "${ROUNDS:-3}"); do
    for s in ${SERVERS:-tandem ref}; do
      idle_cases "$s" " #$r"
    done
  done
  exit 0
fi

if [ "${1:-}" = quick ]; then
  for s in ${SERVERS:-tandem ref}; do
    run_case "$s" "trace K=1 unpaced 5k" --mode trace --readers 1 --limit 5000
    run_case "$s" "docs D=10" --mode docs --docs 10 --duration 3s
    run_case "$s" "idle N=100" --mode idle --conns 100
  done
  exit 0
fi

for s in ${SERVERS:-tandem ref}; do
  for k in 1 10 100; do
    lim=50000
    [ "$k" = 100 ] && lim=20000
    run_case "$s" "trace K=$k unpaced ${lim}" --mode trace --readers "$k" --limit "$lim" --timeout 4m
  done
  for k in 1 10 100; do
    run_case "$s" "trace K=$k 1000/s 20000" --mode trace --readers "$k" --limit 20000 --rate 1000
  done
  for r in 2000 5000 10000; do
    run_case "$s" "trace K=10 ${r}/s 20000" --mode trace --readers 10 --limit 20000 --rate "$r"
  done
  for d in 100 1000; do
    run_case "$s" "docs D=$d 5/s" --mode docs --docs "$d" --rate 5 --duration 15s
  done
  idle_cases "$s" ""
done
