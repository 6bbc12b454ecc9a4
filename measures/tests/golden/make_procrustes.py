"""Golden values for measures/src/procrustes/tests.rs: the Procrustes measures written from their
definitions in numpy (float64), independently of the Rust code: the nuclear norm from
numpy's SVD (LAPACK), and the optimal rotation's residual checked against scipy's
orthogonal_procrustes solution.

Run: .venv/bin/python measures/tests/golden/make_procrustes.py
Writes procrustes.json beside this script: each case's two matrices and the three distances.
"""

import json
import os

import numpy as np
from scipy.linalg import orthogonal_procrustes

HERE = os.path.dirname(os.path.abspath(__file__))


def centred(x):
    return x - x.mean(axis=0)


def unit(x):
    x = centred(x)
    return x / np.linalg.norm(x)


def nuclear(a, b):
    return np.linalg.norm(a.T @ b, ord="nuc")


def residual(a, b):
    """min over orthogonal Q of ||a - b Q||_F, by scipy's solution (b zero-padded to a's width)."""
    width = max(a.shape[1], b.shape[1])
    pa = np.pad(a, ((0, 0), (0, width - a.shape[1])))
    pb = np.pad(b, ((0, 0), (0, width - b.shape[1])))
    q, _ = orthogonal_procrustes(pb, pa)
    return np.linalg.norm(pa - pb @ q)


def measures(a, b):
    ua, ub = unit(a), unit(b)
    ca, cb = centred(a), centred(b)
    op = np.sqrt(max(2 - 2 * nuclear(ua, ub), 0.0))
    ss = np.sqrt(max(np.sum(ca ** 2) + np.sum(cb ** 2) - 2 * nuclear(ca, cb), 0.0))
    assert abs(op - residual(ua, ub)) < 1e-10 and abs(ss - residual(ca, cb)) < 1e-10
    return {
        "orthogonal_procrustes": op,
        "angular_shape_metric": float(np.arccos(np.clip(nuclear(ua, ub), -1, 1))),
        "size_and_shape_distance": ss,
    }


def main():
    rng = np.random.default_rng(7)
    z = rng.standard_normal((40, 5))
    cases = {
        "random": (rng.standard_normal((40, 12)), rng.standard_normal((40, 9))),
        "shared": (z @ rng.standard_normal((5, 12)) + 0.3 * rng.standard_normal((40, 12)),
                   z @ rng.standard_normal((5, 7)) + 0.3 * rng.standard_normal((40, 7))),
        "wide": (rng.standard_normal((30, 50)), rng.standard_normal((30, 20))),
    }
    out = {name: {"a": a.tolist(), "b": b.tolist(), "want": measures(a, b)}
           for name, (a, b) in cases.items()}
    with open(os.path.join(HERE, "procrustes.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
