"""The Mandelbrot workload shared by ``make demo`` (examples/demo.py) and
``make bench`` (bench/mandel_bench.py).

The C code of this folder is compiled into one shared library; each
*contender* (a way to call C from Python) then draws the same image two
ways:

* **one call** — Python calls C ``create_fractal(img, iters)`` once (the
  ``Img`` struct passed by value): C does all the work;
* **many calls** — a Python loop calls C ``mandel()`` for every pixel
  (1.5 million calls at 1500x1000) and stores the result into the image:
  this measures the cost of a call through the tool.

Contenders: rcffi in ABI mode (``ffi.dlopen``) and in API mode
(``set_source`` + ``compile``), ctypes, and — when the real ``cffi`` is
importable — cffi in ABI and API mode, and for ``make bench`` Cython when
it is installed.  Every image is compared byte for byte with C's.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCES = [HERE / "mandel.c", HERE / "create_fractal.c", HERE / "micro.c"]
HEADERS = ["create_fractal.h", "micro.h"]
CFLAGS = ["-O3", "-ffp-contract=off"]

CFFI_MISSING = (
    "cffi is not installed in this environment, so its rows are missing: "
    "`make bench` runs the same comparison with cffi (it makes its own "
    "virtualenv under .cache/), or `pip install cffi` here."
)


def cdef_text() -> str:
    """The declarations of the library (``create_fractal.h`` + ``micro.h``)."""
    return "\n".join((HERE / h).read_text() for h in HEADERS)


def compiler() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("this needs a C compiler (cc or gcc) on PATH")
    return cc


def build_library(outdir: Path) -> Path:
    """Compile this folder's C (and the reference of the Python loop,
    ``pycoords.c``) into ``outdir/libcreate_fractal.so``."""
    lib = outdir / "libcreate_fractal.so"
    sources = [*SOURCES, HERE / "pycoords.c"]
    cmd = [compiler(), "-shared", "-fPIC", *CFLAGS, f"-I{HERE}", "-o", str(lib)]
    subprocess.run(cmd + [str(s) for s in sources], check=True)
    return lib


def python_loop(image: Any, iters: int, func: Callable, oneval: Any) -> int:
    """The Python loop of the "many calls" rows: one C ``mandel()`` call per
    pixel, -2 < real < 1 across and -1 < imag < 1 down."""
    pixel_size_x = 3.0 / image.width
    pixel_size_y = 2.0 / image.height
    for y in range(image.height):
        imag = y * pixel_size_y - 1
        yy = y * image.width
        for x in range(image.width):
            real = x * pixel_size_x - 2
            ret = func(real, imag, iters, oneval)
            if ret < 0:
                return ret
            image.data[yy + x] = oneval[0]
    return 0


@dataclass
class Images:
    """C's images: ``one`` from ``create_fractal`` (float coordinates) and
    ``loop`` from ``create_fractal_pycoords`` (the coordinates computed in
    double, as the Python loop does; a few border pixels differ)."""

    width: int
    height: int
    one: bytes
    loop: bytes
    c_ms: float


@dataclass
class Result:
    name: str
    one_ms: float
    many_ms: float
    one_ok: bool
    many_ok: bool
    micro_ns: dict[str, float] = field(default_factory=dict)


class FfiContender:
    """A contender with cffi's API: rcffi or cffi, in ABI or API mode."""

    def __init__(self, name: str, ffi: Any, lib: Any) -> None:
        self.name, self.ffi, self.lib = name, ffi, lib

    def one_call(self, width: int, height: int, iters: int) -> tuple[float, bytes]:
        ffi = self.ffi
        img = ffi.new("Img[1]", [{"width": width, "height": height}])
        img[0].data = data = ffi.new(f"unsigned char[{width * height}]")
        t0 = time.process_time()
        self.lib.create_fractal(img[0], iters)
        return (time.process_time() - t0) * 1e3, ffi.buffer(data)[:]

    def many_calls(self, width: int, height: int, iters: int) -> tuple[float, bytes]:
        ffi = self.ffi
        img = ffi.new("Img[1]", [{"width": width, "height": height}])
        img[0].data = data = ffi.new(f"unsigned char[{width * height}]")
        value = ffi.new("unsigned char[1]")
        t0 = time.process_time()
        python_loop(img[0], iters, self.lib.mandel, value)
        return (time.process_time() - t0) * 1e3, ffi.buffer(data)[:]

    def micro(self) -> dict[str, tuple[str, dict]]:
        """The per-call statements: ``{label: (statement, namespace)}``."""
        img = self.ffi.new("Img *", {"width": 3, "height": 4})
        ns = {"lib": self.lib, "img": img[0], "b64": bytes(range(64))}
        return _micro_statements(ns)


def _micro_statements(ns: dict) -> dict[str, tuple[str, dict]]:
    lib = ns["lib"]
    ns = dict(ns, add=lib.add, noop=lib.noop, fma3=lib.fma3, sum_bytes=lib.sum_bytes)
    ns["area"] = lib.area
    return {
        "add(1, 2)": ("add(1, 2)", ns),
        "noop()": ("noop()", ns),
        "fma3(1.0, 2.0, 3.0)": ("fma3(1.0, 2.0, 3.0)", ns),
        "sum_bytes(b, 64)": ("sum_bytes(b64, 64)", ns),
        "area(img)": ("area(img)", ns),
    }


class CtypesContender:
    """ctypes: every struct and signature declared again by hand."""

    name = "ctypes"

    def __init__(self, lib_path: Path) -> None:
        import ctypes

        class CImg(ctypes.Structure):
            _fields_ = [
                ("width", ctypes.c_int),
                ("height", ctypes.c_int),
                ("data", ctypes.POINTER(ctypes.c_uint8)),
            ]

        dll = ctypes.CDLL(str(lib_path))
        dll.create_fractal.argtypes = [CImg, ctypes.c_int]
        dll.mandel.argtypes = [
            ctypes.c_float,
            ctypes.c_float,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_uint8),
        ]
        dll.add.argtypes = [ctypes.c_int, ctypes.c_int]
        dll.noop.argtypes, dll.noop.restype = [], None
        dll.fma3.argtypes = [ctypes.c_double] * 3
        dll.fma3.restype = ctypes.c_double
        dll.sum_bytes.argtypes = [ctypes.c_char_p, ctypes.c_int]
        dll.area.argtypes = [CImg]
        self.ctypes, self.CImg, self.dll = ctypes, CImg, dll

    def _image(self, width: int, height: int):
        buf = (self.ctypes.c_uint8 * (width * height))()
        return self.CImg(width, height, buf), buf

    def one_call(self, width: int, height: int, iters: int) -> tuple[float, bytes]:
        img, buf = self._image(width, height)
        t0 = time.process_time()
        self.dll.create_fractal(img, iters)
        return (time.process_time() - t0) * 1e3, bytes(buf)

    def many_calls(self, width: int, height: int, iters: int) -> tuple[float, bytes]:
        img, buf = self._image(width, height)
        value = (self.ctypes.c_uint8 * 1)()
        t0 = time.process_time()
        python_loop(img, iters, self.dll.mandel, value)
        return (time.process_time() - t0) * 1e3, bytes(buf)

    def micro(self) -> dict[str, tuple[str, dict]]:
        img, _buf = self._image(3, 4)
        return _micro_statements({"lib": self.dll, "img": img, "b64": bytes(range(64))})


class CythonContender:
    """Cython (when it is installed): ``mandel_cython.pyx``, a ``cdef
    extern`` wrapper compiled with this folder's C into an extension."""

    name = "Cython"

    def __init__(self, build_dir: Path) -> None:
        from Cython.Build import cythonize
        from setuptools import Extension
        from setuptools.dist import Distribution

        ext = Extension(
            "_mb_cython",
            [str(HERE / "mandel_cython.pyx"), *map(str, SOURCES)],
            include_dirs=[str(HERE)],
            extra_compile_args=CFLAGS,
        )
        modules = cythonize([ext], quiet=True, build_dir=str(build_dir / "cython"))
        cmd = Distribution({"ext_modules": modules}).get_command_obj("build_ext")
        cmd.build_lib, cmd.build_temp = str(build_dir), str(build_dir / "cython-tmp")
        cmd.ensure_finalized()
        cmd.run()
        self.mod = _import_from(build_dir, "_mb_cython")

    def one_call(self, width: int, height: int, iters: int) -> tuple[float, bytes]:
        image = self.mod.Image(width, height)
        t0 = time.process_time()
        self.mod.create_fractal(image, iters)
        return (time.process_time() - t0) * 1e3, bytes(image.data)

    def many_calls(self, width: int, height: int, iters: int) -> tuple[float, bytes]:
        image = self.mod.Image(width, height)
        value = bytearray(1)
        t0 = time.process_time()
        python_loop(image, iters, self.mod.mandel, value)
        return (time.process_time() - t0) * 1e3, bytes(image.data)

    def micro(self) -> dict[str, tuple[str, dict]]:
        img = self.mod.Image(3, 4)
        return _micro_statements({"lib": self.mod, "img": img, "b64": bytes(range(64))})


def _import_from(build_dir: Path, module_name: str) -> Any:
    sys.path.insert(0, str(build_dir))
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(str(build_dir))


def api_module(ffi_module: Any, module_name: str, build_dir: Path) -> Any:
    """Build this folder's C as an API-mode module with ``ffi_module``'s
    ``FFI`` (rcffi or cffi) into ``build_dir`` and import it."""
    builder = ffi_module.FFI()
    builder.cdef(cdef_text())
    builder.set_source(
        module_name,
        "".join(f'#include "{h}"\n' for h in HEADERS),
        sources=[str(src) for src in SOURCES],
        include_dirs=[str(HERE)],
        extra_compile_args=CFLAGS,
    )
    builder.compile(tmpdir=str(build_dir))
    return _import_from(build_dir, module_name)


def abi_contender(name: str, ffi_module: Any, lib_path: Path) -> FfiContender:
    ffi = ffi_module.FFI()
    ffi.cdef(cdef_text())
    return FfiContender(name, ffi, ffi.dlopen(str(lib_path)))


def real_cffi() -> Any | None:
    """The real cffi if it is importable (not rcffi standing in for it)."""
    try:
        import cffi
    except ImportError:
        return None
    return None if cffi.__name__ != "cffi" or hasattr(cffi, "install_as_cffi") else cffi


def contenders(
    lib_path: Path, build_dir: Path, with_cython: bool = False
) -> list[Callable[[], Any]]:
    """Makers of the contenders, in the order of the tables (each is made
    when its turn comes, so the API-mode builds are not timed); Cython's
    with ``with_cython`` when it is installed."""
    import rcffi

    makers: list[Callable[[], Any]] = [
        lambda: abi_contender("rcffi ABI", rcffi, lib_path),
        lambda: FfiContender("rcffi API", *_ffi_lib(api_module(rcffi, "_mb_rcffi", build_dir))),
        lambda: CtypesContender(lib_path),
    ]
    cffi = real_cffi()
    if cffi is not None:
        makers.append(lambda: abi_contender("cffi ABI", cffi, lib_path))
        makers.append(
            lambda: FfiContender("cffi API", *_ffi_lib(api_module(cffi, "_mb_cffi", build_dir)))
        )
    if with_cython and importlib.util.find_spec("Cython") is not None:
        makers.append(lambda: CythonContender(build_dir))
    return makers


def _ffi_lib(module: Any) -> tuple[Any, Any]:
    return module.ffi, module.lib


def c_images(lib_path: Path, width: int, height: int, iters: int, runs: int = 3) -> Images:
    """C's two reference images, and the best CPU time of ``runs`` calls of
    ``create_fractal`` (through rcffi ABI mode: one call costs nothing
    next to the C work)."""
    import rcffi

    ffi = rcffi.FFI()
    ffi.cdef(cdef_text())
    ffi.cdef("int create_fractal_pycoords(Img img, int iters);")
    lib = ffi.dlopen(str(lib_path))
    img = ffi.new("Img[1]", [{"width": width, "height": height}])
    img[0].data = data = ffi.new(f"unsigned char[{width * height}]")
    best = float("inf")
    for _ in range(runs):
        t0 = time.process_time()
        lib.create_fractal(img[0], iters)
        best = min(best, (time.process_time() - t0) * 1e3)
    one = ffi.buffer(data)[:]
    lib.create_fractal_pycoords(img[0], iters)
    return Images(width, height, one, ffi.buffer(data)[:], best)
