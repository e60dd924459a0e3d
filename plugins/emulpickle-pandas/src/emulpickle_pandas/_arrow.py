"""Arrow-backed arrays (``ArrowStringArray``, ``ArrowExtensionArray``) and
the pyarrow globals their pickles name, when pyarrow is installed.

pyarrow's arrays are rebuilt from their buffers with
``pyarrow.Array.from_buffers`` and then ``validate(full=True)``, pyarrow's
own check for untrusted data (buffer sizes against length and offset,
string offsets inside the data buffer, valid UTF-8), before pandas sees
them. Only flat types from an allowlist are accepted (no nested children,
no dictionaries).
"""

from __future__ import annotations

from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from emulpickle import Registry

from ._base import PandasGlobal, fail, guarded, real, register_global
from ._checks import check_int
from ._dtypes import state_dict

__all__ = ["register_arrow"]

#: The pyarrow type aliases a pickle may name: flat types only.
ALIASES = frozenset(
    ["bool", "string", "large_string", "utf8", "large_utf8", "binary", "large_binary",
     "halffloat", "float", "double", "float16", "float32", "float64"]
    + [f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)]
    + [f"{k}[{u}]" for k in ("timestamp", "duration") for u in ("s", "ms", "us", "ns")]
    + ["date32", "date64", "date32[day]", "date64[ms]"]
)  # fmt: skip


def _pyarrow() -> Any:
    try:
        import pyarrow as pa  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError as exc:
        raise fail(
            "Arrow-backed array", why="pyarrow is not installed (pip install pyarrow)"
        ) from exc
    return pa


def _type_for_alias(alias: object) -> object:
    if type(alias) is not str or alias not in ALIASES:
        raise fail("pyarrow type", alias, "not an allowed flat type")
    pa = _pyarrow()
    return guarded("pyarrow type", lambda: pa.type_for_alias(alias))


def _py_buffer(data: object) -> object:
    if not isinstance(data, bytes | bytearray):
        raise fail("pyarrow buffer", data, "expected bytes")
    pa = _pyarrow()
    return pa.py_buffer(bytes(data))


def _check_type(pa: Any, value: object, what: str) -> Any:
    if not isinstance(value, pa.DataType) or (
        str(value) not in ALIASES and not _allowed_type(pa, value)
    ):
        raise fail(what, value, "not an allowed flat type")
    return value


def _allowed_type(pa: Any, value: Any) -> bool:
    # type_for_alias("utf8") is shown as "string" and so on: compare types.
    return any(value == pa.type_for_alias(a) for a in ALIASES)


def _restore_array(data: object) -> object:
    pa = _pyarrow()
    if type(data) is not tuple or len(data) != 7:
        raise fail(
            "pyarrow array",
            data,
            "expected (type, length, null_count, offset, buffers, children, "
            "dictionary)",
        )
    kind, length, nulls, offset, buffers, children, dictionary = data
    kind = _check_type(pa, real(kind), "pyarrow array type")
    size = check_int(length, "pyarrow array length", low=0)
    null_count = check_int(nulls, "pyarrow null count", low=-1)
    start = check_int(offset, "pyarrow array offset", low=0)
    if children not in ([], ()) or dictionary is not None:
        raise fail(
            "pyarrow array",
            (children, dictionary),
            "nested or dictionary arrays are not read",
        )
    if type(buffers) is not list or len(buffers) > 3:
        raise fail(
            "pyarrow array buffers", buffers, "expected a list of at most 3 buffers"
        )
    for buf in buffers:
        if buf is not None and not isinstance(buf, pa.Buffer):
            raise fail("pyarrow array buffer", buf, "expected a pyarrow buffer")

    def build() -> object:
        array = pa.Array.from_buffers(kind, size, buffers, null_count, start)
        # pyarrow's check for untrusted buffers, before anything reads them.
        array.validate(full=True)
        return array

    try:
        return guarded("pyarrow array", build)
    except pa.ArrowException as exc:
        raise fail(
            "pyarrow array", why=f"pyarrow refused it ({type(exc).__name__})"
        ) from exc


def _chunked_array(chunks: object, kind: object = None) -> object:
    pa = _pyarrow()
    if type(chunks) is not list or not all(
        isinstance(real(c), pa.Array) for c in chunks
    ):
        raise fail("pyarrow chunked array", chunks, "expected a list of arrays")
    parts = [real(c) for c in chunks]
    if kind is not None:
        _check_type(pa, real(kind), "pyarrow chunked array type")
    try:
        return guarded(
            "pyarrow chunked array", lambda: pa.chunked_array(parts, real(kind))
        )
    except pa.ArrowException as exc:
        raise fail(
            "pyarrow chunked array", why=f"pyarrow refused it ({type(exc).__name__})"
        ) from exc


def _arrow_values(pa: Any, value: object, what: str) -> Any:
    value = real(value)
    if isinstance(value, pa.Array):
        return pa.chunked_array([value])
    if isinstance(value, pa.ChunkedArray):
        return value
    raise fail(what, value, "expected a pyarrow array")


def _arrow_dtype(state: object) -> object:
    pa = _pyarrow()
    d = state_dict(
        state,
        "ArrowDtype",
        frozenset({"_storage", "pyarrow_dtype", "_cache", "storage"}),
    )
    kind = _check_type(pa, real(d.get("pyarrow_dtype")), "ArrowDtype type")
    return guarded("ArrowDtype", lambda: pd.ArrowDtype(kind))


def _extension_array(state: object) -> object:
    pa = _pyarrow()
    d = state_dict(
        state,
        "ArrowExtensionArray",
        frozenset({"_pa_array", "_data", "_dtype", "_cache", "_readonly"}),
    )
    values = _arrow_values(
        pa, d.get("_pa_array", d.get("_data")), "ArrowExtensionArray values"
    )
    return guarded("ArrowExtensionArray", lambda: pd.arrays.ArrowExtensionArray(values))


def _string_array(state: object) -> object:
    pa = _pyarrow()
    d = state_dict(
        state,
        "ArrowStringArray",
        frozenset({"_pa_array", "_data", "_dtype", "_cache", "_storage", "_readonly"}),
    )
    values = _arrow_values(
        pa, d.get("_pa_array", d.get("_data")), "ArrowStringArray values"
    )
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise fail("ArrowStringArray values", values.type, "expected strings")
    dtype = real(d.get("_dtype"))
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        raise fail("ArrowStringArray dtype", dtype, "expected a pyarrow StringDtype")
    return guarded("ArrowStringArray", lambda: pd.array(values, dtype=dtype))


def register_arrow(registry: Registry) -> None:
    """Register the pyarrow globals and pandas' Arrow-backed arrays."""
    g = PandasGlobal
    register_global(
        registry,
        ("pyarrow.lib.type_for_alias",),
        g("pyarrow.type_for_alias", _type_for_alias),
    )
    register_global(
        registry, ("pyarrow.lib.py_buffer",), g("pyarrow.py_buffer", _py_buffer)
    )
    register_global(
        registry,
        ("pyarrow.lib._restore_array",),
        g("pyarrow._restore_array", _restore_array),
    )
    register_global(
        registry,
        ("pyarrow.lib.chunked_array",),
        g("pyarrow.chunked_array", _chunked_array),
    )
    register_global(
        registry,
        ("pandas.ArrowDtype", "pandas.core.dtypes.dtypes.ArrowDtype"),
        g("pandas.ArrowDtype", build=_arrow_dtype),
    )
    register_global(
        registry,
        (
            "pandas.arrays.ArrowExtensionArray",
            "pandas.core.arrays.arrow.array.ArrowExtensionArray",
        ),
        g("pandas.arrays.ArrowExtensionArray", build=_extension_array),
    )
    register_global(
        registry,
        (
            "pandas.arrays.ArrowStringArray",
            "pandas.core.arrays.string_arrow.ArrowStringArray",
        ),
        g("pandas.arrays.ArrowStringArray", build=_string_array),
    )
