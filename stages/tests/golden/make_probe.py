"""Golden facts for the probe-set readers (stages/tests/datasets.rs), read with gzip + numpy.

Run from the repository root after `make setup`:
    .venv/bin/python stages/tests/golden/make_probe.py
"""

import gzip
import json
import os

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FASHION = os.path.join(ROOT, "data", "datasets", "fashion-mnist")


def main():
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        labels = np.frombuffer(gzip.open(os.path.join(FASHION, f"{prefix}-labels-idx1-ubyte.gz")).read()[8:], np.uint8)
        images = np.frombuffer(gzip.open(os.path.join(FASHION, f"{prefix}-images-idx3-ubyte.gz")).read()[16:], np.uint8).reshape(-1, 28, 28)
        out[split] = {
            "count": int(len(labels)),
            "first_labels": labels[:5].tolist(),
            "class_counts": np.bincount(labels).tolist(),
            "pixel_sums": [int(images[i].astype(np.int64).sum()) for i in range(5)],
            "pixel_7_13_of_0": int(images[0, 7, 13]),
        }
    path = os.path.join(os.path.dirname(__file__), "probe.json")
    with open(path, "w") as f:
        json.dump({"fashion_mnist": out}, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
