#!/usr/bin/env bash
# Instructions per proxied request in the gateway (all its threads, ledger included), counted by
# callgrind: repeatable whatever else the machine does, unlike CPU time. The gateway runs under
# valgrind with its plaintext front on the peers harness's fake upstream; wrk drives it with 8
# connections, counters are zeroed after a warm-up and dumped after the measured part.
# needs valgrind, and nginx and wrk as the peers harness installs them (its setup.sh).
# usage: bench/gateway_callgrind.sh [BUILD_DIR]   (default build-bench; env SECONDS_RUN (6))
# prints: requests=N Ir=TOTAL Ir/req=PER_REQUEST, and leaves the profile for callgrind_annotate
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build-bench}" && pwd)
peers=${PEERS_DIR:-$root/../shared/peers}
partita=$build/sdk/cli/partita
[[ -x $partita ]] || { echo "build first: make bench (missing $partita)" >&2; exit 1; }
for tool in valgrind callgrind_control callgrind_annotate wrk nginx; do
  command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
work=$(mktemp -d /tmp/partita-gateway-callgrind.XXXXXX)
gpid="" upid=""
cleanup() {
  [[ -n $gpid ]] && kill -TERM "$gpid" 2>/dev/null || true
  [[ -n $upid ]] && kill "$upid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_port() { for _ in $(seq 150); do ss -ltnH "sport = :$1" | grep -q . && return 0; sleep 0.2; done; return 1; }

mkdir -p "$work/run/logs" "$work/run/tmp"
nginx -p "$work/run/" -e "$work/run/logs/upstream.err" -c "$peers/upstream/nginx.conf" &
upid=$!
wait_port 18080 || { echo "the fake upstream did not start" >&2; exit 1; }
source "$root/bench/gateway_bench_config.sh"
write_bench_gateway_config "$work"
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --dump-instr=no \
  "$partita" --log-level warn gateway --config "$work/gateway.yaml" > "$work/gateway.log" 2>&1 &
gpid=$!
wait_port 18090 || { echo "the gateway did not start (see $work/gateway.log)" >&2; exit 1; }
url=http://127.0.0.1:18090/v1/chat/completions
wrk -t1 -c8 -d3s -s "$peers/wrk/post.lua" "$url" >/dev/null
callgrind_control -z "$gpid" >/dev/null 2>&1
out=$(wrk -t1 -c8 -d"${SECONDS_RUN:-6}"s -s "$peers/wrk/post.lua" "$url")
callgrind_control -d "$gpid" >/dev/null 2>&1
requests=$(awk '/requests in/{print $1}' <<<"$out")
profile=$(ls -t "$work"/callgrind.out.* | head -1)
ir=$(callgrind_annotate "$profile" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
echo "requests=$requests Ir=$ir Ir/req=$((ir / requests))"
echo "profile: $profile (callgrind_annotate --inclusive=yes $profile)" >&2
