"""Golden scores for stages/tests/metrics_golden.rs: an independent numpy (float64)
implementation of every alignment metric, written from the definitions (the Platonic
Representation Hypothesis code's metrics.py / measure_alignment.py conventions, Song et al.'s
unbiased HSIC, Szekely-Rizzo U-centring, the research notebook's kernel alignment, ReSi's
Jaccard and rank similarity of neighbour lists, RSA as Pearson's r of the similarity matrices'
off-diagonal entries, the orthogonal Procrustes similarity as the nuclear norm of the centred,
unit-norm cross product, by LAPACK's SVD; distance correlation as ReSi computes it, the
V-statistic of the double-centred Euclidean distance matrices, distances by broadcasting; the
second-order cosine similarity as ReSi computes it, the cosine of each row's cosine distances to
the union of its neighbour sets).

Differences from the reference code that the Rust side shares on purpose: no +1e-6 in CKA-type
denominators; SVCCA with an exact SVD and exact CCA (QR + SVD of Q1^T Q2) instead of
torch.svd_lowrank and scikit-learn's iterative CCA; neighbour ties go to the lower index.

Run: .venv/bin/python stages/tests/golden/make_metrics.py
Writes metrics/<case>_a.npy, metrics/<case>_b.npy and metrics.json beside this script.
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOPK = 10
CCA_DIM = 10
Q = 0.95


def prepare(x, clamp=True):
    if clamp:
        t = np.quantile(np.abs(x), Q, axis=1).mean()  # torch.quantile(dim=1).mean()
        x = np.clip(x, -t, t)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn(z, k):
    s = z @ z.T
    np.fill_diagonal(s, -1e8)
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def mutual_knn(a, b):
    ka, kb = knn(a, TOPK), knn(b, TOPK)
    return float(np.mean([len(set(ka[i]) & set(kb[i])) / TOPK for i in range(len(a))]))


def cycle_knn(a, b):
    ka, kb = knn(a, TOPK), knn(b, TOPK)
    return float(np.mean([float(i in ka[kb[i]].ravel()) for i in range(len(a))]))


def lcs_len(x, y):
    dp = [[0] * (len(y) + 1) for _ in range(len(x) + 1)]
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            dp[i][j] = dp[i - 1][j - 1] + 1 if x[i - 1] == y[j - 1] else max(dp[i - 1][j], dp[i][j - 1])
    return dp[-1][-1]


def edit(x, y):
    dp = np.zeros((len(x) + 1, len(y) + 1), dtype=int)
    dp[:, 0] = np.arange(len(x) + 1)
    dp[0, :] = np.arange(len(y) + 1)
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            dp[i, j] = min(dp[i - 1, j] + 1, dp[i, j - 1] + 1, dp[i - 1, j - 1] + (x[i - 1] != y[j - 1]))
    return dp[-1, -1]


def lcs_knn(a, b):
    ka, kb = knn(a, TOPK), knn(b, TOPK)
    return float(np.mean([lcs_len(list(ka[i]), list(kb[i])) for i in range(len(a))]))


def edit_distance_knn(a, b):
    ka, kb = knn(a, TOPK), knn(b, TOPK)
    return float(1 - np.mean([edit(list(ka[i]), list(kb[i])) for i in range(len(a))]) / TOPK)


def hsic_biased(k, l):
    n = len(k)
    h = np.eye(n) - 1.0 / n
    return np.trace(k @ h @ l @ h)


def hsic_unbiased(k, l):
    m = len(k)
    kt, lt = k.copy(), l.copy()
    np.fill_diagonal(kt, 0)
    np.fill_diagonal(lt, 0)
    v = np.sum(kt * lt.T) + kt.sum() * lt.sum() / ((m - 1) * (m - 2)) - 2 * np.sum(kt @ lt) / (m - 2)
    return v / (m * (m - 3))


def cka(a, b, hsic=hsic_biased):
    k, l = a @ a.T, b @ b.T
    return float(hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l)))


def u_centre(k):
    n = len(k)
    u = np.zeros_like(k)
    off = ~np.eye(n, dtype=bool)
    kz = np.where(off, k, 0.0)
    for i in range(n):
        for j in range(n):
            if i != j:
                u[i, j] = kz[i, j] - kz[i].sum() / (n - 2) - kz[:, j].sum() / (n - 2) + kz.sum() / ((n - 1) * (n - 2))
    return u


def debiased_cka(a, b):
    ku, lu = u_centre(a @ a.T), u_centre(b @ b.T)
    n = len(a)
    h = lambda x, y: np.sum(x * y) / (n * (n - 3))
    return float(h(ku, lu) / np.sqrt(h(ku, ku) * h(lu, lu)))


def cknna(a, b):
    k, l = a @ a.T, b @ b.T
    n = len(a)

    def mask(kk):
        m = np.zeros((n, n))
        for i, row in enumerate(knn_from_gram(kk)):
            m[i, row] = 1.0
        return m

    def knn_from_gram(g):
        s = g.copy()
        np.fill_diagonal(s, -np.inf)
        return np.argsort(-s, axis=1, kind="stable")[:, :TOPK]

    mk, ml = mask(k), mask(l)
    sim = lambda x, y, m: hsic_unbiased(m * x, m * y)
    return float(sim(k, l, mk * ml) / np.sqrt(sim(k, k, mk) * sim(l, l, ml)))


def svcca(a, b):
    def top_u(x):
        x = x - x.mean(axis=0)
        x = x / (x.std(axis=0, ddof=1) + 1e-8)
        u, _, _ = np.linalg.svd(x, full_matrices=False)
        return u[:, :CCA_DIM]

    def cca(x, y):
        qx, _ = np.linalg.qr(x - x.mean(axis=0))
        qy, _ = np.linalg.qr(y - y.mean(axis=0))
        return np.linalg.svd(qx.T @ qy, compute_uv=False)

    return float(np.mean(np.clip(cca(top_u(a), top_u(b)), 0, 1)))


def jaccard_knn(a, b):
    # ReSi (Klabunde et al., repsim/measures/nearest_neighbor.py): |N_A ∩ N_B| / |N_A ∪ N_B|.
    ka, kb = knn(a, TOPK), knn(b, TOPK)
    return float(np.mean([len(set(ka[i]) & set(kb[i])) / len(set(ka[i]) | set(kb[i]))
                          for i in range(len(a))]))


def rank_knn(a, b):
    # ReSi's rank similarity: shared neighbours j with 1-based ranks r, r' score
    # 2 / ((1 + |r - r'|)(r + r')), summed and divided by the harmonic number of their count.
    ka, kb = knn(a, TOPK), knn(b, TOPK)
    scores = []
    for i in range(len(a)):
        shared = set(ka[i]) & set(kb[i])
        if not shared:
            scores.append(0.0)
            continue
        total = 0.0
        for j in shared:
            r = int(np.where(ka[i] == j)[0][0]) + 1
            rp = int(np.where(kb[i] == j)[0][0]) + 1
            total += 2 / ((1 + abs(r - rp)) * (r + rp))
        scores.append(total / sum(1 / t for t in range(1, len(shared) + 1)))
    return float(np.mean(scores))


def rsa(a, b):
    # Pearson's r between the distinct off-diagonal entries of the cosine-similarity matrices.
    k, l = a @ a.T, b @ b.T
    upper = np.triu_indices(len(a), 1)
    return float(np.corrcoef(k[upper], l[upper])[0, 1])


def procrustes(a, b):
    # ||A^T B||_* of the centred, unit-Frobenius-norm rows (numpy's SVD, LAPACK).
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return float(np.linalg.norm(a.T @ b, ord="nuc"))


def distance_correlation(a, b):
    def centred_distances(x):
        d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
        return d - d.mean(axis=0) - d.mean(axis=1)[:, None] + d.mean()
    s, sp = centred_distances(a), centred_distances(b)
    dcov2 = lambda x, y: np.multiply(x, y).mean()  # noqa: E731
    return float(np.sqrt(dcov2(s, sp) / np.sqrt(dcov2(s, s) * dcov2(sp, sp))))


def second_order_cosine(a, b):
    # ReSi's: rows are unit vectors here, so cosine distances are 1 - a @ a.T.
    na, nb = knn(a, TOPK), knn(b, TOPK)
    da, db = 1 - a @ a.T, 1 - b @ b.T
    scores = []
    for i in range(len(a)):
        union = sorted(set(na[i]) | set(nb[i]))
        x, y = da[i, union], db[i, union]
        scores.append(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))
    return float(np.mean(scores))


def kernel_alignment(a_raw, b_raw):
    a, b = prepare(a_raw, clamp=False), prepare(b_raw, clamp=False)
    k1, k2 = a @ a.T, b @ b.T
    return float(np.trace(k1 @ k2) / np.sqrt(np.trace(k1 @ k1) * np.trace(k2 @ k2)))


def all_metrics(a_raw, b_raw, clamp=True):
    a, b = prepare(a_raw, clamp), prepare(b_raw, clamp)
    return {
        "kernel_alignment": kernel_alignment(a_raw, b_raw),
        "mutual_knn": mutual_knn(a, b),
        "cycle_knn": cycle_knn(a, b),
        "lcs_knn": lcs_knn(a, b),
        "edit_distance_knn": edit_distance_knn(a, b),
        "cka": cka(a, b),
        "unbiased_cka": cka(a, b, hsic_unbiased),
        "cknna": cknna(a, b),
        "svcca": svcca(a, b),
        "debiased_cka": debiased_cka(a, b),
        "jaccard_knn": jaccard_knn(a, b),
        "rank_knn": rank_knn(a, b),
        "rsa": rsa(a, b),
        "procrustes": procrustes(a, b),
        "distance_correlation": distance_correlation(a, b),
        "second_order_cosine": second_order_cosine(a, b),
    }


def cases():
    rng = np.random.default_rng(20261123)
    # Random: B a noisy linear image of A, different widths.
    a = rng.standard_normal((60, 24))
    b = a @ rng.standard_normal((24, 16)) + 0.8 * rng.standard_normal((60, 16))
    yield "random", a, b
    # Structured: five clusters, B a nonlinear view of A with heavy-tailed outliers.
    centres = rng.standard_normal((5, 20)) * 3
    a = np.repeat(centres, 12, axis=0) + 0.5 * rng.standard_normal((60, 20))
    b = np.tanh(a @ rng.standard_normal((20, 30)) / 4) + 0.1 * rng.standard_normal((60, 30))
    b[::7] *= 25.0
    yield "structured", a, b
    # Larger than the Jacobi cut-off (128): SVCCA's subspace iteration.
    z = rng.standard_normal((300, 12)) * np.linspace(6, 2, 12)
    a = z @ rng.standard_normal((12, 200)) + rng.standard_normal((300, 200))
    b = z @ rng.standard_normal((12, 150)) + rng.standard_normal((300, 150))
    yield "large", a, b
    # Wider than it has rows on both sides: Procrustes reads Gram factors.
    z = rng.standard_normal((30, 6))
    a = z @ rng.standard_normal((6, 48)) + 0.5 * rng.standard_normal((30, 48))
    b = z @ rng.standard_normal((6, 40)) + 0.5 * rng.standard_normal((30, 40))
    yield "wide", a, b


def main():
    out_dir = os.path.join(HERE, "metrics")
    os.makedirs(out_dir, exist_ok=True)
    golden = {"topk": TOPK, "cca_dim": CCA_DIM, "clamp_quantile": Q, "cases": {}}
    for name, a, b in cases():
        # A in float64 (float32 for the large case, to keep the file small), B in float32: the
        # Rust side reads both dtypes; scores are computed on exactly the stored values.
        a = a.astype(np.float32 if name == "large" else np.float64)
        np.save(os.path.join(out_dir, f"{name}_a.npy"), a)
        np.save(os.path.join(out_dir, f"{name}_b.npy"), b.astype(np.float32))
        a = a.astype(np.float64)
        b32 = b.astype(np.float32).astype(np.float64)
        golden["cases"][name] = {
            "clamped": all_metrics(a, b32, clamp=True),
            "unclamped": all_metrics(a, b32, clamp=False),
            "identical": all_metrics(a, a, clamp=True),
        }
    with open(os.path.join(HERE, "metrics.json"), "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
