#!/usr/bin/env bash
# sdn bench serve on a tiny SDN (synthetic data, one epoch) with very short
# windows: it starts sdn serve in every mode, and its JSON holds every mode
# and load, every request accounted for (200 + 503 + failed = sent), the
# per-stage work, the verdicts and a fault run whose servers stayed healthy
# and exited 0; the HTML page holds its plots. Bad options give one error
# line. No timing is asserted: speed is what the benchmark reports.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
source "$(dirname "$0")/expect_error.sh"

"$sdn" --threads 1 train --dataset synthetic --synthetic-train 64 \
  --synthetic-test 32 --synthetic-channels 1 --val-size 16 --arch resnet56 \
  --mode sdn --epochs 1 --batch-size 16 --out "$dir/sdn" > /dev/null 2>&1
ckpt="$dir/sdn/last"

"$sdn" --threads 1 bench serve --checkpoint "$ckpt" --threshold 0.5 \
  --loads 0.5,1 --warmup-s 0.2 --duration-s 1 --capacity-s 1 \
  --connections 64 --max-batch 8 --queue-limit 16 --fault-share 0.2 \
  --fault-load 1 --json "$dir/bench.json" --html "$dir/bench.html" \
  > "$dir/out.txt" 2> "$dir/err.txt" || {
  cat "$dir/err.txt"; exit 1; }
grep -q '^cnn capacity: ' "$dir/out.txt"
grep -q '^throughput: ' "$dir/out.txt"
grep -q '^p99: ' "$dir/out.txt"
grep -q '<svg' "$dir/bench.html"

/usr/bin/python3 - "$dir/bench.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
E = j["num_exits"]
assert E >= 2, E
assert j["capacity"]["images_per_second"] > 0, j["capacity"]
assert j["test_images"] == 32, j["test_images"]
rows = j["rows"]
assert [(r["mode"], r["load"]) for r in rows] == [
    (m, l) for m in ("cnn", "stage", "batch") for l in (0.5, 1.0)], rows
def check_row(r, stages):
    assert r["sent"] > 0, r
    assert r["ok"] + r["refused"] + r["failed"] == r["sent"], r
    assert sum(r["errors"].values()) == r["failed"], r
    assert sum(r["exits"]) == r["ok"] and len(r["exits"]) == E, r
    assert 0 <= r["accuracy"] <= 1, r
    assert abs(r["throughput"] - r["ok"] / r["window_s"]) < 1e-9, r
    assert len(r["stage_seconds"]) == stages, r
    assert len(r["stage_batches"]) == stages == len(r["stage_rows"]), r
    assert all(s >= 0 for s in r["stage_seconds"]), r
    if r["ok"] > 0:
        lat = r["latency_ms"]
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"], lat
        assert 0 < r["mean_cost"] <= 1, r
for r in rows:
    check_row(r, E if r["mode"] == "stage" else 1)
    if r["mode"] == "cnn" and r["ok"] > 0:
        assert r["mean_cost"] == 1 and r["exits"][-1] == r["ok"], r
    if r["mode"] == "stage":
        # Every image enters stage 1; fewer go deeper.
        rows_per_stage = r["stage_rows"]
        assert all(a >= b for a, b in zip(rows_per_stage, rows_per_stage[1:])), r
assert [v["name"] for v in j["verdicts"]] == ["throughput", "p99"], j["verdicts"]
assert all(v["text"] for v in j["verdicts"])
assert j["p99_bound_given"] is False and j["p99_bound_ms"] > 0, j
f = j["fault_run"]
assert f["mode"] == "stage" and f["load"] == 1.0 and f["share"] == 0.2, f
check_row(f["well_behaved"], E)
assert f["healthy_after"] is True, f
assert f["rss_before_kb"] > 0 and f["rss_after_kb"] > 0, f
assert 0 <= f["same_class"] <= f["compared"], f
kinds = {k["kind"]: k for k in f["faults"]}
assert sorted(kinds) == ["disconnect", "garbage", "oversized", "trickle"], kinds
for k in kinds.values():
    assert sum(k["outcomes"].values()) == k["sent"], k
    assert "status 200" not in k["outcomes"] or k["kind"] == "trickle", k
assert set(kinds["garbage"]["outcomes"]) <= {"status 400"}, kinds["garbage"]
assert set(kinds["disconnect"]["outcomes"]) <= {"closed by the client mid-body"}
assert [s["mode"] for s in j["servers"]] == ["cnn", "stage", "batch"], j["servers"]
assert all(s["clean"] and s["end"] == "exit status 0" for s in j["servers"]), j
PY

# cnn alone needs no policy; a bound given is used as given.
"$sdn" --threads 1 bench serve --checkpoint "$ckpt" --modes cnn --loads 1 \
  --warmup-s 0 --duration-s 0.5 --capacity-s 0.5 --p99-bound-ms 1000 \
  --json "$dir/cnn.json" > /dev/null 2>&1
/usr/bin/python3 - "$dir/cnn.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert [r["mode"] for r in j["rows"]] == ["cnn"], j["rows"]
assert j["p99_bound_given"] is True and j["p99_bound_ms"] == 1000, j
assert j["fault_run"] is None
assert not j["verdicts"][0]["measured"], j["verdicts"]
PY

b=("$sdn" bench serve --checkpoint "$ckpt")
expect_error "--fault-load has no effect without --fault-share" \
  "${b[@]}" --threshold 0.5 --fault-load 1
expect_error "--fault-load: expected one of --loads" \
  "${b[@]}" --threshold 0.5 --fault-share 0.1 --fault-load 0.8
expect_error "--policy has no effect with --modes cnn" \
  "${b[@]}" --modes cnn --policy max-prob
expect_error "--modes: expected stage, batch or cnn, found 'gpu'" \
  "${b[@]}" --threshold 0.5 --modes stage,gpu
expect_error "--loads: expected ascending loads" \
  "${b[@]}" --threshold 0.5 --loads 1,0.5
expect_error "--p99-bound-ms: needed when --modes leaves out cnn" \
  "${b[@]}" --threshold 0.5 --modes stage
expect_error "none: checkpoint directory does not exist" \
  "$sdn" bench serve --checkpoint "$dir/none" --threshold 0.5
