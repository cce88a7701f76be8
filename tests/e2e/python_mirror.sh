#!/usr/bin/env bash
# python/sdn_torch rebuilds sdn's networks (docs/interop.md#the-python-
# package): every exit's logits in PyTorch equal sdn's within 1e-4
# relative (python_mirror.py), for
# - all four architectures at 1 and 3 channels, 32 and 64 px, as SDNs, and
#   each as a plain CNN, with random weights and random BatchNorm running
#   statistics (sdn_dump_exits), loaded from both export formats;
# - checkpoints of `sdn train` (MobileNet as an SDN, a CNN and ICs trained
#   on that CNN), through `sdn export`.
# Usage: python_mirror.sh SDN SDN_DUMP_EXITS
set -euo pipefail
sdn="$1"
dump="$2"
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
"$dump" --arch vgg16,resnet56,wrn32_4,mobilenet --classes 3 --channels 1,3 \
  --side 32,64 --seed 1 --batch 2 --out "$dir/random"
"$dump" --arch vgg16,resnet56,wrn32_4,mobilenet --cnn --classes 4 \
  --channels 3 --side 32 --seed 100 --batch 2 --out "$dir/random"

# Trained networks: `sdn train` (8 steps of batch 8 at a small rate: a
# network that has not blown up yet), `sdn export` in both formats, and
# sdn's logits of the checkpoint for a standard normal input.
real() { # NAME CHANNELS SIDE TRAIN-OPTIONS...
  local name="$1" c="$2" s="$3"; shift 3
  local out="$dir/real/$name"
  mkdir -p "$out"
  "$sdn" --threads 1 train --arch mobilenet --dataset synthetic \
    --synthetic-train 64 --synthetic-test 16 --synthetic-classes 3 \
    --synthetic-channels "$c" --synthetic-side "$s" --val-size 0 \
    --epochs 1 --batch-size 8 --lr 0.01 --out "$dir/$name" "$@" \
    > /dev/null 2>&1
  "$sdn" export --checkpoint "$dir/$name/last" --out "$out/w.safetensors" \
    2> /dev/null
  "$sdn" export --checkpoint "$dir/$name/last" --format pytorch \
    --out "$out/w.pt" 2> /dev/null
  /usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[1], \
np.random.default_rng(7).standard_normal((3, $c, $s, $s), np.float32))" \
    "$out/input.npy"
  "$dump" --checkpoint "$dir/$name/last" --input "$out/input.npy" \
    --out "$out/exits"
}
real sdn 1 32 --mode sdn
real cnn 3 64 --mode cnn
real ic-only 3 64 --mode ic-only --from "$dir/cnn/last"

PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$here/../../python" \
  /usr/bin/python3 "$here/python_mirror.py" "$dir"
echo "python_mirror: ok"
