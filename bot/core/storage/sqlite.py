"""sqlite-utils, imported without numpy and pandas.

sqlite-utils imports numpy and pandas when they are installed, for type adapters the bot never uses; the
charts' matplotlib installs numpy, and loading it at every start would cost about 0.1 s and 15 MiB. They
are hidden while sqlite-utils is imported (so it takes them as absent) and visible again afterwards, so a
chart still imports numpy when one is drawn.
"""

from __future__ import annotations

import sys


def _import():
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import numpy" now raises ImportError
    try:
        import sqlite_utils
        from sqlite_utils.db import Table
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]
    return sqlite_utils, Table


sqlite_utils, Table = _import()

__all__ = ["Table", "sqlite_utils"]
