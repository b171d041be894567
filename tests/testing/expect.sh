# Shared by the shell tests that run the `partita` binary: source it, call expect/check, then
# `finish`, which exits 1 when any check failed.
failures=0

expect() {  # expect NAME WANT_EXIT PATTERN -- COMMAND...: exit code and an output line match
  local name=$1 want=$2 pattern=$3
  shift 4
  local out
  out=$("$@" 2>&1)
  local got=$?
  if [[ $got -ne $want ]]; then
    echo "FAIL $name: exit $got, want $want"; echo "$out"; failures=$((failures + 1)); return
  fi
  if ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: output does not match /$pattern/"; echo "$out"; failures=$((failures + 1))
    return
  fi
  echo "ok   $name"
}

check() {  # check NAME COMMAND...: the command succeeds
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}

finish() {
  if ((failures > 0)); then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
