"""pipeline_measures against the CLI (same bits), the numpy goldens, bad input and copies.

Run by `make test` (scripts/run-pytest) after `make python`; needs the built `pipeline` binary
(PIPELINE_BIN, default target/debug/pipeline).
"""

import json
import math
import os
import subprocess
import threading
import time

import numpy as np
import pytest

import pipeline_measures as pm

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(ROOT, "stages", "tests", "golden")
PIPELINE = os.environ.get("PIPELINE_BIN", os.path.join(ROOT, "target", "debug", "pipeline"))
CASES = ["random", "structured", "large"]


def case(name):
    return tuple(np.load(os.path.join(GOLDEN, "metrics", f"{name}_{s}.npy")) for s in "ab")


def cli(a_path, b_path, *flags):
    out = subprocess.run([PIPELINE, "metric", a_path, b_path, "--metric", "all", *flags],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("clamp", [True, False])
def test_every_metric_equals_the_cli_to_the_last_bit(name, clamp):
    a_path, b_path = (os.path.join(GOLDEN, "metrics", f"{name}_{s}.npy") for s in "ab")
    want = cli(a_path, b_path, *([] if clamp else ["--no-clamp"]))
    a, b = case(name)
    got = pm.measures(a, b, "all", clamp=clamp)
    assert list(got) == list(pm.METRICS) and sorted(want) == sorted(got)
    for metric in pm.METRICS:
        # json.loads of serde_json's shortest round-trip form is the same f64.
        assert got[metric] == want[metric], (metric, got[metric], want[metric])
        assert pm.measure(a, b, metric, clamp=clamp) == got[metric]


def test_every_metric_equals_the_numpy_goldens():
    golden = json.load(open(os.path.join(GOLDEN, "metrics.json")))
    assert golden["topk"] == 10 and golden["cca_dim"] == 10
    checked = 0
    for name, modes in golden["cases"].items():
        a, b = case(name)
        for mode, want in modes.items():
            other = a if mode == "identical" else b
            got = pm.measures(a, other, clamp=mode != "unclamped")
            for metric in pm.METRICS:
                assert abs(got[metric] - want[metric]) < 1e-6, (name, mode, metric)
                checked += 1
    assert checked == 4 * 3 * len(pm.METRICS) == 4 * 3 * 16


def test_float32_and_float64_and_strided_inputs_agree():
    a, b = case("random")  # float64
    whole = pm.measures(a, b)
    # float32 is widened exactly, as `pipeline metric` widens an f32 file.
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    assert pm.measures(a32, b32) == pm.measures(a32.astype(np.float64), b32.astype(np.float64))
    # A Fortran-ordered and a strided view are read through their strides.
    assert pm.measures(np.asfortranarray(a), b) == whole
    wide = np.zeros((a.shape[0], a.shape[1] * 2))
    wide[:, ::2] = a
    assert pm.measures(wide[:, ::2], b) == whole
    assert pm.measures(a, b, "mutual_knn,cka") == {k: whole[k] for k in ("mutual_knn", "cka")}
    assert pm.measures(a, b, ["svcca"]) == {"svcca": whole["svcca"]}


def test_no_copy_on_the_way_in_for_a_c_contiguous_array():
    a = case("random")[0].astype(np.float32)
    assert a.flags["C_CONTIGUOUS"]
    assert pm._native._input_address(a) == a.__array_interface__["data"][0]
    f64 = a.astype(np.float64)
    assert pm._native._input_address(f64) == f64.__array_interface__["data"][0]
    # A memmap too: the file's pages are read where they are mapped.
    path = os.path.join(GOLDEN, "metrics", "random_a.npy")
    mapped = np.load(path, mmap_mode="r")
    assert pm._native._input_address(mapped) == mapped.__array_interface__["data"][0]


def torch_python():
    """The python that has torch (`make test` installs .venv-torch first)."""
    python = os.environ.get("PIPELINE_TORCH_PYTHON",
                            os.path.join(ROOT, ".venv-torch", "bin", "python"))
    assert os.path.exists(python), f"{python}: no torch environment (make setup-torch)"
    return python


def test_a_torch_tensor_is_read_in_place():
    # torch lives in .venv-torch; the module is imported there from this environment's
    # site-packages (the same numpy version in both, data/requirements*.txt).
    site = os.path.dirname(os.path.dirname(pm.__file__))
    script = """
import json, sys, numpy as np, torch, pipeline_measures as pm
a, b = (np.load(p) for p in sys.argv[1:3])
ta, tb = torch.from_numpy(a), torch.from_numpy(b)
print(json.dumps({"same_address": pm._native._input_address(ta) == ta.data_ptr(),
                  "torch": pm.measures(ta, tb), "numpy": pm.measures(a, b)}))
"""
    paths = [os.path.join(GOLDEN, "metrics", f"random_{s}.npy") for s in "ab"]
    out = subprocess.run([torch_python(), "-c", script, *paths], check=True, text=True,
                         capture_output=True, env={**os.environ, "PYTHONPATH": site}).stdout
    result = json.loads(out)
    assert result["same_address"]
    assert result["torch"] == result["numpy"] == pm.measures(*case("random"))


@pytest.mark.parametrize("bad, expected", [
    (lambda a, b: (a[:, :, None], b), "expected a 2-D array"),
    (lambda a, b: (a[0], b), "expected a 2-D array"),
    (lambda a, b: (a[:-1], b), "rows against"),
    (lambda a, b: (np.where(np.arange(a.shape[1]) == 3, np.nan, a).astype(np.float32), b),
     "row 0 holds a NaN or infinite value"),
    (lambda a, b: (a, np.where(np.arange(b.shape[1]) == 0, np.inf, b)),
     "NaN or infinite"),
    (lambda a, b: (a[:0], b[:0]), "0 rows"),
    (lambda a, b: (a[:8], b[:8]), "8 rows: the metrics need at least 11"),
    (lambda a, b: (a.astype(np.int64), b), "expected a float32 or float64 array, got dtype int64"),
    (lambda a, b: ("not an array", b), "expected a 2-D array"),
    (lambda a, b: ([["x"] * 24] * 60, b), "expected a float32 or float64 array, got dtype <U1"),
    (lambda a, b: (a[:, :0], b), "no feature columns"),
])
def test_bad_input_raises_saying_what_was_expected(bad, expected):
    a, b = case("random")
    x, y = bad(a, b)
    with pytest.raises((ValueError, TypeError), match=expected):
        pm.measures(x, y)


def test_an_unknown_metric_or_level_is_named():
    a, b = case("random")
    with pytest.raises(ValueError, match="metric `nope`: unknown metric; expected `all` or"):
        pm.measure(a, b, "nope")
    with pytest.raises(ValueError, match="alpha"):
        pm.calibrate(a, b, "cka", alpha=1.5)
    with pytest.raises(ValueError, match="topk"):
        pm.measure(a, b, "mutual_knn", topk=a.shape[0])


def test_calibrate_follows_its_definitions():
    a, b = case("structured")
    r = pm.calibrate(a, b, "mutual_knn", permutations=99, seed=3, bootstrap=200)
    assert r["score"] == pm.measure(a, b, "mutual_knn") == r["tested"]
    null = np.asarray(r["null"])
    assert null.shape == (99,)
    assert r["p"] == (1 + np.sum(null >= r["tested"])) / 100
    values = np.sort(np.append(null, r["tested"]))
    tau = values[math.ceil(0.95 * 100) - 1]
    assert r["tau"] == tau
    assert r["calibrated"] == min(max((r["tested"] - tau) / (1 - tau), 0.0), 1.0)
    lo, hi = r["interval"]
    assert lo <= r["score"] <= hi
    again = pm.calibrate(a, b, "mutual_knn", permutations=99, seed=3, bootstrap=200)
    assert np.array_equal(again["null"], null)
    assert not np.array_equal(pm.calibrate(a, b, "mutual_knn", permutations=99, seed=4,
                                           bootstrap=200)["null"], null)


def test_layers_pick_the_best_pair_and_pay_for_the_choice():
    a, b = case("structured")
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(b.shape).astype(np.float32)
    b_layers = [noise, b, 0.5 * b + noise]
    r = pm.layers([a, a[:, ::-1].copy()], b_layers, "cka", permutations=49, seed=1)
    assert r["scores"].shape == r["p"].shape == (2, 3)
    i, j = r["best"]
    assert r["best_score"] == r["scores"].max() == r["scores"][i, j]
    assert r["scores"][0, 1] == pm.measure(a, b, "cka")
    assert r["corrected_p"] >= r["best_p"]
    maxima = np.asarray(r["max_null"])
    assert r["corrected_p"] == (1 + np.sum(maxima >= r["best_score"])) / 50
    assert pm.layers(np.stack([a]), np.stack([b]), "cka", permutations=9)["scores"].shape == (1, 1)


def test_the_gil_is_released_while_measuring():
    # One call that takes a while: holding the GIL throughout, it would let the other thread
    # run at most at its start (a Rust call gives Python no switch interval to preempt it).
    a, b = case("large")
    ticks = []
    started = threading.Event()
    stop = threading.Event()

    def tick():
        started.set()
        while not stop.is_set():
            ticks.append(time.perf_counter())
            stop.wait(0.001)

    t = threading.Thread(target=tick)
    t.start()
    started.wait()
    try:
        begin = time.perf_counter()
        pm.calibrate(a, b, "cka", permutations=3000, bootstrap=1000)
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    during = sum(begin < x < end for x in ticks)
    assert end - begin > 0.05, "the call was too short to tell"
    assert during > 0.2 * (end - begin) * 1000, f"{during} ticks in {end - begin:.3f} s"


def test_open_features_maps_an_artifact(tmp_path):
    rows = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "features-00000.npy", rows[:3])
    np.save(tmp_path / "features-00001.npy", rows[3:])
    (tmp_path / "features.json").write_text(json.dumps({
        "rows": 4, "dim": 3,
        "shards": [{"file": "features-00000.npy", "rows": 3},
                   {"file": "features-00001.npy", "rows": 1}]}))
    f = pm.open_features(str(tmp_path))
    assert isinstance(f.shards[0], np.memmap) and not f.shards[0].flags.writeable
    assert np.array_equal(f.array, rows)
    import duckdb  # in .venv (data/requirements.txt): writes the ids as the pipeline does
    ids = tmp_path / "features.parquet"
    duckdb.sql("copy (select * from (values ('a', 0), ('b', 1), ('c', 2), ('d', 3)) t(id, i)) "
               f"to '{ids}' (format parquet)")
    assert f.ids == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="no features.json"):
        pm.open_features(str(tmp_path / "missing"))
    (tmp_path / "features.json").write_text(json.dumps({"rows": 5, "dim": 3, "shards": []}))
    with pytest.raises(ValueError, match="other than 5 rows"):
        pm.open_features(str(tmp_path))
