#!/usr/bin/env bash
# sdn import: a resnet56 that Python's PyTorch trained a few steps and saved
# with torch.save(state_dict()) becomes an sdn CNN checkpoint whose final
# exit gives Python's probabilities on the same images (sdn eval), whose
# re-export is Python's tensors bit for bit (also under torchvision-like
# names through a name map, and through safetensors), and on which IC-only
# training runs; bad files and mismatches give one `error:` and no output.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
py=/usr/bin/python3 # Debian's python3-torch, not whatever python3 is first

# A tiny Fashion-MNIST (IDX files of random pixels), and in Python the
# network under sdn's names (docs/interop.md#names), trained a few steps so
# that the BatchNorm statistics and counters are not the initial ones.
"$py" - "$dir" <<'PY'
import collections, os, struct, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

d = sys.argv[1]
rng = np.random.default_rng(7)
os.makedirs(f"{d}/data")
def idx(path, magic, array):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        f.write(b"".join(struct.pack(">I", n) for n in array.shape))
        f.write(array.astype(np.uint8).tobytes())
splits = {}
for prefix, n in (("train", 64), ("t10k", 24)):
    # Bright or dark, smooth or noisy: images the network tells apart.
    level = rng.integers(0, 256, size=(n, 1, 1))
    noise = rng.integers(0, 256, size=(n, 28, 28)) * rng.random((n, 1, 1))
    images = np.clip(level * 0.7 + noise * 0.3, 0, 255).astype(np.uint8)
    labels = rng.integers(0, 10, size=n)
    idx(f"{d}/data/{prefix}-images-idx3-ubyte", 2051, images)
    idx(f"{d}/data/{prefix}-labels-idx1-ubyte", 2049, labels)
    splits[prefix] = (images, labels)

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.projects = stride != 1 or cin != cout
        if self.projects:
            self.shortcut_conv = nn.Conv2d(cin, cout, 1, stride, bias=False)
            self.shortcut_bn = nn.BatchNorm2d(cout)
    def forward(self, x):
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = self.shortcut_bn(self.shortcut_conv(x)) if self.projects else x
        return F.relu(h + s)

class Backbone(nn.Module):  # sdn's resnet56 (docs/architecture.md)
    def __init__(self):
        super().__init__()
        self.stem_conv = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        blocks, c = [], 16
        for stage, width in enumerate((16, 32, 64)):
            for b in range(9):
                blocks.append(Block(c, width, 2 if stage and not b else 1))
                c = width
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(64, 10)
    def features(self, x):
        x = F.relu(self.stem_bn(self.stem_conv(x)))
        for block in self.blocks:
            x = block(x)
        return F.avg_pool2d(x, 8).flatten(1)
    def forward(self, x):
        return self.fc(self.features(x))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
    def forward(self, x):
        return self.backbone(x)

def inputs(images):  # as sdn loads Fashion-MNIST: centred in 32x32
    x = np.zeros((len(images), 1, 32, 32), np.float32)
    x[:, 0, 2:30, 2:30] = images.astype(np.float32) * np.float32(1 / 255)
    return torch.from_numpy((x - np.float32(0.2190)) / np.float32(0.3318))

torch.manual_seed(5)
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
x, y = inputs(splits["train"][0]), torch.from_numpy(splits["train"][1])
for step in range(3):
    opt.zero_grad()
    F.cross_entropy(net(x[step * 16:(step + 1) * 16]),
                    y[step * 16:(step + 1) * 16]).backward()
    opt.step()
net.eval()
# A final layer that reads what differs between the test images, with
# logits spread over a few units: decisive, varied, not saturated answers.
with torch.no_grad():
    f = net.backbone.features(inputs(splits["t10k"][0]))
    w = torch.randn(10, 64) / (f.std(dim=0) * 8 ** 0.5 + 1e-6)
    net.backbone.fc.weight.copy_(w)
    net.backbone.fc.bias.copy_(-(w @ f.mean(dim=0)))
state = net.state_dict()
assert type(state) is collections.OrderedDict
torch.save(state, f"{d}/cnn.pt")
with torch.no_grad():
    probs = F.softmax(net(inputs(splits["t10k"][0])), dim=1).numpy()
# Not one answer for every image: the images must matter.
assert len(set(probs.argmax(axis=1))) > 1 and probs.std(axis=0).max() > 0.1
np.save(f"{d}/python_probs.npy", probs)
np.save(f"{d}/python_labels.npy", splits["t10k"][1])

# torchvision-like names, a plain dict, and the map back to sdn's.
def theirs(name):
    name = name[len("backbone."):]
    name = name.replace("stem_conv", "conv1").replace("stem_bn", "bn1")
    name = name.replace("shortcut_conv", "downsample.0")
    name = name.replace("shortcut_bn", "downsample.1")
    if name.startswith("blocks."):
        _, i, rest = name.split(".", 2)
        name = f"layer{int(i) // 9 + 1}.{int(i) % 9}.{rest}"
    return name
torch.save({theirs(k): v for k, v in state.items()}, f"{d}/tv.pt")
with open(f"{d}/tv_map.txt", "w") as f:
    f.write("# torchvision-like name    sdn's name\n\n")
    for k in state:
        f.write(f"{theirs(k)}\t{k}  # renamed\n")

# Four mismatches at once, and files that are not state_dicts.
bad = collections.OrderedDict(state)
del bad["backbone.blocks.3.conv2.weight"]
bad["ic0.linear.weight"] = torch.zeros(10, 16)
bad["backbone.fc.weight"] = torch.zeros(100, 64)
bad["backbone.fc.bias"] = torch.full((10,), 0.1, dtype=torch.float64)
torch.save(bad, f"{d}/bad.pt")
torch.save([state["backbone.fc.bias"]], f"{d}/list.pt")
torch.save({"state_dict": state, "epoch": 3}, f"{d}/wrapped.pt")
PY

data=(--dataset fashion-mnist --data-dir "$dir/data" --val-size 16)
"$sdn" import --arch resnet56 "${data[@]}" --from "$dir/cnn.pt" \
  --out "$dir/imp" 2> /dev/null
"$sdn" eval --checkpoint "$dir/imp" --split test --out "$dir/trace" \
  > /dev/null 2>&1
"$sdn" export --checkpoint "$dir/imp" --format pytorch --out "$dir/re.pt" \
  2> /dev/null
# Through the name map, and through safetensors.
"$sdn" import --arch resnet56 "${data[@]}" --from "$dir/tv.pt" \
  --name-map "$dir/tv_map.txt" --out "$dir/imp_tv" 2> /dev/null
"$sdn" export --checkpoint "$dir/imp_tv" --format pytorch \
  --out "$dir/re_tv.pt" 2> /dev/null
"$sdn" export --checkpoint "$dir/imp" --out "$dir/imp.safetensors" \
  2> /dev/null
"$sdn" import --arch resnet56 "${data[@]}" --from "$dir/imp.safetensors" \
  --out "$dir/imp_st" 2> /dev/null
"$sdn" export --checkpoint "$dir/imp_st" --format pytorch \
  --out "$dir/re_st.pt" 2> /dev/null

"$py" - "$dir" <<'PY'
import json, sys
import numpy as np
import torch
d = sys.argv[1]
# sdn's final exit gives Python's probabilities on the same test images.
probs = np.load(f"{d}/trace/probs.npy")
assert probs.shape == (24, 1, 10), probs.shape
assert np.array_equal(np.load(f"{d}/trace/labels.npy"),
                      np.load(f"{d}/python_labels.npy"))
python = np.load(f"{d}/python_probs.npy")
gap = np.abs(probs[:, 0, :] - python).max()
assert gap < 1e-4, f"sdn and Python probabilities differ by {gap}"
assert (probs[:, 0, :].argmax(1) == python.argmax(1)).all()
# The re-exports hold Python's tensors bit for bit, under sdn's names.
state = torch.load(f"{d}/cnn.pt")
for name in ("re.pt", "re_tv.pt", "re_st.pt"):
    back = torch.load(f"{d}/{name}")
    assert set(back) == set(state), (name, set(back) ^ set(state))
    for k, v in state.items():
        w = back[k]
        assert w.dtype == v.dtype and w.shape == v.shape, (name, k)
        assert w.numpy().tobytes() == v.numpy().tobytes(), (name, k)
meta = json.load(open(f"{d}/imp/meta.json"))
assert meta["mode"] == "cnn" and meta["epoch"] == 0, meta
assert meta["imported_from"]["format"] == "pytorch", meta["imported_from"]
assert json.load(open(f"{d}/imp_st/meta.json"))["imported_from"]["format"] \
    == "safetensors"
assert json.load(open(f"{d}/imp_tv/meta.json"))["imported_from"]["name_map"] \
    .endswith("tv_map.txt")
PY

# The imported CNN gets ICs by IC-only training.
"$sdn" --threads 1 train --arch resnet56 "${data[@]}" --mode ic-only \
  --from "$dir/imp" --epochs 1 --batch-size 32 --out "$dir/ic" \
  > /dev/null 2>&1
grep -q '"mode": "ic-only"' "$dir/ic/last/meta.json"

. "$(dirname "$0")/expect_error.sh"
expect_error "$dir/bad.pt: 4 problems loading it into sdn's resnet56 CNN" \
  "$sdn" import --arch resnet56 "${data[@]}" --from "$dir/bad.pt" \
  --out "$dir/x"
for line in \
  "unexpected 'ic0.linear.weight' (float32 \[10, 16\])" \
  "missing 'backbone.blocks.3.conv2.weight' (float32 \[16, 16, 3, 3\])" \
  "shape of 'backbone.fc.weight': \[100, 64\] in the file, sdn's is \[10, 64\]" \
  "dtype of 'backbone.fc.bias': float64 with values float32 cannot hold"; do
  grep -q "^  $line" "$dir/err" || { echo "missing '$line' in:"; cat "$dir/err"; exit 1; }
done
expect_error "$dir/list.pt: holds a list, expected a dict of names to tensors" \
  "$sdn" import --arch resnet56 "${data[@]}" --from "$dir/list.pt" \
  --out "$dir/x"
expect_error "$dir/wrapped.pt: 'state_dict' holds a dict, expected a tensor" \
  "$sdn" import --arch resnet56 "${data[@]}" --from "$dir/wrapped.pt" \
  --out "$dir/x"
head -c 20000 "$dir/cnn.pt" > "$dir/cut.pt"
expect_error "$dir/cut.pt: not a readable PyTorch zip file" \
  "$sdn" import --arch resnet56 "${data[@]}" --from "$dir/cut.pt" \
  --out "$dir/x"
expect_error "$dir/imp/model.pt: a TorchScript archive" \
  "$sdn" import --arch resnet56 "${data[@]}" --from "$dir/imp/model.pt" \
  --out "$dir/x"
printf 'conv1.weight backbone.stem_conv.weight\nfc.weight\n' > "$dir/map.txt"
expect_error "$dir/map.txt:2: expected two names" \
  "$sdn" import --arch resnet56 "${data[@]}" --from "$dir/tv.pt" \
  --name-map "$dir/map.txt" --out "$dir/x"
expect_error "--out $dir/imp already holds a checkpoint" \
  "$sdn" import --arch resnet56 "${data[@]}" --from "$dir/cnn.pt" \
  --out "$dir/imp"
# The classes come from the data options, as in training.
expect_error "2 problems loading it into sdn's resnet56 CNN for fashion-mnist (3" \
  "$sdn" import --arch resnet56 "${data[@]}" --classes 0,1,2 \
  --from "$dir/cnn.pt" --out "$dir/x"
grep -q "^  shape of 'backbone.fc.weight': \[10, 64\] in the file, sdn's is \[3, 64\]" \
  "$dir/err" || { cat "$dir/err"; exit 1; }
test ! -e "$dir/x"
echo "import: ok"
