#!/usr/bin/env bash
# `sdn paper --regimes` on a tiny synthetic problem: two of the newer
# regimes first (IC-only clean, mixed with distillation), then all five in
# the same folder: the CNN and the first two are reused (done already), the
# others trained from the same CNN; side-by-side tables, claims per regime,
# each regime's training made with its options. Options without effect in
# the chosen regimes are refused.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
. "$(dirname "$0")/expect_error.sh"
. "$(dirname "$0")/tiny_paper.sh"
args=("${tiny_paper[@]}" --out "$dir/run")
"$sdn" --threads 1 "${args[@]}" --regimes ic-only-clean,mixed+distill \
  --mixed-lr 0.02 --distill 0.7 --distill-temperature 2 \
  > "$dir/two.txt" 2> "$dir/two.err" || { cat "$dir/two.err"; exit 1; }
test -d "$dir/run/ic_only_clean" && test -d "$dir/run/mixed_distill"
test ! -e "$dir/run/ic_only" && test ! -e "$dir/run/sdn"
grep -q "^| IC-only, clean |" "$dir/two.txt"
grep -q "^| Figure | IC-only, clean | Mixed + distillation | Best (mean) |" \
  "$dir/two.txt"
/usr/bin/python3 - "$dir/run" <<'PY'
import json, sys
run = sys.argv[1]
s = json.load(open(f"{run}/summary.json"))
assert s["regimes"] == ["ic-only-clean", "mixed+distill"], s["regimes"]
assert set(s["reports"]) == {"ic_only_clean", "mixed_distill"}, s["reports"]
# Three claims per regime; SDN against IC-only needs both.
assert len(s["claims"]) == 6, len(s["claims"])
assert not any("SDN training makes" in c["claim"] for c in s["claims"])
clean = json.load(open(f"{run}/ic_only_clean/last/meta.json"))["config"]
assert clean["mode"] == "ic-only" and clean["ic_only_clean"] is True, clean
assert clean["from"].endswith("/cnn/last"), clean["from"]
mixed = json.load(open(f"{run}/mixed_distill/last/meta.json"))["config"]
assert mixed["mode"] == "mixed" and mixed["from"].endswith("/cnn/last")
assert mixed["lr"] == 0.02 and mixed["epochs"] == 1, mixed
assert mixed["distill"] == 0.7 and mixed["distill_temperature"] == 2, mixed
assert clean["distill"] == 0, clean
# The clean variant leaves the backbone as trained: its final exit is the
# CNN, sample for sample.
r = json.load(open(f"{run}/report-ic_only_clean.json"))
assert r["exit_accuracy"][-1] == r["cnn_accuracy"], (
    r["exit_accuracy"][-1], r["cnn_accuracy"])
PY
# All five in the same folder: the CNN and the two regimes trained above
# are reused with their traces, the three others are new.
all=ic-only,ic-only-clean,sdn,mixed,mixed+distill
"$sdn" --threads 1 "${args[@]}" --regimes "$all" --mixed-lr 0.02 \
  --distill 0.7 --distill-temperature 2 \
  > "$dir/all.txt" 2> "$dir/all.err" || { cat "$dir/all.err"; exit 1; }
for d in cnn/last ic_only_clean/last mixed_distill/last; do
  grep -q "done already: $dir/run/$d " "$dir/all.err"
done
test "$(grep -c 'done already: .*/traces/' "$dir/all.err")" -eq 11
grep -q "^== 9/9 The paper's claims on this run" "$dir/all.err"
for d in ic_only sdn mixed; do
  test -f "$dir/run/$d/last/meta.json"
done
grep -q "^### The regimes side by side" "$dir/all.txt"
test "$(sed -n '/^#### Accuracy per exit/,/^####/p' "$dir/all.txt" |
  grep -c '^| \(IC-only\|SDN\|Mixed\)')" -eq 5
/usr/bin/python3 - "$dir/run" <<'PY'
import json, sys
run = sys.argv[1]
s = json.load(open(f"{run}/summary.json"))
assert len(s["claims"]) == 5 * 3 + 1, len(s["claims"])
assert len(s["ood"]) == 5
mixed = json.load(open(f"{run}/mixed/last/meta.json"))["config"]
assert mixed["distill"] == 0 and mixed["lr"] == 0.02, mixed
html = open(f"{run}/report.html").read()
for title in ["IC-only SDN", "IC-only, clean", "SDN training", "Mixed:",
              "Mixed + distillation"]:
    assert title in html, title
PY
expect_error "--regimes: expected ic-only, ic-only-clean, sdn or mixed" \
  "$sdn" "${args[@]}" --regimes sdn,bogus
expect_error "--regimes: ic-only is given twice" "$sdn" "${args[@]}" \
  --regimes ic-only,ic-only
expect_error "--distill has no effect without a +distill regime" \
  "$sdn" "${args[@]}" --regimes "ic-only,sdn" --distill 1
expect_error "--mixed-epochs and --mixed-lr are for the mixed regimes" \
  "$sdn" "${args[@]}" --regimes "ic-only,sdn" --mixed-epochs 2
expect_error "--ic-epochs has no effect without an ic-only regime" \
  "$sdn" "${args[@]}" --regimes sdn
expect_error "--milestones has no effect with --lr-schedule cosine" \
  "$sdn" "${args[@]}" --lr-schedule cosine
echo "paper --regimes e2e: ok"
