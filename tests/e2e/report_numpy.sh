#!/usr/bin/env bash
# `sdn report` on exit traces written by numpy (no sdn code involved in
# writing them), checked against an independent numpy implementation of the
# analyses: per-exit accuracy, the threshold sweep, budget selection on the
# validation trace, overthinking and confusion. Also: the console tables, the
# validation fallback warning, a CNN-only trace and a corrupt trace.
# Usage: report_numpy.sh PATH/TO/sdn
set -euo pipefail
sdn="$1"
python=/usr/bin/python3
if ! "$python" -c 'import numpy' 2>/dev/null; then
  python=python3
fi
"$python" -c 'import numpy' || {
  echo "numpy is missing (scripts/setup installs python3-numpy)" >&2
  exit 1
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Traces: test / val / train of a 3-IC SDN (E = 4, K = 10) and the CNN's test
# trace (E = 1). The val trace is stored as float64 probs and int32 labels
# (the reader widens them); the others as numpy writes float32 / int64.
"$python" - "$tmp" <<'EOF'
import json, sys
import numpy as np
root = sys.argv[1]
rng = np.random.default_rng(1221)

def softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)

def make(name, n, e, k, split, probs_dtype=np.float32, label_dtype=np.int64):
    y = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, e, k))
    # Later exits are sharper and more often right.
    for x in range(e):
        logits[np.arange(n), x, y] += 0.6 + 0.5 * x
        logits[:, x, :] *= 1.0 + 0.6 * x
    p = softmax(logits).astype(probs_dtype)
    d = f"{root}/{name}"
    import os
    os.makedirs(d)
    np.save(f"{d}/probs.npy", p)
    np.save(f"{d}/labels.npy", y.astype(label_dtype))
    cost = [0.15, 0.35, 0.6, 1.004][-e:] if e > 1 else [1.0]
    meta = dict(num_samples=n, num_exits=e, num_classes=k, split=split,
                checkpoint="numpy-made", exit_cost=cost,
                exit_cost_exact=[c * 0.9 for c in cost], dataset="synthetic")
    json.dump(meta, open(f"{d}/meta.json", "w"))

make("test", 500, 4, 10, "test")
make("val", 400, 4, 10, "val", np.float64, np.int32)
make("train", 600, 4, 10, "train")
# The CNN shares the test trace's labels.
y = np.load(f"{root}/test/labels.npy")
logits = rng.normal(size=(500, 10)) * 2
logits[np.arange(500), y] += 2.5
import os
os.makedirs(f"{root}/cnn")
np.save(f"{root}/cnn/probs.npy", softmax(logits).astype(np.float32)[:, None, :])
np.save(f"{root}/cnn/labels.npy", y)
json.dump(dict(num_samples=500, num_exits=1, num_classes=10, split="test",
               checkpoint="cnn", exit_cost=[1.0]),
          open(f"{root}/cnn/meta.json", "w"))
EOF

"$sdn" report --trace "$tmp/test" --val-trace "$tmp/val" \
  --cnn-trace "$tmp/cnn" --train-trace "$tmp/train" --json \
  >"$tmp/report.json" 2>"$tmp/stderr"
if [ -s "$tmp/stderr" ]; then
  echo "unexpected diagnostics:" >&2
  cat "$tmp/stderr" >&2
  exit 1
fi

"$python" - "$tmp" <<'EOF'
import json, sys
import numpy as np
root = sys.argv[1]
r = json.load(open(f"{root}/report.json"))

def load(name):
    p = np.load(f"{root}/{name}/probs.npy").astype(np.float32)
    y = np.load(f"{root}/{name}/labels.npy").astype(np.int64)
    m = json.load(open(f"{root}/{name}/meta.json"))
    return p, y, m["exit_cost"]

def close(a, b, tol=1e-9, what=""):
    assert abs(a - b) <= tol, f"{what}: sdn {a} vs numpy {b}"

test, val, train, cnn = load("test"), load("val"), load("train"), load("cnn")
p, y, cost = test
n, e, k = p.shape
pred, conf = p.argmax(-1), p.max(-1)
right = pred == y[:, None]

assert r["selection"] == "val" and r["no_exit_rule"] == "most-confident"
assert r["trace"]["num_samples"] == n and r["trace"]["num_exits"] == e
assert r["exit_cost"] == cost
for x in range(e):
    close(r["exit_accuracy"][x], 100.0 * right[:, x].sum() / n, what="top1")
    top5 = (p[:, x, :] > p[np.arange(n), x, y][:, None]).sum(-1) < 5
    close(r["exit_top5"][x], 100.0 * top5.sum() / n, tol=1e-9, what="top5")
cp, cy, _ = cnn
close(r["cnn_accuracy"], 100.0 * (cp[:, 0].argmax(-1) == cy).sum() / n,
      what="cnn")

def simulate(trace, q):
    p, y, cost = trace
    n, e, _ = p.shape
    conf, pred = p.max(-1), p.argmax(-1)
    fires = conf[:, : e - 1] >= np.float32(q)
    early = fires.any(1)
    taken = np.where(early, fires.argmax(1), e - 1)
    answer = taken.copy()
    answer[~early] = conf[~early].argmax(1)  # first maximum, all exits
    hits = int((pred[np.arange(n), answer] == y).sum())
    counts = np.bincount(taken, minlength=e)
    total = 0.0
    for x in range(e):
        total += float(counts[x]) * cost[x]
    return 100.0 * hits / n, total / n, counts / n

grid = sorted(set([0.1, 0.15, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99,
                   0.999] + [i / 100 for i in range(1, 100)] +
                  [i / 1000 for i in range(991, 1000)] + [0.9999]))
assert [s["threshold"] for s in r["sweep"]] == grid
assert sum(s["paper_grid"] for s in r["sweep"]) == 11
for s in r["sweep"]:
    acc, c, frac = simulate(test, s["threshold"])
    close(s["accuracy"], acc, what=f"sweep acc q={s['threshold']}")
    close(s["cost"], c, what=f"sweep cost q={s['threshold']}")
    assert np.allclose(s["exit_fraction"], frac, atol=1e-12)

val_points = [(q,) + simulate(val, q)[:2] for q in grid]
for key, budget in [("0.25", 0.25), ("0.5", 0.5), ("0.75", 0.75),
                    ("max", None)]:
    fits = [pt for pt in val_points
            if budget is None or pt[2] <= budget + 1e-9]
    got = r["budgets"][key]
    if not fits:
        assert got is None, key
        continue
    best = sorted(fits, key=lambda pt: (-pt[1], pt[2], pt[0]))[0]
    close(got["threshold"], best[0], what=f"budget {key} threshold")
    close(got["selection_accuracy"], best[1], what=f"budget {key}")
    assert budget is None or got["selection_cost"] <= budget + 1e-9
    acc, c, _ = simulate(test, best[0])
    close(got["accuracy"], acc, what=f"budget {key} test accuracy")
    close(got["cost"], c, what=f"budget {key} test cost")
assert r["budgets"]["0.5"] is not None, "the 50 % budget should be reachable"

w = r["overthinking"]["wasteful"]
first = np.where(right.any(1), right.argmax(1), -1)
for x in range(e):
    assert w["per_exit"][x]["correct"] == int(right[:, x].sum())
    assert w["per_exit"][x]["first_correct"] == int((first == x).sum())
    assert w["per_exit"][x]["cumulative_correct"] == int(
        right[:, : x + 1].any(1).sum())
nominal = [0.15, 0.30, 0.45]
at_ic = (first >= 0) & (first < e - 1)
close(w["oracle_cost_nominal"],
      np.where(at_ic, np.array(nominal)[np.clip(first, 0, 2)], 1.0).mean(),
      tol=1e-12, what="nominal oracle")
close(w["oracle_cost_measured"],
      np.where(first >= 0, np.array(cost)[first], cost[-1]).mean(),
      tol=1e-12, what="measured oracle")
close(w["ic_correct_fraction"], at_ic.mean(), what="ic fraction")
d = r["overthinking"]["destructive"]
wrong = ~right[:, -1]
assert d["wrong_final"] == int(wrong.sum())
close(d["rate"], (right[:, :-1].any(1) & wrong).sum() / wrong.sum(),
      what="destructive rate")
for x in range(e - 1):
    sel = right[:, x] & wrong
    assert d["per_exit"][x]["count"] == int(sel.sum())
    close(d["per_exit"][x]["mean_confidence"], conf[sel, x].mean(),
          tol=1e-6, what="destructive confidence")

def raw_confusion(p):
    p = p.astype(np.float64)
    return np.abs(p[:, -1:, :] - p).sum(-1).sum(-1)

def auroc(score, positive):
    s_p, s_n = score[positive], score[~positive]
    gt = (s_p[:, None] > s_n[None, :]).sum()
    eq = (s_p[:, None] == s_n[None, :]).sum()
    return (gt + 0.5 * eq) / (len(s_p) * len(s_n))

def fnr(score, positive):
    m = int(round(positive.mean() * len(score)))
    order = np.argsort(-score, kind="stable")
    flagged = np.zeros(len(score), bool)
    flagged[order[:m]] = True
    return (positive & ~flagged).sum() / positive.sum()

c = r["confusion"]
assert c["normalized_with"] == "train"
tr = raw_confusion(train[0])
z = (raw_confusion(p) - tr.mean()) / tr.std()
close(c["normalization"]["mean"], tr.mean(), tol=1e-9, what="train mean")
close(c["normalization"]["std"], tr.std(), tol=1e-9, what="train std")
close(c["mean_correct"], z[~wrong].mean(), tol=1e-9, what="mean correct")
close(c["mean_wrong"], z[wrong].mean(), tol=1e-9, what="mean wrong")
close(c["auroc"], auroc(z, wrong), tol=1e-9, what="auroc")
close(c["fnr_confusion"], fnr(z, wrong), tol=1e-9, what="fnr confusion")
assert c["correct_above_wrong_mean"] == int((z[~wrong] > z[wrong].mean()).sum())
assert c["wrong_below_correct_mean"] == int((z[wrong] < z[~wrong].mean()).sum())
h = c["histogram"]
assert len(h["edges"]) == 26 and len(h["correct"]) == len(h["wrong"]) == 25
assert sum(h["correct"]) == int((~wrong).sum()) and sum(h["wrong"]) == int(wrong.sum())
ref_c, _ = np.histogram(z[~wrong], bins=25, range=(z.min(), z.max()))
assert list(ref_c) == h["correct"], (list(ref_c), h["correct"])
cc = cp[:, 0].max(-1).astype(np.float64)
cnn_wrong = cp[:, 0].argmax(-1) != cy
assert c["confidence"]["source"] == "cnn"
close(c["confidence"]["mean_correct"], cc[~cnn_wrong].mean(), tol=1e-9,
      what="cnn confidence")
close(c["confidence_auroc"], auroc(1 - cc, cnn_wrong), tol=1e-9,
      what="confidence auroc")
close(c["fnr_confidence"], fnr(1 - cc, cnn_wrong), tol=1e-9,
      what="confidence fnr")

# Calibration: ECE over 15 bins and the KS error per exit, recomputed.
def ece(c, ok, bins=15):
    b = np.minimum((c.astype(np.float64) * bins).astype(int), bins - 1)
    total = 0.0
    for i in range(bins):
        m = b == i
        if m.any():
            total += m.sum() * abs(ok[m].mean() - c[m].astype(np.float64).mean())
    return total / len(c)

def ks(c, ok):
    order = np.argsort(c, kind="stable")
    run = np.cumsum(c[order].astype(np.float64) - ok[order])
    return np.abs(run).max() / len(c)

cal = r["calibration"]
for x in range(e):
    close(cal["ece"][x], ece(conf[:, x], right[:, x]), tol=1e-9, what="ece")
    close(cal["ks"][x], ks(conf[:, x], right[:, x]), tol=1e-9, what="ks")
    assert sum(b["count"] for b in cal["bins"][x]) == n
assert len(cal["early_exit"]) == len(grid)
assert len(cal["temperature"]) == e and all(t > 0 for t in cal["temperature"])
# The fitted temperature minimises the validation NLL: nudging it either way
# does not lower it.
vp, vy, _ = val
def nll(x, t):
    z = np.log(np.maximum(vp[:, x, :].astype(np.float64), 1e-30)) / t
    z = z - z.max(-1, keepdims=True)
    return -(z[np.arange(len(vy)), vy] - np.log(np.exp(z).sum(-1))).mean()
for x in range(e):
    t = cal["temperature"][x]
    assert nll(x, t) <= min(nll(x, t * 1.01), nll(x, t / 1.01)) + 1e-12, x

# Policies: max-prob's entry is the top-level sweep; entropy's sweep is the
# normalised-entropy rule, recomputed.
pol = r["policies"]
assert sorted(pol) == ["budget-fit", "ensemble", "entropy", "max-prob",
                       "patience"], sorted(pol)
for a, b in zip(pol["max-prob"]["sweep"], r["sweep"]):
    assert a["param"] == b["threshold"] and a["accuracy"] == b["accuracy"]
p64 = p.astype(np.float64)
with np.errstate(divide="ignore", invalid="ignore"):
    u = -np.where(p64 > 0, p64 * np.log(p64), 0).sum(-1) / np.log(k)
u = np.minimum(u, 1.0)
for row in pol["entropy"]["sweep"][::13]:
    fires = u[:, : e - 1] <= row["param"]
    early = fires.any(1)
    taken = np.where(early, fires.argmax(1), e - 1)
    answer = taken.copy()
    answer[~early] = conf[~early].argmax(1)
    acc = 100.0 * (pred[np.arange(n), answer] == y).sum() / n
    close(row["accuracy"], acc, tol=1e-9, what=f"entropy {row['param']}")
    close(row["cost"], float(np.mean(np.array(cost)[taken])), tol=1e-9,
          what="entropy cost")
print("report_numpy: JSON matches numpy")
EOF

# An out-of-distribution trace written by numpy: AUROC per exit recomputed.
"$python" - "$tmp" <<'EOF'
import json, os, sys
import numpy as np
root = sys.argv[1]
rng = np.random.default_rng(7)
z = rng.normal(size=(300, 4, 10))
p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
os.makedirs(f"{root}/ood")
np.save(f"{root}/ood/probs.npy", p.astype(np.float32))
np.save(f"{root}/ood/labels.npy", np.full(300, -1, dtype=np.int64))
json.dump(dict(num_samples=300, num_exits=4, num_classes=10, split="test",
               checkpoint="numpy-made", exit_cost=[0.15, 0.35, 0.6, 1.004],
               ood=True, ood_source="numpy-noise"),
          open(f"{root}/ood/meta.json", "w"))
EOF
"$sdn" report --trace "$tmp/test" --ood-trace "$tmp/ood" --json \
  >"$tmp/ood.json" 2>/dev/null
"$python" - "$tmp" <<'EOF'
import json, sys
import numpy as np
root = sys.argv[1]
r = json.load(open(f"{root}/ood.json"))
pin = np.load(f"{root}/test/probs.npy").max(-1).astype(np.float64)
pout = np.load(f"{root}/ood/probs.npy").max(-1).astype(np.float64)
o = r["ood"]
assert o["source"] == "numpy-noise" and o["ood_trace"]["num_samples"] == 300
for x in range(4):
    a, b = pin[:, x], pout[:, x]
    gt = (a[:, None] > b[None, :]).sum() + 0.5 * (a[:, None] == b[None, :]).sum()
    ref = gt / (len(a) * len(b))
    assert abs(o["auroc"][x] - ref) < 1e-9, (x, o["auroc"][x], ref)
assert 0 <= o["confusion_auroc"] <= 1
print("report_numpy: OOD AUROC matches numpy")
EOF
# The OOD trace is refused anywhere but --ood-trace.
if "$sdn" report --trace "$tmp/ood" >/dev/null 2>"$tmp/ood.err"; then
  echo "an OOD trace was accepted as --trace" >&2
  exit 1
fi
grep -q "^error: .*out-of-distribution trace" "$tmp/ood.err"

# The console tables.
"$sdn" report --trace "$tmp/test" --val-trace "$tmp/val" >"$tmp/table.txt" \
  2>/dev/null
for part in "Per exit" "Budget table" "<=50%" "Wasteful" "Destructive" \
  "Confusion"; do
  grep -q -- "$part" "$tmp/table.txt" || {
    echo "table lacks '$part'" >&2
    cat "$tmp/table.txt" >&2
    exit 1
  }
done

# No validation trace: falls back to test, says so on stderr and in JSON.
"$sdn" report --trace "$tmp/test" --json >"$tmp/fallback.json" \
  2>"$tmp/fallback.err"
grep -q "warning: no validation trace" "$tmp/fallback.err"
"$python" -c "
import json, sys
r = json.load(open(sys.argv[1]))
assert r['selection'] == 'test', r['selection']
assert r['confusion']['normalized_with'] == 'test'
" "$tmp/fallback.json"

# A CNN trace alone: no IC analyses, no failure.
"$sdn" report --trace "$tmp/cnn" --json >"$tmp/cnn.json" 2>/dev/null
"$python" -c "
import json, sys
r = json.load(open(sys.argv[1]))
assert r['sweep'] is None and r['budgets'] is None
assert r['overthinking'] is None and r['confusion'] is None
assert r['cnn_accuracy'] == r['exit_accuracy'][0]
" "$tmp/cnn.json"

# A corrupt trace: probabilities that do not sum to 1.
cp -r "$tmp/test" "$tmp/bad"
"$python" -c "
import numpy as np, sys
p = np.load(sys.argv[1] + '/probs.npy'); p[7, 2, :] *= 2
np.save(sys.argv[1] + '/probs.npy', p)
" "$tmp/bad"
if "$sdn" report --trace "$tmp/bad" >/dev/null 2>"$tmp/bad.err"; then
  echo "a corrupt trace was accepted" >&2
  exit 1
fi
grep -q "error: .*probs.npy: probabilities of sample 7, exit 2" "$tmp/bad.err" || {
  cat "$tmp/bad.err" >&2
  exit 1
}
echo "report_numpy: ok"
