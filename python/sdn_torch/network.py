"""Internal classifiers and the SDN network (src/sdn/heads/
internal_classifier.cpp, src/sdn/network/sdn_network.cpp), and building
one from an `sdn export` file."""
import json
import math
import os

import torch
from torch import nn
import torch.nn.functional as F

from . import backbones
from . import safetensors


def reduction_kernel(side):
    """floor(side / 4) when side >= 4, else 0 (no pooling)."""
    return side // 4 if side >= 4 else 0


class InternalClassifier(nn.Module):
    """An IC on features [N, channels, side, side] -> logits [N, K].

    For side >= 4: alpha * MaxPool2d(k) + (1 - alpha) * AvgPool2d(k), with
    k = floor(side / 4) and one unconstrained scalar parameter `alpha` (shape
    [1]), computed as lerp(avg, max, alpha) as sdn does; for side < 4 no
    pooling and no alpha. Then flatten (channel-major) -> `linear`.
    """

    def __init__(self, channels, side, num_classes):
        super().__init__()
        self.channels = channels
        self.side = side
        self.kernel = reduction_kernel(side)
        if self.kernel > 0:
            self.alpha = nn.Parameter(torch.rand(1))
        pooled = side // self.kernel if self.kernel > 0 else side
        self.linear = nn.Linear(channels * pooled * pooled, num_classes)

    def forward(self, x):
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.channels, self.side,
                                                  self.side):
            raise ValueError(
                f"internal classifier expects features [N, {self.channels}, "
                f"{self.side}, {self.side}], got {list(x.shape)}")
        if self.kernel == 0:
            return self.linear(x.flatten(1))
        max_pooled = avg_pooled = x
        if self.kernel > 1:  # kernel 1 pools are identities
            k = self.kernel
            max_pooled = F.max_pool2d(x, k, k)
            avg_pooled = F.avg_pool2d(x, k, k)
        return self.linear(torch.lerp(avg_pooled, max_pooled, self.alpha)
                           .flatten(1))


class SdnNetwork(nn.Module):
    """A backbone (`backbone`) plus internal classifiers `ic0`, `ic1`, ...
    after the blocks `ic_blocks` (none: the plain CNN).

    forward(x) returns the list of every exit's logits [N, K], ICs
    shallowest first and the final exit last (one entry for the plain CNN).
    """

    def __init__(self, arch, num_classes, input_shape=(3, 32, 32), ics=True):
        super().__init__()
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[1] != input_shape[2]:
            raise ValueError("input_shape must be [C, side, side], got "
                             f"{list(input_shape)}")
        self.backbone = backbones.make_backbone(arch, input_shape[0],
                                                input_shape[1], num_classes)
        self.ic_blocks = tuple(self.backbone.ic_blocks) if ics else ()
        for i, block in enumerate(self.ic_blocks):
            c, side, _ = self.backbone.block_feature_shape(block)
            self.add_module(f"ic{i}", InternalClassifier(c, side, num_classes))
        # What the safetensors metadata said (load()), else {}.
        self.metadata = {}

    @property
    def num_exits(self):
        return len(self.ic_blocks) + 1

    def ics(self):
        return [getattr(self, f"ic{i}") for i in range(len(self.ic_blocks))]

    def forward(self, x):
        outputs = []
        ics = dict(zip(self.ic_blocks, self.ics()))
        h = self.backbone.stem(x)
        for i in range(len(self.backbone.blocks)):
            h, features = self.backbone.block(i, h)
            if i in ics:
                outputs.append(ics[i](features))
        outputs.append(self.backbone.head(h))
        return outputs

    def normalize(self, pixels):
        """(pixels - mean) / std per channel, for pixels in [0, 1] [N, C, H,
        W], with the data set's mean and std from the metadata (load())."""
        if "mean" not in self.metadata or "std" not in self.metadata:
            raise ValueError("no mean/std: the network was not load()ed from "
                             "an sdn safetensors export")
        mean = torch.tensor(self.metadata["mean"], dtype=pixels.dtype)
        std = torch.tensor(self.metadata["std"], dtype=pixels.dtype)
        return (pixels - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def build(arch, num_classes, input_shape=(3, 32, 32), ics=True):
    """The network sdn builds for `arch` ("vgg16", "resnet56", "wrn32_4",
    "mobilenet"), `num_classes` and input [C, side, side] (C 1 or 3, side 32
    or 64), with its ICs or (ics=False) the plain CNN, in eval mode, with
    PyTorch's default weights: load_state_dict(torch.load(f), strict=True)
    takes the file `sdn export --format pytorch` writes."""
    return SdnNetwork(arch, num_classes, input_shape, ics).eval()


def _metadata_value(text):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        # Not JSON (or nested deeper than Python's recursion allows): the
        # text as it is; the checks below refuse it where a value is needed.
        return text


def _metadata_floats(meta, key, path, channels, positive):
    """An optional list of `channels` finite floats (mean, std > 0)."""
    if key not in meta:
        return
    value = meta[key]
    if (not isinstance(value, list) or len(value) != channels or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or
            not math.isfinite(v) or (positive and v <= 0) for v in value)):
        raise ValueError(
            f"{path}: metadata '{key}' must be a list of {channels} finite "
            f"numbers{' > 0' if positive else ''} (one per input channel), "
            f"got {str(value)[:200]}")


def _metadata_int(meta, key, path):
    value = meta[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{path}: metadata '{key}' must be an integer, got "
                         f"{value!r}")
    return value


def _metadata_ints(meta, key, path):
    value = meta[key]
    if not isinstance(value, list) or any(
            isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise ValueError(f"{path}: metadata '{key}' must be a list of "
                         f"integers, got {value!r}")
    return value


def _check_values(tensors, expected, path):
    """What sdn import refuses, refused here too: load_state_dict would
    convert a bool or int8 tensor silently, and a NaN weight or a negative
    running variance gives NaN logits."""
    for name, want in expected.items():
        t = tensors[name]
        if t.dtype != want.dtype:
            raise ValueError(f"{path}: tensor '{name}' is {t.dtype}, the "
                             f"network's is {want.dtype}")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError(f"{path}: tensor '{name}' holds values that are "
                             "not finite")
        if (name.endswith("running_var") or
                name.endswith("num_batches_tracked")) and bool((t < 0).any()):
            raise ValueError(f"{path}: tensor '{name}' holds negative values")


# The largest export, VGG-16 at 64x64 with 200 classes, is under 200 MiB.
_MAX_FILE_BYTES = 1 << 30


def load(path):
    """The network of a file `sdn export` wrote (safetensors, the default
    format), built from its metadata (arch, num_classes, input_shape,
    ic_blocks) and loaded with strict=True, in eval mode. Its `metadata`
    holds every metadata entry, JSON values decoded (mean, std,
    class_names, ...). Raises ValueError for a PyTorch export (it carries no
    metadata: build() it, then load_state_dict(torch.load(path))), a bad
    file, metadata of the wrong type or that the tensors do not bear out
    (num_classes), or IC blocks that are not the architecture's."""
    size = os.path.getsize(path)
    if size > _MAX_FILE_BYTES:
        raise ValueError(f"{path}: {size} bytes, more than the 1 GiB any "
                         "export of sdn's networks fits in")
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:4] == b"PK\x03\x04":
        raise ValueError(
            f"{path}: a PyTorch (zip) file; it carries no metadata: "
            "build(arch, num_classes, input_shape, ics) then "
            "load_state_dict(torch.load(path), strict=True)")
    tensors, text = safetensors.decode(raw, str(path))
    meta = {k: _metadata_value(v) for k, v in text.items()}
    for key in ("arch", "num_classes", "input_shape", "ic_blocks"):
        if key not in meta:
            raise ValueError(f"{path}: metadata '{key}' missing (not an sdn "
                             "export?)")
    arch = meta["arch"]
    if not isinstance(arch, str):
        raise ValueError(f"{path}: metadata 'arch' must be a name, got "
                         f"{arch!r}")
    num_classes = _metadata_int(meta, "num_classes", path)
    input_shape = _metadata_ints(meta, "input_shape", path)
    ic_blocks = tuple(_metadata_ints(meta, "ic_blocks", path))
    if len(input_shape) == 3:
        _metadata_floats(meta, "mean", path, input_shape[0], positive=False)
        _metadata_floats(meta, "std", path, input_shape[0], positive=True)
    try:
        # The names do not depend on num_classes: a 2-class network says
        # which tensors the file must hold, before anything of the
        # metadata's size is built.
        probe = SdnNetwork(arch, 2, input_shape, ics=bool(ic_blocks))
        names = set(probe.state_dict())
        if set(tensors) != names:
            missing = sorted(names - set(tensors))
            extra = sorted(set(tensors) - names)
            raise ValueError(
                f"its tensors are not those of {arch} with these ICs "
                f"(missing {missing[:5]}, unexpected {extra[:5]})")
        # The final classifier's bias has num_classes entries.
        if not any(t.dim() == 1 and t.shape[0] == num_classes
                   for name, t in tensors.items()
                   if name.startswith("backbone.") and name.endswith(".bias")):
            raise ValueError(f"metadata 'num_classes' is {num_classes}, but "
                             "no classifier bias in the file has that many "
                             "entries")
        model = SdnNetwork(arch, num_classes, input_shape,
                           ics=bool(ic_blocks))
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    if ic_blocks != model.ic_blocks:
        raise ValueError(
            f"{path}: ICs after blocks {list(ic_blocks)}, but {meta['arch']} "
            f"places them after {list(model.ic_blocks)}")
    if ("num_exits" in meta and
            _metadata_int(meta, "num_exits", path) != model.num_exits):
        raise ValueError(
            f"{path}: {meta['num_exits']} exits, but the network has "
            f"{model.num_exits}")
    _check_values(tensors, model.state_dict(), path)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{path}: {e}") from None
    model.metadata = meta
    return model.eval()
