"""Golden features for stages/tests/features_golden.rs: 16 embedded images and 16 captions
through the three embedded encoders, computed by an independent Python stack.

Images: PIL decode → RGBA composited over white with the documented formula
round((c·a + 255·(255 − a)) / 255) → Image.resize((224, 224), BILINEAR) (what torchvision's
Resize((224, 224)) calls) → /255, ImageNet mean/std → onnxruntime.
Captions: `tokenizers` (truncation 64, pad to longest) → onnxruntime → masked mean.

Run from the repository root after `make setup`:
    .venv/bin/python stages/tests/golden/make_features.py
Writes features.json (the inputs) and features_{image,reference,text}.npy beside this script.
"""

import json
import os

import numpy as np
import onnxruntime as ort
from PIL import Image
from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(ROOT, "data", "models")
STAMPS = os.path.join(ROOT, "data", "datasets", "tuxpaint")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def pick_images(n=16):
    """The first n captioned PNG stamps (sorted paths) outside `symbols`, one per category
    where possible, so that RGBA cut-outs, RGB photos and drawings are all covered."""
    chosen, seen_dirs = [], set()
    for dirpath, dirnames, files in sorted(os.walk(STAMPS)):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, STAMPS)
        if rel_dir.split(os.sep)[0] == "symbols" or rel_dir in seen_dirs:
            continue
        for f in sorted(files):
            if f.endswith(".png") and not f.endswith("_mirror.png") and os.path.exists(os.path.join(dirpath, f[:-4] + ".txt")):
                chosen.append(os.path.join(rel_dir, f))
                seen_dirs.add(rel_dir)
                break
        if len(chosen) == n:
            break
    return chosen


def load_rgb_over_white(path):
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"), np.uint32)
        a = rgba[..., 3:4]
        rgb = (rgba[..., :3] * a + 255 * (255 - a) + 127) // 255
        return Image.fromarray(rgb.astype(np.uint8), "RGB")
    return im.convert("RGB")


def pixel_values(paths):
    out = []
    for p in paths:
        im = load_rgb_over_white(os.path.join(STAMPS, p)).resize((224, 224), Image.BILINEAR)
        x = (np.asarray(im, np.float32) / np.float32(255.0) - MEAN) / STD
        out.append(x.transpose(2, 0, 1))
    return np.stack(out).astype(np.float32)


def main():
    images = pick_images()
    captions = [open(os.path.join(STAMPS, p[:-4] + ".txt"), encoding="utf-8").readline().strip() for p in images]
    x = pixel_values(images)
    eff = ort.InferenceSession(os.path.join(MODELS, "efficientnet_lite0.onnx"))
    image = eff.run(["features"], {"pixel_values": x})[0]
    dino = ort.InferenceSession(os.path.join(MODELS, "dinov2_vits14.onnx"))
    reference = dino.run(["last_hidden_state"], {"pixel_values": x})[0][:, 0, :]
    tok = Tokenizer.from_file(os.path.join(MODELS, "minilm_l6_v2.tokenizer.json"))
    tok.enable_truncation(64)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(captions)
    feeds = {
        "input_ids": np.array([e.ids for e in enc], np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], np.int64),
    }
    hidden = ort.InferenceSession(os.path.join(MODELS, "minilm_l6_v2.onnx")).run(["last_hidden_state"], feeds)[0]
    m = feeds["attention_mask"][:, :, None].astype(np.float32)
    text = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    np.save(os.path.join(HERE, "features_image.npy"), image.astype(np.float32))
    np.save(os.path.join(HERE, "features_reference.npy"), reference.astype(np.float32))
    np.save(os.path.join(HERE, "features_text.npy"), text.astype(np.float32))
    with open(os.path.join(HERE, "features.json"), "w") as f:
        json.dump({"images": images, "captions": captions}, f, indent=1)
    print("\n".join(f"{p}: {c}" for p, c in zip(images, captions)))


if __name__ == "__main__":
    main()
