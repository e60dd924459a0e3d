"""``torch_load``: a drop-in for ``torch.load`` that runs nothing a file names."""

from __future__ import annotations

import pickle
from typing import Any

from ._real import Restore, import_torch, to_torch

__all__ = ["torch_load"]

#: Options of emulpickle (not of torch.load) that torch_load passes on.
_EMULPICKLE_OPTIONS = frozenset(
    [
        "unknown",
        "registry",
        "limits",
        "max_inflate",
        "find_class",
        "fix_imports",
        "errors",
    ]
)


def _restore_for(torch: Any, map_location: Any) -> tuple[Restore, bool]:
    """torch's ``restore_location`` for ``map_location``, and whether it is meta.

    The same rules as ``torch.serialization._get_restore_location``: None
    keeps the saved device, a string or ``torch.device`` moves everything
    there, a dict renames saved locations, a callable gets
    ``(cpu storage, saved location)`` and may return None for the default.
    """
    default = torch.serialization.default_restore_location
    if map_location is None:
        return default, False
    if isinstance(map_location, dict):
        mapping = dict(map_location)

        def by_dict(storage: Any, location: str) -> Any:
            return default(storage, mapping.get(location, location))

        return by_dict, False
    if isinstance(map_location, (str, bytes, torch.device)):
        target = (
            map_location.decode()
            if isinstance(map_location, bytes)
            else str(map_location)
        )

        def to_target(storage: Any, location: str) -> Any:
            return default(storage, target)

        return to_target, torch.device(target).type == "meta"
    if callable(map_location):
        function = map_location

        def by_call(storage: Any, location: str) -> Any:
            result = function(storage, location)
            return default(storage, location) if result is None else result

        return by_call, False
    raise TypeError(
        "map_location must be None, a str, a torch.device, a dict or a callable, "
        f"not {type(map_location).__name__}"
    )


def torch_load(
    f: Any,
    map_location: Any = None,
    *,
    mmap: bool | None = None,
    weights_only: bool | None = True,
    **kwargs: Any,
) -> Any:
    """Load a ``torch.save`` file like ``torch.load``, without running its pickle.

    Returns what ``torch.load(f, map_location, weights_only=True)`` returns
    for the files it loads (real tensors, Parameters, storage sharing,
    ``state_dict()._metadata``), and also loads what its weights-only mode
    refuses: numpy arrays and scalars, ``argparse.Namespace``, files written
    with ``pickle_protocol=4`` or ``5``, the legacy formats; unknown classes
    with ``unknown="generic"``. Every global the file names is answered by an
    emulator; nothing it names is imported or called.

    Args:
        f: a path (str or PathLike), a binary file object (seekable or not),
            an ``io.BytesIO`` or a bytes-like object.
        map_location: as for ``torch.load``: None (the saved devices), a
            device string (``"cpu"``, ``"meta"``, ``"cuda:0"``), a
            ``torch.device``, a dict from saved to wanted locations, or a
            callable ``(storage, location) -> storage or None``.
        mmap: None or True: the file is mapped copy-on-write and tensors view
            the map (paths and real files; writable, writes never reach the
            file). False: each storage is copied into memory.
        weights_only: accepted for compatibility and ignored: this function
            never runs code from the file whatever its value.
            ``weights_only=False`` does NOT enable arbitrary unpickling;
            pass ``unknown="generic"`` to load custom classes as
            :class:`emulpickle.GenericObject`.
        **kwargs: ``encoding`` (for Python 2 files; default ``"utf-8"``, as
            torch), ``pickle_module`` (only None or :mod:`pickle`, which is
            not used), ``pickle_load_args`` (a dict of ``encoding`` /
            ``errors`` / ``fix_imports``) and the emulpickle options
            ``unknown``, ``registry``, ``limits``, ``max_inflate``,
            ``find_class``.

    Raises:
        ImportError: torch is not installed.
        TypeError: an option torch.load has but this loader does not honour.
        emulpickle.UnpicklingError: the file is malformed, hostile or names a
            global with no emulator.
        RuntimeError: from torch, when ``map_location`` names a device that
            is not available (as ``torch.load``).
    """
    torch = import_torch()
    del weights_only  # nothing here runs code, whatever the caller allows
    pickle_module = kwargs.pop("pickle_module", None)
    if pickle_module is not None and pickle_module is not pickle:
        raise TypeError(
            "torch_load never runs a pickle module (emulpickle emulates the "
            "unpickler); pass pickle_module=None"
        )
    extra = kwargs.pop("pickle_load_args", None) or {}
    if not isinstance(extra, dict):
        raise TypeError("pickle_load_args must be a dict")
    options = {**extra, **kwargs}
    options.setdefault("encoding", "utf-8")
    unsupported = sorted(set(options) - _EMULPICKLE_OPTIONS - {"encoding"})
    if unsupported:
        raise TypeError(
            f"torch_load got unsupported keyword arguments: {', '.join(unsupported)}"
        )
    restore, meta = _restore_for(torch, map_location)
    return to_torch(f, mmap=mmap is not False, restore=restore, meta=meta, **options)
