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

from .api import FFI  # noqa: E402

__version__ = "0.1.0"
__version_info__ = (0, 1, 0)

__all__ = [
    "FFI",
    "CDefError",
    "FFIError",
    "PkgConfigError",
    "VerificationError",
    "VerificationMissing",
    "__version__",
]
