"""emulpickle plugin for pandas: real DataFrame, Series and Index objects
from untrusted pickles, built by the installed pandas' own constructors on
checked arguments, never by loading with pickle.

::

    import emulpickle_pandas

    frame = emulpickle_pandas.read_pickle("data.pkl")  # like pandas.read_pickle

``register(registry)`` is the ``emulpickle.plugins`` entry point: it teaches
a registry the globals pandas' pickles name (block managers and blocks,
every Index kind, extension arrays and dtypes, scalars, date offsets, time
zones). See docs/pandas.md for what is trusted and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulpickle import Registry

    from ._base import resolve_pending
    from ._read import pandas_registry, read_pickle

__all__ = ["CLAIMS", "pandas_registry", "read_pickle", "register", "resolve_pending"]

__version__ = "0.1.0"

#: The modules whose globals :func:`register` answers (tested): the scanner
#: loads this plugin, and imports pandas, only when a pickle names something
#: in one of them.
CLAIMS = ("pandas", "zoneinfo", "pytz", "pyarrow")

_LAZY = {
    "pandas_registry": "._read",
    "read_pickle": "._read",
    "resolve_pending": "._base",
}


def register(registry: Registry) -> None:
    """Entry point: teach ``registry`` the globals pandas' pickles name."""
    from ._arrays import register_arrays
    from ._arrow import register_arrow
    from ._base import register_pending_setter
    from ._builtins import register_encoders
    from ._dtypes import register_dtypes
    from ._frames import register_frames
    from ._indexes import register_indexes
    from ._scalars import register_scalars

    # emulpickle.to_builtins (emulpickle json) writes frames as summaries.
    register_encoders()
    register_pending_setter(registry)
    register_scalars(registry)
    register_dtypes(registry)
    register_arrays(registry)
    register_arrow(registry)
    register_indexes(registry)
    register_frames(registry)


def __getattr__(name: str) -> Any:
    # Importing the plugin stays cheap (no pandas) until it is used.
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(where, __name__), name)
