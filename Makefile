# rcffi — the two commands of the README are `make demo` and `make test`.
PYTHON ?= python3
SO := python/rcffi/_rcffi.abi3.so
export PYTHONPATH := $(CURDIR)/python
# Rust unit tests link libpython (pyo3 without extension-module).
export LD_LIBRARY_PATH := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')"):$(LD_LIBRARY_PATH)

.PHONY: build demo test dev-deps lint rust-test pytest conformance bench-parse clean

build:
	cargo build --release --features extension-module
	cp target/release/lib_rcffi.so $(SO)

demo: build
	$(PYTHON) examples/demo.py

dev-deps:
	$(PYTHON) -m pip install -q -r requirements-dev.txt

lint: dev-deps
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	$(PYTHON) -m ruff check python tests conformance examples bench
	$(PYTHON) -m ruff format --check python tests conformance examples bench

rust-test:
	cargo test

pytest: build
	$(PYTHON) -m pytest -q tests

conformance: build
	$(PYTHON) conformance/run.py --suite all

test: lint rust-test pytest conformance

bench-parse: build
	$(PYTHON) bench/parse_bench.py

clean:
	cargo clean
	rm -f $(SO)
