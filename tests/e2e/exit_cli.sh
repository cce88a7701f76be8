#!/usr/bin/env bash
# train -> eval -> report -> exit -> bench, through the command line: real
# early exit agrees with the trace analysis at the same threshold, budgets
# pick thresholds on the validation trace, and bad input gives `error:`.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
data=(--dataset synthetic --synthetic-train 192 --synthetic-test 64
      --synthetic-classes 4 --synthetic-channels 1 --val-size 64)
"$sdn" --threads 1 train --arch resnet56 "${data[@]}" --mode sdn --epochs 1 \
  --batch-size 32 --lr 0.02 --out "$dir/sdn" > /dev/null 2>&1
for split in val test; do
  "$sdn" --threads 1 eval --checkpoint "$dir/sdn/last" --split $split \
    --out "$dir/trace-$split" 2> /dev/null
done
"$sdn" report --trace "$dir/trace-test" --val-trace "$dir/trace-val" --json \
  > "$dir/report.json"
# OOD traces from the checkpoint: generated sources, then the report's
# OOD section; the same source twice gives the same trace (seeded noise).
for src in uniform-noise inverted; do
  "$sdn" --threads 1 eval --checkpoint "$dir/sdn/last" --ood-source $src \
    --max-samples 32 --out "$dir/ood-$src" 2> /dev/null
done
"$sdn" --threads 1 eval --checkpoint "$dir/sdn/last" --ood-source \
  uniform-noise --max-samples 32 --out "$dir/ood-again" 2> /dev/null
cmp -s "$dir/ood-uniform-noise/probs.npy" "$dir/ood-again/probs.npy"
"$sdn" report --trace "$dir/trace-test" --ood-trace "$dir/ood-inverted" \
  --json > "$dir/ood-report.json" 2> /dev/null
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
import numpy as np
d = sys.argv[1]
for src in ("uniform-noise", "inverted"):
    meta = json.load(open(f"{d}/ood-{src}/meta.json"))
    assert meta["ood"] is True and meta["ood_source"] == src, meta
    labels = np.load(f"{d}/ood-{src}/labels.npy")
    assert labels.shape == (32,) and (labels == -1).all()
o = json.load(open(f"{d}/ood-report.json"))["ood"]
assert o["source"] == "inverted" and len(o["auroc"]) == 7
assert all(0 <= a <= 1 for a in o["auroc"] + [o["confusion_auroc"]])
assert "ood" not in json.load(open(f"{d}/trace-test/meta.json"))
PY
"$sdn" --threads 1 exit --checkpoint "$dir/sdn/last" --threshold 0.5 \
  --batch-size 16 --json > "$dir/exit.json" 2> /dev/null
"$sdn" --threads 1 exit --checkpoint "$dir/sdn/last" --budget 0.9 \
  --val-trace "$dir/trace-val" --json > "$dir/budget.json" 2> /dev/null
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
report = json.load(open(f"{d}/report.json"))
real = json.load(open(f"{d}/exit.json"))
row = [r for r in report["sweep"] if abs(r["threshold"] - 0.5) < 1e-12][0]
assert abs(row["accuracy"] - real["accuracy"]) < 1e-9, (row, real)
assert abs(row["cost"] - real["cost"]) < 1e-9, (row, real)
n = sum(real["exit_counts"])
assert n == 64 and len(real["exit_counts"]) == 7
for f, c in zip(row["exit_fraction"], real["exit_counts"]):
    assert abs(f - c / n) < 1e-9
assert real["images_per_second"] > 0 and real["seconds"] > 0
budget = json.load(open(f"{d}/budget.json"))
assert 0 <= budget["threshold"] <= 1
assert budget["policy"] == "max-prob" and budget["param"] == budget["threshold"]
assert real["policy"] == "max-prob" and real["param"] == 0.5
PY
# The entropy policy: real exit agrees with the simulation of its rule
# (u = -sum p ln p / ln K <= h) in numpy on the test trace, at an h in the
# widest gap between the ICs' entropies (so float rounding cannot flip one).
h=$(/usr/bin/python3 - "$dir/trace-test" <<'PY'
import numpy as np, sys
p = np.load(f"{sys.argv[1]}/probs.npy").astype(np.float64)
with np.errstate(divide="ignore", invalid="ignore"):
    u = -np.where(p > 0, p * np.log(p), 0).sum(-1) / np.log(p.shape[-1])
ics = np.sort(u[:, :-1].ravel())
lo, hi = len(ics) // 5, 4 * len(ics) // 5
i = lo + int(np.argmax(np.diff(ics[lo:hi + 1])))
print(f"{(ics[i] + ics[i + 1]) / 2:.6f}")
PY
)
"$sdn" --threads 1 exit --checkpoint "$dir/sdn/last" --policy entropy \
  --param "$h" --batch-size 5 --no-exit-rule final --json \
  > "$dir/entropy.json" 2> /dev/null
"$sdn" --threads 1 exit --checkpoint "$dir/sdn/last" --policy entropy \
  --budget 0.9 --val-trace "$dir/trace-val" --json \
  > "$dir/entropy-budget.json" 2> /dev/null
"$sdn" --threads 1 exit --checkpoint "$dir/sdn/last" --policy entropy \
  --param "$h" --batch-size 5 | grep -q "^early exit: normalised entropy <= "
/usr/bin/python3 - "$dir" "$h" <<'PY'
import json, sys
import numpy as np
d, h = sys.argv[1], float(sys.argv[2])
p = np.load(f"{d}/trace-test/probs.npy").astype(np.float64)
labels = np.load(f"{d}/trace-test/labels.npy")
cost = json.load(open(f"{d}/trace-test/meta.json"))["exit_cost"]
with np.errstate(divide="ignore", invalid="ignore"):
    u = -np.where(p > 0, p * np.log(p), 0).sum(-1) / np.log(p.shape[-1])
n, e = u.shape
taken = np.full(n, e - 1)
for s in range(n):
    hits = np.nonzero(u[s, :-1] <= h)[0]
    if len(hits):
        taken[s] = hits[0]
pred = p[np.arange(n), taken].argmax(-1)  # final rule: the exit taken
real = json.load(open(f"{d}/entropy.json"))
assert real["policy"] == "entropy" and real["param"] == h, real
assert "threshold" not in real
assert real["exit_counts"] == np.bincount(taken, minlength=e).tolist(), (
    real, taken)
assert 0 < sum(real["exit_counts"][:-1]), real  # some exit early
assert abs(real["accuracy"] - 100 * np.mean(pred == labels)) < 1e-9, real
assert abs(real["cost"] - np.mean(np.array(cost)[taken])) < 1e-9, real
budget = json.load(open(f"{d}/entropy-budget.json"))
assert budget["policy"] == "entropy" and 0 <= budget["param"] <= 1, budget
PY
# patience, budget-fit and ensemble through the command line: patience's
# real exit equals the report's sweep row (the report's policies section);
# the fitted policies learn from the validation trace they are given.
"$sdn" --threads 1 exit --checkpoint "$dir/sdn/last" --policy patience \
  --param 2 --batch-size 7 --json > "$dir/patience.json" 2> /dev/null
"$sdn" --threads 1 exit --checkpoint "$dir/sdn/last" --policy budget-fit \
  --budget 0.6 --val-trace "$dir/trace-val" --json \
  > "$dir/budget-fit.json" 2> /dev/null
"$sdn" --threads 1 exit --checkpoint "$dir/sdn/last" --policy ensemble \
  --param 0.9 --val-trace "$dir/trace-val" --json \
  > "$dir/ensemble.json" 2> /dev/null
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
report = json.load(open(f"{d}/report.json"))
policies = report["policies"]
assert sorted(policies) == ["budget-fit", "ensemble", "entropy", "max-prob",
                            "patience"], sorted(policies)
assert policies["budget-fit"]["fitted_on"] == "val"
assert policies["ensemble"]["fitted_on"] == "val"  # no --train-trace given
assert [r["param"] for r in policies["patience"]["sweep"]] == [1, 2, 3, 4, 5]
row = [r for r in policies["patience"]["sweep"] if r["param"] == 2][0]
real = json.load(open(f"{d}/patience.json"))
assert real["policy"] == "patience" and real["param"] == 2, real
assert abs(row["accuracy"] - real["accuracy"]) < 1e-9, (row, real)
assert abs(row["cost"] - real["cost"]) < 1e-9, (row, real)
for name in ("budget-fit", "ensemble"):
    r = json.load(open(f"{d}/{name}.json"))
    assert r["policy"] == name and sum(r["exit_counts"]) == 64, r
assert 0.05 <= json.load(open(f"{d}/budget-fit.json"))["param"] <= 1.95
PY
# A fitting trace of the very split exited on is named in a warning.
"$sdn" --threads 1 exit --checkpoint "$dir/sdn/last" --policy budget-fit \
  --param 1 --val-trace "$dir/trace-test" --json > /dev/null 2> "$dir/warn"
grep -q "^warning: --val-trace .* is a trace of the test split" "$dir/warn"
"$sdn" --threads 1 bench exit --checkpoint "$dir/sdn/last" --batch-sizes 1,8 \
  --samples 16 --samples-batch1 4 --repetitions 1 --json > "$dir/bench.json"
/usr/bin/python3 - "$dir/bench.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["variant"] for r in rows[:3]] == ["cnn", "sdn-all-exits", "early-exit"]
assert len(rows) == 6 and all(r["images_per_second"] > 0 for r in rows)
assert all(r["relative_time"] == 1.0 for r in rows if r["variant"] == "cnn")
PY
# The training-step benchmark: optimised and plain rows; the optimised run
# has the single BLAS thread sdn sets, the plain one the BLAS's default.
tiny=(--batch-size 4 --channels 1 --steps 1 --repetitions 1 --warmup 0)
env -u OPENBLAS_NUM_THREADS "$sdn" --threads 1 bench train "${tiny[@]}" \
  --json > "$dir/bench-train.json"
/usr/bin/python3 - "$dir/bench-train.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["variant"] for r in rows] == ["optimised", "plain"], rows
assert all(r["median_images_per_second"] > 0 for r in rows)
assert rows[0]["channels_last"] and not rows[1]["channels_last"]
if rows[1]["blas_threads"] > 0:  # OpenBLAS: its thread count is known
    assert rows[0]["blas_threads"] == 1, rows
PY
"$sdn" --threads 1 bench train "${tiny[@]}" --no-compare | grep -q '^optimised '
# Bad input: one error line naming the problem, non-zero exit.
. "$(dirname "$0")/expect_error.sh"
expect_error "exactly one of --param (or --threshold) and --budget" \
  "$sdn" exit --checkpoint "$dir/sdn/last"
expect_error "--threshold means --policy max-prob" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --policy entropy --threshold 0.5
expect_error "one of --threshold and --param" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --threshold 0.5 --param 0.5
expect_error "--policy must be one of max-prob, entropy, patience, budget-fit, ensemble, got 'calm'" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --policy calm --param 2
expect_error "the budget-fit policy is fitted on a validation trace" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --policy budget-fit --param 1
expect_error "--param of the patience policy must be a whole number" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --policy patience --param 1.5
expect_error "--train-trace has no effect for the entropy policy" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --policy entropy --param 0.5 \
  --train-trace "$dir/trace-val"
# A trace of another network (two exits): cut from the validation trace.
/usr/bin/python3 - "$dir" <<'PY'
import json, os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(f"{d}/two-exits")
p = np.load(f"{d}/trace-val/probs.npy")[:, -2:, :]
np.save(f"{d}/two-exits/probs.npy", np.ascontiguousarray(p))
np.save(f"{d}/two-exits/labels.npy", np.load(f"{d}/trace-val/labels.npy"))
meta = json.load(open(f"{d}/trace-val/meta.json"))
meta["num_exits"] = 2
meta["exit_cost"] = meta["exit_cost"][-2:]
meta["exit_cost_exact"] = meta["exit_cost_exact"][-2:]
json.dump(meta, open(f"{d}/two-exits/meta.json", "w"))
PY
expect_error "--val-trace .* has 2 exits" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --policy budget-fit --param 1 \
  --val-trace "$dir/two-exits"
expect_error "--param of the entropy policy must be in \[0, 1\], got 1.5" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --policy entropy --param 1.5
expect_error "--threshold: expected a finite number in \[0, 1\], got 1.5" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --threshold 1.5
expect_error "/nonexistent" "$sdn" exit --checkpoint /nonexistent --threshold 0.5
expect_error "--budget needs --val-trace" \
  "$sdn" exit --checkpoint "$dir/sdn/last" --budget 0.5
cp -r "$dir/trace-test" "$dir/bad-trace"
/usr/bin/python3 -c "
import numpy as np, sys
p = np.load('$dir/bad-trace/probs.npy'); p[0, 0] *= 2
np.save('$dir/bad-trace/probs.npy', p)"
expect_error "sum" "$sdn" report --trace "$dir/bad-trace"
expect_error "--split" "$sdn" eval --checkpoint "$dir/sdn/last" --split dev \
  --out "$dir/x"
expect_error "--ood-source must be one of" "$sdn" eval --checkpoint \
  "$dir/sdn/last" --ood-source fog --out "$dir/x"
expect_error "--ood-trace .*not an out-of-distribution trace" "$sdn" report \
  --trace "$dir/trace-test" --ood-trace "$dir/trace-val"
expect_error "--ood-source synthetic: the checkpoint was trained on synthetic" \
  "$sdn" eval --checkpoint "$dir/sdn/last" --ood-source synthetic \
  --out "$dir/x"
expect_error "--html .*inside the trace folder" "$sdn" report \
  --trace "$dir/trace-test" --html "$dir/trace-test/probs.npy"
# A page that cannot be written fails before anything reaches stdout.
expect_error "cannot write /dev/full" "$sdn" report --trace "$dir/trace-test" \
  --json --html /dev/full
if [ -s "$dir/out" ]; then
  echo "report printed to stdout although --html failed"; exit 1
fi
echo "exit cli e2e: ok"
