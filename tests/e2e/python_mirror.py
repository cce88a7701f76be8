"""The comparisons of python_mirror.sh: python/sdn_torch against sdn.

argv[1] is the folder the script filled: random/NAME/ (sdn_dump_exits
--arch ...: weights.safetensors, weights.pt, input.npy, exitI.npy) and
real/MODE/ (a trained checkpoint of that mode exported: w.safetensors,
w.pt, input.npy, and sdn_dump_exits --checkpoint's exits/exitI.npy).

Every exit's logits must agree: max|py - sdn| / max|sdn| <= 1e-4 per exit
(sdn's max|logit| must be >= 1e-3, so that the bound means something).
Prints the largest relative error per architecture.
"""
import copy
import json
import pathlib
import struct
import sys

import numpy as np
import torch

import sdn_torch

TOLERANCE = 1e-4
torch.set_num_threads(1)
root = pathlib.Path(sys.argv[1])
worst = {}


def exits_of(folder):
    files = sorted(folder.glob("exit*.npy"), key=lambda p: int(p.stem[4:]))
    assert [p.stem for p in files] == [f"exit{i}" for i in range(len(files))]
    return [torch.from_numpy(np.load(p)) for p in files]


def relative_errors(what, expected, got):
    assert len(got) == len(expected), (what, len(got), len(expected))
    errors = []
    for e, (a, b) in enumerate(zip(expected, got)):
        assert a.shape == b.shape, (what, e, a.shape, b.shape)
        scale = a.abs().max().item()
        assert scale >= 1e-3, (what, e, "logits too small to compare", scale)
        errors.append((a - b).abs().max().item() / scale)
    return errors


def check(what, arch, expected, got):
    errors = relative_errors(what, expected, got)
    bad = [(e, err) for e, err in enumerate(errors) if not err <= TOLERANCE]
    assert not bad, f"{what}: exits (exit, relative error) {bad} > {TOLERANCE}"
    worst[arch] = max(worst.get(arch, 0.0), max(errors))


def run(model, x):
    with torch.no_grad():
        return model(x)


def loaded_both_ways(folder, safetensors, pytorch):
    """The network from the safetensors export (sdn_torch.load) and the one
    built from its metadata with the pytorch export loaded (strict)."""
    model = sdn_torch.load(folder / safetensors)
    meta = model.metadata
    twin = sdn_torch.build(meta["arch"], meta["num_classes"],
                           meta["input_shape"], ics=bool(meta["ic_blocks"]))
    state = torch.load(folder / pytorch)
    assert type(state) is dict
    twin.load_state_dict(state, strict=True)
    a, b = model.state_dict(), twin.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not model.training and not twin.training
    return model, twin


for folder in sorted((root / "random").iterdir()):
    model, twin = loaded_both_ways(folder, "weights.safetensors", "weights.pt")
    arch = model.metadata["arch"]
    x = torch.from_numpy(np.load(folder / "input.npy"))
    expected = exits_of(folder)
    check(f"random {folder.name}", arch, expected, run(model, x))
    check(f"random {folder.name} (pytorch)", arch, expected, run(twin, x))
    # The running statistics matter: with them reset every exit's logits
    # differ, so the agreement above is eval mode's.
    reset = copy.deepcopy(model)
    for m in reset.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
    far = min(relative_errors(folder.name, expected, run(reset, x)))
    assert far > 1e-2, (folder.name, "BN statistics without effect", far)

for folder in sorted((root / "real").iterdir()):
    model, twin = loaded_both_ways(folder, "w.safetensors", "w.pt")
    arch = model.metadata["arch"]
    assert model.metadata["mode"] == folder.name, model.metadata["mode"]
    c = model.metadata["input_shape"][0]
    assert len(model.metadata["mean"]) == len(model.metadata["std"]) == c
    mean = torch.tensor(model.metadata["mean"]).view(1, c, 1, 1)
    std = torch.tensor(model.metadata["std"]).view(1, c, 1, 1)
    pixels = torch.rand(2, c, 4, 4)
    assert torch.allclose(model.normalize(pixels), (pixels - mean) / std)
    x = torch.from_numpy(np.load(folder / "input.npy"))
    expected = exits_of(folder / "exits")
    assert len(expected) == model.num_exits == model.metadata["num_exits"]
    check(f"checkpoint {folder.name}", arch, expected, run(model, x))
    check(f"checkpoint {folder.name} (pytorch)", arch, expected, run(twin, x))



def refused(what, call, message):
    try:
        call()
    except ValueError as e:
        assert message in str(e), (what, e)
        return
    raise AssertionError(f"{what}: accepted")


# A PyTorch export has no metadata: load() says what to do instead.
real = root / "real" / "sdn"
refused("load(pt)", lambda: sdn_torch.load(real / "w.pt"), "build(")
fresh = sdn_torch.build("mobilenet", 3)
refused("normalize without metadata",
        lambda: fresh.normalize(torch.rand(1, 3, 2, 2)), "no mean/std")
# Broken safetensors files: the reader names what is wrong.
raw = (real / "w.safetensors").read_bytes()
decode = sdn_torch.safetensors.decode
refused("truncated", lambda: decode(raw[:-4], "f"), "lie outside")
refused("trailing bytes", lambda: decode(raw + b"\0" * 4, "f"),
        "bytes after the last tensor")
refused("short", lambda: decode(raw[:5], "f"), "not a safetensors file")
refused("header", lambda: decode(raw[:8] + b"x" * (len(raw) - 8), "f"),
        "not JSON")



def with_metadata(raw, **changes):
    """The safetensors bytes `raw` with metadata entries replaced (JSON text
    values, as sdn writes them)."""
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    for key, value in changes.items():
        header["__metadata__"][key] = json.dumps(value)
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + raw[8 + n:]


# Metadata of the wrong type, or that the tensors do not bear out: a
# ValueError naming the entry, before anything is built.
bad = root / "bad.safetensors"
for what, changes, message in [
        ("num_classes text", {"num_classes": "many"}, "'num_classes' must be"),
        ("num_classes huge", {"num_classes": 20000000},
         "no classifier bias in the file has that many"),
        ("input_shape", {"input_shape": 32}, "'input_shape' must be a list"),
        ("ic_blocks", {"ic_blocks": [1.5]}, "'ic_blocks' must be a list"),
        ("arch", {"arch": 7}, "'arch' must be a name"),
        ("num_exits", {"num_exits": [1]}, "'num_exits' must be an integer")]:
    bad.write_bytes(with_metadata(raw, **changes))
    refused(what, lambda: sdn_torch.load(bad), message)
# The normalisation a caller applies with normalize(): one finite number per
# channel, std > 0 (NaN or 0 would give non-finite logits silently).
n = int.from_bytes(raw[:8], "little")
channels = json.loads(
    json.loads(raw[8:8 + n])["__metadata__"]["input_shape"])[0]
for what, changes in [
        ("mean nan", {"mean": [float("nan")] * channels}),
        ("mean count", {"mean": [0.5] * (channels + 1)}),
        ("mean text", {"mean": "abc"}),
        ("std zero", {"std": [0] * channels})]:
    bad.write_bytes(with_metadata(raw, **changes))
    key = "mean" if "mean" in changes else "std"
    refused(what, lambda: sdn_torch.load(bad),
            f"metadata '{key}' must be a list of {channels} finite numbers")
# Metadata nested deeper than Python's recursion limit is kept as text.
header = json.loads(raw[8:8 + n])
header["__metadata__"]["class_names"] = "[" * 100000 + "]" * 100000
text = json.dumps(header).encode()
bad.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + n:])
assert isinstance(sdn_torch.load(bad).metadata["class_names"], str)

def with_tensor(raw, suffix, dtype=None, first=None):
    """`raw` with the first tensor whose name ends with `suffix` given
    another dtype name (of the same width) or its first float32 value."""
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    name = next(k for k in header if k.endswith(suffix))
    data = bytearray(raw[8 + n:])
    if dtype is not None:
        header[name]["dtype"] = dtype
    if first is not None:
        at = header[name]["data_offsets"][0]
        data[at:at + 4] = struct.pack("<f", first)
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + bytes(data)


# Values sdn import refuses are refused by load() too (load_state_dict
# would convert a dtype silently, and NaN gives NaN logits).
for what, changed, message in [
        ("dtype", with_tensor(raw, "num_batches_tracked", dtype="F64"),
         "is torch.float64, the network's is torch.int64"),
        ("nan", with_tensor(raw, ".weight", first=float("nan")),
         "holds values that are not finite"),
        ("negative var", with_tensor(raw, "running_var", first=-1.0),
         "holds negative values")]:
    bad.write_bytes(changed)
    refused(what, lambda: sdn_torch.load(bad), message)

for arch in sdn_torch.ARCHS:
    assert arch in worst, f"{arch} not compared"
    print(f"{arch}: largest relative error {worst[arch]:.2e}")
