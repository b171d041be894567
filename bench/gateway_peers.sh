#!/usr/bin/env bash
# Measures Partita's gateway the way the peers harness measures nginx and Portkey:
#   1. plaintext front as the harness's `ext` peer: same fake upstream, same wrk load, one run;
#   2. TLS 1.3 front (mutual auth, a device certificate) with gateway_load_bench, beside the same
#      generator on the plaintext front and on the upstream directly.
# usage: bench/gateway_peers.sh [BUILD_DIR]    (BUILD_DIR from `make bench`, default build-bench)
# env:   PEERS_DIR (default ../shared/peers beside the repository), PEERS (default "direct nginx portkey ext"),
#        SECONDS_TLS (10), SKIP_PEERS=1 (only the TLS part)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build-bench}" && pwd)
peers=${PEERS_DIR:-$root/../shared/peers}
partita=$build/sdk/cli/partita
load=$build/bench/gateway_load_bench
[[ -x $partita && -x $load ]] || { echo "build first: make bench (missing $partita or $load)" >&2; exit 1; }
[[ -x $peers/run.sh ]] || { echo "peers harness not found in $peers (set PEERS_DIR)" >&2; exit 1; }

work=$(mktemp -d /tmp/partita-gateway-bench.XXXXXX)
gpid="" upid=""
cleanup() {
  [[ -n $upid ]] && kill "$upid" 2>/dev/null || true
  [[ -n $gpid ]] && kill -TERM "$gpid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

source "$root/bench/gateway_bench_config.sh"
write_bench_gateway_config "$work"
start_gateway() {
  "$partita" --log-level warn gateway --config "$work/gateway.yaml" >> "$work/gateway.log" 2>&1 &
  gpid=$!
  for _ in $(seq 50); do ss -ltnH 'sport = :18090' | grep -q . && break; sleep 0.1; done
  echo "gateway pid $gpid, logs and ledger in $work" >&2
}
start_gateway

if [[ ${SKIP_PEERS:-0} != 1 ]]; then
  (cd "$peers" && PEERS=${PEERS:-"direct nginx portkey ext"} \
     EXT_NAME="partita gateway, plaintext front" \
     EXT_URL=http://127.0.0.1:18090/v1/chat/completions EXT_PID=$gpid ./run.sh)
fi

# TLS front: the harness's fake upstream, started by hand as its README shows.
mkdir -p "$work/run/logs" "$work/run/tmp"
nginx -p "$work/run/" -e "$work/run/logs/upstream.err" -c "$peers/upstream/nginx.conf" &
upid=$!
for _ in $(seq 50); do ss -ltnH 'sport = :18080' | grep -q . && break; sleep 0.1; done
# A fresh gateway: the one above saw the harness stop its upstream, and passive health ejected
# it for 30 s (every request would be a 503).
kill -TERM "$gpid" && wait "$gpid" || true
start_gateway
secs=${SECONDS_TLS:-10}
echo
echo "gateway_load_bench, ${secs} s per row, same request body as wrk/post.lua ($(date -u '+%Y-%m-%d %H:%M UTC'))"
printf '%-34s %5s %s\n' target conns result
for c in 32 1; do
  for target in "direct|http://127.0.0.1:18080/v1/chat/completions|" \
                "gateway plaintext|http://127.0.0.1:18090/v1/chat/completions|--pid $gpid" \
                "gateway TLS 1.3 mutual auth|https://127.0.0.1:18443/v1/chat/completions|--pid $gpid"; do
    IFS='|' read -r name url extra <<<"$target"
    "$load" --url "$url" --pki "$work/pki" --device bench --connections "$c" --seconds 3 \
      $extra >/dev/null 2>&1 || true   # warm-up
    printf '%-34s %5s %s\n' "$name" "$c" \
      "$("$load" --url "$url" --pki "$work/pki" --device bench --connections "$c" \
           --seconds "$secs" $extra | sed 's/^RESULT //')"
  done
done
for target in "direct|http://127.0.0.1:18080/v1/chat/completions" \
              "gateway plaintext|http://127.0.0.1:18090/v1/chat/completions" \
              "gateway TLS (incl. handshake)|https://127.0.0.1:18443/v1/chat/completions"; do
  IFS='|' read -r name url <<<"$target"
  printf '%-34s %5s %s\n' "$name" 1 \
    "$("$load" --url "$url" --pki "$work/pki" --device bench --ttfb 15 | sed 's/^RESULT //')"
done
