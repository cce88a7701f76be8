#!/usr/bin/env bash
# sdn train --classes, the held-out-classes OOD source and sdn explain
# (Grad-CAM per exit) through the command line; bad input gives `error:`.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
data=(--dataset synthetic --synthetic-train 160 --synthetic-test 80
      --synthetic-classes 5 --synthetic-channels 1 --val-size 40)
"$sdn" --threads 1 train --arch resnet56 "${data[@]}" --classes 4,1,2 \
  --mode sdn --epochs 1 --batch-size 32 --lr 0.02 --out "$dir/sub" \
  > /dev/null 2>&1
"$sdn" --threads 1 train --arch resnet56 "${data[@]}" --mode cnn --epochs 1 \
  --batch-size 32 --lr 0.02 --out "$dir/cnn" > /dev/null 2>&1
"$sdn" --threads 1 eval --checkpoint "$dir/sub/last" --out "$dir/in" \
  2> /dev/null
"$sdn" --threads 1 eval --checkpoint "$dir/cnn/last" --out "$dir/all" \
  2> /dev/null
"$sdn" --threads 1 eval --checkpoint "$dir/sub/last" --ood-source \
  held-out-classes --out "$dir/held" 2> /dev/null
"$sdn" report --trace "$dir/in" --ood-trace "$dir/held" --json \
  > "$dir/report.json" 2> /dev/null
"$sdn" --threads 1 explain --checkpoint "$dir/sub/last" --samples 4 \
  --out "$dir/x-pred" 2> /dev/null
"$sdn" --threads 1 explain --checkpoint "$dir/sub/last" --samples 3 \
  --target true --split val --out "$dir/x-true" 2> /dev/null
# Destructive samples may not exist after one epoch: then the error says so.
if "$sdn" --threads 1 explain --checkpoint "$dir/sub/last" --samples 2 \
  --select destructive --out "$dir/x-destr" 2> "$dir/err"; then
  destructive=1
else
  grep -q "^error: --select destructive: no sample of the test split" \
    "$dir/err"
  destructive=0
fi
/usr/bin/python3 - "$dir" "$destructive" <<'PY'
import json, struct, sys
import numpy as np
d, destructive = sys.argv[1], sys.argv[2] == "1"
meta = json.load(open(f"{d}/sub/last/meta.json"))
assert meta["config"]["data"]["classes"] == [4, 1, 2], meta["config"]["data"]
assert meta["num_classes"] == 3
# The kept classes (relabelled 0..2) plus the held-out ones make the whole
# test split of the all-class run, image for image.
inl = np.load(f"{d}/in/labels.npy")
alll = np.load(f"{d}/all/labels.npy")
assert set(inl.tolist()) <= {0, 1, 2}
order = [4, 1, 2]
assert inl.tolist() == [order.index(y) for y in alll if y in order]
held = json.load(open(f"{d}/held/meta.json"))
assert held["ood"] is True and held["ood_source"] == "held-out-classes"
assert held["num_samples"] == sum(1 for y in alll if y not in order)
assert (np.load(f"{d}/held/labels.npy") == -1).all()
ood = json.load(open(f"{d}/report.json"))["ood"]
assert ood["source"] == "held-out-classes" and len(ood["auroc"]) == 7, ood

def png_size(path):
    head = open(path, "rb").read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])

for name, n, split in (("x-pred", 4, "test"), ("x-true", 3, "val")):
    x = json.load(open(f"{d}/{name}/explain.json"))
    maps = np.load(f"{d}/{name}/maps.npy")
    assert maps.shape == (n, 7, 32, 32) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1 and maps.max() > 0
    assert x["exits"] == ["IC1", "IC2", "IC3", "IC4", "IC5", "IC6", "final"]
    assert x["split"] == split and x["select"] == "first"
    assert [s["index"] for s in x["samples"]] == list(range(n))
    for s in x["samples"]:
        assert len(s["predictions"]) == 7 and len(s["confidence"]) == 7
        if name == "x-pred":
            assert s["targets"] == s["predictions"], s
            assert s["label"] == inl[s["index"]]
        else:
            assert s["targets"] == [s["label"]] * 7, s
    # A row per sample: the image and 7 maps, 96-px tiles, 2-px gaps.
    assert png_size(f"{d}/{name}/grad_cam.png") == (8 * 96 + 7 * 2,
                                                   n * 96 + (n - 1) * 2)
if destructive:
    x = json.load(open(f"{d}/x-destr/explain.json"))
    for s in x["samples"]:
        p, y = s["predictions"], s["label"]
        assert p[-1] != y and y in p[:-1], s
PY
# The same sample twice gives the same maps ("DIR/" names the folder DIR).
"$sdn" --threads 1 explain --checkpoint "$dir/sub/last" --samples 4 \
  --out "$dir/x-again/" 2> /dev/null
cmp -s "$dir/x-pred/maps.npy" "$dir/x-again/maps.npy"
# The report's Grad-CAM grid comes from the trace's own network: a
# checkpoint replaced by another run's gives a warning and no grid.
"$sdn" report --trace "$dir/in" --html "$dir/in.html" 2> "$dir/err"
grep -q "Grad-CAM per exit" "$dir/in.html"
"$sdn" --threads 1 train --arch resnet56 "${data[@]}" --classes 0,1,2 \
  --mode sdn --epochs 1 --batch-size 32 --lr 0.02 --out "$dir/other" \
  > /dev/null 2>&1
mv "$dir/sub" "$dir/sub-moved"
cp -r "$dir/other" "$dir/sub"
"$sdn" report --trace "$dir/in" --html "$dir/in2.html" 2> "$dir/err"
grep -q "^warning: no Grad-CAM grid: .*not the network the trace was made with" \
  "$dir/err"
! grep -q "Grad-CAM per exit" "$dir/in2.html"
rm -rf "$dir/sub" && mv "$dir/sub-moved" "$dir/sub"
# Bad input: one error line naming the problem, non-zero exit.
. "$(dirname "$0")/expect_error.sh"
expect_error "--classes: class 1 is listed twice" "$sdn" train \
  "${data[@]}" --classes 1,1 --out "$dir/bad"
expect_error "--classes: 7 is not a class of the data set (expected 0 to 4)" \
  "$sdn" train "${data[@]}" --classes 0,7 --out "$dir/bad"
expect_error "--classes: expected class numbers separated by commas (e.g. 0,2,4), got '1,,2'" \
  "$sdn" train "${data[@]}" --classes 1,,2 --out "$dir/bad"
expect_error "--classes: expected class numbers .*got '0x1,2'" "$sdn" train \
  "${data[@]}" --classes 0x1,2 --out "$dir/bad"
expect_error "--classes lists all 5 classes" "$sdn" train "${data[@]}" \
  --classes 0,1,2,3,4 --out "$dir/bad"
expect_error "--classes must match" "$sdn" train "${data[@]}" \
  --classes 4,1,2 --mode ic-only --from "$dir/cnn/last" --epochs 1 \
  --out "$dir/bad"
expect_error "--classes: cannot change when resuming" "$sdn" train \
  --resume "$dir/sub" --classes 1,2
test ! -e "$dir/bad"
expect_error "--ood-source held-out-classes: the checkpoint was trained on all 5 classes" \
  "$sdn" eval --checkpoint "$dir/cnn/last" --ood-source held-out-classes \
  --out "$dir/bad"
expect_error "--select destructive needs internal classifiers" "$sdn" \
  explain --checkpoint "$dir/cnn/last" --select destructive --out "$dir/bad"
expect_error "--select must be first or destructive, got 'worst'" "$sdn" \
  explain --checkpoint "$dir/sub/last" --select worst --out "$dir/bad"
expect_error "--target must be predicted or true" "$sdn" explain \
  --checkpoint "$dir/sub/last" --target label --out "$dir/bad"
expect_error "--device gpu: expected cpu, cuda or cuda:N" "$sdn" explain --checkpoint \
  "$dir/sub/last" --device gpu --out "$dir/bad"
expect_error "--samples: expected .*\[1, 1000\], got 0" "$sdn" explain \
  --checkpoint "$dir/sub/last" --samples 0 --out "$dir/bad"
expect_error "--batch-size has no effect with --select first" "$sdn" explain \
  --checkpoint "$dir/sub/last" --batch-size 8 --out "$dir/bad"
expect_error "--split must be train, val or test" "$sdn" explain \
  --checkpoint "$dir/sub/last" --split dev --out "$dir/bad"
test ! -e "$dir/bad"
expect_error "--lr must be at most 3.40282e+38 (the optimiser computes in float32), got 1e+300" \
  "$sdn" train "${data[@]}" --lr 1e300 --out "$dir/bad"
test ! -e "$dir/bad"
mkdir "$dir/photos" && touch "$dir/photos/holiday.jpg"
expect_error "--out .*holiday.jpg" "$sdn" explain --checkpoint \
  "$dir/sub/last" --out "$dir/photos"
test -e "$dir/photos/holiday.jpg"
echo "explain_classes: ok"
