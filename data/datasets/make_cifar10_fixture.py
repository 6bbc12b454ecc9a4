"""Write foolbox's 20 real CIFAR-10 test images as a CIFAR-10 binary batch (test_batch.bin).

foolbox/data/cifar10_NN_LABEL.png are the first 20 images of CIFAR-10's test set. The binary
format (https://www.cs.toronto.edu/~kriz/cifar.html): per record, 1 label byte then the 32x32
image as 1024 red, 1024 green, 1024 blue bytes, each plane row-major. batches.meta.txt holds the
class names, one per line, as in the official cifar-10-batches-bin folder.

Usage: make_cifar10_fixture.py FOOLBOX_DATA_DIR OUT_DIR
"""

import glob
import os
import re
import sys

import numpy as np
from PIL import Image

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def main():
    src, out = sys.argv[1], sys.argv[2]
    files = sorted(glob.glob(os.path.join(src, "cifar10_*_*.png")))
    if len(files) != 20:
        raise SystemExit(f"{src}: expected 20 cifar10_NN_LABEL.png files, found {len(files)}")
    records = []
    for path in files:
        label = int(re.match(r"cifar10_\d+_(\d+)\.png$", os.path.basename(path)).group(1))
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
        if pixels.shape != (32, 32, 3):
            raise SystemExit(f"{path}: expected 32x32 RGB, found {pixels.shape}")
        records.append(bytes([label]) + pixels.transpose(2, 0, 1).tobytes())
    with open(os.path.join(out, "test_batch.bin"), "wb") as f:
        f.write(b"".join(records))
    with open(os.path.join(out, "batches.meta.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")


if __name__ == "__main__":
    main()
