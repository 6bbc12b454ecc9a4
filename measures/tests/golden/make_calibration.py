"""Golden values for measures/tests/calibration.rs: Gröger et al.'s null calibration computed by
their own package, calibrated-similarity 0.1.1 (`calibrate`, Algorithm 1, and
`calibrate_layers`, Algorithm 2), on permutations drawn here and handed to it through its
`perm_fn`, so that the Rust test can apply the very same row permutations.

The similarities are written in torch (float64) from their definitions, with the pipeline's
preparation without the outlier clamp: rows L2-normalised, then linear CKA (biased HSIC of
centred Gram matrices) or mutual kNN (the fraction of each row's k nearest neighbours, by inner
product and the row itself excluded, that the other side shares).

Run: .venv-torch/bin/python measures/tests/golden/make_calibration.py
Writes calibration.json beside this script.
"""

import json
import os

import numpy as np
import torch
from calibrated_similarity import calibrate, calibrate_layers

HERE = os.path.dirname(os.path.abspath(__file__))
TOPK = 5


def unit_rows(x):
    return x / x.norm(dim=1, keepdim=True)


def cka(x, y):
    x, y = unit_rows(x.double()), unit_rows(y.double())
    n = x.shape[0]
    h = torch.eye(n, dtype=torch.float64) - 1.0 / n
    k, l = h @ x @ x.T @ h, h @ y @ y.T @ h
    return ((k * l).sum() / (k.norm() * l.norm())).item()


def knn(x):
    g = unit_rows(x.double())
    g = g @ g.T
    g.fill_diagonal_(-float("inf"))
    return g.topk(TOPK, dim=1).indices


def mutual_knn(x, y):
    a, b = knn(x), knn(y)
    shared = [len(set(a[i].tolist()) & set(b[i].tolist())) for i in range(x.shape[0])]
    return float(np.mean(shared)) / TOPK


def replay(perms):
    """A perm_fn that hands out `perms` in order."""
    it = iter(perms)

    def perm_fn(n, device):
        p = next(it)
        assert len(p) == n
        return torch.tensor(p, dtype=torch.long, device=device)

    return perm_fn


def main():
    rng = np.random.default_rng(35)
    n, k_perms = 48, 39
    z = rng.standard_normal((n, 4))
    shared = lambda d, noise: z @ rng.standard_normal((4, d)) + noise * rng.standard_normal((n, d))
    x = shared(10, 0.5)
    cases = {
        "related": (x, shared(7, 0.5)),
        "weak": (x, shared(7, 4.0)),
        "unrelated": (x, rng.standard_normal((n, 7))),
    }
    perms = [rng.permutation(n).tolist() for _ in range(k_perms)]
    out = {"topk": TOPK, "perms": perms, "x": x.tolist(), "single": [], "layers": []}
    sims = {"cka": cka, "mutual_knn": mutual_knn}
    for name, (a, b) in cases.items():
        ta, tb = torch.tensor(a), torch.tensor(b)
        for metric, sim in sims.items():
            for alpha in (0.05, 0.2):
                cal, p, tau = calibrate(ta, tb, sim, K=k_perms, alpha=alpha, smax=1.0,
                                        perm_fn=replay(perms))
                out["single"].append({"case": name, "y": b.tolist(), "metric": metric,
                                      "alpha": alpha, "calibrated": cal.item(), "p": p.item(),
                                      "tau": tau.item()})
    x_layers = [x, shared(6, 1.0), rng.standard_normal((n, 5))]
    y_layers = [shared(7, 0.5), shared(3, 2.0)]
    for metric, sim in sims.items():
        cal, p, tau = calibrate_layers([torch.tensor(v) for v in x_layers],
                                       [torch.tensor(v) for v in y_layers], sim, agg="max",
                                       K=k_perms, alpha=0.05, smax=1.0, perm_fn=replay(perms))
        out["layers"].append({"metric": metric, "alpha": 0.05, "calibrated": cal.item(),
                              "p": p.item(), "tau": tau.item()})
    out["x_layers"] = [v.tolist() for v in x_layers]
    out["y_layers"] = [v.tolist() for v in y_layers]
    with open(os.path.join(HERE, "calibration.json"), "w") as f:
        json.dump(out, f)
    for row in out["single"] + out["layers"]:
        print(row.get("case", "layers"), row["metric"], row["alpha"],
              round(row["calibrated"], 4), round(row["p"], 4), round(row["tau"], 4))


if __name__ == "__main__":
    main()
