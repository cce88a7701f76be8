#!/usr/bin/env bash
# sdn export: both formats hold every tensor of the checkpoint under its
# name, bit for bit, as PyTorch itself (torch.load) and a plain reader of
# the safetensors layout see them; bad input gives `error:`.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
"$sdn" --threads 1 train --arch resnet56 --dataset synthetic \
  --synthetic-train 96 --synthetic-test 32 --synthetic-classes 4 \
  --synthetic-channels 1 --val-size 32 --classes 2,0,3 --mode sdn \
  --epochs 1 --batch-size 32 --out "$dir/sdn" > /dev/null 2>&1
"$sdn" export --checkpoint "$dir/sdn/last" --out "$dir/w.safetensors" \
  2> /dev/null
"$sdn" export --checkpoint "$dir/sdn/last" --format pytorch \
  --out "$dir/w.pt" 2> /dev/null
/usr/bin/python3 - "$dir" <<'PY'
import json, struct, sys
import numpy as np
import torch
d = sys.argv[1]
raw = open(f"{d}/w.safetensors", "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__")
assert meta["arch"] == "resnet56" and meta["classes"] == "[2,0,3]", meta
assert json.loads(meta["input_shape"]) == [1, 32, 32]
assert json.loads(meta["ic_blocks"]) and meta["num_exits"] == "7"
assert len(json.loads(meta["mean"])) == 1 and meta["mode"] == "sdn"
data = raw[8 + n:]
kinds = {"F32": np.float32, "I64": np.int64}
state = torch.load(f"{d}/w.pt")
assert type(state) is dict, type(state)
assert set(state) == set(header), set(state) ^ set(header)
for name, entry in header.items():
    b, e = entry["data_offsets"]
    a = np.frombuffer(data[b:e], dtype=kinds[entry["dtype"]])
    a = a.reshape(entry["shape"])
    t = state[name]
    assert list(t.shape) == entry["shape"], name
    assert np.array_equal(t.numpy(), a), name
# The names: the backbone's under backbone., the ICs' under ic0. ... ic5.
assert any(k.startswith("backbone.") for k in state)
assert {k.split(".")[0] for k in state} == {"backbone"} | {f"ic{i}" for i in range(6)}
PY
. "$(dirname "$0")/expect_error.sh"
expect_error "--format must be safetensors or pytorch, got 'onnx'" "$sdn" \
  export --checkpoint "$dir/sdn/last" --format onnx --out "$dir/x"
expect_error "$dir/none" "$sdn" export --checkpoint "$dir/none" \
  --out "$dir/x"
test ! -e "$dir/x"
echo "export: ok"
