#!/usr/bin/env bash
# docs/interop.md's worked example, small: a CNN trained in PyTorch on an
# image folder (python/examples/train_folder_cnn.py, sdn_torch's names) is
# imported into sdn, which gives Python's test accuracy with its final exit,
# converts it to an SDN by IC-only training (--ic-only-clean: the final exit
# stays the imported CNN) and analyses its overthinking.
set -euo pipefail
sdn="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
/usr/bin/python3 "$root/bench/make-image-folder" "$dir/imgs" 540 3
PYTHONPATH="$root/python" /usr/bin/python3 \
  "$root/python/examples/train_folder_cnn.py" --data-dir "$dir/imgs" \
  --arch resnet56 --epochs 2 --out "$dir/cnn.pt" \
  > "$dir/norm.txt" 2> "$dir/python.err"
read -ra norm < "$dir/norm.txt"
python_accuracy=$(sed -n 's/^test accuracy \([0-9.]*\) %.*/\1/p' "$dir/python.err")
f=(--arch resnet56 --dataset folder --data-dir "$dir/imgs" --val-size 45)
"$sdn" import "${f[@]}" "${norm[@]}" --from "$dir/cnn.pt" \
  --out "$dir/imported" 2> /dev/null
"$sdn" --threads 1 eval --checkpoint "$dir/imported" --split test \
  --out "$dir/cnn-test" > /dev/null 2>&1
"$sdn" --threads 1 train "${f[@]}" --mode ic-only --ic-only-clean \
  --from "$dir/imported" --epochs 1 --batch-size 32 --out "$dir/ic" \
  > /dev/null 2>&1
for split in val test; do
  "$sdn" --threads 1 eval --checkpoint "$dir/ic/last" --split "$split" \
    --out "$dir/ic-$split" > /dev/null 2>&1
done
"$sdn" report --trace "$dir/ic-test" --val-trace "$dir/ic-val" \
  --cnn-trace "$dir/cnn-test" --json > "$dir/report.json"
/usr/bin/python3 - "$dir" "$python_accuracy" "${norm[@]}" <<'PY'
import json, sys
import numpy as np
d, python_accuracy = sys.argv[1], float(sys.argv[2])
meta = json.load(open(f"{d}/imported/meta.json"))
data = meta["config"]["data"]
assert data["class_names"] == ["class000", "class001", "class002"], data
mean = [float(v) for v in sys.argv[4].split(",")]
assert np.allclose(data["mean"], mean, atol=1e-6), (data["mean"], mean)
# sdn's final exit on the imported CNN is Python's network: the accuracy
# Python measured, up to the images sdn resizes with another filter (a
# third of them are 48x40).
probs = np.load(f"{d}/cnn-test/probs.npy")
labels = np.load(f"{d}/cnn-test/labels.npy")
sdn_accuracy = 100 * (probs[:, -1].argmax(1) == labels).mean()
assert abs(sdn_accuracy - python_accuracy) <= 2, (sdn_accuracy, python_accuracy)
# IC-only training left the final exit alone (--ic-only-clean).
ic = np.load(f"{d}/ic-test/probs.npy")
assert ic.shape[1] == 7, ic.shape
assert (ic[:, -1].argmax(1) == probs[:, -1].argmax(1)).all()
report = json.load(open(f"{d}/report.json"))
assert "wasteful" in report["overthinking"], sorted(report)
print(f"worked example: python {python_accuracy:.1f} %, sdn {sdn_accuracy:.1f} %")
PY
echo "worked_example: ok"
