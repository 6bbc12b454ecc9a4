"""`make bench` (Python module part): pipeline_measures beside `pipeline metric` on the same files
(the module must not be slower) and beside platonic-rep's dense torch formulation
(platonic_dense.py, in f32 and f64, run by a python that has torch: PIPELINE_TORCH_PYTHON, else
.venv-torch), on n = 5,000 rows of d = 1,280 features: mutual kNN, CKA, unbiased CKA and CKNNA
together. Prints seconds and ratios, and the largest difference between the values.
BENCH_MEASURES_N sets n.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import pipeline_measures as pm

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
METRICS = ["mutual_knn", "cka", "unbiased_cka", "cknna"]
N, D = int(os.environ.get("BENCH_MEASURES_N", "5000")), 1280


def best_of(runs, f):
    times, value = [], None
    for _ in range(runs):
        clock = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - clock)
    return min(times), value


def torch_python():
    for python in (os.environ.get("PIPELINE_TORCH_PYTHON"),
                   os.path.join(ROOT, ".venv-torch", "bin", "python")):
        if python and shutil.which(python) and subprocess.run(
                [python, "-c", "import torch"], capture_output=True).returncode == 0:
            return python
    return None


def main():
    # Two views of a shared 64-d signal plus noise: realistic, non-degenerate neighbours.
    rng = np.random.default_rng(1)
    z = rng.uniform(-0.5, 0.5, (N, 64))
    a = (z @ rng.uniform(-0.5, 0.5, (64, D)) + rng.uniform(-0.5, 0.5, (N, D))).astype(np.float32)
    b = (z @ rng.uniform(-0.5, 0.5, (64, D)) + rng.uniform(-0.5, 0.5, (N, D))).astype(np.float32)
    work = tempfile.mkdtemp(prefix="bench-measures-")
    try:
        paths = [os.path.join(work, f"{s}.npy") for s in "ab"]
        np.save(paths[0], a)
        np.save(paths[1], b)
        pm.measures(a[:200], b[:200], METRICS)  # rayon's pool started once, as in a session
        module_s, ours = best_of(2, lambda: pm.measures(a, b, METRICS))
        pipeline = os.path.join(ROOT, "target", "debug", "pipeline")
        cli_s, printed = best_of(2, lambda: subprocess.run(
            [pipeline, "metric", *paths, "--metric", ",".join(METRICS)],
            check=True, capture_output=True, text=True).stdout)
        assert json.loads(printed) == ours, "the module and the CLI disagree"
        print(f"python module on n = {N}, d = {D} (float32 in; {', '.join(METRICS)}):")
        print(f"  pipeline_measures.measures  {module_s:7.2f} s")
        print(f"  pipeline metric (process)   {cli_s:7.2f} s   module / CLI "
              f"{module_s / cli_s:.2f} (at most 1: the same code, no process or file)")
        python = torch_python()
        if python is None:
            print("  platonic-rep dense torch: skipped (no torch: make setup-torch, or set "
                  "PIPELINE_TORCH_PYTHON)")
            return
        for precision in ("f32", "f64"):
            out = json.loads(subprocess.run(
                [python, os.path.join(os.path.dirname(__file__), "platonic_dense.py"), *paths,
                 precision, "10"], check=True, capture_output=True, text=True).stdout)
            diffs = ", ".join(f"{m} {out[m] - ours[m]:+.1e}" for m in METRICS)
            print(f"  platonic-rep dense torch {precision} {out['seconds']:7.2f} s   torch / module "
                  f"{out['seconds'] / module_s:5.1f}x   torch - module: {diffs}")
        print("  (platonic-rep adds 1e-6 to the CKA-type denominators and this project does not,"
              " docs/science.md: unbiased CKA and CKNNA differ by it; without it, 1e-13)")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
