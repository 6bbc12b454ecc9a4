"""Golden values for the sweep tables (stages/tests/compare_golden.rs), computed with numpy and
scipy: a fixed table of 12 members (lr x 6 seeds, one alignment column with a missing value),
the across-seed mean, standard deviation and Student t interval per configuration, and the
alignment-performance correlations (Pearson, Spearman; scipy's bootstrap percentile interval and
permutation p-value, for comparison within their Monte Carlo error).

Run from the repository root after `make setup`:
    .venv/bin/python stages/tests/golden/make_compare.py
"""

import json
import os

import numpy as np
from scipy import stats

HERE = os.path.dirname(__file__)


def main():
    rng = np.random.default_rng(20261201)
    lrs = [1e-4, 2e-4]
    seeds = list(range(6))
    members = [(lr, s) for lr in lrs for s in seeds]
    n = len(members)
    quality = np.array([0.3 if lr == 1e-4 else 0.5 for lr, _ in members]) + rng.normal(0, 0.05, n)
    cka = quality + rng.normal(0, 0.03, n)
    knn = 0.2 * quality + rng.normal(0, 0.05, n)
    knn[7] = np.nan  # a member that did not report it
    acc = 0.6 + 0.5 * quality + rng.normal(0, 0.02, n)
    loss = 5.0 - quality + rng.normal(0, 0.1, n)
    columns = [
        ("align.cka", "alignment", cka),
        ("align.mutual_knn", "alignment", knn),
        ("probe.accuracy", "performance", acc),
        ("train.val_loss", "detail", loss),
    ]
    inputs = {
        "member": list(range(n)),
        "axes": {"lr": [lr for lr, _ in members], "seed": [s for _, s in members]},
        "columns": [
            {"name": name, "role": role, "values": [None if np.isnan(v) else float(v) for v in vals]}
            for name, role, vals in columns
        ],
    }

    aggregates = []
    for lr in lrs:
        rows = [i for i, (l, _) in enumerate(members) if l == lr]
        for name, _, vals in columns:
            v = vals[rows]
            v = v[~np.isnan(v)]
            mean, sd = float(v.mean()), float(v.std(ddof=1))
            half = float(stats.t.ppf(0.975, len(v) - 1) * sd / np.sqrt(len(v)))
            aggregates.append({"lr": lr, "column": name, "n": int(len(v)), "mean": mean,
                               "std": sd, "ci_low": mean - half, "ci_high": mean + half})

    correlations = []
    for name, role, vals in columns:
        if role != "alignment":
            continue
        ok = ~np.isnan(vals)
        x, y = vals[ok], acc[ok]
        row = {"metric": name, "against": "probe.accuracy", "n": int(ok.sum())}
        for label, fn in (("pearson", lambda a, b: stats.pearsonr(a, b)[0]),
                          ("spearman", lambda a, b: stats.spearmanr(a, b)[0])):
            row[label] = float(fn(x, y))
            boot = stats.bootstrap((x, y), lambda a, b: fn(a, b), paired=True, vectorized=False,
                                   n_resamples=20000, method="percentile",
                                   random_state=np.random.default_rng(1))
            row[f"{label}_ci_low"] = float(boot.confidence_interval.low)
            row[f"{label}_ci_high"] = float(boot.confidence_interval.high)
            perm = stats.permutation_test((x, y), lambda a, b: fn(a, b), permutation_type="pairings",
                                          n_resamples=20000, alternative="two-sided",
                                          random_state=np.random.default_rng(2))
            row[f"{label}_p"] = float(perm.pvalue)
        correlations.append(row)

    out = {"inputs": inputs, "aggregates": aggregates, "correlations": correlations,
           "t_975": {str(df): float(stats.t.ppf(0.975, df)) for df in (1, 2, 3, 4, 5, 10, 30, 100)}}
    with open(os.path.join(HERE, "compare.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
