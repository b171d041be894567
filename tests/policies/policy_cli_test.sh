#!/usr/bin/env bash
# Runs the real `partita policy lint|test|explain` on files in a temp dir and checks exit codes
# and output. Usage: policy_cli_test.sh PARTITA SOURCE_DIR
set -uo pipefail
partita=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$src/tests/testing/expect.sh"

# The operator's journey: copy balanced, make a typo, lint; fix it, change the threshold, test.
cp "$src/policies/library/balanced.yaml" "$work/mine.yaml"
sed -i 's/device.battery_pct: {lt: 20}/device.batery_pct: {lt: 30}/' "$work/mine.yaml"
expect "lint locates a typo with a did-you-mean" 1 \
  "^$work/mine.yaml:[0-9]+:9: error: unknown field 'device.batery_pct'; did you mean 'device.battery_pct'\?" \
  -- "$partita" policy lint "$work/mine.yaml"
expect "lint ends with a count on stderr" 1 "partita: error: 1 error and 0 warnings in 1 file" \
  -- "$partita" policy lint "$work/mine.yaml"
sed -i 's/device.batery_pct: {lt: 30}/device.battery_pct: {lt: 10}/' "$work/mine.yaml"
expect "lint passes a fixed file" 0 "mine.yaml: ok \(6 rules, 1 guard\)" \
  -- "$partita" policy lint "$work/mine.yaml"
expect "test reports a located failure and the counts" 1 \
  "mine.yaml:[0-9]+:5: error: test 'a drained phone offloads to the cloud' failed: expected rule 'low-battery-offload', got 'default'" \
  -- "$partita" policy test "$work/mine.yaml"
expect "test ends with N passed, M failed" 1 "^7 passed, 2 failed$" \
  -- "$partita" policy test "$work/mine.yaml"

cat > "$work/drained-phone.yaml" <<'STATE'
device: {profile: phone-mid, battery_pct: 12, charging: false}
request: {difficulty: 0.5}
STATE
expect "explain says why a rule was skipped" 0 "2\. private-at-home +skipped: 'request.privacy == private' is false" \
  -- "$partita" policy explain --policy "$src/policies/library/balanced.yaml" --state "$work/drained-phone.yaml"
expect "explain shows the predictions table" 0 "cloud +milm-70b-moe +[0-9]+ +[0-9]+ .* chosen" \
  -- "$partita" policy explain --policy "$src/policies/library/balanced.yaml" --state "$work/drained-phone.yaml"
expect "explain --json prints the decision" 0 \
  '^\{"policy":\{"name":"balanced".*"tier":"cloud","model":"milm-70b-moe","rule":"low-battery-offload","fallback":\[\],"deadline_ms":4000,"guards":\[\],"prediction":\{"latency_ms":' \
  -- "$partita" policy explain --json --policy "$src/policies/library/balanced.yaml" --state "$work/drained-phone.yaml"

expect "explain shows the device tier the rule does not use" 0 \
  "device +milm-1.3b +[0-9]+ .* not in rule low-battery-offload's route or fallback" \
  -- "$partita" policy explain --policy "$src/policies/library/balanced.yaml" --state "$work/drained-phone.yaml"
expect "explain shows an absent phone without a model" 0 \
  "^  phone +- +unavailable: no phone is available" \
  -- "$partita" policy explain --policy "$src/policies/library/balanced.yaml" --state "$work/drained-phone.yaml"
cat > "$work/guarded.yaml" <<'POLICY'
apiVersion: partita/v1
kind: Policy
metadata: {name: guarded}
spec:
  guards: [{name: no-cloud, never: [cloud]}]
  rules: [{name: c, route: cloud, fallback: [device]}]
POLICY
expect "explain prints lint errors first and exits 1" 1 "^the router would refuse this policy" \
  -- "$partita" policy explain --policy "$work/guarded.yaml" --state "$work/drained-phone.yaml"
expect "explain --json lists lint errors" 1 '"lint_errors":\[".*guarded.yaml:6:.*forbids cloud' \
  -- "$partita" policy explain --json --policy "$work/guarded.yaml" --state "$work/drained-phone.yaml"
cat > "$work/two-problems.yaml" <<'POLICY'
apiVersion: partita/v1
kind: Policy
metadata: {name: two}
spec:
  rules:
    - {name: a, when: {device.battery_pct: high}, route: device}
    - {name: a, route: cloud}
POLICY
expect "lint reports a type error" 1 "two-problems.yaml:6:44: error: expected a number" \
  -- "$partita" policy lint "$work/two-problems.yaml"
expect "lint reports a duplicate name in the same pass" 1 "two-problems.yaml:7:7: error: duplicate rule name 'a'" \
  -- "$partita" policy lint "$work/two-problems.yaml"
cp "$src/policies/library/balanced.yaml" "$work/cases.yaml"
cat > "$work/cases.test.yaml" <<'TESTS'
tests:
  - {name: typo, state: {device: {battry: 12}}, expect: {tier: cloud}}
  - {name: hard, state: {request: {difficulty: 0.9}}, expect: {tier: cloud}}
TESTS
expect "test locates a malformed case with a did-you-mean" 1 \
  "cases.test.yaml:2:35: error: unknown key 'battry' in device; did you mean 'battery_pct'\?" \
  -- "$partita" policy test "$work/cases.yaml"
expect "test runs the other cases" 1 "^10 passed, 0 failed, 1 malformed \(not run\)$" \
  -- "$partita" policy test "$work/cases.yaml"

echo "device: {battery_pct: 150}" > "$work/bad-state.yaml"
expect "explain locates a bad state" 1 "bad-state.yaml:1:23: error: 'battery_pct' is 150" \
  -- "$partita" policy explain --policy "$src/policies/library/balanced.yaml" --state "$work/bad-state.yaml"
printf 'apiVersion: partita/v1\nkind: Policy\nmetadata: {name: x}\nspec:\n  rules: [{name: a, route: device}]\n' > "$work/no-tests.yaml"
expect "test refuses a policy without cases" 1 "no test cases; add a 'tests:' list" \
  -- "$partita" policy test "$work/no-tests.yaml"
expect "a missing file is a usage error" 2 "does not exist" \
  -- "$partita" policy lint "$work/nope.yaml"

# --catalog: the example catalog of docs/catalog.md has models 'tiny' and 'big' only.
awk '/^```yaml$/{on=1; next} /^```$/{if (on) exit} on' "$src/docs/catalog.md" > "$work/catalog.yaml"
cat > "$work/tiny.yaml" <<'POLICY'
apiVersion: partita/v1
kind: Policy
metadata: {name: tiny}
spec:
  defaults: {models: {device: tiny, cloud: big}}
  rules:
    - {name: easy, when: {request.difficulty: {lt: 0.5}}, route: device}
    - {name: rest, route: cloud}
tests:
  - {name: hard, state: {device: {profile: kitchen-speaker}, request: {difficulty: 0.9}}, expect: {tier: cloud, model: big}}
POLICY
expect "lint --catalog checks names against that catalog" 0 "tiny.yaml: ok" \
  -- "$partita" policy lint --catalog "$work/catalog.yaml" "$work/tiny.yaml"
expect "test --catalog decides with that catalog" 0 "^1 passed, 0 failed$" \
  -- "$partita" policy test --catalog "$work/catalog.yaml" "$work/tiny.yaml"
expect "the built-in catalog does not know 'tiny'" 1 "tiny.yaml:5:31: error: unknown model 'tiny' for 'defaults.models.device'" \
  -- "$partita" policy lint "$work/tiny.yaml"

finish
