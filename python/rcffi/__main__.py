"""``python -m rcffi``: see :mod:`rcffi.cli`."""

import sys

from .cli import main

sys.exit(main())
