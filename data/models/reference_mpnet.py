"""An independent numpy forward pass of MPNetModel (float64), used to check export_mpnet.py's graph,
and the check itself: `reference_mpnet.py MODEL_DIR OUT.onnx` runs the exported graph in
onnxruntime on real captions (tokenised with the model's tokenizer.json, padded batch) and
compares every layer's hidden states with this forward pass; it also checks that paraphrases
score a higher mean-pooled cosine than unrelated sentences. It follows transformers' MPNetModel line by line and
shares no code with the exporter (the bucket function is written again, from the paper's T5 rule).
"""

import json
import math
import os
import sys

import numpy as np

_erf = np.vectorize(math.erf)


def _layer_norm(x, g, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def _bucket(rel, num_buckets=32, max_distance=128):
    out = np.zeros_like(rel)
    half = num_buckets // 2
    exact = half // 2
    for idx, r in np.ndenumerate(rel):
        n = -int(r)
        b = half if n < 0 else 0
        n = abs(n)
        if n < exact:
            b += n
        else:
            large = exact + int(math.log(np.float32(n) / np.float32(exact)) / math.log(max_distance / exact) * (half - exact))
            b += min(large, half - 1)
        out[idx] = b
    return out


def mpnet_hidden_states(weights, config, input_ids, attention_mask):
    """Every layer's hidden states: the embeddings', then each layer's [B,T,D], float64."""
    w = {k: v.astype(np.float64) for k, v in weights.items() if v.dtype == np.float32}
    eps = float(config["layer_norm_eps"])
    heads = config["num_attention_heads"]
    pad = config["pad_token_id"]
    b, t = input_ids.shape
    d = config["hidden_size"]
    dh = d // heads
    mask = (input_ids != pad).astype(np.int64)
    positions = np.cumsum(mask, axis=1) * mask + pad
    x = w["embeddings.word_embeddings.weight"][input_ids] + w["embeddings.position_embeddings.weight"][positions]
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    rel = np.arange(t)[None, :] - np.arange(t)[:, None]
    bias = w["encoder.relative_attention_bias.weight"][_bucket(rel)].transpose(2, 0, 1)[None]
    additive = (1.0 - attention_mask[:, None, None, :]) * np.finfo(np.float32).min
    states = [x]
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def lin(name, inp):
            return inp @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def heads_of(z):
            return z.reshape(b, t, heads, dh).transpose(0, 2, 1, 3)

        q, k, v = (heads_of(lin(f"attention.attn.{n}", x)) for n in "qkv")
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + bias + additive
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
        x = _layer_norm(lin("attention.attn.o", ctx) + x, w[p + "attention.LayerNorm.weight"], w[p + "attention.LayerNorm.bias"], eps)
        h = lin("intermediate.dense", x)
        h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
        x = _layer_norm(lin("output.dense", h) + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        states.append(x)
    return states


def main():
    import onnxruntime as ort
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    src, model_path = sys.argv[1], sys.argv[2]
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    tok = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
    tok.enable_padding(pad_id=1, pad_token="<pad>")
    tok.enable_truncation(64)
    sentences = [
        "A great blue heron.",
        "A large grey-blue wading bird standing in water.",
        "A red fire truck.",
        "An emergency vehicle used by firefighters.",
    ]
    enc = tok.encode_batch(sentences)
    ids = np.array([e.ids for e in enc], np.int64)
    mask = np.array([e.attention_mask for e in enc], np.int64)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    states = mpnet_hidden_states(load_file(os.path.join(src, "model.safetensors")), config, ids, mask)
    names = ["last_hidden_state"] + [f"hidden_state_{i}" for i in range(len(states))]
    outputs = dict(zip(names, sess.run(names, {"input_ids": ids, "attention_mask": mask})))
    got = outputs["last_hidden_state"]
    m = mask[..., None].astype(bool)
    # Every layer's states, the last under both of its names.
    worst = 0.0
    for name, want in [("last_hidden_state", states[-1])] + [(n, s) for n, s in zip(names[1:], states)]:
        err = np.abs(np.where(m, outputs[name] - want, 0)).max() / np.abs(np.where(m, want, 0)).max()
        if err > 1e-4:
            raise SystemExit(f"mpnet: the exported graph's {name} disagrees with the numpy forward pass ({err:.2e})")
        worst = max(worst, err)
    print(f"mpnet: {len(names)} outputs, max |onnx - numpy| / max |numpy| over unpadded tokens = {worst:.2e}")
    pooled = (got * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    c = pooled @ pooled.T
    print(f"mpnet: cosine paraphrase {c[0, 1]:.3f}, {c[2, 3]:.3f}; unrelated {c[0, 2]:.3f}, {c[1, 3]:.3f}")
    if min(c[0, 1], c[2, 3]) <= max(c[0, 2], c[1, 3], c[0, 3], c[1, 2]) + 0.1:
        raise SystemExit("mpnet: paraphrases do not score clearly above unrelated sentences")


if __name__ == "__main__":
    main()
