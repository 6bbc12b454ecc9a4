#!/usr/bin/env python3
"""Exports the research's own encoders to ONNX with torch, from weights already on this machine.

  ResNet-18          torchvision, ImageNet weights; fc = Identity: pixel_values [B,3,224,224] ->
                     features [B,512] (the global average pool)
  DistilBERT         Hugging Face distilbert-base-uncased: input_ids, attention_mask [B,T] ->
                     last_hidden_state [B,T,768] (the pipeline pools the CLS token) and
                     hidden_state_0..6 (the embeddings and each block, for `layers`)
  DINOv2-base        Hugging Face facebook/dinov2-base: pixel_values [B,3,224,224] ->
                     last_hidden_state [B,257,768] (CLS first) and hidden_state_0..12

Nothing is downloaded. Point it at the files a torchvision or Hugging Face cache holds:

  .venv-torch/bin/python data/models/export_research.py \\
      --resnet18 ~/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth \\
      --distilbert ~/.cache/huggingface/hub/models--distilbert-base-uncased \\
      --dinov2 ~/.cache/huggingface/hub/models--facebook--dinov2-base

(a Hugging Face argument may be the `models--*` folder, one of its snapshots, or any folder
with config.json and the weights). It writes OUT/resnet18.onnx, OUT/distilbert/model.onnx +
tokenizer.json and OUT/dinov2/model.onnx (OUT = data/models/research), then research.toml:
pipeline.toml with its image, text and reference encoders replaced by these three
(data/models/research-models.toml's sections), so that `make all CONFIG=research.toml` runs
the whole experiment on them.

The tests run it on folders of the same architectures with seeded random weights
(`make_research_cache.py`) and compare the exports with torch (`research_reference.py`).

Needs `make setup-torch` (.venv-torch: torch CPU use, torchvision, transformers).
"""

import argparse
import json
import os
import re
import shutil
import sys

# Nothing downloads: a missing file is an error here, never a fetch from a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import torchvision  # noqa: E402
from transformers import DistilBertConfig, DistilBertModel, Dinov2Config, Dinov2Model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPSET = 17
TEXT_LENGTH = 64  # the research's max_length

# distilbert-base-uncased's and facebook/dinov2-base's config.json (the defaults of these classes
# may drift between transformers versions; the research's models do not).
DISTILBERT_BASE = dict(vocab_size=30522, dim=768, n_layers=6, n_heads=12, hidden_dim=3072,
                       max_position_embeddings=512, activation="gelu", sinusoidal_pos_embds=False,
                       pad_token_id=0)
DINOV2_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, mlp_ratio=4,
                   patch_size=14, image_size=518, layerscale_value=1.0, layer_norm_eps=1e-6,
                   hidden_act="gelu", use_swiglu_ffn=False)

# bert-base-uncased's WordPiece ids (its vocab.txt), which distilbert-base-uncased shares.
BERT_UNCASED_IDS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103,
                    "the": 1996, "a": 1037, "hello": 7592, "world": 2088, "##s": 2015}


def shown(path):
    """`path` relative to the working folder where it is under it, else absolute."""
    rel = os.path.relpath(path)
    return os.path.abspath(path) if rel.startswith("..") else rel


def die(msg):
    print(f"export_research: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def log(msg):
    print(f"export_research: {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# The models
# ---------------------------------------------------------------------------------------------

class ResNetFeatures(torch.nn.Module):
    """torchvision's ResNet-18 without its classifier: the 512-d global average pool."""

    def __init__(self, resnet):
        super().__init__()
        resnet.fc = torch.nn.Identity()
        self.resnet = resnet

    def forward(self, pixel_values):
        return self.resnet(pixel_values)


class TextStates(torch.nn.Module):
    """DistilBertModel's last hidden state and every hidden state (embeddings, then each block)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return (out.last_hidden_state, *out.hidden_states)


class ImageStates(torch.nn.Module):
    """Dinov2Model's last hidden state (after its final LayerNorm) and every hidden state."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        out = self.model(pixel_values=pixel_values, output_hidden_states=True)
        return (out.last_hidden_state, *out.hidden_states)


def resnet18(weights):
    if not os.path.isfile(weights):
        die(f"{weights}: no such file (expected torchvision's resnet18-*.pth state dict)")
    model = torchvision.models.resnet18(weights=None)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        die(f"{weights}: not a torchvision ResNet-18 state dict: {e}")
    return ResNetFeatures(model).eval()


def hf_folder(path):
    """A folder with config.json: `path` itself, or a snapshot of a `models--*` cache folder
    (the one refs/main names, else the only one)."""
    if os.path.isfile(os.path.join(path, "config.json")):
        return path
    snapshots = os.path.join(path, "snapshots")
    if os.path.isdir(snapshots):
        ref = os.path.join(path, "refs", "main")
        if os.path.isfile(ref):
            with open(ref) as f:
                chosen = os.path.join(snapshots, f.read().strip())
            if os.path.isfile(os.path.join(chosen, "config.json")):
                return chosen
        found = [os.path.join(snapshots, s) for s in sorted(os.listdir(snapshots))
                 if os.path.isfile(os.path.join(snapshots, s, "config.json"))]
        if len(found) == 1:
            return found[0]
        if found:
            die(f"{path}: {len(found)} snapshots and no refs/main; pass one of them: {found}")
    die(f"{path}: no config.json here or in a snapshots/ folder (expected a Hugging Face model folder)")


def distilbert(folder):
    model = DistilBertModel.from_pretrained(hf_folder(folder), local_files_only=True)
    return TextStates(model).eval()


def dinov2(folder):
    model = Dinov2Model.from_pretrained(hf_folder(folder), local_files_only=True)
    return ImageStates(model).eval()


def random_models(seed):
    """The three architectures with seeded random weights (make_research_cache.py)."""
    torch.manual_seed(seed)
    resnet = torchvision.models.resnet18(weights=None).eval()
    text = DistilBertModel(DistilBertConfig(**DISTILBERT_BASE)).eval()
    image = Dinov2Model(Dinov2Config(**DINOV2_BASE)).eval()
    return resnet, text, image


# ---------------------------------------------------------------------------------------------
# The tokenizer
# ---------------------------------------------------------------------------------------------

def check_bert_uncased_vocab(tokenizer_json):
    """Refuses a tokenizer.json whose vocabulary is not bert-base-uncased's WordPiece one."""
    with open(tokenizer_json, encoding="utf-8") as f:
        spec = json.load(f)
    model = spec.get("model", {})
    vocab = model.get("vocab", {})
    if model.get("type") != "WordPiece" or len(vocab) != 30522:
        die(f"{tokenizer_json}: a {model.get('type')} vocabulary of {len(vocab)} tokens, expected "
            "bert-base-uncased's WordPiece vocabulary of 30522")
    wrong = {t: vocab.get(t) for t, i in BERT_UNCASED_IDS.items() if vocab.get(t) != i}
    if wrong:
        die(f"{tokenizer_json}: ids {wrong} differ from bert-base-uncased's {BERT_UNCASED_IDS}")
    normalizer = spec.get("normalizer") or {}
    if normalizer.get("type") != "BertNormalizer" or not normalizer.get("lowercase"):
        die(f"{tokenizer_json}: normalizer {normalizer.get('type')} does not lowercase (uncased)")


def tokenizer_json(folder, out):
    """Writes OUT/distilbert/tokenizer.json: the model folder's own, or the one transformers'
    DistilBertTokenizer builds from its vocab.txt; either is checked to be bert-base-uncased's."""
    src = hf_folder(folder)
    if os.path.isfile(os.path.join(src, "tokenizer.json")):
        shutil.copyfile(os.path.join(src, "tokenizer.json"), out)
    elif os.path.isfile(os.path.join(src, "vocab.txt")):
        from transformers import DistilBertTokenizer
        DistilBertTokenizer.from_pretrained(src, local_files_only=True).backend_tokenizer.save(out)
    else:
        die(f"{src}: neither tokenizer.json nor vocab.txt")
    check_bert_uncased_vocab(out)


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------

def export(module, args, path, input_names, output_names, dynamic_axes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".partial"
    with torch.no_grad():
        # The TorchScript exporter: one self-contained file, no onnxscript needed.
        torch.onnx.export(module, args, tmp, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, dynamo=False)
    os.replace(tmp, path)
    log(f"wrote {shown(path)} ({os.path.getsize(path) / 2**20:.0f} MiB)")


def export_all(out, resnet_weights, distilbert_dir, dinov2_dir):
    pixels = torch.zeros(2, 3, 224, 224)
    image = {"pixel_values": {0: "batch"}}
    export(resnet18(resnet_weights), (pixels,), os.path.join(out, "resnet18.onnx"),
           ["pixel_values"], ["features"], {**image, "features": {0: "batch"}})

    text = distilbert(distilbert_dir)
    layers = [f"hidden_state_{i}" for i in range(text.model.config.n_layers + 1)]
    ids = torch.full((2, 8), 1996, dtype=torch.int64)
    ids[:, 0], ids[:, -1] = 101, 102
    seq = {0: "batch", 1: "sequence"}
    export(text, (ids, torch.ones_like(ids)), os.path.join(out, "distilbert", "model.onnx"),
           ["input_ids", "attention_mask"], ["last_hidden_state", *layers],
           {"input_ids": seq, "attention_mask": seq, **{n: seq for n in ["last_hidden_state", *layers]}})
    tokenizer_json(distilbert_dir, os.path.join(out, "distilbert", "tokenizer.json"))

    ref = dinov2(dinov2_dir)
    layers = [f"hidden_state_{i}" for i in range(ref.model.config.num_hidden_layers + 1)]
    export(ref, (pixels,), os.path.join(out, "dinov2", "model.onnx"), ["pixel_values"],
           ["last_hidden_state", *layers],
           {**image, **{n: {0: "batch"} for n in ["last_hidden_state", *layers]}})


# ---------------------------------------------------------------------------------------------
# research.toml
# ---------------------------------------------------------------------------------------------

SECTION = re.compile(r"^\[([^\]]+)\]", re.M)
ROLES = ("encoders.image", "encoders.text", "encoders.reference")


def sections(text):
    """The text split at each top-level table header: [(name or None, text)]."""
    starts = [(m.start(), m.group(1).strip()) for m in SECTION.finditer(text)]
    parts = [(None, text[: starts[0][0] if starts else len(text)])]
    for i, (pos, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        parts.append((name, text[pos:end]))
    return parts


def write_config(base, models_toml, out, config_out):
    """`base` with its three role encoders replaced by `models_toml`'s, whose model paths
    (`data/models/research/...`) point into `out`: relative to the new config's folder where
    `out` is under it, absolute otherwise."""
    with open(models_toml, encoding="utf-8") as f:
        research = dict((n, t) for n, t in sections(f.read()) if n in ROLES)
    if set(research) != set(ROLES):
        die(f"{models_toml}: expected the sections {ROLES}, found {sorted(research)}")
    here = os.path.dirname(os.path.abspath(config_out))
    rel = os.path.relpath(os.path.abspath(out), here)
    target = os.path.abspath(out) if rel.startswith("..") else rel

    def repoint(body):
        return body.replace('"data/models/research/', '"' + target.replace(os.sep, "/") + "/")

    with open(base, encoding="utf-8") as f:
        parts = sections(f.read())
    found = [n for n, _ in parts if n in ROLES]
    if sorted(found) != sorted(ROLES):
        die(f"{base}: expected one each of {ROLES}, found {found}")
    text = "".join(repoint(research[n]).rstrip("\n") + "\n\n" if n in ROLES else t for n, t in parts)
    header = (f"# Written by data/models/export_research.py from {os.path.basename(base)}: its image, text\n"
              f"# and reference encoders replaced by the research's own (research-models.toml).\n")
    tmp = config_out + ".partial"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(header + text)
    os.replace(tmp, config_out)
    log(f"wrote {shown(config_out)}: `make all CONFIG={shown(config_out)}` runs the experiment on them")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resnet18", help="torchvision's ResNet-18 ImageNet state dict (resnet18-*.pth)")
    ap.add_argument("--distilbert", help="a Hugging Face folder of distilbert-base-uncased")
    ap.add_argument("--dinov2", help="a Hugging Face folder of facebook/dinov2-base")
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "models", "research"))
    ap.add_argument("--base-config", default=os.path.join(ROOT, "pipeline.toml"))
    ap.add_argument("--config-out", default=os.path.join(ROOT, "research.toml"))
    a = ap.parse_args()
    missing = [f"--{n}" for n in ("resnet18", "distilbert", "dinov2") if getattr(a, n) is None]
    if missing:
        die(f"pass {', '.join(missing)} (the weights on this machine; nothing is downloaded)")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    export_all(a.out, a.resnet18, a.distilbert, a.dinov2)
    write_config(a.base_config, os.path.join(ROOT, "data", "models", "research-models.toml"), a.out,
                 a.config_out)


if __name__ == "__main__":
    main()
