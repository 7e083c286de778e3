#!/usr/bin/env bash
# Load runs behind `make bench`: each starts the real binary on a free
# loopback port with a temporary data directory and prints figures.
# Usage: scripts/bench.sh ./bin/eventara [ingest|trivial|compare|fanout|floor|recovery|cluster|all]
# cluster: 3 nodes of scripts/cluster.sh behind HAProxy, beside the load
# tool: ingest through one node and through the balancer next to one
# pebble node, memory per node, then scripts/cluster-failover.py (SIGKILL
# of the stream leader, catch-up of the restarted node).
# compare runs, one after the other in one go, the references and Eventara
# they are read against: trivial-server then Eventara for single-event
# ingest, floor-server then Eventara (deflate offered, then not) for the
# 10,000-subscriber fan-out.
# FANOUT_FLAGS adds eventara-bench fanout flags, e.g. FANOUT_FLAGS=--deflate=false
# for clients that do not offer permessage-deflate (the default offers it, as
# browsers and Node's ws do).
set -euo pipefail
BIN=${1:?usage: bench.sh BINARY [ingest|trivial|compare|fanout|floor|recovery|cluster|all]}
WHAT=${2:-all}
BENCH=$(mktemp -d)/eventara-bench
go build -o "$BENCH" ./cmd/eventara-bench

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() { # start_server DATA_DIR [flags...]; sets PID and URL
  local dir=$1; shift
  local port; port=$(free_port)
  URL="http://127.0.0.1:$port"
  "$BIN" --addr "127.0.0.1:$port" --data-dir "$dir" --log-level warn "$@" >"$dir.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 400); do
    curl -fsS "$URL/api/v1/events/health" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server did not start"; cat "$dir.log"; exit 1
}

stop_server() { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }

trivial_ingest() { # trivial_ingest [trivial-server flags...]: the reference under single-event load
  local port; port=$(free_port)
  "$BENCH" trivial-server --addr "127.0.0.1:$port" "$@" &
  PID=$!; URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -fsS "$URL/api/v1/events/health" >/dev/null 2>&1 && break; sleep 0.05; done
  "$BENCH" ingest --url "$URL" --conns 64 --batch 1 --duration 10s --server-pid "$PID"
  stop_server
}

if [[ $WHAT == trivial || $WHAT == compare ]]; then
  # The reference for single-event ingest: a trivial Go JSON handler with
  # no storage (eventara-bench trivial-server), under the same load.
  echo "== trivial: single-event POSTs to a trivial JSON handler (not Eventara) over 64 keep-alive connections"
  trivial_ingest
  # The same handler answering after a wait, as one that waits for an
  # fsync: at 64 connections it answers about as many requests per second
  # as Eventara, so the two are read at the same pace. What it costs beyond
  # the first is the waiting alone.
  echo "== trivial, waiting ${TRIVIAL_DELAY:-2ms} before each answer (not Eventara)"
  trivial_ingest --delay "${TRIVIAL_DELAY:-2ms}"
  # The same handler storing each event in an append-only file and
  # answering once it is fdatasynced (group commit, as Eventara's journal):
  # the floor of an ingest whose every 202 is synced, on this disk.
  echo "== trivial, each event appended to a file and fdatasynced before the answer, by group commit (not Eventara)"
  f=$(mktemp -d)/events.log
  trivial_ingest --fsync "$f"
fi

if [[ $WHAT == ingest || $WHAT == compare || $WHAT == all ]]; then
  echo "== ingest: single-event POSTs over 64 keep-alive connections"
  d=$(mktemp -d); start_server "$d/data"
  "$BENCH" ingest --url "$URL" --conns 64 --batch 1 --duration 10s --server-pid "$PID"
  stop_server
fi

if [[ $WHAT == ingest || $WHAT == all ]]; then
  echo "== ingest: batches of 1,000 events over 8 connections"
  d=$(mktemp -d); start_server "$d/data"
  "$BENCH" ingest --url "$URL" --conns 8 --batch 1000 --duration 10s --server-pid "$PID"
  stop_server
fi

if [[ $WHAT == fanout || $WHAT == all ]]; then
  for n in ${FANOUT_NS:-1000 5000 10000}; do
    for tr in websocket sockjs; do
      echo "== fanout: $n subscribers over $tr"
      d=$(mktemp -d); start_server "$d/data"
      ( ulimit -n 65536 2>/dev/null || true; "$BENCH" fanout --url "$URL" --subscribers "$n" --transport "$tr" --duration 15s --server-pid "$PID" --realistic ${FANOUT_FLAGS:-} ) || true
      stop_server
    done
  done
fi

if [[ $WHAT == floor || $WHAT == compare || $WHAT == all ]]; then
  # The machine's floor for the same load: eventara-bench floor-server
  # pushes the same snapshot with no actors and no STOMP state. What
  # Eventara costs beyond it is its own.
  echo "== floor: 10,000 subscribers of a bare fan-out loop (not Eventara) over websocket"
  d=$(mktemp -d); start_server "$d/data"
  "$BENCH" fanout --url "$URL" --subscribers 1 --duration 1s --realistic >/dev/null
  curl -fsS "$URL/api/v1/metrics" >"$d/snapshot.json"
  stop_server
  port=$(free_port)
  "$BENCH" floor-server --addr "127.0.0.1:$port" --body "$d/snapshot.json" &
  PID=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.05; done
  ( ulimit -n 65536 2>/dev/null || true; "$BENCH" fanout --url "http://127.0.0.1:$port" --subscribers "${FLOOR_N:-10000}" --transport websocket --duration 15s --server-pid "$PID" --realistic ) || true
  stop_server
fi

if [[ $WHAT == compare ]]; then
  for deflate in true false; do
    echo "== fanout: ${FLOOR_N:-10000} subscribers over websocket, deflate offered: $deflate (Eventara)"
    d=$(mktemp -d); start_server "$d/data"
    ( ulimit -n 65536 2>/dev/null || true; "$BENCH" fanout --url "$URL" --subscribers "${FLOOR_N:-10000}" --transport websocket --duration 15s --server-pid "$PID" --realistic --deflate=$deflate ) || true
    stop_server
  done
fi

if [[ $WHAT == recovery || $WHAT == all ]]; then
  echo "== recovery: start-up after 10,000,000 journaled events"
  d=$(mktemp -d); start_server "$d/data"
  "$BENCH" ingest --url "$URL" --conns 8 --batch 1000 --duration 300s --max-events 10000000 --server-pid "$PID"
  kill -KILL "$PID"; wait "$PID" 2>/dev/null || true
  t0=$(date +%s.%N); start_server "$d/data" --log-level info; t1=$(date +%s.%N)
  printf '  start-up after kill -9: %.2f s (until health answers)\n' "$(echo "$t1 - $t0" | bc)"
  grep -o '"replayed":[0-9]*\|"took":[0-9.]*' "$d/data.log" | tr '\n' ' ' | sed 's/^/  recovery log: /'; echo
  stop_server
  t0=$(date +%s.%N); start_server "$d/data" --log-level info; t1=$(date +%s.%N)
  printf '  start-up after SIGTERM: %.2f s (until health answers)\n' "$(echo "$t1 - $t0" | bc)"
  grep -o '"replayed":[0-9]*\|"took":[0-9.]*' "$d/data.log" | tr '\n' ' ' | sed 's/^/  recovery log: /'; echo
  stop_server
  du -sh "$d/data" | sed 's/^/  journal size: /'
fi

if [[ $WHAT == cluster || $WHAT == all ]]; then
  rss() { awk '/^VmRSS:/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$1/status"; }
  for b in "64 1" "8 1000"; do
    set -- $b
    echo "== cluster reference: one pebble node, conns $1, batch $2"
    d=$(mktemp -d); start_server "$d/data"
    "$BENCH" ingest --url "$URL" --conns "$1" --batch "$2" --duration 10s --server-pid "$PID"
    stop_server
  done
  cdir=$(mktemp -d)
  cport=$(python3 -c 'import random, socket
for _ in range(200):
    p = random.randint(10000, 32000); ok = True
    for off in (0, 1, 2, 3, 11, 12, 13):
        s = socket.socket()
        try: s.bind(("127.0.0.1", p + off))
        except OSError: ok = False
        finally: s.close()
        if not ok: break
    if ok: print(p); break')
  EVENTARA_BIN=$BIN scripts/cluster.sh up "$cdir/c" "$cport" >/dev/null
  trap 'scripts/cluster.sh down "$cdir/c"' EXIT
  node1=http://127.0.0.1:$((cport + 1)) lb=http://127.0.0.1:$cport
  for b in "64 1" "8 1000"; do
    set -- $b
    echo "== cluster: 3 nodes, R3, through node1 alone, conns $1, batch $2"
    "$BENCH" ingest --url "$node1" --conns "$1" --batch "$2" --duration 10s --server-pid "$(cat "$cdir/c/node1.pid")"
    echo "== cluster: 3 nodes, R3, spread over all three by HAProxy, conns $1, batch $2"
    "$BENCH" ingest --url "$lb" --conns "$1" --batch "$2" --duration 10s
    echo "  RSS: node1 $(rss "$(cat "$cdir/c/node1.pid")"), node2 $(rss "$(cat "$cdir/c/node2.pid")"), node3 $(rss "$(cat "$cdir/c/node3.pid")")"
  done
  echo "== cluster: SIGKILL of the stream leader, catch-up of the restarted node"
  EVENTARA_BIN=$BIN /usr/bin/python3 scripts/cluster-failover.py "$cdir/c" "$cport" "$BENCH"
  scripts/cluster.sh down "$cdir/c"; trap - EXIT
fi
