#!/usr/bin/env bash
# A component sees the headers of the components it links and no others.
# Usage: include_boundary_test.sh COMPILER INCLUDE_DIR... (the include path of partita::policies)
# Compiles, with exactly that include path, one file that includes what policies declares
# (which must compile) and files that include what it does not (which must fail, naming the
# header as not found).
set -euo pipefail
compiler=$1
shift
flags=(-std=c++20 -fsyntax-only)
for dir in "$@"; do flags+=(-I"$dir"); done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '#include "policies/policy.h"\n#include "device_profiles/catalog.h"\n#include "common/status.h"\n' \
  >"$work/declared.cc"
if ! "$compiler" "${flags[@]}" "$work/declared.cc" 2>"$work/declared.err"; then
  echo "FAIL: a header policies declares did not compile:" >&2
  cat "$work/declared.err" >&2
  exit 1
fi

failures=0
for header in storage/request_log.h net/frame.h router/router.h http/parser.h; do
  [[ -f "$(dirname "$0")/../../$header" ]] || { echo "FAIL: probe $header is not in the tree" >&2; exit 1; }
  printf '#include "%s"\n' "$header" >"$work/undeclared.cc"
  if "$compiler" "${flags[@]}" "$work/undeclared.cc" 2>"$work/undeclared.err"; then
    echo "FAIL: policies can include $header, which it does not declare" >&2
    failures=$((failures + 1))
  elif ! grep -q "$header: No such file" "$work/undeclared.err"; then
    echo "FAIL: including $header failed for another reason:" >&2
    cat "$work/undeclared.err" >&2
    failures=$((failures + 1))
  else
    echo "ok: $header is not visible to policies"
  fi
done
exit "$failures"
