# rcffi — the two commands of the README are `make demo` and `make test`.
# Everything runs in a project-local virtualenv (`.venv`, made on first use
# from BASE_PYTHON with requirements-dev.txt); nothing is installed into
# another interpreter.  `make test PYTHON=/path/to/python` uses that
# interpreter instead (and installs requirements-dev.txt into it).
BASE_PYTHON ?= python3
VENV := $(CURDIR)/.venv
ifeq ($(origin PYTHON), undefined)
PYTHON := $(VENV)/bin/python
# The interpreter alone (what `make demo` needs), and with requirements-dev.txt.
INTERP := $(VENV)/bin/python
DEPS := $(VENV)/.deps-done
else
INTERP :=
DEPS := $(CURDIR)/build/.deps-done-$(subst /,_,$(PYTHON))
endif
SO := python/rcffi/_rcffi.abi3.so
export PYTHONPATH := $(CURDIR)/python
# The PyO3 crate's unit tests link libpython (pyo3 without extension-module);
# the core crate's need nothing.
export LD_LIBRARY_PATH := $(shell $(BASE_PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')"):$(LD_LIBRARY_PATH)

.PHONY: build demo test dev-deps lint rust-test pytest stubtest conformance acceptance acceptance-wheels multi-python wheel-check docs bench bench-parse bench-memory leak-check clean

build:
	cargo build --release --features extension-module
	cp target/release/lib_rcffi.so $(SO)

# The demo needs rcffi and the standard library only.
demo: build $(INTERP)
	$(PYTHON) examples/demo.py

dev-deps: $(DEPS)

$(VENV)/bin/python:
	$(BASE_PYTHON) -m venv $(VENV)

$(VENV)/.deps-done: requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(BASE_PYTHON) -m venv $(VENV); }
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(CURDIR)/build/.deps-done-%: requirements-dev.txt
	mkdir -p build
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

lint: dev-deps
	cargo fmt --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(PYTHON) -m ruff check python tests conformance acceptance examples bench
	$(PYTHON) -m ruff format --check python tests conformance acceptance examples bench

rust-test:
	cargo test --workspace

pytest: build dev-deps
	$(PYTHON) -m pytest -q tests

# python/rcffi/__init__.pyi against the built module (names, signatures);
# names that exist only at run time are listed with reasons in the allowlist.
stubtest: build dev-deps
	$(PYTHON) -m mypy.stubtest rcffi --mypy-config-file python/stubtest-mypy.ini \
		--allowlist python/stubtest-allowlist.txt

conformance: build dev-deps
	$(PYTHON) conformance/run.py --suite all

# The real-package suite (acceptance/README.md): packages from their PyPI
# sdists on rcffi and on the real cffi 2.1.1, each in a private venv under
# .cache/acceptance; prints the table.  `make test` runs its fast package
# (tests/test_acceptance_fast.py).
acceptance: build dev-deps
	$(PYTHON) acceptance/run.py

# The same with the packages' upstream wheels, built by the real cffi.
acceptance-wheels: build dev-deps
	$(PYTHON) acceptance/run.py --mode wheel

# The abi3 wheel on every CPython of pyenv (3.10 to 3.13): install + smoke.
multi-python: build
	$(PYTHON) tests/multi_python.py

# `pip install .` on a fresh venv: the wheel builds and imports.  Then
# examples/example_build installs there as its README says (pip finds
# rcffi in a folder of wheels, setuptools on the index) and runs.
wheel-check:
	rm -rf build/wheel-venv build/wheels build/example_build
	$(PYTHON) -m venv build/wheel-venv
	build/wheel-venv/bin/python -m pip install -q .
	cd build && env -u PYTHONPATH wheel-venv/bin/python -c "import rcffi; ffi = rcffi.FFI(); ffi.cdef('struct s { int a; char b; };'); assert ffi.sizeof('struct s') == 8; print('wheel-check: ok', rcffi.__file__)"
	build/wheel-venv/bin/python -m pip wheel -q --no-deps -w build/wheels .
	rm -rf build/example_build && cp -r examples/example_build build/
	env -u PYTHONPATH build/wheel-venv/bin/python -m pip install -q --disable-pip-version-check \
		--find-links build/wheels ./build/example_build
	cd build && env -u PYTHONPATH wheel-venv/bin/python -c "import use_example; use_example.main()"

# docs/ as a website in site/ (mkdocs.yml); strict: a broken link fails.
docs: dev-deps
	$(PYTHON) -m mkdocs build

test: lint rust-test pytest stubtest conformance wheel-check docs multi-python

# The benchmarks of the README, each against cffi in the same run.  The
# real cffi (and Cython) go into a virtualenv of their own, never into
# .venv, where rcffi stands in for cffi in the tests.
BENCH_VENV := $(CURDIR)/.cache/bench-venv
bench: build $(BENCH_VENV)/.deps-done
	$(BENCH_VENV)/bin/python bench/mandel_bench.py

$(BENCH_VENV)/.deps-done: bench/requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(BASE_PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check -r bench/requirements.txt
	touch $@

bench-parse: build $(BENCH_VENV)/.deps-done
	$(BENCH_VENV)/bin/python bench/parse_bench.py

bench-memory: build $(BENCH_VENV)/.deps-done
	$(BENCH_VENV)/bin/python bench/memory_bench.py

# The memory loop of tests/test_memory_rss.py under valgrind (the real
# interpreter binary: pyenv's python3 is a shell script).
PYBIN = $(shell $(PYTHON) -c "import sys; print(sys.executable)")
leak-check: build
	PYTHONMALLOC=malloc valgrind --leak-check=full --num-callers=40 \
		$(PYBIN) tests/test_memory_rss.py --cycles 2000

clean:
	cargo clean
	rm -f $(SO)
