"""``emulpickle_sklearn.load``: a pickle or joblib file -> fitted estimators."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from emulpickle import ForbiddenGlobalError, Registry, bounded_repr, default_registry

from ._native import register_native
from ._register import register_estimators
from ._trusted import resolve_trusted
from ._values import Checker

__all__ = ["base_registry", "load", "sklearn_registry"]


def base_registry() -> Registry:
    """The default registry plus the numpy plugin and, when installed, the
    pandas plugin: what scikit-learn's classes are registered on."""
    import emulpickle_numpy

    registry = Registry(parent=default_registry(), name="numpy, pandas")
    emulpickle_numpy.register(registry)
    try:
        import emulpickle_pandas  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        emulpickle_pandas.register(registry)
    return registry


def sklearn_registry(trusted: Iterable[str] = ()) -> tuple[Registry, Checker]:
    """A registry for one load: :func:`base_registry`, scikit-learn's native
    types and classes, and the callables the application trusts by name;
    and the value checker its state setters use."""
    resolved = resolve_trusted(trusted)
    values: dict[str, object] = dict(resolved)
    for value in resolved.values():
        # The file names a function by where it is defined, which may not be
        # the name the application used ("sklearn.metrics.accuracy_score").
        module = getattr(value, "__module__", None)
        qualname = getattr(value, "__qualname__", None)
        if isinstance(module, str) and isinstance(qualname, str):
            values.setdefault(f"{module}.{qualname}", value)
    registry = Registry(parent=base_registry(), name="scikit-learn")
    register_native(registry)
    checker = register_estimators(registry, values)
    return registry, checker


def load(
    path: str | os.PathLike[str] | bytes,
    *,
    trusted: Iterable[str] = (),
    mmap: bool = False,
    **options: Any,
) -> Any:
    """Load a scikit-learn model from a pickle or joblib file.

    Args:
        path: a file path (or the file's bytes): a pickle (raw or
            compressed) or a ``joblib.dump`` file (compressed or not).
        trusted: names of the functions and classes the *application*
            allows the model to hold (``["mypkg.features.log1p",
            "numpy.log1p"]``), e.g. a ``FunctionTransformer``'s ``func`` or
            a custom metric. Each is imported by this function from the
            list, never from the file, and is answered only with that real
            object (held as a value, never called by the load). Any other
            callable in the file is refused.
        mmap: view the arrays of an uncompressed joblib file in a read-only
            memory map (``joblib.load(mmap_mode="r")``); by default they
            are writable copies, as ``joblib.load`` gives them (libsvm's
            ``SVC.predict_proba`` needs writable arrays).
        **options: :func:`emulpickle.open_file` options (``limits``...;
            not ``registry``, which this function builds).

    Returns:
        The object the file holds: real, fitted scikit-learn estimators
        (numpy arrays; pandas objects with emulpickle-pandas installed).

    Raises:
        emulpickle.ForbiddenGlobalError: the file names a global nobody
            answers (the message says how to trust it).
        emulpickle.EmulationError: a value an estimator would hold is not
            allowed (the message names the attribute and how to trust a
            callable), or a native state is not consistent.
        emulpickle.UnpicklingError: anything else wrong with the file.
    """
    from emulpickle import open_file

    if "registry" in options:
        raise TypeError("emulpickle_sklearn.load builds its own registry")
    registry, checker = sklearn_registry(trusted)
    if not mmap and isinstance(path, (str, os.PathLike)):
        # Bytes in memory: open_file copies each array out of them.
        with open(path, "rb") as f:
            path = f.read()
    try:
        opened = open_file(path, registry=registry, **options)
    except ForbiddenGlobalError as exc:
        names = ", ".join(
            bounded_repr(f"{module}.{name}") for module, name in exc.disallowed
        )
        exc.reason += (
            "; if the application trusts a function or class the model "
            f"holds, name it: emulpickle_sklearn.load(..., trusted=[{names}])"
        )
        raise
    # Once more over the whole result: a container an estimator holds can be
    # filled after its BUILD (through the memo), and a Bunch may have none.
    checker.check_tree(opened.value, "model")
    return opened.value
