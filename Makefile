# The user's day (README.md). Every target depends on `setup`, so any of them works on a fresh
# clone. Tests and CI use the dev profile: release builds of this stack take 20+ min on 2 cores.
SHELL := /bin/bash
CARGO ?= cargo
PIPELINE := target/debug/pipeline

.PHONY: all setup setup-large build test lint bench

all: build
	$(PIPELINE) run

setup:
	@python3 data/setup.py all

# Optional bigger encoders (EfficientNet-Lite2, all-mpnet-base-v2); not used by CI.
setup-large: setup
	@python3 data/setup.py large

build: setup
	$(CARGO) build --bin pipeline

test: setup
	python3 data/test_setup.py
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

bench: setup
	$(CARGO) run -q -p pipeline --example bench_engine
