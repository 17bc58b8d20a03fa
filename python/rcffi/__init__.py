"""rcffi: CFFI, the C Foreign Function Interface for Python, with a Rust core.

``import rcffi as cffi`` gives the same API as cffi.
"""

import sys as _sys

from . import _rcffi
from ._rcffi import (
    CDefError,
    FFIError,
    PkgConfigError,
    VerificationError,
    VerificationMissing,
)

_cffi_backend = _rcffi._cffi_backend
_sys.modules[__name__ + "._cffi_backend"] = _cffi_backend


class VerificationWarning(UserWarning):
    """The C compiler accepted a declaration of the cdef with a warning
    (e.g. a parameter declared as another pointer type)."""


from . import api  # noqa: E402,F401
from .api import FFI  # noqa: E402

# The classes of the backend, for annotations (``rcffi.CData`` ...).
CType = _cffi_backend.CType
CField = _cffi_backend.CField
CData = _cffi_backend._CDataBase
buffer = _cffi_backend.buffer

__version__ = "0.1.0"
__version_info__ = (0, 1, 0)


def set_gil_release(mode: str) -> str:
    """When calls of C functions release the GIL: ``"auto"`` (the default)
    when another thread could take it meanwhile (another thread in the
    interpreter, or a callback made by rcffi alive), ``"always"`` around
    every call, as cffi.  Returns the mode in force before.  The
    environment variable ``RCFFI_RELEASE_GIL`` sets it at import."""
    return _cffi_backend._rcffi_gil_release(mode)


def _gil_release_from_environment() -> None:
    import os

    mode = os.environ.get("RCFFI_RELEASE_GIL")
    if mode:
        try:
            set_gil_release(mode)
        except ValueError as e:
            import warnings

            warnings.warn(f"RCFFI_RELEASE_GIL ignored: {e}", RuntimeWarning, stacklevel=2)


_gil_release_from_environment()


def install_as_cffi() -> None:
    """From now on, ``import cffi`` and ``import _cffi_backend`` in this
    process give rcffi, so programs written for cffi run on rcffi.
    ``cffi.__version__`` is then the version of cffi rcffi implements
    (see :mod:`rcffi._as_cffi`)."""
    from . import _as_cffi

    _as_cffi.install_as_cffi()


__all__ = [
    "FFI",
    "CDefError",
    "FFIError",
    "PkgConfigError",
    "VerificationError",
    "VerificationMissing",
    "VerificationWarning",
    "__version__",
    "install_as_cffi",
    "set_gil_release",
]
