# The user's day (README.md). Every target depends on `setup`, so any of them works on a fresh
# clone. Tests and CI use the dev profile: release builds of this stack take 20+ min on 2 cores.
SHELL := /bin/bash
CARGO ?= cargo
# Cargo.lock is the build's lock file: no cargo command here may change it.
LOCKED := --locked
# `make all CONFIG=research.toml`: another experiment file (export_research.py writes that one).
CONFIG ?=
PIPELINE := target/debug/pipeline$(if $(CONFIG), --config $(CONFIG))

.PHONY: all setup setup-large setup-torch build python features report sweeps modelset test test-build browser lint check-cuda gpu-check gpu-check-build bench bench-scale soak fuzz slurm-start slurm-stop

# The whole day on the embedded default: every stage of pipeline.toml (features, both research
# experiments, align, probe, report), reusing what is fresh; ends with the report's path.
all: build
	$(PIPELINE) run
	@echo "report: $$($(PIPELINE) show report)/index.html"

report: all

setup:
	@python3 data/setup.py all

# Optional bigger encoders (EfficientNet-Lite2, all-mpnet-base-v2); not used by CI.
setup-large: setup
	@python3 data/setup.py large

# torch, torchvision and transformers in .venv-torch (~5 GB: torch's PyPI wheel is its CUDA build)
# for data/models/export_research.py and the test that checks its exports against torch.
setup-torch:
	@python3 data/setup.py torch

build: setup
	$(CARGO) build $(LOCKED) --bin pipeline

# The measures as a Python module (python/, docs/python.md): a wheel built by maturin from the
# `measures` crate alone (no ONNX Runtime, Burn or polars), on the dev profile that the CLI and
# the tests use, into target/wheels, and installed into .venv. The folder is emptied first: a
# wheel of an earlier build (another platform tag) would be installed beside this one.
python: setup
	rm -rf target/wheels
	.venv/bin/maturin build $(LOCKED) --quiet --profile dev -m python/Cargo.toml \
	  -i .venv/bin/python --out target/wheels
	.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
	  --force-reinstall target/wheels/pipeline_measures-*.whl

# Ingest and every encoder, once: features for the dataset and the probe set.
features: build
	$(PIPELINE) run --stage features

# The sweeps shipped in pipeline.toml (`make all` does not run them): each member's stages, then
# the compare tables, printed.
sweeps: build
	$(PIPELINE) sweep seeds -j 2
	$(PIPELINE) compare seeds
	$(PIPELINE) sweep caption_uniqueness -j 2
	$(PIPELINE) compare caption_uniqueness
	$(PIPELINE) sweep sample_size -j 2
	$(PIPELINE) compare sample_size

# The [modelset] alignment matrix (every listed encoder pair, each score against its permutation
# null) and alignment against each encoder's competence, on the encoders pipeline.toml names;
# `make all` runs them too.
modelset: build
	$(PIPELINE) run --stage probe:modelset
	@echo "matrix: $$($(PIPELINE) show align:modelset)/modelset.svg"
	@echo "competence: $$($(PIPELINE) show probe:modelset)/competence.svg"

# The tests: setup checks, then every test binary (scripts/run-tests: per-test times, the ten
# slowest at the end) with a real one-node Slurm up for the tests of `pipeline submit`, then the
# Python module's (pytest).
test: setup setup-torch browser python
	python3 data/test_setup.py
	scripts/slurm-local start
	scripts/run-tests; rc=$$?; scripts/slurm-local stop; exit $$rc

# The test binaries only (CI times the build apart from the run): not the examples, which
# `make lint` compiles (every target) and `make bench` runs.
test-build: setup
	$(CARGO) test $(LOCKED) --workspace --lib --bins --tests --no-run

# A real one-node Slurm cluster for `pipeline submit` (the tests start and stop it themselves).
slurm-start:
	scripts/slurm-local start

slurm-stop:
	scripts/slurm-local stop

# Longer runs of the reliability tests that `make test` runs briefly: the soak of killed and
# finished runs (200 in `make test`), and the readers' fuzzing (2 s per reader in `make test`).
soak: setup
	SOAK_RUNS=2000 $(CARGO) test $(LOCKED) -p pipeline --test e2e soak -- --nocapture

fuzz: setup
	FUZZ_SECS=60 $(CARGO) test $(LOCKED) -p stages --test stages fuzz -- --nocapture
	FUZZ_SECS=60 $(CARGO) test $(LOCKED) -p pipeline --test e2e fuzz_config -- --nocapture

# The report test renders the page in Debian's headless Chromium.
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the report test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null; }; }

# The one definition of the lints (CI runs this): formatting, and one clippy pass over every
# target built with the `cuda` feature, so the code behind it is linted too (it needs no GPU to
# build). What only the CPU build compiles is two one-line items (stages' `accelerator()` and
# `TrainBackend`); a second, CPU pass would check Burn, ONNX Runtime and both crates again for
# them.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy $(LOCKED) --workspace --all-targets --features pipeline/cuda -- -D warnings

# The CUDA paths compile (ONNX Runtime's CUDA execution provider); running them needs a GPU.
check-cuda:
	$(CARGO) check $(LOCKED) --workspace --features pipeline/cuda

# The CUDA paths on a GPU (stages/examples/gpu_check.rs): gpu-check-build gathers under
# target/gpu-check a stripped check binary built with the `cuda` feature and the embedded
# default's cached features (that folder travels to a lent GPU machine); gpu-check runs it
# there (exit 2 on a machine without a GPU, 1 when a check fails).
gpu-check-build: features
	$(CARGO) build $(LOCKED) -p stages --example gpu_check --features stages/cuda
	scripts/gpu-check-build

gpu-check:
	scripts/gpu-check

bench: setup python
	$(CARGO) run $(LOCKED) -q -p pipeline --example bench_engine
	$(CARGO) build $(LOCKED) -q -p pipeline --bin pipeline-toy --bin pipeline
	$(CARGO) run $(LOCKED) -q -p pipeline --example bench_sweep
	$(CARGO) run $(LOCKED) -q -p pipeline --example bench_slurm
	$(CARGO) run $(LOCKED) -q -p stages --example bench_features
	$(CARGO) run $(LOCKED) -q -p stages --example bench_train
	$(CARGO) run $(LOCKED) -q -p stages --example bench_metrics
	$(CARGO) run $(LOCKED) -q -p stages --example bench_resample
	$(CARGO) run $(LOCKED) -q -p stages --example bench_modelset
	.venv/bin/python python/bench/bench_measures.py

# Every stage's time and peak memory at N = 1k, 3k, 10k, 30k images of a Fashion-MNIST dataset
# with five captions each (stages/examples/bench_scale.rs); writes docs/scaling.{md,svg}.
# Over an hour on 2 cores, most of it the encoders; not run by CI.
bench-scale: setup
	$(CARGO) build $(LOCKED) --bin pipeline
	$(CARGO) build $(LOCKED) -p stages --example bench_metrics
	$(CARGO) run $(LOCKED) -q -p stages --example bench_scale
