"""Golden loss values for stages/tests/train_loss.rs, computed with numpy (float64), following
PyTorch's definitions: F.normalize (x / max(||x||, 1e-12)), F.cross_entropy with
label_smoothing (target = (1 - a) onehot + a / B), torch.var (unbiased).

Run: .venv/bin/python stages/tests/golden/make_loss.py
"""

import json
import os

import numpy as np


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def normalise(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def ce(logits, alpha):
    n = logits.shape[0]
    target = (1 - alpha) * np.eye(n) + alpha / n
    return float(-(target * log_softmax(logits)).sum(axis=1).mean())


def contrastive(a, b, t, alpha):
    s = normalise(a) @ normalise(b).T / t
    return (ce(s, alpha) + ce(s.T, alpha)) / 2


def variance(a, b, r):
    vr = r.var(axis=0, ddof=1)
    if a.shape[1] == r.shape[1]:
        term = lambda x: float(((x.var(axis=0, ddof=1) - vr) ** 2).mean())
    else:
        term = lambda x: float((x.var(axis=0, ddof=1).mean() - vr.mean()) ** 2)
    return (term(a) + term(b)) / 2


def main():
    rng = np.random.RandomState(7)
    a, b, r = rng.randn(5, 4), rng.randn(5, 4), 2.0 * rng.randn(5, 4)
    r6 = 2.0 * rng.randn(5, 6)
    cases = []
    for t, alpha, w in [(0.15, 0.0, None), (0.15, 0.1, None), (0.2, 0.15, 0.4), (0.07, 0.0, 0.3)]:
        con = contrastive(a, b, t, alpha)
        var = variance(a, b, r) if w is not None else 0.0
        cases.append({"temperature": t, "label_smoothing": alpha, "variance_weight": w,
                      "contrastive": con, "variance": var, "total": con + (w or 0.0) * var})
    golden = {
        "a": a.tolist(), "b": b.tolist(), "reference": r.tolist(), "reference_wide": r6.tolist(),
        "cases": cases,
        "variance_wide": variance(a, b, r6),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss.json")
    with open(path, "w") as f:
        json.dump(golden, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
