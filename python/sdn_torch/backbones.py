"""The four sdn backbones in PyTorch, module for module
(src/sdn/models/*.cpp, docs/architecture.md#backbones).

Each backbone is a stem, a list of blocks (`blocks`) and a head, under the
names sdn's checkpoints use: a state_dict of `sdn export` (its `backbone.`
part) loads into them with strict=True. `block(i, x)` returns (output,
features): the tensor passed on and the one an internal classifier attached
after block i sees (they differ only for ResNet-56, whose ICs see the sum
before the block's last ReLU). Inputs are float [N, in_channels, side, side]
with side 32 or 64 and in_channels 1 or 3, normalised as sdn normalises
(docs/data.md). The weights of a fresh backbone are PyTorch's module
defaults, not sdn's training initialisation: load trained weights.
"""
from torch import nn
import torch.nn.functional as F

ARCHS = ("vgg16", "resnet56", "wrn32_4", "mobilenet")

# Blocks after which an IC sits (docs/architecture.md#ic-placement).
IC_BLOCKS = {
    "vgg16": (1, 3, 5, 6, 8, 9),
    "resnet56": (3, 7, 11, 15, 19, 23),
    "wrn32_4": (2, 4, 6, 8, 10, 12),
    "mobilenet": (2, 4, 6, 8, 11),
}


class Backbone(nn.Module):
    """Stem, blocks and head; forward(x) is the plain CNN's logits [N, K]."""

    def __init__(self, arch, in_channels, input_side, num_classes):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(
                f"unknown architecture '{arch}' (expected one of "
                f"{', '.join(ARCHS)})")
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {in_channels}")
        if input_side not in (32, 64):
            raise ValueError(f"input_side must be 32 or 64, got {input_side}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.arch = arch
        self.in_channels = in_channels
        self.input_side = input_side
        self.num_classes = num_classes
        self.ic_blocks = IC_BLOCKS[arch]
        # [C, side] after the stem and after each block, filled by _add.
        self._stem_shape = None
        self._block_shapes = []

    # Building (the subclasses, in sdn's registration order).

    def _stem(self, width, stride, bn_relu):
        """Conv3x3 (padding 1) "stem_conv" [-> BN "stem_bn" -> ReLU]."""
        self.stem_conv = nn.Conv2d(self.in_channels, width, 3, stride=stride,
                                   padding=1, bias=not bn_relu)
        self.stem_bn = nn.BatchNorm2d(width) if bn_relu else None
        self._stem_shape = (width, self.input_side // stride)

    def _add(self, block):
        channels, side = (self._block_shapes[-1] if self._block_shapes else
                          self._stem_shape or (self.in_channels,
                                               self.input_side))
        if not hasattr(self, "blocks"):
            self.blocks = nn.ModuleList()
        self.blocks.append(block)
        self._block_shapes.append((block.out_channels, side // block.reduces))

    def _stages(self, make, in_channels, widths, per_stage):
        """per_stage blocks per width, stride 2 on the first block of every
        stage but the first. Returns the last width."""
        for stage, width in enumerate(widths):
            for b in range(per_stage):
                self._add(make(in_channels, width,
                               2 if stage > 0 and b == 0 else 1))
                in_channels = width
        return in_channels

    # Running.

    def check_input(self, x):
        shape = (self.in_channels, self.input_side, self.input_side)
        if x.dim() != 4 or tuple(x.shape[1:]) != shape:
            raise ValueError(
                f"{self.arch} expects input [N, {shape[0]}, {shape[1]}, "
                f"{shape[2]}], got {list(x.shape)}")

    def stem(self, x):
        self.check_input(x)
        if self._stem_shape is None:
            return x
        h = self.stem_conv(x)
        return F.relu(self.stem_bn(h)) if self.stem_bn is not None else h

    def block(self, i, x):
        return self.blocks[i].forward_with_features(x)

    def block_feature_shape(self, i):
        """[C, side, side] of block i's IC features for one image."""
        c, s = self._block_shapes[i]
        return [c, s, s]

    def head(self, x):
        raise NotImplementedError

    def forward(self, x):
        h = self.stem(x)
        for i in range(len(self.blocks)):
            h = self.block(i, h)[0]
        return self.head(h)


class PooledHead(Backbone):
    """A backbone whose head is [BN "head_bn" -> ReLU ->] AvgPool2d(pool) ->
    flatten -> Linear "fc"."""

    def _pooled_head(self, channels, pool, bn):
        self.head_bn = nn.BatchNorm2d(channels) if bn else None
        self.head_pool = pool
        self.fc = nn.Linear(channels, self.num_classes)

    def head(self, x):
        h = F.relu(self.head_bn(x)) if self.head_bn is not None else x
        return self.fc(F.avg_pool2d(h, self.head_pool, self.head_pool)
                       .flatten(1))


class Block(nn.Module):
    """A block: `out_channels`, and `reduces`, the factor its output side is
    smaller than its input side."""

    def forward_with_features(self, x):
        h = self(x)
        return h, h


# VGG-16-BN (src/sdn/models/vgg.cpp).

VGG_CHANNELS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
VGG_POOL = (False, True, False, True, False, False, True, False, False, True,
            False, False, True)


class VggBlock(Block):
    """Conv3x3 (bias) "conv" -> BN "bn" -> ReLU [-> MaxPool2d(2)]."""

    def __init__(self, in_channels, out_channels, max_pool):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1,
                              bias=True)
        self.bn = nn.BatchNorm2d(out_channels)
        self.max_pool = max_pool
        self.out_channels = out_channels
        self.reduces = 2 if max_pool else 1

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x)))
        return F.max_pool2d(h, 2, 2) if self.max_pool else h


class Vgg16(Backbone):
    """13 conv blocks; head flatten -> fc1 -> ReLU -> Dropout(0.5) -> fc2 ->
    Dropout(0.5) -> fc3 (no ReLU after fc2, a kept quirk). FC widths 512/512
    at 32 px, 2048/1024 at 64 px (where fc1 sees 512 x 2 x 2)."""

    def __init__(self, in_channels, input_side, num_classes):
        super().__init__("vgg16", in_channels, input_side, num_classes)
        c = in_channels
        for width, pool in zip(VGG_CHANNELS, VGG_POOL):
            self._add(VggBlock(c, width, pool))
            c = width
        flat = c * (input_side // 32) ** 2
        fc_a, fc_b = (2048, 1024) if input_side == 64 else (512, 512)
        self.fc1 = nn.Linear(flat, fc_a)
        self.drop1 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(fc_a, fc_b)
        self.drop2 = nn.Dropout(0.5)
        self.fc3 = nn.Linear(fc_b, num_classes)

    def head(self, x):
        h = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(self.drop2(self.fc2(self.drop1(h))))


# ResNet-56 (src/sdn/models/resnet.cpp).

class ResNetBlock(Block):
    """BasicBlock: conv1 (3x3, stride) -> bn1 -> ReLU -> conv2 (3x3) -> bn2,
    plus the identity or shortcut_conv (1x1, stride) -> shortcut_bn, then
    ReLU. The IC features are the sum before that ReLU."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride,
                               padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.projects = stride != 1 or in_channels != out_channels
        if self.projects:
            self.shortcut_conv = nn.Conv2d(in_channels, out_channels, 1,
                                           stride=stride, bias=False)
            self.shortcut_bn = nn.BatchNorm2d(out_channels)
        self.out_channels = out_channels
        self.reduces = stride

    def _sum(self, x):
        s = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return s + (self.shortcut_bn(self.shortcut_conv(x)) if self.projects
                    else x)

    def forward_with_features(self, x):
        s = self._sum(x)
        return F.relu(s), s

    def forward(self, x):
        return F.relu(self._sum(x))


class ResNet56(PooledHead):
    """Stem conv3x3(16) -> BN -> ReLU (stride 2 at 64 px), 3 stages x 9
    BasicBlocks of widths 16/32/64, head AvgPool2d(8) -> fc."""

    def __init__(self, in_channels, input_side, num_classes):
        super().__init__("resnet56", in_channels, input_side, num_classes)
        self._stem(16, input_side // 32, bn_relu=True)
        last = self._stages(ResNetBlock, 16, (16, 32, 64), 9)
        self._pooled_head(last, 8, bn=False)


# Wide-ResNet-32-4 (src/sdn/models/wide_resnet.cpp).

class WideBlock(Block):
    """bn1 -> ReLU -> conv1 (3x3, bias) -> Dropout(0.3) -> bn2 -> ReLU ->
    conv2 (3x3, stride, bias), plus the identity or "shortcut" (1x1, stride,
    bias, no BN); the output is the sum, no activation."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1,
                               bias=True)
        self.dropout = nn.Dropout(0.3)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=stride,
                               padding=1, bias=True)
        self.projects = stride != 1 or in_channels != out_channels
        if self.projects:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1,
                                      stride=stride, bias=True)
        self.out_channels = out_channels
        self.reduces = stride

    def forward(self, x):
        h = self.conv1(F.relu(self.bn1(x)))
        h = self.conv2(F.relu(self.bn2(self.dropout(h))))
        return h + (self.shortcut(x) if self.projects else x)


class Wrn32_4(PooledHead):
    """Stem conv3x3(16, bias, no BN; stride 2 at 64 px), 3 stages x 5 blocks
    of widths 64/128/256, head BN -> ReLU -> AvgPool2d(8) -> fc."""

    def __init__(self, in_channels, input_side, num_classes):
        super().__init__("wrn32_4", in_channels, input_side, num_classes)
        self._stem(16, input_side // 32, bn_relu=False)
        last = self._stages(WideBlock, 16, (64, 128, 256), 5)
        self._pooled_head(last, 8, bn=True)


# MobileNet (src/sdn/models/mobilenet.cpp).

MOBILENET_CONFIG = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1),
                    (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
                    (512, 1), (1024, 2), (1024, 1))


class MobileBlock(Block):
    """dw_conv (3x3 depthwise, stride) -> dw_bn -> ReLU -> pw_conv (1x1) ->
    pw_bn -> ReLU, no biases."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.dw_conv = nn.Conv2d(in_channels, in_channels, 3, stride=stride,
                                 padding=1, groups=in_channels, bias=False)
        self.dw_bn = nn.BatchNorm2d(in_channels)
        self.pw_conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(out_channels)
        self.out_channels = out_channels
        self.reduces = stride

    def forward(self, x):
        h = F.relu(self.dw_bn(self.dw_conv(x)))
        return F.relu(self.pw_bn(self.pw_conv(h)))


class MobileNet(PooledHead):
    """Stem conv3x3(32) -> BN -> ReLU (stride 1 at both sides), 13
    depthwise-separable blocks, head AvgPool2d(side / 16) -> fc(1024)."""

    def __init__(self, in_channels, input_side, num_classes):
        super().__init__("mobilenet", in_channels, input_side, num_classes)
        self._stem(32, 1, bn_relu=True)
        c = 32
        for width, stride in MOBILENET_CONFIG:
            self._add(MobileBlock(c, width, stride))
            c = width
        self._pooled_head(c, input_side // 16, bn=False)


_FACTORIES = {
    "vgg16": Vgg16,
    "resnet56": ResNet56,
    "wrn32_4": Wrn32_4,
    "mobilenet": MobileNet,
}


def make_backbone(arch, in_channels, input_side, num_classes):
    """The backbone `arch` for [in_channels, input_side, input_side] inputs
    and num_classes; ValueError naming a bad argument."""
    if arch not in _FACTORIES:
        raise ValueError(
            f"unknown architecture '{arch}' (expected one of "
            f"{', '.join(ARCHS)})")
    return _FACTORIES[arch](in_channels, input_side, num_classes)
