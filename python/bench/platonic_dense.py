"""platonic-rep's dense torch formulation of four metrics (minyoungg/platonic-rep, metrics.py),
written here from its formulas for `make bench` (python/bench/bench_measures.py): every metric
from n x n Gram matrices, HSIC as trace(K H L H). Run with a python that has torch:

    python platonic_dense.py A.npy B.npy f32|f64 TOPK

Prints one JSON object: each metric's value and the seconds all four took (loading excluded,
the preparation included).
"""

import json
import sys
import time

import numpy as np
import torch


def prepare(x):
    # measure_alignment.py: clamp at the mean of each row's 0.95 quantile of |x|, then L2.
    t = torch.quantile(x.abs(), 0.95, dim=1).mean()
    x = x.clamp(-t, t)
    return torch.nn.functional.normalize(x, dim=-1)


def knn(z, k):
    return (z @ z.T).fill_diagonal_(-1e8).argsort(dim=1, descending=True)[:, :k]


def mutual_knn(a, b, k):
    n = a.shape[0]
    rows = torch.arange(n).unsqueeze(1)
    ma, mb = torch.zeros(n, n, dtype=a.dtype), torch.zeros(n, n, dtype=a.dtype)
    ma[rows, knn(a, k)] = 1.0
    mb[rows, knn(b, k)] = 1.0
    return ((ma * mb).sum(dim=1) / k).mean().item()


def hsic_biased(k, l):
    m = k.shape[0]
    h = torch.eye(m, dtype=k.dtype) - 1.0 / m
    return torch.trace(k @ h @ l @ h)


def hsic_unbiased(k, l):
    m = k.shape[0]
    kt, lt = k.clone().fill_diagonal_(0), l.clone().fill_diagonal_(0)
    return ((kt * lt.T).sum() + kt.sum() * lt.sum() / ((m - 1) * (m - 2))
            - 2 * (kt @ lt).sum() / (m - 2)) / (m * (m - 3))


def cka(k, l, hsic):
    return (hsic(k, l) / (torch.sqrt(hsic(k, k) * hsic(l, l)) + 1e-6)).item()


def cknna(a, b, k):
    n = a.shape[0]
    ka, lb = a @ a.T, b @ b.T

    def similarity(x, y):
        xh, yh = x.clone().fill_diagonal_(float("-inf")), y.clone().fill_diagonal_(float("-inf"))
        mx = torch.zeros(n, n, dtype=x.dtype).scatter_(1, torch.topk(xh, k, dim=1)[1], 1)
        my = torch.zeros(n, n, dtype=x.dtype).scatter_(1, torch.topk(yh, k, dim=1)[1], 1)
        mask = mx * my
        return hsic_unbiased(mask * x, mask * y)

    return (similarity(ka, lb) / (torch.sqrt(similarity(ka, ka) * similarity(lb, lb)) + 1e-6)).item()


def main():
    a_path, b_path, precision, topk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    dtype = torch.float32 if precision == "f32" else torch.float64
    a = torch.from_numpy(np.load(a_path)).to(dtype)
    b = torch.from_numpy(np.load(b_path)).to(dtype)
    clock = time.perf_counter()
    a, b = prepare(a), prepare(b)
    k, l = a @ a.T, b @ b.T
    out = {
        "mutual_knn": mutual_knn(a, b, topk),
        "cka": cka(k, l, hsic_biased),
        "unbiased_cka": cka(k, l, hsic_unbiased),
        "cknna": cknna(a, b, topk),
    }
    out["seconds"] = time.perf_counter() - clock
    print(json.dumps(out))


if __name__ == "__main__":
    main()
