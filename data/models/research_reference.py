#!/usr/bin/env python3
"""The research's encoders in torch, beside their ONNX exports: the check behind
tests/research_e2e.rs (and a user's own check after export_research.py).

For the images and captions that ROWS lists ({"images": [path, ...], "captions": [text, ...]}):
  1. the research's own preprocessing: PIL → torchvision Resize((224, 224)) + ToTensor +
     Normalize(ImageNet), and transformers' DistilBertTokenizer (padding="max_length",
     truncation, max_length=64) from the DistilBERT folder;
  2. torch's forward of the three models, loaded from the weights given to export_research.py
     by its own loading code, and ONNX Runtime on the exported files with the same tensors: every
     output must agree to --tolerance (1e-4), else exit 1 naming the output;
  3. writes OUT/image.npy (ResNet-18's 512-d pool), OUT/text.npy (DistilBERT's CLS) and
     OUT/reference.npy (DINOv2-base's CLS), from torch, for the pipeline's features to equal.

Images with alpha are composited over white first, as the pipeline documents (a research
dataset's JPEGs have none).

  .venv-torch/bin/python data/models/research_reference.py --resnet18 ... --distilbert ... \\
      --dinov2 ... --models data/models/research --rows rows.json --out check/
"""

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_research as ex  # noqa: E402

MAX_LENGTH = 64


def load_rgb_over_white(path):
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"), np.uint32)
        a = rgba[..., 3:4]
        rgb = (rgba[..., :3] * a + 255 * (255 - a) + 127) // 255
        return Image.fromarray(rgb.astype(np.uint8), "RGB")
    return im.convert("RGB")


# The research notebook's image_transform, verbatim.
IMAGE_TRANSFORM = transforms.Compose([
    transforms.Resize((224, 224)),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])


def distilbert_tokenizer(folder):
    """transformers' DistilBertTokenizer, loaded as the research loads it (`from_pretrained`),
    from the DistilBERT folder given to export_research.py."""
    from transformers import DistilBertTokenizer

    tok = DistilBertTokenizer.from_pretrained(ex.hf_folder(folder), local_files_only=True)
    if len(tok) != 30522 or tok.cls_token_id != 101:
        sys.exit(f"research_reference: {folder}: not bert-base-uncased's vocabulary "
                 f"({len(tok)} tokens, [CLS] = {tok.cls_token_id})")
    return tok


def compare(name, torch_out, onnx_out, tolerance):
    diff = float(np.max(np.abs(torch_out - onnx_out)))
    scale = float(np.max(np.abs(torch_out)))
    print(f"research_reference: {name}: ONNX vs torch max |diff| {diff:.2e} (max |value| {scale:.2f})")
    if not diff <= tolerance:
        print(f"research_reference: error: {name}: ONNX differs from torch by {diff:.2e} > {tolerance}",
              file=sys.stderr)
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="export_research.py's --out")
    ap.add_argument("--rows", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--resnet18")
    ap.add_argument("--distilbert")
    ap.add_argument("--dinov2")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    a = ap.parse_args()
    if None in (a.resnet18, a.distilbert, a.dinov2):
        sys.exit("research_reference: pass --resnet18, --distilbert and --dinov2 (as to export_research.py)")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(a.out, exist_ok=True)
    with open(a.rows, encoding="utf-8") as f:
        rows = json.load(f)

    pixels = torch.stack([IMAGE_TRANSFORM(load_rgb_over_white(p)) for p in rows["images"]])
    tok = distilbert_tokenizer(a.distilbert)
    enc = tok(rows["captions"], padding="max_length", truncation=True,
              max_length=MAX_LENGTH, return_tensors="pt")

    ok = True
    results = {}
    models = [
        ("image", ex.resnet18(a.resnet18), "resnet18.onnx", {"pixel_values": pixels}),
        ("text", ex.distilbert(a.distilbert), "distilbert/model.onnx",
         {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}),
        ("reference", ex.dinov2(a.dinov2), "dinov2/model.onnx", {"pixel_values": pixels}),
    ]
    for role, module, file, feeds in models:
        with torch.no_grad():
            outs = module(**feeds)
        outs = [outs] if isinstance(outs, torch.Tensor) else list(outs)
        session = ort.InferenceSession(os.path.join(a.models, file), providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        onnx_outs = session.run(names, {k: v.numpy() for k, v in feeds.items()})
        for name, t, o in zip(names, outs, onnx_outs):
            ok &= compare(f"{file} {name}", t.numpy(), o, a.tolerance)
        first = outs[0].numpy()
        results[role] = first if first.ndim == 2 else first[:, 0, :]
    for role, x in results.items():
        np.save(os.path.join(a.out, f"{role}.npy"), np.ascontiguousarray(x, dtype=np.float32))
    with open(os.path.join(a.out, "tokens.json"), "w") as f:
        json.dump({"input_ids": enc["input_ids"].tolist(), "attention_mask": enc["attention_mask"].tolist()}, f)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
