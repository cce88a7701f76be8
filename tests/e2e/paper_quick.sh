#!/usr/bin/env bash
# The main job end to end on synthetic data with --quick: every artefact
# (checkpoints, traces, report JSON, summary, HTML) exists and holds sane
# values; a rerun resumes (skips every finished stage).
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
args=(paper --quick --dataset synthetic --synthetic-train 480
      --synthetic-test 128 --synthetic-classes 4 --synthetic-channels 1
      --val-size 96 --train-subset 384 --batch-size 32 --test-samples 0
      --train-trace-samples 128 --grid-images 2 --out "$dir/run")
"$sdn" "${args[@]}" > "$dir/out.txt" 2> "$dir/err.txt" || {
  cat "$dir/err.txt"; exit 1; }
grep -q "The paper's claims on this run" "$dir/out.txt"
grep -q "Budget table" "$dir/out.txt"
for m in cnn ic_only sdn; do
  test -f "$dir/run/$m/last/model.pt"
  test -f "$dir/run/$m/last/meta.json"
  test -f "$dir/run/$m/metrics.jsonl"
done
/usr/bin/python3 - "$dir/run" <<'PY'
import json, sys, numpy as np
run = sys.argv[1]
for name, exits, n in [("cnn-test", 1, 128), ("ic_only-test", 7, 128),
                       ("sdn-test", 7, 128), ("sdn-val", 7, 96),
                       ("ic_only-train", 7, 128)]:
    d = f"{run}/traces/{name}"
    p = np.load(f"{d}/probs.npy"); l = np.load(f"{d}/labels.npy")
    m = json.load(open(f"{d}/meta.json"))
    assert p.shape == (n, exits, 4), (name, p.shape)
    assert p.dtype == np.float32 and l.dtype == np.int64
    assert np.allclose(p.sum(-1), 1, atol=1e-4)
    assert m["num_exits"] == exits and len(m["exit_cost"]) == exits
    assert all(0 < c <= 1.01 for c in m["exit_cost"]), m["exit_cost"]
for name in ["ic_only", "sdn"]:
    r = json.load(open(f"{run}/report-{name}.json"))
    acc = r["exit_accuracy"]
    assert len(acc) == 7 and all(0 <= a <= 100 for a in acc), acc
    assert r["cnn_accuracy"] is not None
    assert len(r["sweep"]) > 11
    for k in ["0.25", "0.5", "0.75", "max"]:
        assert k in r["budgets"]
    d = r["overthinking"]["destructive"]["rate"]
    assert d is None or 0 <= d <= 1
    assert r["confusion"]["normalized_with"] == "train"
s = json.load(open(f"{run}/summary.json"))
assert len(s["claims"]) == 7
assert all(c["verdict"] in ("supported", "not supported", "n/a")
           for c in s["claims"])
html = open(f"{run}/report.html").read()
assert html.count("<svg") >= 10, html.count("<svg")
assert html.count("<img") >= 2
assert "http://" not in html and "https://" not in html
# The OOD experiment (inverted images and Gaussian noise per SDN; the
# report and page carry the first) and the Grad-CAM grid on the page.
for name in ["ic_only", "sdn"]:
    ood = s["ood"][name]
    assert [o["source"] for o in ood] == ["inverted", "gaussian-noise"], ood
    for o in ood:
        assert len(o["auroc"]) == 7 and all(0 <= a <= 1 for a in o["auroc"])
        assert o["ood_trace"]["num_samples"] == 128
    r = json.load(open(f"{run}/report-{name}.json"))
    assert r["ood"] == ood[0]
    assert set(r["policies"]) == {"max-prob", "entropy", "patience",
                                  "budget-fit", "ensemble"}
    assert len(r["calibration"]["ece"]) == 7
assert html.count("Grad-CAM per exit") == 2, html.count("Grad-CAM per exit")
assert html.count("Out-of-distribution detection") >= 2
PY
grep -q "Out-of-distribution detection (AUROC" "$dir/out.txt"
# A rerun finds every stage done and only re-reports.
"$sdn" "${args[@]}" > "$dir/out2.txt" 2> "$dir/err2.txt"
# 3 trainings, 7 traces and 4 OOD traces.
test "$(grep -c 'done already' "$dir/err2.txt")" -eq 14
# A rerun with other options refuses: the runs there were made otherwise.
status=0
"$sdn" "${args[@]}" --lr 0.3 > /dev/null 2> "$dir/err3.txt" || status=$?
test "$status" -eq 1
grep -q "^error: --out: .*/cnn holds a run made with other options (lr: " \
  "$dir/err3.txt"
echo "paper --quick e2e: ok"
