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
# Every stage's options are checked before anything trains: a changed
# --mixed-lr is refused before the missing SDN training is redone.
rm -r "$dir/run/sdn"
expect_error "--out: .*/mixed holds a run made with other options (lr: 0.02 -> 0.03)" \
  "$sdn" --threads 1 "${args[@]}" --regimes "$all" --mixed-lr 0.03 \
  --distill 0.7 --distill-temperature 2
test ! -e "$dir/run/sdn"
# A stage trained again (other weights) is traced again: its traces record
# the weights they were made from.
rm -r "$dir/run/mixed_distill"
"$sdn" --threads 1 "${args[@]}" --regimes "$all" --mixed-lr 0.02 \
  --distill 0.9 --distill-temperature 2 \
  > "$dir/again.txt" 2> "$dir/again.err" || { cat "$dir/again.err"; exit 1; }
! grep -q "done already: .*/traces/mixed_distill-" "$dir/again.err"
grep -q "done already: .*/traces/mixed-test" "$dir/again.err"
/usr/bin/python3 - "$dir/run" <<'PY'
import json, sys
run = sys.argv[1]
for key in ["mixed_distill", "mixed", "sdn"]:
    crc = json.load(open(f"{run}/{key}/last/meta.json"))["files"]["model.pt"]["crc32"]
    for t in ["val", "test", "train", "ood-inverted"]:
        m = json.load(open(f"{run}/traces/{key}-{t}/meta.json"))
        assert m["model_crc32"] == crc, (key, t)
stages = json.load(open(f"{run}/stages.json"))
cnn = json.load(open(f"{run}/cnn/last/meta.json"))["files"]["model.pt"]["crc32"]
assert stages == {k: cnn for k in ["ic_only", "ic_only_clean", "mixed",
                                   "mixed_distill"]}, stages
PY
# The CNN trained again: the stages trained from the old one are refused
# before anything trains.
rm -r "$dir/run/cnn"
expect_error "--out: .*/ic_only was trained from another CNN than .*/cnn will hold" \
  "$sdn" --threads 1 "${args[@]}" --regimes "$all" --mixed-lr 0.02 \
  --distill 0.9 --distill-temperature 2
test ! -e "$dir/run/cnn"
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
