#!/usr/bin/env bash
# `sdn paper --seeds` on a tiny synthetic problem: a run with one seed,
# then the same with two resumes the first (every stage done already) and
# runs the second; aggregate.json holds the spread of the two runs' figures
# (checked against the per-seed reports) and each claim's verdicts counted.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
. "$(dirname "$0")/expect_error.sh"
. "$(dirname "$0")/tiny_paper.sh"
args=("${tiny_paper[@]}" --out "$dir/run")
"$sdn" --threads 1 "${args[@]}" --seeds 3 > "$dir/one.txt" 2> "$dir/one.err" || {
  cat "$dir/one.err"; exit 1; }
test -f "$dir/run/seed-3/summary.json"
test -f "$dir/run/aggregate.json"
"$sdn" --threads 1 "${args[@]}" --seeds 3,5 > "$dir/two.txt" 2> "$dir/two.err" || {
  cat "$dir/two.err"; exit 1; }
# Seed 3 resumed: its 3 trainings and 11 traces were done already.
test "$(grep -c 'done already: .*seed-3' "$dir/two.err")" -eq 14
test -f "$dir/run/seed-5/summary.json"
grep -q "^### Over 1 seed: mean +- sd (min - max)" "$dir/one.txt"
grep -q "^### Over 2 seeds: mean +- sd (min - max)" "$dir/two.txt"
grep -q "supported in [0-2] of 2$" "$dir/two.txt"
# The page: per-seed curves and the spread, self-contained.
test "$(grep -o '<svg' "$dir/run/report.html" | wc -l)" -ge 2
grep -q "claims over the seeds" "$dir/run/report.html"
! grep -q "https\?://" "$dir/run/report.html"
/usr/bin/python3 - "$dir/run" <<'PY'
import json, math, sys
run = sys.argv[1]
agg = json.load(open(f"{run}/aggregate.json"))
assert agg["seeds"] == [3, 5], agg["seeds"]
for name in ["ic_only", "sdn"]:
    per = [json.load(open(f"{run}/seed-{s}/report-{name}.json")) for s in (3, 5)]
    for e, cell in enumerate(agg["reports"][name]["exit_accuracy"]):
        a, b = (p["exit_accuracy"][e] for p in per)
        assert cell["n"] == 2
        assert math.isclose(cell["mean"], (a + b) / 2, abs_tol=1e-9), cell
        assert math.isclose(cell["sd"], abs(a - b) / math.sqrt(2),
                            abs_tol=1e-9), cell
        assert cell["min"] == min(a, b) and cell["max"] == max(a, b)
claims = agg["claims"]
assert len(claims) == 7
for c in claims:
    assert c["runs"] == 2 and len(c["verdicts"]) == 2
    assert c["supported"] == sum(v == "supported" for v in c["verdicts"])
PY
# Results kept without checkpoints aggregate again: the summaries and
# reports alone, copied elsewhere, give the same aggregate.
mkdir -p "$dir/kept"
for s in 3 5; do
  mkdir "$dir/kept/seed-$s"
  cp "$dir/run/seed-$s"/summary.json "$dir/run/seed-$s"/report-*.json \
    "$dir/kept/seed-$s/"
done
"$sdn" "${tiny_paper[@]}" --seeds 3,5 --aggregate-only --out "$dir/kept" \
  > "$dir/kept.txt" 2> "$dir/kept.err" || { cat "$dir/kept.err"; exit 1; }
! grep -q "== 1/" "$dir/kept.err"
diff <(grep -v "^report:\|^aggregate:\|took" "$dir/two.txt" | sed -n '/^### Over/,$p') \
  <(sed -n '/^### Over/,$p' "$dir/kept.txt")
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
a = json.load(open(f"{d}/run/aggregate.json"))
b = json.load(open(f"{d}/kept/aggregate.json"))
assert a["claims"] == b["claims"]
for k in a["reports"]:
    for key in ("exit_accuracy", "budgets", "overthinking", "confusion"):
        assert a["reports"][k][key] == b["reports"][k][key], (k, key)
PY
# Damaged kept files: an error naming the file, and the outputs untouched.
cp "$dir/kept/aggregate.json" "$dir/aggregate.before"
echo '{}' > "$dir/kept/seed-5/report-sdn.json"
expect_error "kept/seed-5/report-sdn.json: missing key" \
  "$sdn" "${tiny_paper[@]}" --seeds 3,5 --aggregate-only --out "$dir/kept"
cmp "$dir/kept/aggregate.json" "$dir/aggregate.before"
cp "$dir/run/seed-5/report-sdn.json" "$dir/kept/seed-5/"
/usr/bin/python3 - "$dir/kept/seed-3/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s["claims"][0].pop("verdict")
json.dump(s, open(sys.argv[1], "w"))
PY
expect_error "kept/seed-3/summary.json: key 'claims': .*verdict" \
  "$sdn" "${tiny_paper[@]}" --seeds 3,5 --aggregate-only --out "$dir/kept"
cp "$dir/run/seed-3/summary.json" "$dir/kept/seed-3/"
expect_error "--aggregate-only: --out .*/nowhere is not a folder of finished runs" \
  "$sdn" "${tiny_paper[@]}" --seeds 3,5 --aggregate-only --out "$dir/nowhere"
test ! -e "$dir/nowhere"
expect_error "--aggregate-only: .*/kept/seed-7/summary.json does not exist" \
  "$sdn" "${tiny_paper[@]}" --seeds 3,5,7 --aggregate-only --out "$dir/kept"
expect_error "--aggregate-only: .*seed-3/summary.json is of another experiment" \
  "$sdn" "${tiny_paper[@]}" --seeds 3,5 --aggregate-only --out "$dir/kept" \
  --regimes ic-only,sdn,mixed
expect_error "--aggregate-only has no effect without --seeds" \
  "$sdn" "${args[@]}" --aggregate-only
# --seed means one run; a seed twice is a mistake.
expect_error "--seed has no effect with --seeds" "$sdn" "${args[@]}" \
  --seeds 3,5 --seed 4
expect_error "--seeds: each seed once" "$sdn" "${args[@]}" --seeds 3,3
echo "paper --seeds e2e: ok"
