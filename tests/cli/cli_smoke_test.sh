#!/usr/bin/env bash
# Runs the real `partita` binary the way the README and the journeys do (pki, profiles, sim,
# ask, usage errors) and checks exit codes and output. Usage: cli_smoke_test.sh PARTITA SRC
set -uo pipefail
partita=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$src/tests/testing/expect.sh"

# Usage errors exit 2; --help is true about the commands.
help=$("$partita" --help 2>&1)
for command in demo ask agent router gateway modeld pki profiles policy sim report; do
  check "--help lists '$command'" grep -qE "^ +$command( |$)" <<<"$help"
done
expect "an unknown option exits 2" 2 "not expected: --no-such-flag" \
  -- "$partita" profiles list --no-such-flag
expect "a missing required option exits 2" 2 "--policy is required" \
  -- "$partita" sim --fleet "$src/sim/fleets/household-100.yaml"
expect "a usage error reads like every error" 2 "partita: error: " \
  -- "$partita" policy lint "$work/no-such-policy.yaml"

# The security reviewer's PKI.
expect "pki init" 0 "PKI created in $work/pki" -- "$partita" pki init --dir "$work/pki" --devices 2
check "device keys are 0600" test "$(stat -c %a "$work/pki/devices/device-0001.key")" = 600
check "the CA key is 0600" test "$(stat -c %a "$work/pki/ca.key")" = 600
sans=$(openssl x509 -in "$work/pki/devices/device-0002.crt" -noout -ext subjectAltName 2>&1)
check "one URI SAN naming the device" test "$(grep -o 'URI:[^,]*' <<<"$sans")" = \
  "URI:spiffe://partita/device/device-0002"
expect "the certificate verifies against the CA" 0 ": OK" \
  -- openssl verify -CAfile "$work/pki/ca.crt" "$work/pki/devices/device-0001.crt"
expect "pki issue refuses to replace a certificate" 1 "already exists; pass --force" \
  -- "$partita" pki issue --dir "$work/pki" --id device-0001
expect "pki issue --force replaces it" 0 "issued spiffe://partita/device/device-0001" \
  -- "$partita" pki issue --dir "$work/pki" --id device-0001 --force
expect "pki issue adds a new device" 0 "issued spiffe://partita/device/kitchen" \
  -- "$partita" pki issue --dir "$work/pki" --id kitchen

# The catalog.
expect "profiles list shows the MiLM family" 0 "milm-70b-moe" -- "$partita" profiles list
expect "profiles show names sources" 0 "source" -- "$partita" profiles show milm-1.3b
sed '0,/ram_mb/s/ram_mb/ramm_mb/' "$src/device_profiles/catalog.yaml" >"$work/catalog.yaml"
expect "a bad catalog gets FILE:LINE:COL and a did-you-mean, after the subcommand too" 1 \
  "^$work/catalog.yaml:[0-9]+:[0-9]+: error: unknown key 'ramm_mb'.*did you mean 'ram_mb'" \
  -- "$partita" profiles list --catalog "$work/catalog.yaml"

# The simulator: located fleet errors, determinism, --quiet.
printf 'apiVersion: partita/v1\nkind: Fleet\nmetadata: {name: bad}\nspec:\n  devices: []\n  bogus: 1\n' \
  >"$work/bad-fleet.yaml"
expect "a bad fleet gets FILE:LINE:COL" 1 "^$work/bad-fleet.yaml:[0-9]+:[0-9]+: error: " \
  -- "$partita" sim --fleet "$work/bad-fleet.yaml" --policy "$src/policies/library/balanced.yaml" \
  --hours 1 --seed 1 --out "$work/bad.db"
for n in 1 2; do
  quiet=$("$partita" sim --fleet "$src/sim/fleets/household-100.yaml" \
    --policy "$src/policies/library/balanced.yaml" --hours 2 --seed 7 --out "$work/run$n.db" \
    --quiet 2>&1)
  check "sim run $n exits 0 and --quiet prints nothing" test $? -eq 0 -a -z "$quiet"
done
check "the same seed gives a byte-identical run database" cmp -s "$work/run1.db" "$work/run2.db"

# The router as a daemon: ports chosen by the OS and printed, /metrics, SIGTERM exits 0.
cat >"$work/router.yaml" <<YAML
apiVersion: partita/v1
kind: RouterConfig
listen: 127.0.0.1:0
metrics_listen: 127.0.0.1:0
pki_dir: pki
policy: $src/policies/library/balanced.yaml
decision_log: router.db
YAML
"$partita" router --config "$work/router.yaml" >"$work/router.log" 2>&1 &
router_pid=$!
metrics_port=""
for _ in $(seq 100); do  # until the router says where it listens (at most 10 s)
  metrics_port=$(sed -n 's/.*listening on 127.0.0.1:[0-9]* (metrics on 127.0.0.1:\([0-9]*\)).*/\1/p' \
    "$work/router.log")
  [[ -n $metrics_port ]] && break
  kill -0 "$router_pid" 2>/dev/null || break
  sleep 0.1
done
check "the router prints the ports it bound" test -n "$metrics_port"
expect "/metrics shows the serving policy" 0 'partita_router_policy_info\{name="balanced"' \
  -- curl -sf "http://127.0.0.1:$metrics_port/metrics"
# A second router on the same port: the error names the file and key, and leaves no database.
router_port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) .*/\1/p' "$work/router.log")
sed -e "s/^listen: .*/listen: 127.0.0.1:$router_port/" -e "s/^decision_log: .*/decision_log: second.db/" \
  "$work/router.yaml" >"$work/second.yaml"
expect "a port in use names the config file and key" 1 \
  "^partita: error: $work/second.yaml: 'listen': cannot listen on 127.0.0.1:$router_port" \
  -- "$partita" router --config "$work/second.yaml"
check "a failed start leaves no database behind" test ! -e "$work/second.db"
sed -e "s/^pki_dir: .*/pki_dir: no-such-pki/" -e "s/^decision_log: .*/decision_log: third.db/" \
  "$work/router.yaml" >"$work/third.yaml"
expect "a missing certificate names the config file and key" 1 \
  "^partita: error: $work/third.yaml: 'pki_dir' or 'tls': cannot load" \
  -- "$partita" router --config "$work/third.yaml"
check "nor does a missing certificate" test ! -e "$work/third.db"
kill -TERM "$router_pid"
wait "$router_pid"
check "SIGTERM: the router exits 0" test $? -eq 0
check "SIGTERM: it says it flushed its log" grep -q "stopped; decision log flushed" "$work/router.log"

# The agent as a daemon with its router down: it serves its app socket, an ask gets a clear
# answer (no policy yet, nothing reachable), and SIGTERM exits 0.
cat >"$work/agent.yaml" <<YAML
apiVersion: partita/v1
kind: AgentConfig
device_id: device-0002
profile: smart-speaker
pki_dir: pki
router: 127.0.0.1:1
app_socket: $work/agent.sock
YAML
"$partita" agent --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 100); do  # until the app socket exists (at most 10 s)
  [[ -S $work/agent.sock ]] && break
  kill -0 "$agent_pid" 2>/dev/null || break
  sleep 0.1
done
check "the agent serves its app socket" test -S "$work/agent.sock"
for _ in $(seq 100); do  # until it has tried the router once (at most 10 s)
  grep -q "cannot reach the router" "$work/agent.log" && break
  sleep 0.1
done
check "the agent says once why it cannot reach its router" \
  test "$(grep -c 'cannot reach the router at 127.0.0.1:1: ' "$work/agent.log")" -eq 1
expect "an ask with no policy and no router fails clearly" 1 "no policy cached" \
  -- "$partita" ask "turn on the lights" --socket "$work/agent.sock" --timeout 20
kill -TERM "$agent_pid"
wait "$agent_pid"
check "SIGTERM: the agent exits 0" test $? -eq 0
check "SIGTERM: the agent removed its socket" test ! -e "$work/agent.sock"

# gateway --check loads the files the config names.
cat >"$work/gateway.yaml" <<YAML
listen: 127.0.0.1:0
tls: {ca: pki/ca.crt, cert: pki/no-such-gateway.crt, key: pki/gateway.key}
ledger: gateway.db
models:
  - name: milm-70b-moe
    upstreams: [{name: a, url: "http://127.0.0.1:1/v1"}]
YAML
expect "gateway --check refuses a missing certificate, naming the key" 1 \
  "$work/gateway.yaml: 'tls': .*no-such-gateway.crt" -- "$partita" gateway --config "$work/gateway.yaml" --check
sed -i 's/no-such-gateway.crt/gateway.crt/' "$work/gateway.yaml"
expect "gateway --check passes once it is there" 0 "ok \(1 model" \
  -- "$partita" gateway --config "$work/gateway.yaml" --check

# A crash is reported on stderr with the signal and a backtrace, not silently.
"$partita" modeld --port 0 >"$work/modeld.log" 2>&1 &
modeld_pid=$!
for _ in $(seq 100); do  # until modeld says where it listens (at most 10 s)
  grep -q "port" "$work/modeld.log" && break
  kill -0 "$modeld_pid" 2>/dev/null || break
  sleep 0.1
done
kill -SEGV "$modeld_pid"
wait "$modeld_pid"
check "a crash kills the process by its signal" test $? -eq $((128 + 11))
check "a crash names its signal on stderr" grep -q "partita modeld: fatal signal SEGV" \
  "$work/modeld.log"

# ask without an agent says how to start one.
expect "ask with no agent says how to start one" 1 "no Partita agent at .*start one with" \
  -- "$partita" ask "hello" --socket "$work/none.sock"
json_error=$("$partita" ask "hello" --socket "$work/none.sock" --json 2>/dev/null)
check "ask --json exits 1 on a failure" test $? -eq 1
check "ask --json prints a failure as an object on stdout" \
  grep -qE '^\{"error":\{"code":"[a-z_]+","message":"no Partita agent at [^"]*"\}\}$' <<<"$json_error"

finish
