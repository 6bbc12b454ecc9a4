"""An independent numpy forward pass of EfficientNet-Lite (float64, batch norm applied as such
rather than folded into the convolutions, TF "SAME" padding computed here), used to check
export_efficientnet.py's graph at every depth, and the check itself:
`reference_efficientnet.py CHECKPOINT.pth OUT.onnx [--size=N]` runs the exported graph in
onnxruntime on real photos (scikit-image's, in .venv) and fails unless every `stage_*`,
`features` and `logits` output equals this forward pass to 1e-4 (relative to max(|x|, 1)).

The stage strides are the published EfficientNet-B0 table (Lite keeps them); a stage is a run of
blocks with the same output width.
"""

import os
import sys
import sysconfig

import numpy as np

from torch_pickle import load_state_dict

BN_EPS = 1e-3
STAGE_STRIDES = [1, 2, 2, 2, 1, 2, 1]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
PHOTOS = ["coffee.png", "chelsea.png"]


def same_padding(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2, out


def conv(x, w, stride, depthwise):
    """x [C,H,W], w [O,C,k,k] (or [C,1,k,k] depthwise), TF SAME padding, as a sum over taps."""
    k = w.shape[-1]
    top, bottom, ho = same_padding(x.shape[1], k, stride)
    left, right, wo = same_padding(x.shape[2], k, stride)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right)))
    out = np.zeros((w.shape[0], ho, wo))
    for i in range(k):
        for j in range(k):
            patch = xp[:, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride]
            if depthwise:
                out += w[:, 0, i, j][:, None, None] * patch
            else:
                out += np.tensordot(w[:, :, i, j], patch, axes=1)
    return out


def batch_norm(x, weights, bn):
    g, b = weights[f"{bn}.weight"], weights[f"{bn}.bias"]
    m, v = weights[f"{bn}.running_mean"], weights[f"{bn}.running_var"]
    return (x - m[:, None, None]) / np.sqrt(v[:, None, None] + BN_EPS) * g[:, None, None] + b[:, None, None]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def forward(weights, image):
    """image [3,H,W] → {stage_0..stage_7, features, logits}, each pooled vector float64."""
    w = {k: v.astype(np.float64) for k, v in weights.items() if v.dtype.kind == "f"}
    out = {}
    x = relu6(batch_norm(conv(image.astype(np.float64), w["_conv_stem.weight"], 2, False), w, "_bn0"))
    out["stage_0"] = x.mean(axis=(1, 2))
    count = 1 + max(int(k.split(".")[1]) for k in w if k.startswith("_blocks."))
    widths = [w[f"_blocks.{i}._project_conv.weight"].shape[0] for i in range(count)]
    stage = 0
    for i in range(count):
        p = f"_blocks.{i}"
        first = i == 0 or widths[i] != widths[i - 1]
        stage += first
        stride = STAGE_STRIDES[stage - 1] if first else 1
        inp = x
        if f"{p}._expand_conv.weight" in w:
            x = relu6(batch_norm(conv(x, w[f"{p}._expand_conv.weight"], 1, False), w, f"{p}._bn0"))
        x = relu6(batch_norm(conv(x, w[f"{p}._depthwise_conv.weight"], stride, True), w, f"{p}._bn1"))
        x = batch_norm(conv(x, w[f"{p}._project_conv.weight"], 1, False), w, f"{p}._bn2")
        if x.shape == inp.shape:
            x = x + inp
        if i + 1 == count or widths[i + 1] != widths[i]:
            out[f"stage_{stage}"] = x.mean(axis=(1, 2))
    if stage != len(STAGE_STRIDES):
        raise ValueError(f"expected {len(STAGE_STRIDES)} stages, found {stage}")
    x = relu6(batch_norm(conv(x, w["_conv_head.weight"], 1, False), w, "_bn1"))
    out["features"] = x.mean(axis=(1, 2))
    out["logits"] = w["_fc.weight"] @ out["features"] + w["_fc.bias"]
    return out


def photo_dir():
    """scikit-image's photos, in the running environment's site-packages (.venv's)."""
    path = os.path.join(sysconfig.get_paths()["purelib"], "skimage", "data")
    if not os.path.isdir(path):
        raise SystemExit(f"reference_efficientnet.py: {path} missing (run it with .venv/bin/python)")
    return path


def pixel_values(path, size):
    """PIL decode, Resize((size, size)) bilinear, ToTensor, Normalize: [3,size,size] float32."""
    from PIL import Image

    image = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    x = (np.asarray(image, np.float32) / np.float32(255.0) - MEAN) / STD
    return x.transpose(2, 0, 1).astype(np.float32)


def main():
    import onnxruntime as ort

    args = [a for a in sys.argv[1:] if not a.startswith("--size=")]
    sizes = [a.removeprefix("--size=") for a in sys.argv[1:] if a.startswith("--size=")]
    if len(args) != 2 or not all(s.isdigit() for s in sizes):
        raise SystemExit(f"usage: reference_efficientnet.py CHECKPOINT.pth OUT.onnx [--size=N]; got {sys.argv[1:]}")
    checkpoint, onnx_path = args
    size = int(sizes[-1]) if sizes else 224
    weights = load_state_dict(checkpoint)
    session = ort.InferenceSession(onnx_path)
    names = [o.name for o in session.get_outputs()]
    worst = 0.0
    for photo in PHOTOS:
        x = pixel_values(os.path.join(photo_dir(), photo), size)
        want = forward(weights, x)
        got = dict(zip(names, session.run(names, {"pixel_values": x[None]})))
        if sorted(got) != sorted(want):
            raise SystemExit(f"{onnx_path}: outputs {sorted(got)}, the reference has {sorted(want)}")
        for name, value in want.items():
            diff = np.abs(got[name][0] - value) / np.maximum(np.abs(value), 1.0)
            worst = max(worst, float(diff.max()))
            if diff.max() > 1e-4:
                raise SystemExit(f"{onnx_path}: output {name} on {photo} differs from numpy by {diff.max():.2e}")
    print(f"checked {onnx_path}: {len(names)} outputs equal a float64 numpy forward on {len(PHOTOS)} photos "
          f"at {size}px (largest relative difference {worst:.1e})")


if __name__ == "__main__":
    main()
