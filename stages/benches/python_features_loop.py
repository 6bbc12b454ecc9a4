"""Baseline for `make bench`: the notebook's way of computing features in Python — PIL decode +
torchvision-style resize + onnxruntime, batch by batch — on the same files, batch sizes and
threads as the Rust run. Prints one JSON object: encoder -> items/s.

Usage: python_features_loop.py LIST.json   (written by stages/examples/bench_features.rs)
"""

import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image
from tokenizers import Tokenizer

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def load(path):
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"), np.uint32)
        a = rgba[..., 3:4]
        im = Image.fromarray(((rgba[..., :3] * a + 255 * (255 - a) + 127) // 255).astype(np.uint8), "RGB")
    else:
        im = im.convert("RGB")
    x = np.asarray(im.resize((224, 224), Image.BILINEAR), np.float32) / np.float32(255.0)
    return ((x - MEAN) / STD).transpose(2, 0, 1)


def main():
    spec = json.load(open(sys.argv[1]))
    out = {}
    for enc in spec["image_encoders"]:
        s = ort.InferenceSession(enc["onnx"], providers=["CPUExecutionProvider"])
        start = time.perf_counter()
        for i in range(0, len(spec["images"]), enc["batch_size"]):
            x = np.stack([load(p) for p in spec["images"][i:i + enc["batch_size"]]]).astype(np.float32)
            s.run([enc["output"]], {"pixel_values": x})
        out[enc["name"]] = len(spec["images"]) / (time.perf_counter() - start)
    t = spec["text_encoder"]
    tok = Tokenizer.from_file(t["tokenizer"])
    tok.enable_truncation(64)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    s = ort.InferenceSession(t["onnx"], providers=["CPUExecutionProvider"])
    start = time.perf_counter()
    for i in range(0, len(spec["captions"]), t["batch_size"]):
        enc = tok.encode_batch(spec["captions"][i:i + t["batch_size"]])
        feeds = {
            "input_ids": np.array([e.ids for e in enc], np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], np.int64),
        }
        h = s.run(["last_hidden_state"], feeds)[0]
        m = feeds["attention_mask"][:, :, None].astype(np.float32)
        (h * m).sum(1) / m.sum(1)
    out[t["name"]] = len(spec["captions"]) / (time.perf_counter() - start)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
