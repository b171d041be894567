#!/usr/bin/env bash
# Instructions per proxied exchange spent parsing HTTP/1.1, for Partita's parser and for Beast's
# basic_parser with an arena for its fields (bench/http_parse_bench.cc says what one exchange
# is). Callgrind counts only inside the parse function, for a fixed number of exchanges:
# repeatable, unlike time.
# usage: bench/http_parse_callgrind.sh [BUILD_DIR]   (default build; env ITERATIONS (2000))
# prints one line per parser: instructions per exchange
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
bench=$build/bench/http_parse_bench
[[ -x $bench ]] || { echo "build first: ninja -C $build http_parse_bench (missing $bench)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "needs valgrind (scripts/install-deps installs it)" >&2; exit 1; }
n=${ITERATIONS:-2000}
work=$(mktemp -d /tmp/partita-http-parse.XXXXXX)
trap 'rm -rf "$work"' EXIT
for parser in partita beast; do
  valgrind --tool=callgrind --callgrind-out-file="$work/$parser.out" --dump-instr=no \
    --toggle-collect='*ProxyOnce*' "$bench" --parser "$parser" --iterations "$n" \
    >"$work/$parser.log" 2>&1 || { cat "$work/$parser.log" >&2; exit 1; }
  ir=$(awk '/^totals:/{print $2}' "$work/$parser.out")
  # The check exchange before the timed loop is counted too: n + 1 exchanges.
  echo "$parser: $((ir / (n + 1))) instructions per proxied exchange ($ir over $((n + 1)))"
done
