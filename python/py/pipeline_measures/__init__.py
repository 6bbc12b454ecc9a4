"""The pipeline's representational-similarity measures, from numpy and torch.

The same code as ``pipeline metric A.npy B.npy`` and the align and model-set stages (the Rust
``measures`` crate): the same preparation (outlier clamp at the 0.95 quantile of |x|, rows
L2-normalised), the same defaults and the same bits. Inputs are 2-D float32 or float64 arrays of
row-aligned features (row i of ``a`` and row i of ``b`` describe the same item): numpy arrays and
memmaps are read in place, a CPU torch tensor through ``numpy.asarray`` (no copy). The work runs
with the GIL released, on as many threads as ``RAYON_NUM_THREADS`` says (default: every core).
Bad input raises ``ValueError`` or ``TypeError`` saying what was expected.

>>> import numpy as np, pipeline_measures as pm
>>> a = np.random.default_rng(0).standard_normal((500, 64), dtype=np.float32)
>>> pm.measure(a, a, "mutual_knn")
1.0
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Sequence, Union

import numpy as np

from . import _native

__all__ = [
    "METRICS",
    "Features",
    "calibrate",
    "layers",
    "measure",
    "measures",
    "open_features",
]

#: The metrics' names, in the CLI's order.
METRICS: tuple[str, ...] = tuple(_native.metric_names())

ArrayLike = Any  # a 2-D float32/float64 array: numpy, a memmap, a CPU torch tensor, ...
MetricList = Union[str, Sequence[str]]


def measure(a: ArrayLike, b: ArrayLike, metric: str, *, topk: int = 10, clamp: bool = True,
            cca_dim: int = 10) -> float:
    """One metric's score between ``a`` (n x d_a) and ``b`` (n x d_b).

    ``metric`` is one of :data:`METRICS`. ``topk``: neighbours per row for the kNN metrics and
    CKNNA; ``clamp``: the outlier clamp (``pipeline metric --no-clamp`` is ``clamp=False``);
    ``cca_dim``: SVCCA's number of singular directions. Identical inputs score 1 (``topk`` for
    ``lcs_knn``, whose reference definition is unnormalised).
    """
    return _native.measure(a, b, metric, topk=topk, clamp=clamp, cca_dim=cca_dim)


def measures(a: ArrayLike, b: ArrayLike, metrics: MetricList = "all", *, topk: int = 10,
             clamp: bool = True, cca_dim: int = 10) -> dict[str, float]:
    """Several metrics at once, sharing each side's preparation: ``{name: score}``.

    ``metrics``: ``"all"``, a name, a comma-separated list or a list of names. What
    ``pipeline metric A.npy B.npy --metric all`` prints, bit for bit.
    """
    return dict(_native.measures(a, b, metrics, topk=topk, clamp=clamp, cca_dim=cca_dim))


def calibrate(a: ArrayLike, b: ArrayLike, metric: str, *, permutations: int = 1000,
              seed: int = 0, alpha: float = 0.05, topk: int = 10, clamp: bool = True,
              cca_dim: int = 10, bootstrap: int = 1000, costly_resamples: int = 200,
              resample_rows: int = _native.GRAM_ROWS) -> dict[str, Any]:
    """A score with its interval and its permutation null, as the align stage reports it.

    The null shuffles ``b``'s rows ``permutations`` times (seeded by ``seed``). Returns a dict:

    - ``score``: the metric on all rows; ``interval``: its 95% interval (bootstrap of per-row
      scores for the kNN metrics, half-sampling for the others; ``bootstrap`` replicates);
    - ``p``: (1 + #{null >= tested}) / (1 + permutations);
    - ``null``: the permuted scores (numpy array); ``tested``: the score they are compared with
      (``score``, or above ``resample_rows`` rows the score on the seeded subsample the
      expensive metrics' permutations use; ``resample_rows`` says which);
    - ``tau``: the ⌈(1−alpha)(K+1)⌉-th smallest of the tested score and its K null scores;
      ``calibrated``: clamp((tested − tau) / (s_max − tau), 0, 1), s_max the metric's score of
      identical inputs (Gröger et al., 2026).
    """
    return _native.calibrate(a, b, metric, permutations=permutations, seed=seed, alpha=alpha,
                             topk=topk, clamp=clamp, cca_dim=cca_dim, bootstrap=bootstrap,
                             costly_resamples=costly_resamples, resample_rows=resample_rows)


def layers(a_layers: Iterable[ArrayLike], b_layers: Iterable[ArrayLike], metric: str, *,
           permutations: int = 1000, seed: int = 0, alpha: float = 0.05, topk: int = 10,
           clamp: bool = True, cca_dim: int = 10,
           resample_rows: int = _native.GRAM_ROWS) -> dict[str, Any]:
    """Every layer of one model against every layer of another, as the model set scores them.

    ``a_layers``, ``b_layers``: sequences of 2-D arrays over the same rows (or 3-D arrays,
    layer first). Every pair sees the same permutations of ``b``'s rows, so the best pair's
    selection can be paid for. Returns a dict: ``scores`` and ``p`` (layers_a x layers_b
    arrays), ``best`` (i, j) by score, ``best_score``, ``best_p`` (its own p),
    ``corrected_p`` (against the null of the maximum over all pairs), ``max_null`` (that null),
    ``tau`` and ``calibrated`` (the best pair calibrated against the maximum's null:
    Gröger et al.'s aggregation-aware calibration).
    """
    return _native.layers(a_layers, b_layers, metric, permutations=permutations, seed=seed,
                          alpha=alpha, topk=topk, clamp=clamp, cca_dim=cca_dim,
                          resample_rows=resample_rows)


class Features:
    """A features artifact opened read-only: ``array`` (rows x dim, float32) and ``ids``."""

    def __init__(self, path: str, shards: list[np.ndarray], rows: int, dim: int):
        self.path = path
        #: One read-only memmap per ``.npy`` shard of the artifact, in row order.
        self.shards = shards
        self.rows = rows
        self.dim = dim
        self._ids: list[str] | None = None

    @property
    def array(self) -> np.ndarray:
        """All rows: the memmap itself when the artifact is one shard (the default up to
        65,536 rows), else the shards concatenated (a copy, in memory)."""
        if len(self.shards) == 1:
            return self.shards[0]
        return np.concatenate(self.shards, axis=0)

    @property
    def ids(self) -> list[str]:
        """Each row's record id, from the artifact's ``features.parquet`` (read with pyarrow,
        polars or duckdb, whichever is installed)."""
        if self._ids is None:
            self._ids = _read_ids(os.path.join(self.path, "features.parquet"))
            if len(self._ids) != self.rows:
                raise ValueError(f"{self.path}: features.parquet holds {len(self._ids)} ids, "
                                 f"features.json says {self.rows} rows")
        return self._ids

    def __repr__(self) -> str:
        return f"Features({self.path!r}, rows={self.rows}, dim={self.dim}, " \
               f"shards={len(self.shards)})"


def open_features(path: str) -> Features:
    """A features artifact's folder (``pipeline show features:image``), memory-mapped.

    Reads its ``features.json`` (rows, dim and the ``.npy`` shards) and maps every shard
    read-only: nothing is read until used.
    """
    layout_file = os.path.join(path, "features.json")
    try:
        with open(layout_file) as f:
            layout = json.load(f)
        rows, dim, listed = int(layout["rows"]), int(layout["dim"]), layout["shards"]
    except FileNotFoundError:
        raise ValueError(f"{path}: no features.json: expected a features artifact's folder "
                         f"(pipeline show features:NAME)") from None
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{layout_file}: expected rows, dim and shards: {e}") from None
    shards = []
    for shard in listed:
        array = np.load(os.path.join(path, shard["file"]), mmap_mode="r")
        if array.ndim != 2 or array.shape != (int(shard["rows"]), dim):
            raise ValueError(f"{path}/{shard['file']}: shape {array.shape}, features.json "
                             f"says ({shard['rows']}, {dim})")
        shards.append(array)
    if sum(s.shape[0] for s in shards) != rows:
        raise ValueError(f"{layout_file}: the shards hold other than {rows} rows")
    return Features(path, shards, rows, dim)


def _read_ids(parquet: str) -> list[str]:
    try:
        import pyarrow.parquet as pq
        return pq.read_table(parquet, columns=["id"]).column("id").to_pylist()
    except ImportError:
        pass
    try:
        import polars as pl
        return pl.read_parquet(parquet, columns=["id"])["id"].to_list()
    except ImportError:
        pass
    try:
        import duckdb
        escaped = parquet.replace("'", "''")
        return [r[0] for r in duckdb.sql(f"select id from '{escaped}'").fetchall()]
    except ImportError:
        raise ImportError(f"{parquet}: reading the ids needs pyarrow, polars or duckdb "
                          f"(pip install pyarrow); the features themselves do not") from None
