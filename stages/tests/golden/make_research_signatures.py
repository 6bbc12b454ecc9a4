"""Tiny ONNX graphs with the input/output names and shapes of the research's own models, as a
user would export them (random weights: the test is about wiring, not numbers).

- resnet18.onnx: torchvision ResNet-18 with fc = Identity: pixel_values [B,3,224,224] ->
  features [B,512] (global average pool). Here: conv 3->512 (1x1) + GlobalAveragePool.
- distilbert.onnx: Hugging Face DistilBERT: input_ids, attention_mask [B,T] int64 (no
  token_type_ids) -> last_hidden_state [B,T,768]. Here: ids and mask projected to 768 per token.
- dinov2_base.onnx: Hugging Face Dinov2Model (base): pixel_values [B,3,224,224] ->
  last_hidden_state [B,257,768] (CLS + 16x16 patches of 14 px). Here: 14x14 average pooling,
  a linear patch embedding and a learned CLS token.

Run: .venv/bin/python stages/tests/golden/make_research_signatures.py
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "research")
RNG = np.random.RandomState(0)


def save(nodes, inputs, outputs, inits, name):
    graph = helper.make_graph(nodes, name, inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_research_signatures.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))


def resnet18():
    inits = {"w": RNG.randn(512, 3, 1, 1).astype(np.float32) * 0.1}
    nodes = [
        helper.make_node("Conv", ["pixel_values", "w"], ["c"]),
        helper.make_node("GlobalAveragePool", ["c"], ["p"]),
        helper.make_node("Flatten", ["p"], ["features"], axis=1),
    ]
    save(nodes, [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 224, 224])],
         [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 512])], inits, "resnet18")


def distilbert():
    inits = {"wi": RNG.randn(1, 768).astype(np.float32) * 1e-4, "wm": RNG.randn(1, 768).astype(np.float32), "axes": np.array([2], np.int64)}
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["idf"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["idf", "axes"], ["id3"]),
        helper.make_node("Unsqueeze", ["mf", "axes"], ["m3"]),
        helper.make_node("MatMul", ["id3", "wi"], ["a"]),
        helper.make_node("MatMul", ["m3", "wm"], ["b"]),
        helper.make_node("Add", ["a", "b"], ["last_hidden_state"]),
    ]
    ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in ("input_ids", "attention_mask")]
    save(nodes, ins, [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", 768])], inits, "distilbert")


def dinov2_base():
    inits = {
        "wp": RNG.randn(3, 768).astype(np.float32) * 0.1,
        "cls": RNG.randn(1, 1, 768).astype(np.float32),
        "shape": np.array([0, 3, 256], np.int64),
        "zeros": np.zeros((1, 1, 1), np.float32),
    }
    nodes = [
        helper.make_node("AveragePool", ["pixel_values"], ["pooled"], kernel_shape=[14, 14], strides=[14, 14]),
        helper.make_node("Reshape", ["pooled", "shape"], ["flat"]),
        helper.make_node("Transpose", ["flat"], ["tokens"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["tokens", "wp"], ["patches"]),
        # CLS broadcast to the batch: cls + 0 * patches[:, :1, :]
        helper.make_node("Slice", ["patches", "s0", "s1", "s2"], ["first"]),
        helper.make_node("Mul", ["first", "zeros"], ["zero_tok"]),
        helper.make_node("Add", ["zero_tok", "cls"], ["cls_b"]),
        helper.make_node("Concat", ["cls_b", "patches"], ["last_hidden_state"], axis=1),
    ]
    inits.update({"s0": np.array([0], np.int64), "s1": np.array([1], np.int64), "s2": np.array([1], np.int64)})
    save(nodes, [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 224, 224])],
         [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", 257, 768])], inits, "dinov2_base")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    resnet18()
    distilbert()
    dinov2_base()
    print("wrote", OUT)
