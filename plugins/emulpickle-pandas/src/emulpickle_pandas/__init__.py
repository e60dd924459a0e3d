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

from emulpickle import Registry

from ._arrays import register_arrays
from ._arrow import register_arrow
from ._base import register_pending_setter, resolve_pending
from ._builtins import register_encoders
from ._dtypes import register_dtypes
from ._frames import register_frames
from ._indexes import register_indexes
from ._read import pandas_registry, read_pickle
from ._scalars import register_scalars

__all__ = ["pandas_registry", "read_pickle", "register", "resolve_pending"]

__version__ = "0.1.0"

# emulpickle.to_builtins (emulpickle json) writes frames as summaries.
register_encoders()


def register(registry: Registry) -> None:
    """Entry point: teach ``registry`` the globals pandas' pickles name."""
    register_pending_setter(registry)
    register_scalars(registry)
    register_dtypes(registry)
    register_arrays(registry)
    register_arrow(registry)
    register_indexes(registry)
    register_frames(registry)
