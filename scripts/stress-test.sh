#!/usr/bin/env bash
# The whole `make test`, N times, with two CPU hogs beside it: the cold,
# busy machine the tests must survive. Prints which tests failed in which
# run and exits non-zero if any run failed.
#
# Usage: scripts/stress-test.sh [N]       N runs (default 3; or STRESS_RUNS)
# Environment:
#   STRESS_RUNS=N      the number of runs when no argument is given
#   STRESS_HOGS=2      how many busy loops run beside the tests
#   STRESS_COLD=1      each run with an empty Go build cache (a fresh
#                      clone's first `make test`: everything compiles, with
#                      -race, while the tests run)
#   STRESS_LOG_DIR=D   where each run's full log goes (default: a temp dir)
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:-${STRESS_RUNS:-3}}
hogs=${STRESS_HOGS:-2}
cold=${STRESS_COLD:-0}
logdir=${STRESS_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/eventara-stress.XXXXXX")}
mkdir -p "$logdir"
case $runs in '' | *[!0-9]* | 0)
	echo "usage: $0 [N]   (N runs, at least 1)" >&2
	exit 2
	;;
esac

hog_pids=()
caches=()
make_pid=
cleanup() {
	# make runs in a session of its own: stop it with everything it
	# started (go test, the servers under test, node) if we are cut short.
	if [ -n "$make_pid" ]; then kill -TERM -- "-$make_pid" 2>/dev/null; fi
	for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${hog_pids[@]}"; do wait "$p" 2>/dev/null; done
	for c in "${caches[@]}"; do rm -rf "$c"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 1 "$hogs"); do
	sh -c 'while :; do :; done' &
	hog_pids+=($!)
done
echo "stress: $runs run(s) of make test beside $hogs CPU hog(s) (pids ${hog_pids[*]}); cold cache: $([ "$cold" = 1 ] && echo yes || echo no); logs in $logdir"

failed_runs=0
summary=()
for i in $(seq 1 "$runs"); do
	log="$logdir/run$i.log"
	env=()
	if [ "$cold" = 1 ]; then
		cache=$(mktemp -d "${TMPDIR:-/tmp}/eventara-gocache.XXXXXX")
		caches+=("$cache")
		env=(GOCACHE="$cache")
	fi
	start=$(date +%s)
	echo "stress: run $i/$runs started $(date +%T)"
	setsid env "${env[@]}" make test >"$log" 2>&1 &
	make_pid=$!
	wait "$make_pid"
	rc=$?
	make_pid=
	took=$(($(date +%s) - start))
	# Failed tests (subtests indented under their parent) and failed
	# packages, as go test prints them.
	fails=$(grep -E '^[[:space:]]*--- FAIL: |^FAIL[[:space:]]+[^[:space:]]+' "$log" | sed 's/^/      /')
	if [ $rc -eq 0 ] && [ -z "$fails" ]; then
		line="run $i: PASS (${took}s)"
	else
		failed_runs=$((failed_runs + 1))
		line="run $i: FAIL (${took}s, make exited $rc), log $log"
		if [ -z "$fails" ]; then # not a test: the build, npm or a fuzz target
			fails=$(tail -n 15 "$log" | sed 's/^/      /')
		fi
		line+=$'\n'"$fails"
	fi
	echo "stress: $line"
	summary+=("$line")
	if [ "$cold" = 1 ]; then
		rm -rf "$cache"
	fi
done

echo
echo "stress: summary ($runs run(s), $hogs hog(s), cold cache: $([ "$cold" = 1 ] && echo yes || echo no))"
for line in "${summary[@]}"; do echo "  $line"; done
if [ $failed_runs -gt 0 ]; then
	echo "stress: $failed_runs of $runs run(s) failed"
	exit 1
fi
echo "stress: all $runs run(s) passed"
