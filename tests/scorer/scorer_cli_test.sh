#!/usr/bin/env bash
# `partita scorer` as users run it: train (twice, byte-identical for one seed), eval with the
# curve and the scores, threshold, and the errors for a bad CSV and a corrupt model.
# Usage: scorer_cli_test.sh PARTITA SOURCE_DIR
set -euo pipefail
partita=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A labeled file of 60 rows: sums of large numbers the weak model gets wrong, greetings right.
{
  echo "id,subject,prompt,weak_correct,strong_correct"
  for i in $(seq 1 30); do
    echo "sum-$i,math,\"Compute $((1000 + i * 37)) * $((2000 + i * 53)) - $((i * 11)).\",0,1"
    echo "hello-$i,chat,\"Say hello to friend number $i, nicely.\",1,1"
  done
} > "$work/labeled.csv"

"$partita" scorer train --data "$work/labeled.csv" --out "$work/a.scorer" --seed 4 2>/dev/null
"$partita" scorer train --data "$work/labeled.csv" --out "$work/b.scorer" --seed 4 2>/dev/null
cmp -s "$work/a.scorer" "$work/b.scorer" || fail "two trainings with one seed differ"
head -1 "$work/a.scorer" | grep -qx "partita-scorer 1" || fail "model header"

out=$("$partita" scorer eval --data "$work/labeled.csv" --model "$work/a.scorer" \
  --curve "$work/curve.csv" --scores-out "$work/scores.tsv")
echo "$out"
echo "$out" | grep -q "60 rows; weak 50.0% correct, strong 100.0%" || fail "eval figures"
auc=$(echo "$out" | sed -n 's/.*AUC \([0-9.]*\).*/\1/p')
awk -v a="$auc" 'BEGIN { exit !(a > 0.9) }' || fail "AUC $auc on a separable set"
[[ $(wc -l < "$work/scores.tsv") == 60 ]] || fail "scores-out rows"
grep -qP '^sum-1\t0\.[0-9]+' "$work/scores.tsv" || fail "scores-out format"
head -1 "$work/curve.csv" | grep -qx "strong_share,accuracy" || fail "curve header"

json=$("$partita" scorer eval --data "$work/labeled.csv" --model "$work/a.scorer" --json)
echo "$json" | grep -q '"rows":60' || fail "json: $json"

t=$("$partita" scorer threshold --data "$work/labeled.csv" --model "$work/a.scorer" \
  --strong-share 0.5 2>/dev/null)
above=$(cut -f2 "$work/scores.tsv" | awk -v t="$t" '$1 >= t' | wc -l)
[[ $above == 30 ]] || fail "threshold $t sends $above of 60, not 30"

cv=$("$partita" scorer eval --data "$work/labeled.csv" --folds 2)
echo "$cv" | grep -q "fold 2 of 2 (1 subjects held out)" || fail "cross-validation: $cv"

printf 'id,prompt,weak_correct,strong_correct\nq,p,1,1\nr,"open,1,1\n' > "$work/bad.csv"
if err=$("$partita" scorer eval --data "$work/bad.csv" --model "$work/a.scorer" 2>&1); then
  fail "a bad CSV was accepted"
fi
echo "$err" | grep -q "bad.csv:3: a quoted field is not closed" || fail "CSV error: $err"

cp "$work/a.scorer" "$work/corrupt.scorer"
printf '\x7f' | dd of="$work/corrupt.scorer" bs=1 seek=1000 conv=notrunc status=none
if err=$("$partita" scorer eval --data "$work/labeled.csv" --model "$work/corrupt.scorer" 2>&1); then
  fail "a corrupt model was accepted"
fi
echo "$err" | grep -q "corrupt.scorer: checksum mismatch" || fail "model error: $err"

# The agent's keyword heuristic, for comparison.
"$partita" scorer eval --data "$work/labeled.csv" --model keywords | grep -q "scored by the keyword heuristic: 60 rows" \
  || fail "keywords"

# Calibration: one curve per label, falling with difficulty here (the sums are the hard ones).
cal=$("$partita" scorer calibrate --data "$work/labeled.csv" --model "$work/a.scorer" --bins 2)
echo "$cal" | grep -q "^weak_correct: 60 rows, 50.0% correct" || fail "calibrate: $cal"
echo "$cal" | grep -q "quality_curve: {intercept: .*, slope: -.*, source: \"partita scorer calibrate: weak_correct of labeled.csv" \
  || fail "calibrate's catalog line: $cal"
"$partita" profiles show milm-7b-moe | grep -q "quality curve    PREDICTED" || fail "profiles show"

# Without --model: the shipped model, which says what it was trained on.
"$partita" scorer eval --data "$work/labeled.csv" | grep -q "scored by the shipped model (trained on mmlu.csv" \
  || fail "shipped model"
echo "scorer cli: ok"
