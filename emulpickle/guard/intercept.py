"""Every way into an unpickler, routed through the guard's decision.

Installed once per process by :func:`install`:

* ``pickle.load``/``loads``/``Unpickler`` and the same names of ``_pickle``
  are replaced with guarded versions (replacing ``_pickle``'s too means an
  ``importlib.reload(pickle)`` picks the guarded ones up again);
* ``pickle._Unpickler.load`` is patched in place, so the pure-Python
  unpickler, ``pickle._load``/``_loads`` and every subclass defined before
  the guard (joblib's, pandas') go through it;
* ``torch.load`` (whose weights-only unpickler never calls ``pickle``), and
  at library level ``joblib.load``, ``pandas.read_pickle``, ``numpy.load``
  (and its ``NpzFile`` members) and ``multiprocessing``'s
  ``ForkingPickler.loads``, patched now if imported, else right after their
  import (a :data:`sys.meta_path` hook);
* a :func:`sys.addaudithook` hook on ``pickle.find_class`` (raised by both
  pickle implementations whenever a pickle names a global) as the backstop:
  outside a load the guard verified, strict and emulate modes refuse the
  global, audit mode reports it.

A load the guard verified runs with the real code inside
:func:`~.state.verified`; loads nested in it (torch's inner unpickler, a
library's own) pass unchecked, since the outer bytes were pinned.
"""

from __future__ import annotations

import _pickle
import functools
import importlib.util
import os
import pickle
import sys
from collections.abc import Callable
from typing import Any

from ..errors import PickleNotAllowedError
from . import sources
from .state import Action, current, decide, inside_verified, report, verified

__all__ = ["GuardedUnpickler", "install"]

# The real entry points, as they were when the guard was installed.
_REAL_LOAD: Callable[..., Any] = _pickle.load
_REAL_LOADS: Callable[..., Any] = _pickle.loads
_REAL_UNPICKLER: type[Any] = _pickle.Unpickler
_REAL_PY_LOAD: Callable[[Any], Any] = pickle._Unpickler.load


def _emulate(stream: Any, **options: Any) -> Any:
    """Load one pickle (a stream or bytes) with emulpickle's first-party
    registry (its plugins make real numpy arrays and tensors)."""
    from ..defaults import first_party_registry
    from ..unpickler import Unpickler

    known = {k: v for k, v in options.items() if v is not None}
    return Unpickler(stream, registry=first_party_registry(), **known).load()


def _load_options(
    fix_imports: bool, encoding: str, errors: str, buffers: Any
) -> dict[str, Any]:
    return {
        "fix_imports": fix_imports,
        "encoding": encoding,
        "errors": errors,
        "buffers": buffers,
    }


def guarded_loads(
    data: Any,
    /,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Any = None,
) -> Any:
    """``pickle.loads`` under the guard."""
    options = _load_options(fix_imports, encoding, errors, buffers)
    if inside_verified() or current() is None:
        return _REAL_LOADS(data, **options)
    source = sources.from_bytes(data)
    if decide(source.sha256, None, "pickle.loads") == "emulate":
        return _emulate(data, **options)
    with verified():
        return _REAL_LOADS(data, **options)


def guarded_load(
    file: Any,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Any = None,
) -> Any:
    """``pickle.load`` under the guard."""
    options = _load_options(fix_imports, encoding, errors, buffers)
    if inside_verified() or current() is None:
        return _REAL_LOAD(file, **options)
    return _GuardedUnpickler_load(file, options, _REAL_LOAD, "pickle.load")


def _GuardedUnpickler_load(
    file: Any, options: dict[str, Any], real: Callable[..., Any], what: str
) -> Any:
    source = sources.from_stream(file)
    stream = file if source.data is None else source.buffer()
    action = decide(source.sha256, source.path, what)
    try:
        if action == "emulate":
            return _emulate(stream, **options)
        with verified():
            return real(stream, **options)
    finally:
        if source.data is not None:
            sources.reposition(file, source, stream.tell())


class _SwitchFile:
    """The file a guarded C unpickler reads: the caller's, or a buffer.

    ``_pickle.Unpickler`` binds its file's methods once, at construction;
    reading through this object lets the guard pick at ``load()`` time
    whether the load reads the caller's file or the bytes it hashed.
    """

    def __init__(self, target: Any) -> None:
        self.target = target

    def read(self, n: int = -1) -> Any:
        return self.target.read(n)

    def readline(self, *args: Any) -> Any:
        return self.target.readline(*args)

    def readinto(self, buffer: Any) -> int:
        readinto = getattr(self.target, "readinto", None)
        if readinto is not None:
            return int(readinto(buffer))
        data = self.target.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class GuardedUnpickler(_REAL_UNPICKLER):  # type: ignore[misc]
    """``pickle.Unpickler`` (the C one) under the guard; subclass it as usual."""

    def __init__(
        self,
        file: Any,
        *,
        fix_imports: bool = True,
        encoding: str = "ASCII",
        errors: str = "strict",
        buffers: Any = None,
    ) -> None:
        self.__file = file
        self.__switch = _SwitchFile(file)
        self.__options = _load_options(fix_imports, encoding, errors, buffers)
        super().__init__(self.__switch, **self.__options)

    def load(self) -> Any:
        """Verify what the file holds, then load it as the mode says."""
        if inside_verified() or current() is None:
            return super().load()
        return _GuardedUnpickler_load(
            self.__file, self.__options, self.__load_from, "pickle.Unpickler"
        )

    def __load_from(self, stream: Any, **options: Any) -> Any:
        self.__switch.target = stream
        try:
            return super().load()
        finally:
            self.__switch.target = self.__file


def _guarded_py_load(self: Any) -> Any:
    """``pickle._Unpickler.load``, patched in place (subclasses included)."""
    if inside_verified() or current() is None or not hasattr(self, "_file_read"):
        return _REAL_PY_LOAD(self)
    read = self._file_read
    file = getattr(read, "__self__", None)
    source = sources.from_stream(file, read)
    options = {
        "fix_imports": self.fix_imports,
        "encoding": self.encoding,
        "errors": self.errors,
    }
    action: Action = decide(source.sha256, source.path, type(self).__qualname__)
    if source.data is None:
        if action == "emulate":
            return _emulate(file, **options)
        with verified():
            return _REAL_PY_LOAD(self)
    buffer = source.buffer()
    if action == "emulate":
        try:
            return _emulate(buffer, **options)
        finally:
            sources.reposition(file, source, buffer.tell())
    if source.start is not None:
        # A seekable stream: read it again from where the load starts, since
        # a subclass may read the file itself mid-load (joblib reads its
        # arrays from the stream after their pickled wrappers).
        sources.reposition(file, source, 0)
        with verified():
            return _REAL_PY_LOAD(self)
    saved = self._file_read, self._file_readline
    self._file_read, self._file_readline = buffer.read, buffer.readline
    try:
        with verified():
            return _REAL_PY_LOAD(self)
    finally:
        self._file_read, self._file_readline = saved


# ------------------------------------------------------------- the backstop


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    if event != "pickle.find_class":
        return
    guard = current()
    if guard is None or inside_verified():
        return
    module, name = (str(part) for part in args[:2])
    from .._render import bounded_repr

    shown = bounded_repr(f"{module}.{name}")
    if guard.mode == "audit":
        report(
            f"an unpickler the guard did not see resolved global {shown}",
            sha256=None,
            path=None,
        )
        return
    raise PickleNotAllowedError(
        None,
        manifest=guard.manifest_path,
        reason=(
            f"an unpickler the guard did not verify asked for global {shown} "
            "(a route around the guarded entry points)"
        ),
    )


# ----------------------------------------------------- libraries' loaders


def _first_arg(args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> Any:
    return args[0] if args else kwargs.get(name)


def _with_first(
    args: tuple[Any, ...], kwargs: dict[str, Any], name: str, value: Any
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if args:
        return (value, *args[1:]), kwargs
    return args, {**kwargs, name: value}


def _torch_emulated(*args: Any, **kwargs: Any) -> Any:
    try:
        from emulpickle_torch import torch_load
    except ImportError:
        raise PickleNotAllowedError(
            None,
            reason="emulate mode needs the emulpickle-torch plugin for torch.load",
        ) from None
    kwargs.pop("pickle_module", None)
    if len(args) > 2:
        args = args[:2]  # torch.load's third positional is pickle_module
    return torch_load(*args, **kwargs)


def _guard_torch_load(real: Callable[..., Any]) -> Callable[..., Any]:
    """``torch.load`` under the guard: the file is verified before torch
    reads it (both ``weights_only`` values: the weights-only unpickler is
    pure Python and never reaches ``pickle``)."""

    @functools.wraps(real)
    def load(*args: Any, **kwargs: Any) -> Any:
        if inside_verified() or current() is None:
            return real(*args, **kwargs)
        f = _first_arg(args, kwargs, "f")
        if isinstance(f, (str, os.PathLike)):
            source, handle = sources.from_path(f)
            opened: Any = handle
            if kwargs.get("mmap"):
                handle.close()  # torch maps the path itself
                opened = f
        else:
            handle = None
            source = sources.from_stream(f)
            opened = f if source.data is None else source.buffer()
        try:
            action = decide(source.sha256, source.path, "torch.load")
            args, kwargs = _with_first(args, kwargs, "f", opened)
            if action == "emulate":
                return _torch_emulated(*args, **kwargs)
            with verified():
                return real(*args, **kwargs)
        finally:
            if handle is not None:
                handle.close()

    load.__emulpickle_guarded__ = True  # type: ignore[attr-defined]
    return load


#: Set on an ``NpzFile`` that numpy.load opened from a pinned file: its
#: members load as part of that verified load.
_VERIFIED_NPZ = "_emulpickle_guard_verified"


def _guard_container_load(real: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A library loader of whole files (``joblib.load``, ``pandas.read_pickle``,
    ``numpy.load``).

    A file pinned as a whole loads as one verified load (its pickles may be
    compressed or inside members, so they hash to nothing pinned on their
    own); any other file loads as before, its pickles checked one by one as
    they are unpickled.
    """

    @functools.wraps(real)
    def load(*args: Any, **kwargs: Any) -> Any:
        guard = current()
        if guard is None or inside_verified():
            return real(*args, **kwargs)
        f = _first_arg(args, kwargs, name)
        if isinstance(f, (str, os.PathLike)) and os.path.isfile(f):
            source, handle = sources.from_path(f)
            handle.close()
            entry = guard.manifest.get(source.sha256)
            if entry is not None and entry.trust != "emulate":
                with verified():
                    result = real(*args, **kwargs)
                if hasattr(type(result), "__emulpickle_npz__"):
                    setattr(result, _VERIFIED_NPZ, True)
                return result
        return real(*args, **kwargs)

    load.__emulpickle_guarded__ = True  # type: ignore[attr-defined]
    return load


def _guard_npz_getitem(real: Callable[..., Any]) -> Callable[..., Any]:
    """``NpzFile.__getitem__``: members unpickle after numpy.load returned."""

    @functools.wraps(real)
    def getitem(self: Any, key: Any) -> Any:
        if getattr(self, _VERIFIED_NPZ, False):
            with verified():
                return real(self, key)
        return real(self, key)

    getitem.__emulpickle_guarded__ = True  # type: ignore[attr-defined]
    return getitem


def _patch(owner: Any, attr: str, make: Callable[[Any], Any]) -> None:
    real = getattr(owner, attr, None)
    if real is None or getattr(real, "__emulpickle_guarded__", False):
        return
    setattr(owner, attr, make(real))


def _patch_torch(torch: Any) -> None:
    serialization = sys.modules.get("torch.serialization")
    if serialization is not None:
        _patch(serialization, "load", _guard_torch_load)
    _patch(torch, "load", _guard_torch_load)


def _patch_loader(package: Any, module: str, attr: str, parameter: str) -> None:
    """Guard ``package.attr`` and, once imported, ``module.attr`` (where it
    is defined): a loader whose file argument is called ``parameter``."""

    def make(real: Any) -> Any:
        return _guard_container_load(real, parameter)

    _patch(package, attr, make)
    defining = sys.modules.get(module)
    if defining is not None:
        _patch(defining, attr, make)


def _patch_joblib(joblib: Any) -> None:
    _patch_loader(joblib, "joblib.numpy_pickle", "load", "filename")


def _patch_pandas(pandas: Any) -> None:
    _patch_loader(pandas, "pandas.io.pickle", "read_pickle", "filepath_or_buffer")


def _patch_numpy(numpy: Any) -> None:
    _patch(numpy, "load", lambda real: _guard_container_load(real, "file"))
    npz = getattr(getattr(numpy, "lib", None), "npyio", None)
    npz_file = getattr(npz, "NpzFile", None)
    if npz_file is not None:
        _patch(npz_file, "__getitem__", _guard_npz_getitem)
        npz_file.__emulpickle_npz__ = True


def _patch_multiprocessing(reduction: Any) -> None:
    # ForkingPickler.loads is pickle.loads, captured when the module ran.
    forking = getattr(reduction, "ForkingPickler", None)
    if forking is not None and forking.__dict__.get("loads") is not None:
        forking.loads = staticmethod(guarded_loads)


#: Modules whose loaders are patched once they are imported.
_LIBRARIES: dict[str, Callable[[Any], None]] = {
    "torch": _patch_torch,
    "joblib": _patch_joblib,
    "numpy": _patch_numpy,
    "pandas": _patch_pandas,
    "multiprocessing.reduction": _patch_multiprocessing,
}


class _PatchAfterImport:
    """A :data:`sys.meta_path` finder that patches a library after it runs."""

    def __init__(self) -> None:
        self._busy: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        patch = _LIBRARIES.get(name)
        if patch is None or name in self._busy:
            return None
        self._busy.add(name)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._busy.discard(name)
        loader = None if spec is None else spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return None
        run = loader.exec_module

        def exec_module(module: Any) -> None:
            run(module)
            patch(module)

        try:
            setattr(loader, "exec_module", exec_module)  # noqa: B010 - an instance's
        except (AttributeError, TypeError):
            return None
        return spec


_INSTALLED = False


def install() -> None:
    """Patch every entry point and add the audit hook (once per process)."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    for module in (pickle, _pickle):
        module.load = guarded_load  # type: ignore[attr-defined]
        module.loads = guarded_loads  # type: ignore[attr-defined]
        module.Unpickler = GuardedUnpickler  # type: ignore[attr-defined]
    pickle._Unpickler.load = _guarded_py_load  # type: ignore[method-assign]
    for name, patch in _LIBRARIES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, _PatchAfterImport())
    sys.addaudithook(_audit_hook)
