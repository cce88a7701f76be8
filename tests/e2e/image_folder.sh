#!/usr/bin/env bash
# --dataset folder: a folder of JPEG and PNG files that PIL writes (RGB,
# greyscale, RGBA, palette, odd sizes, files that are not images) reads as
# PIL's ImageFolder loader sees it; the class names, mean and std go into the
# checkpoint; IC-only training and evaluation follow; bad folders and options
# give `error:`.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
/usr/bin/python3 - "$dir/imgs" <<'PY'
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
rng = np.random.default_rng(7)
# Class c: a bright square in corner c of a dark, noisy image.
def picture(c, w, h):
    a = rng.integers(0, 60, size=(h, w, 3), dtype=np.uint8)
    x = 0 if c % 2 == 0 else w // 2
    y = 0 if c < 2 else h // 2
    a[y:y + h // 2, x:x + w // 2] += np.array([150, 120 + 30 * c, 90], np.uint8)
    return a
modes = ["RGB", "L", "RGBA", "P"]
for split, n in (("train", 24), ("val", 6), ("test", 8)):
    for c, name in enumerate(["zebra", "Apple", "cat"]):
        d = os.path.join(root, split, name)
        os.makedirs(os.path.join(d, "sub"), exist_ok=True)
        for i in range(n):
            # train and val: 32x32, as stored; test: other sizes (resized).
            w, h = (32, 32) if split != "test" else (48 + 8 * (i % 3), 40)
            img = Image.fromarray(picture(c, w, h))
            mode = modes[i % 4]
            if mode == "P":
                img = img.convert("P", palette=Image.ADAPTIVE, colors=64)
            elif mode != "RGB":
                img = img.convert(mode)
            ext = "jpg" if i % 8 in (0, 1) else "png"
            where = d if i % 5 else os.path.join(d, "sub")
            img.save(os.path.join(where, f"{i:03d}.{ext}"))
    open(os.path.join(root, split, "cat", "Thumbs.db"), "wb").write(b"x")
    open(os.path.join(root, split, "zebra", "notes.txt"), "w").write("x")
PY
imgs="$dir/imgs"

# Class names in byte order; the skipped files are counted; every decoded
# pixel of the 32x32 train split is what PIL's convert("RGB") gives.
"$sdn" data info --dataset folder --data-dir "$imgs" --json \
  > "$dir/info.json" 2> "$dir/info.err"
grep -q "^warning: .*skipped 6 entries that are not regular files named as JPEG or PNG images (hidden entries, links to folders, other files; " "$dir/info.err"
/usr/bin/python3 - "$imgs" "$dir/info.json" <<'PY'
import glob, json, os, sys
import numpy as np
from PIL import Image
root, info = sys.argv[1], json.load(open(sys.argv[2]))
assert info["class_names"] == ["Apple", "cat", "zebra"], info["class_names"]
assert info["splits"]["train"]["count"] == 72 and info["splits"]["val"]["count"] == 18
assert info["splits"]["test"]["shape"] == [3, 32, 32]
files = [f for c in info["class_names"] for f in
         sorted(glob.glob(os.path.join(root, "train", c, "**", "*.*"), recursive=True))
         if f.endswith((".png", ".jpg"))]
x = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files]) / 255.0
mean = x.reshape(-1, 3).mean(0)
std = x.reshape(-1, 3).std(0)
assert np.allclose(info["splits"]["train"]["mean"], mean, atol=1e-7), (info["splits"]["train"]["mean"], mean)
assert np.allclose(info["splits"]["train"]["std"], std, atol=1e-7)
# The normalisation the data set uses: the training split's.
assert np.allclose(info["normalisation"]["mean"], mean, atol=1e-6)
PY
"$sdn" data show --dataset folder --data-dir "$imgs" --split test \
  --out "$dir/grid.png" 2> "$dir/show.err"
grep -q "0 Apple, 1 cat, 2 zebra" "$dir/show.err"
test -s "$dir/grid.png"

# Train a CNN on it (grey, 1 channel), then IC-only from it; the checkpoint
# knows the classes and the normalisation without the folder.
"$sdn" --threads 1 train --arch resnet56 --dataset folder --data-dir "$imgs" \
  --channels 1 --mode cnn --epochs 1 --batch-size 24 --out "$dir/cnn" \
  > /dev/null 2>&1
"$sdn" --threads 1 train --arch resnet56 --dataset folder --data-dir "$imgs" \
  --channels 1 --mode ic-only --from "$dir/cnn/last" --epochs 1 \
  --batch-size 24 --out "$dir/ic" > /dev/null 2>&1
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
cnn = json.load(open(f"{d}/cnn/last/meta.json"))
ic = json.load(open(f"{d}/ic/last/meta.json"))
data = cnn["config"]["data"]
assert data["class_names"] == ["Apple", "cat", "zebra"], data
assert data["image_channels"] == 1 and len(data["mean"]) == 1 and data["val_size"] == 0
assert cnn["input_shape"] == [1, 32, 32] and cnn["num_classes"] == 3
assert ic["config"]["data"]["mean"] == data["mean"], "IC-only normalises as its CNN"
PY
# The round trip sdn export -> Python (torch.load, then torch.save of a
# state_dict) -> sdn import -> sdn export keeps every tensor bit for bit;
# the import records the folder's classes and the normalisation computed on
# its training split, as the training run did.
"$sdn" export --checkpoint "$dir/cnn/last" --format pytorch \
  --out "$dir/cnn.pt" 2> /dev/null
/usr/bin/python3 -c "
import collections, sys, torch
state = torch.load(sys.argv[1])
torch.save(collections.OrderedDict(state), sys.argv[2])" \
  "$dir/cnn.pt" "$dir/resaved.pt"
"$sdn" import --arch resnet56 --dataset folder --data-dir "$imgs" \
  --channels 1 --from "$dir/resaved.pt" --out "$dir/imported" 2> /dev/null
"$sdn" export --checkpoint "$dir/imported" --format pytorch \
  --out "$dir/again.pt" 2> /dev/null
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
import torch
d = sys.argv[1]
first, again = torch.load(f"{d}/cnn.pt"), torch.load(f"{d}/again.pt")
assert list(first) == list(again)
for name, tensor in first.items():
    def raw(t):
        return t.contiguous().reshape(-1).view(torch.uint8)
    assert tensor.dtype == again[name].dtype and torch.equal(raw(tensor), raw(again[name])), name
cnn = json.load(open(f"{d}/cnn/last/meta.json"))["config"]["data"]
imported = json.load(open(f"{d}/imported/meta.json"))["config"]["data"]
for key in ("class_names", "mean", "std", "image_channels", "image_side"):
    assert imported[key] == cnn[key], (key, imported[key], cnn[key])
PY
mv "$imgs" "$dir/moved"
"$sdn" eval --checkpoint "$dir/ic/last" --split test --out "$dir/trace" \
  --data-dir "$dir/moved" > /dev/null 2>&1
test -s "$dir/trace/probs.npy"
"$sdn" export --checkpoint "$dir/ic/last" --out "$dir/w.safetensors" 2> /dev/null
grep -aq '"class_names":"\[\\"Apple\\",\\"cat\\",\\"zebra\\"\]"' "$dir/w.safetensors"

. "$(dirname "$0")/expect_error.sh"
# A class renamed after training: refused.
mv "$dir/moved/test/zebra" "$dir/moved/test/zzz"
expect_error "class folders differ from those of train/" "$sdn" eval \
  --checkpoint "$dir/ic/last" --split test --out "$dir/t2" \
  --data-dir "$dir/moved"
mv "$dir/moved/train/zebra" "$dir/moved/train/zzz"
mv "$dir/moved/val/zebra" "$dir/moved/val/zzz"
expect_error "differ from the 3 classes recorded" "$sdn" eval \
  --checkpoint "$dir/ic/last" --split test --out "$dir/t2" \
  --data-dir "$dir/moved"
test ! -e "$dir/t2"
# Bad images and folders.
printf 'not a png' > "$dir/moved/test/cat/bad.png"
expect_error "test/cat/bad.png: not a JPEG or PNG" "$sdn" data info \
  --dataset folder --data-dir "$dir/moved"
rm "$dir/moved/test/cat/bad.png"
mkdir "$dir/moved/test/dog" "$dir/moved/train/dog" "$dir/moved/val/dog"
expect_error "train/dog: no images" "$sdn" data info --dataset folder \
  --data-dir "$dir/moved"
# Options.
f=(--dataset folder --data-dir "$dir/moved")
expect_error "image-side must be 32 or 64, got 48" "$sdn" data info "${f[@]}" \
  --image-side 48
expect_error "channels" "$sdn" data info "${f[@]}" --channels 2
expect_error "--mean and --std go together" "$sdn" data info "${f[@]}" \
  --mean 0.5,0.5,0.5
expect_error "--mean: expected 3 values" "$sdn" data info "${f[@]}" \
  --mean 0.5 --std 0.2
expect_error "--val-size has no effect with .*val/" "$sdn" data info \
  "${f[@]}" --val-size 10
expect_error "--image-side has no effect unless --dataset folder" "$sdn" \
  data info --dataset fashion-mnist --image-side 64
expect_error "--dataset folder needs --data-dir" "$sdn" data info \
  --dataset folder
# Two class folders that are one folder (a link), and val/ as a file.
rmdir "$dir/moved/test/dog" "$dir/moved/train/dog" "$dir/moved/val/dog"
ln -s cat "$dir/moved/train/dog"
expect_error "are the same folder (a link): its images would belong to two" \
  "$sdn" data info "${f[@]}"
rm "$dir/moved/train/dog"
mv "$dir/moved/val" "$dir/val.d"
printf x > "$dir/moved/val"
expect_error "moved/val: not a folder" "$sdn" data info "${f[@]}"
echo "image_folder: ok"
