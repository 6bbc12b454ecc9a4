"""An independent numpy forward pass of BertModel (float64), used to check export_bert.py's graph.

It follows transformers' BertModel line by line, sharing no code with the exporter.
"""

import math

import numpy as np

_erf = np.vectorize(math.erf)


def _layer_norm(x, g, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def bert_forward(weights, config, input_ids, attention_mask, token_type_ids):
    return bert_hidden_states(weights, config, input_ids, attention_mask, token_type_ids)[-1]


def bert_hidden_states(weights, config, input_ids, attention_mask, token_type_ids):
    """Every layer's hidden states: the embeddings', then each encoder layer's (as
    transformers' output_hidden_states)."""
    w = {k: v.astype(np.float64) for k, v in weights.items() if v.dtype == np.float32}
    eps = float(config["layer_norm_eps"])
    heads = config["num_attention_heads"]
    b, t = input_ids.shape
    d = config["hidden_size"]
    dh = d // heads
    x = (
        w["embeddings.word_embeddings.weight"][input_ids]
        + w["embeddings.position_embeddings.weight"][np.arange(t)][None]
        + w["embeddings.token_type_embeddings.weight"][token_type_ids]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    states = [x]
    bias = np.where(attention_mask[:, None, None, :] > 0, 0.0, -1e30)
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        lin = lambda h, n: h @ w[p + n + ".weight"].T + w[p + n + ".bias"]
        q = lin(x, "attention.self.query").reshape(b, t, heads, dh).transpose(0, 2, 1, 3)
        k = lin(x, "attention.self.key").reshape(b, t, heads, dh).transpose(0, 2, 1, 3)
        v = lin(x, "attention.self.value").reshape(b, t, heads, dh).transpose(0, 2, 1, 3)
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + bias
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
        x = _layer_norm(lin(ctx, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        hmid = lin(x, "intermediate.dense")
        hmid = 0.5 * hmid * (1.0 + _erf(hmid / math.sqrt(2.0)))
        x = _layer_norm(lin(hmid, "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        states.append(x)
    return states
