#!/usr/bin/env python3
"""Trains one of sdn's CNNs in PyTorch on an image folder and saves its
state_dict for `sdn import` (docs/interop.md#worked-example).

    PYTHONPATH=python /usr/bin/python3 python/examples/train_folder_cnn.py \\
        --data-dir DIR --arch resnet56 --epochs 3 --out cnn.pt

DIR holds train/<class>/ and test/<class>/ (sdn's --dataset folder layout).
Images are read with PIL as sdn reads them: RGB (or luma with --channels
1), the shorter side scaled to --side and the centre square kept. The
script prints the per-channel mean and std of the training images, which
it normalises with: give them to `sdn import --mean ... --std ...` so that
sdn feeds the network what it was trained on. Needs PyTorch, numpy and PIL
only (Debian's python3-torch, python3-numpy, python3-pil).
"""
import argparse
import os
import sys

import numpy as np
import torch
from PIL import Image

import sdn_torch

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def read_split(root, split, classes, channels, side):
    """uint8 [N, C, side, side] and int64 [N] labels of DIR/split."""
    images, labels = [], []
    for label, name in enumerate(classes):
        for folder, subfolders, files in os.walk(os.path.join(root, split, name)):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for file in sorted(files):
                if file.startswith(".") or not file.lower().endswith(IMAGE_SUFFIXES):
                    continue
                image = Image.open(os.path.join(folder, file))
                image = image.convert("RGB" if channels == 3 else "L")
                scale = side / min(image.size)
                width = max(side, round(image.width * scale))
                height = max(side, round(image.height * scale))
                if (width, height) != image.size:
                    image = image.resize((width, height), Image.BICUBIC)
                left, top = (width - side) // 2, (height - side) // 2
                image = image.crop((left, top, left + side, top + side))
                pixels = np.asarray(image, dtype=np.uint8).reshape(side, side, channels)
                images.append(pixels.transpose(2, 0, 1))
                labels.append(label)
    return torch.from_numpy(np.stack(images)), torch.tensor(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--arch", default="resnet56", choices=sorted(sdn_torch.ARCHS))
    parser.add_argument("--channels", type=int, default=3, choices=(1, 3))
    parser.add_argument("--side", type=int, default=32, choices=(32, 64))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    train_dir = os.path.join(args.data_dir, "train")
    classes = sorted(d for d in os.listdir(train_dir)
                     if not d.startswith(".") and os.path.isdir(os.path.join(train_dir, d)))
    x, y = read_split(args.data_dir, "train", classes, args.channels, args.side)
    pixels = x.double() / 255
    mean = pixels.mean(dim=(0, 2, 3))
    std = pixels.std(dim=(0, 2, 3), unbiased=False).clamp_min(1e-12)

    def normalise(batch):
        return ((batch.float() / 255) - mean.float().view(1, -1, 1, 1)) / std.float().view(1, -1, 1, 1)

    model = sdn_torch.build(args.arch, len(classes), (args.channels, args.side, args.side), ics=False)
    optimiser = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y))
        for start in range(0, len(y) - args.batch_size + 1, args.batch_size):
            index = order[start:start + args.batch_size]
            batch = x[index]
            flip = torch.rand(len(index)) < 0.5
            batch[flip] = batch[flip].flip(3)
            loss = torch.nn.functional.cross_entropy(model(normalise(batch))[-1], y[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.3f}", file=sys.stderr)

    # A short run leaves BatchNorm's running statistics (momentum 0.1)
    # behind the weights: recompute them over the training images, as
    # cumulative averages, before evaluating and saving.
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in batch_norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for start in range(0, len(y), args.batch_size):
            model(normalise(x[start:start + args.batch_size]))
    for m in batch_norms:
        m.momentum = 0.1

    test_x, test_y = read_split(args.data_dir, "test", classes, args.channels, args.side)
    model.eval()
    with torch.no_grad():
        correct = sum((model(normalise(test_x[i:i + 256]))[-1].argmax(1) == test_y[i:i + 256]).sum().item()
                      for i in range(0, len(test_y), 256))
    torch.save(model.state_dict(), args.out)
    print(f"test accuracy {100 * correct / len(test_y):.2f} % on {len(test_y)} images; wrote {args.out}",
          file=sys.stderr)
    print("--mean " + ",".join(f"{v:.6f}" for v in mean.tolist()) +
          " --std " + ",".join(f"{v:.6f}" for v in std.tolist()))


if __name__ == "__main__":
    main()
