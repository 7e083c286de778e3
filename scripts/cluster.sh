#!/usr/bin/env bash
# A 3-node Eventara cluster on this machine behind HAProxy (Debian's
# haproxy package), for trying cluster mode and for tests.
#
#   scripts/cluster.sh up DIR PORT   start what is not running: node N (1..3) with
#                                    HTTP on PORT+N, NATS routes on PORT+10+N, data in
#                                    DIR/nodeN, pid in DIR/nodeN.pid, log in DIR/nodeN.log;
#                                    the balancer on PORT (DIR/lb.pid, DIR/haproxy.cfg).
#                                    Returns once every part it started answers health.
#   scripts/cluster.sh down DIR      stop everything started in DIR.
#
# EVENTARA_BIN names the binary (default bin/eventara), HAPROXY the
# balancer (default haproxy on PATH, else /usr/sbin/haproxy). The balancer sends
# a SockJS session's HTTP requests (/ws/<server>/<session>/...) to one node
# by a hash of that path, passes WebSocket upgrades (plain /ws included)
# and spreads everything else round-robin over the healthy nodes.
set -euo pipefail

bin=${EVENTARA_BIN:-$(dirname "$0")/../bin/eventara}
# Debian installs haproxy in /usr/sbin, which a user's PATH may lack.
haproxy=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}

usage() { echo "usage: $0 up DIR PORT | down DIR" >&2; exit 2; }

# alive PIDFILE: the process runs. A zombie (SIGKILLed, its parent gone
# and PID 1 not reaping, as in some containers) is dead: kill -0 alone
# would call it alive, and up would never restart that node.
alive() {
  [ -f "$1" ] || return 1
  local pid stat
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/stat" ]; then
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ] || return 1
  fi
}

wait_health() { # url what
  for _ in $(seq 1 600); do
    if curl -fs -o /dev/null --max-time 2 "$1"; then return 0; fi
    sleep 0.2
  done
  echo "cluster.sh: $2 did not become healthy ($1)" >&2
  return 1
}

# lb_sees_up DIR: wait until the balancer's checks have marked every
# running node UP in both backends. A node the balancer still counts down
# (its first checks ran before it listened) would come up later and
# remap the SockJS sessions hashed meanwhile: their next request would
# meet a node without the session.
lb_sees_up() {
  local dir=$1 want csv i ok
  for _ in $(seq 1 300); do
    csv=$(curl -fs --max-time 2 --unix-socket "$dir/lb-stats.sock" 'http://lb/;csv' 2>/dev/null) || csv=
    ok=1
    for i in 1 2 3; do
      alive "$dir/node$i.pid" || continue
      for want in nodes sessions; do
        printf '%s\n' "$csv" | awk -F, -v b="$want" -v s="node$i" '$1==b && $2==s && $18 ~ /^UP/ {f=1} END {exit !f}' || ok=
      done
    done
    [ -n "$ok" ] && [ -n "$csv" ] && return 0
    sleep 0.2
  done
  echo "cluster.sh: the balancer does not see every running node up (curl --unix-socket $dir/lb-stats.sock 'http://lb/;csv')" >&2
  return 1
}

up() {
  local dir=$1 port=$2
  [ -x "$haproxy" ] || { echo "cluster.sh: haproxy is required (apt-get install -y haproxy; or set HAPROXY)" >&2; exit 1; }
  command -v curl >/dev/null || { echo "cluster.sh: curl is required (apt-get install -y curl)" >&2; exit 1; }
  [ -x "$bin" ] || { echo "cluster.sh: no binary at $bin (make build)" >&2; exit 1; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local peers="127.0.0.1:$((port + 11)),127.0.0.1:$((port + 12)),127.0.0.1:$((port + 13))"
  local started=()
  for i in 1 2 3; do
    if alive "$dir/node$i.pid"; then continue; fi
    "$bin" --addr "127.0.0.1:$((port + i))" --data-dir "$dir/node$i" --node-name "node$i" \
      --cluster-listen "127.0.0.1:$((port + 10 + i))" --cluster-peers "$peers" \
      >>"$dir/node$i.log" 2>&1 &
    echo $! >"$dir/node$i.pid"
    started+=("$i")
  done
  if ! alive "$dir/lb.pid"; then
    cat >"$dir/haproxy.cfg" <<CFG
global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  # A health check answered late on a busy machine is not a failed one:
  # without this the whole check must be answered within inter (1 s).
  timeout check 5s
  option http-server-close
  # A connection refused by a node that died (or restarts) between two
  # health checks is tried again on another: requests do not fail for the
  # up to three seconds (fall 3, inter 1s) before the check marks it down.
  retries 3
  option redispatch 1
# The balancer's own view of the nodes, for up (lb_sees_up) and for a
# curious user: curl --unix-socket DIR/lb-stats.sock 'http://lb/;csv'
frontend stats
  bind unix@$dir/lb-stats.sock mode 600
  stats enable
  stats uri /
frontend eventara
  bind 127.0.0.1:$port
  acl sockjs_session path_reg ^/ws/[^/]+/[^/]+/
  use_backend sessions if sockjs_session
  default_backend nodes
# Three missed checks mark a node down: on a busy machine two in a row
# can be late, and a node marked down remaps the SockJS sessions hashed to
# it (their next request meets a node without the session).
# The health check is liveness (/ws/info: the node serves HTTP), not
# /api/v1/events/health: that is DOWN on every node while the stream
# elects a leader (no quorum), and a balancer that drops every node then
# answers 503 to reads and live push too, which the nodes still serve.
backend nodes
  balance roundrobin
  option httpchk GET /ws/info
  server node1 127.0.0.1:$((port + 1)) check inter 1s fall 3 rise 1
  server node2 127.0.0.1:$((port + 2)) check inter 1s fall 3 rise 1
  server node3 127.0.0.1:$((port + 3)) check inter 1s fall 3 rise 1
backend sessions
  # /ws/<server>/<session>: every request of a SockJS session to one node
  balance uri depth 3
  hash-type consistent
  option httpchk GET /ws/info
  server node1 127.0.0.1:$((port + 1)) check inter 1s fall 3 rise 1
  server node2 127.0.0.1:$((port + 2)) check inter 1s fall 3 rise 1
  server node3 127.0.0.1:$((port + 3)) check inter 1s fall 3 rise 1
CFG
    "$haproxy" -f "$dir/haproxy.cfg" -D -p "$dir/lb.pid"
    started+=(lb)
  fi
  for p in "${started[@]}"; do
    if [ "$p" = lb ]; then
      wait_health "http://127.0.0.1:$port/api/v1/events/health" "the balancer"
    else
      wait_health "http://127.0.0.1:$((port + p))/api/v1/events/health" "node$p (log: $dir/node$p.log)"
    fi
  done
  lb_sees_up "$dir"
  echo "cluster up: http://127.0.0.1:$port (nodes on $((port + 1))-$((port + 3)), data in $dir)"
}

down() {
  local dir=$1
  for f in "$dir"/node1.pid "$dir"/node2.pid "$dir"/node3.pid "$dir"/lb.pid; do
    if alive "$f"; then kill "$(cat "$f")"; fi
  done
  for f in "$dir"/node1.pid "$dir"/node2.pid "$dir"/node3.pid "$dir"/lb.pid; do
    for _ in $(seq 1 100); do alive "$f" || break; sleep 0.1; done
    if alive "$f"; then kill -9 "$(cat "$f")"; fi
    rm -f "$f"
  done
}

case "${1:-}" in
up) [ $# -eq 3 ] || usage; up "$2" "$3" ;;
down) [ $# -eq 2 ] || usage; down "$2" ;;
*) usage ;;
esac
