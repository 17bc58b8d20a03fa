"""The packages of the real-package suite: pinned sdists, what each covers,
how its own tests run, and what is deselected for both implementations.

A package is built from its PyPI sdist (``source`` mode) or installed from
its upstream wheel built by the real cffi (``wheel`` mode), then its own
test suite runs, on rcffi and on the real cffi 2.1.1 alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Package:
    name: str  # the PyPI name
    version: str
    sha256: str  # of the sdist
    covers: tuple[str, ...]  # cffi features its build and tests exercise
    # How the tests run: "pytest" with ``test_args`` (in a copy of the sdist),
    # or "unittest" with ``suite`` = "module:function returning a TestSuite".
    runner: str = "pytest"
    test_args: tuple[str, ...] = ()
    suite: str = ""
    apt: tuple[str, ...] = ()  # Debian packages the build and tests need
    build_requires: tuple[str, ...] = ()  # pinned, installed before the build
    test_requires: tuple[str, ...] = ()  # pinned, installed before the tests
    env: dict[str, str] = field(default_factory=dict)  # build and test environment
    # Folders of the sdist removed from the test copy (the package's sources,
    # which would shadow the installed package).
    drop: tuple[str, ...] = ()
    # Test ids deselected for both implementations: id -> reason.
    deselect: dict[str, str] = field(default_factory=dict)
    service: str = ""  # "postgresql": started by the suite on loopback
    # Wheel mode: the upstream wheel's version (None: no wheel mode).
    wheel_version: str | None = None
    fast: bool = False  # the package `make test` runs
    # Test data from another sdist: (name, version, sha256, folder in that
    # sdist, where it goes in the test copy).
    test_data: tuple[tuple[str, str, str, str, str], ...] = ()
    # What the test process must have imported for the run to count
    # (a package that falls back to another backend would test nothing).
    must_import: tuple[str, ...] = ("_cffi_backend",)


PACKAGES: tuple[Package, ...] = (
    Package(
        "soundfile",
        "0.13.1",
        "b2c68dab1e30297317080a5b43df57e302584c49e2942defdde0acccc53f0e5b",
        covers=("out-of-line ABI (set_source(name, None)) via cffi_modules", "callbacks"),
        test_args=("tests",),
        apt=("libsndfile1",),
        test_requires=("numpy==2.4.6",),
        drop=("soundfile.py",),
        fast=True,
        wheel_version="0.13.1",
    ),
    Package(
        "cairocffi",
        "1.7.1",
        "2e48ee864884ec4a3a34bfa8c9ab9999f688286eb714a15a43ec9d068c36557b",
        covers=("in-line ABI mode, large cdef (cairo's API)", "callbacks (write functions)"),
        test_args=("--pyargs", "cairocffi"),
        apt=("libcairo2",),
        build_requires=("flit_core==3.12.0",),
        test_requires=("numpy==2.4.6", "pikepdf==9.11.0"),
        drop=("cairocffi",),
    ),
    Package(
        "pycryptodome",
        "3.23.0",
        "447700a657182d60338bab09fdb27518f8856aecd80ae4c6bdddb67ff5da44ef",
        covers=("in-line ABI mode (cdef + dlopen of its own libraries), many small cdefs",),
        runner="unittest",
        suite="Crypto.SelfTest:get_tests",
        drop=("lib",),
        must_import=("_cffi_backend",),
    ),
    Package(
        "xattr",
        "1.3.0",
        "30439fabd7de0787b27e9a6e1d569c5959854cb322f64ce7380fedbfa5035036",
        covers=("API mode via cffi_modules with ext_package", "errno (ffi.errno)"),
        test_args=("tests",),
        drop=("xattr",),
    ),
    Package(
        "lmdb",
        "1.7.5",
        "f0604751762cb097059d5412444c4057b95f386c7ed958363cf63f453e5108da",
        covers=(
            "verify() in-line at import (LMDB_FORCE_CFFI=1)",
            "ffi.verifier.get_extension() in setup.py (verify()'s distutils extension)",
            "callbacks",
            "errno",
            "threads",
        ),
        test_args=("tests",),
        build_requires=("patch-ng==1.18.1",),
        # The system liblmdb: with the bundled one, verify() at import compiles
        # lmdb's C files from the build folder of setup.py, gone by then (the
        # baseline fails alike).
        apt=("liblmdb-dev",),
        env={"LMDB_FORCE_CFFI": "1", "LMDB_FORCE_SYSTEM": "1"},
        deselect={
            "tests/cursor_test.py::PreloadTest::test_preload": (
                "counts the minor page faults of reading a 256 MiB value just written: "
                "depends on the page cache and memory pressure of the machine (failed on "
                "the real cffi once, passed on rcffi)"
            ),
        },
        drop=("lmdb",),
    ),
    Package(
        "brotlicffi",
        "1.2.0.1",
        "c20d5c596278307ad06414a6d95a892377ea274a5c6b790c2548c009385d621c",
        covers=("API mode via cffi_modules with ext_package", "threads (shared objects)"),
        test_args=("test",),
        drop=("src",),
        test_requires=("hypothesis==6.170.15",),
        deselect={
            "test/test_multithreaded_sharing.py::test_decompressor_concurrency": (
                "a race: expects three threads to hit the decompressor while a fourth "
                "decompresses 16 MiB; on a loaded machine the decompression ends first "
                "(failed on the real cffi here)"
            ),
        },
        # Its sdist lacks brotli's test files, which its tests read from
        # libbrotli/tests/testdata: they come from the Brotli sdist.
        test_data=(
            (
                "Brotli",
                "1.2.0",
                "e310f77e41941c13340a95976fe66a8a95b01e783d430eeaf7a2f87e0a57dd0a",
                "tests/testdata",
                "libbrotli/tests/testdata",
            ),
        ),
    ),
    Package(
        "argon2-cffi-bindings",
        "25.1.0",
        "b957f3e6ea4d55d820e40ff76f450952807013d361a65d7f28acc0acbf29229d",
        covers=("API mode via cffi_modules with ext_package", "threads (C threads of argon2)"),
        test_args=("tests",),
        build_requires=("setuptools-scm==8.3.1",),
        drop=("src",),
    ),
    Package(
        "pymunk",
        "7.3.1",
        "d36f10ac78355b5f4798d5b17e32100a1a1230258b1f37008f778ece72ddb719",
        covers=(
            'API mode via cffi_modules, extern "Python" (@ffi.def_extern)',
            "callbacks",
            "ffi.new_handle",
        ),
        test_args=("--pyargs", "pymunk.tests"),
        drop=("pymunk",),
    ),
    Package(
        "pylibsrtp",
        "1.0.0",
        "b39dff075b263a8ded5377f2490c60d2af452c9f06c4d061c7a2b640612b34d4",
        covers=("API mode via cffi_modules against a system library",),
        test_args=("tests",),
        apt=("libsrtp2-dev",),
        drop=("src",),
        wheel_version="1.0.0",
    ),
    Package(
        "pygit2",
        "1.11.1",
        "793f583fd33620f0ac38376db0f57768ef2922b89b459e75b1ac440377eb64ec",
        covers=(
            'API mode via cffi_modules, extern "Python" callbacks',
            "ffi.new_handle",
            "a CPython extension beside the cffi module",
        ),
        test_args=("test", "-p", "no:cacheprovider"),
        apt=("libgit2-dev",),
        drop=("pygit2", "src"),
        wheel_version="1.11.1",
    ),
    Package(
        "xkbcommon",
        "1.5.1",
        "ac174808dbf61d35d9da804bf33baac74bc6f2be0c108594ae93c79cd15ddc36",
        covers=("API mode via cffi_modules (set_source of a dotted name)", "callbacks"),
        test_args=("tests",),
        apt=("libxkbcommon-dev", "xkb-data"),
        drop=("xkbcommon",),
    ),
    Package(
        "psycopg2cffi",
        "2.9.0",
        "7e272edcd837de3a1d12b62185eb85c45a19feda9e62fa1b120c54f9e8d35c52",
        covers=(
            "API mode via cffi_modules with ext_package",
            "a real PostgreSQL server started by the suite (loopback)",
            "threads, callbacks (notice processor)",
        ),
        # The suite's server tests (acceptance/server/test_psycopg2cffi_server.py):
        # the sdist's psycopg2cffi/tests import psycopg2_tests, which the sdist
        # does not ship, so none of them can be collected (both alike).
        test_args=("@server/test_psycopg2cffi_server.py",),
        apt=("libpq-dev", "postgresql"),
        test_requires=("six==1.17.0",),
        drop=("psycopg2cffi",),
        service="postgresql",
    ),
)

# Wheel mode only (issue 11): upstream wheels built by the real cffi.
# name, version, what runs.
WHEEL_ONLY: tuple[Package, ...] = (
    Package(
        "pyOpenSSL",
        "25.3.0",
        "",
        covers=("cryptography's cffi module (a Rust extension embedding cffi's tables)",),
        test_args=("tests",),
        drop=("src",),
        test_requires=("pretend==1.0.9", "pytest-rerunfailures==15.1"),
        deselect={
            "tests/test_ssl.py::TestContext::test_fallback_default_verify_paths": (
                "the default certificate folder of the OpenSSL in cryptography's "
                "manylinux wheel does not exist on Debian: fails on the real cffi too"
            ),
        },
        wheel_version="25.3.0",
    ),
    Package(
        "gevent",
        "25.9.1",
        "",
        # Five of its test modules that run in one process (gevent's own runner
        # starts one process per module; test__socket and others monkey-patch
        # the process or time out under pytest on both implementations).
        covers=("the libuv-cffi event loop (GEVENT_LOOP=libuv-cffi), callbacks from libuv",),
        test_args=(
            "--pyargs",
            "gevent.tests.test__core_loop_run",
            "gevent.tests.test__core_timer",
            "gevent.tests.test__core_callback",
            "gevent.tests.test__sleep0",
            "gevent.tests.test__event",
        ),
        env={"GEVENT_LOOP": "libuv-cffi"},
        drop=("src",),
        wheel_version="25.9.1",
        must_import=("_cffi_backend", "gevent.libuv._corecffi"),
    ),
    Package(
        "sounddevice",
        "0.5.3",
        "",
        covers=("out-of-line ABI module built by the real cffi", "import + no-device smoke"),
        test_args=("@server/test_sounddevice_smoke.py",),
        apt=("libportaudio2",),
        wheel_version="0.5.3",
    ),
)


def by_name(name: str) -> Package:
    for p in PACKAGES + WHEEL_ONLY:
        if p.name.lower() == name.lower():
            return p
    raise KeyError(name)
