#!/usr/bin/env python3
"""Weights of the research's three architectures, seeded and random, laid out as the caches a
user has: a torchvision checkpoint and Hugging Face `models--*` folders (refs/main and a
snapshot). No hub is reachable here, so tests/research_e2e.rs exports these with
export_research.py, through the same loading code as real weights.

  DIR/resnet18-random.pth                                torchvision ResNet-18 state dict
  DIR/models--distilbert-base-uncased/snapshots/<rev>/   config.json, model.safetensors, vocab.txt
  DIR/models--facebook--dinov2-base/snapshots/<rev>/     config.json, model.safetensors

DistilBERT's vocab.txt is all-MiniLM-L6-v2's WordPiece vocabulary (`--tokenizer`, the
tokenizer.json `make setup` installs), checked first to be bert-base-uncased's: the one
distilbert-base-uncased ships.

  .venv-torch/bin/python data/models/make_research_cache.py --tokenizer \\
      data/models/minilm_l6_v2.tokenizer.json --seed 0 --out DIR
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_research as ex  # noqa: E402

REVISION = "0" * 40  # a snapshot is named by its commit


def snapshot(out, repo_name):
    folder = os.path.join(out, "models--" + repo_name.replace("/", "--"))
    snap = os.path.join(folder, "snapshots", REVISION)
    os.makedirs(snap, exist_ok=True)
    os.makedirs(os.path.join(folder, "refs"), exist_ok=True)
    with open(os.path.join(folder, "refs", "main"), "w") as f:
        f.write(REVISION)
    return snap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    ex.check_bert_uncased_vocab(a.tokenizer)
    with open(a.tokenizer, encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    tokens = sorted(vocab, key=vocab.get)
    if [vocab[t] for t in tokens] != list(range(len(tokens))):
        sys.exit(f"{a.tokenizer}: vocabulary ids are not 0..{len(tokens) - 1}")

    resnet, text, image = ex.random_models(a.seed)
    os.makedirs(a.out, exist_ok=True)
    torch.save(resnet.state_dict(), os.path.join(a.out, "resnet18-random.pth"))
    snap = snapshot(a.out, "distilbert-base-uncased")
    text.save_pretrained(snap)
    with open(os.path.join(snap, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")
    with open(os.path.join(snap, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "DistilBertTokenizer"}, f)
    image.save_pretrained(snapshot(a.out, "facebook/dinov2-base"))

    # export_research.py's loading code gives back exactly these weights (a key it dropped
    # would be initialised afresh, and export and torch would then agree on the wrong model).
    loaded = [
        (resnet, ex.resnet18(os.path.join(a.out, "resnet18-random.pth")).resnet),
        (text, ex.distilbert(os.path.join(a.out, "models--distilbert-base-uncased")).model),
        (image, ex.dinov2(os.path.join(a.out, "models--facebook--dinov2-base")).model),
    ]
    for original, back in loaded:
        want, got = original.state_dict(), back.state_dict()
        want = {k: v for k, v in want.items() if not k.startswith("fc.")}  # fc = Identity
        if set(want) != set(got) or any(not torch.equal(want[k], got[k]) for k in want):
            sys.exit(f"make_research_cache: {type(original).__name__} did not load back as saved")
    print(f"make_research_cache: wrote {a.out}")


if __name__ == "__main__":
    main()
