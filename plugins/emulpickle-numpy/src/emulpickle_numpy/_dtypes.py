"""Emulators for ``numpy.dtype``: the REDUCE call and the BUILD state.

numpy pickles a dtype as ``numpy.dtype(typestr, align, copy)`` followed by a
BUILD whose state is ``(version, byteorder, subarray, names, fields, elsize,
alignment, flags[, metadata])``. The call only accepts the short type strings
numpy writes; the state is checked, and the dtype it describes is first built
independently with numpy's public constructors, before the real
``dtype.__setstate__`` is allowed to touch the instance.
"""

from __future__ import annotations

import math
import re
from typing import Any, cast

import numpy as np

import emulpickle
from emulpickle import bounded_repr

__all__ = [
    "DTYPE_CLASSES",
    "PLAIN",
    "DTypeEmulator",
    "StringDTypeEmulator",
    "dtype_classes",
    "dtype_text",
    "parse_typestr",
    "plain_itemsize",
    "seal",
    "set_dtype_state",
    "shown",
]

#: What numpy writes as the first argument of ``numpy.dtype(...)`` in pickles
#: (plus single-character codes, which older writers and ``_reconstruct`` use).
_TYPESTR = re.compile(
    r"(?:b1|[iu][1248]|f(?:2|4|8|10|12|16)|c(?:8|16|20|24|32)"
    r"|[SUV][0-9]{1,10}|O[48]|[Mm]8|[?bBhHiIlLqQnNpPeEfdgFDGSUVOMm])\Z"
)

#: Items larger than this are refused (numpy itself limits them to a C int).
_MAX_ITEMSIZE = 2**31 - 1

_DATETIME_UNITS = frozenset(
    ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as", "generic"]
)

_BYTEORDERS = frozenset("<>|=")

#: NPY_ALIGNED_STRUCT in ``dtype.flags``.
_ALIGNED_STRUCT = 0x80
#: NPY_ITEM_HASOBJECT | NPY_LIST_PICKLE in ``dtype.flags``: items are object
#: references, or are pickled one by one.
_LIST_OR_OBJECT = 0x01 | 0x02


#: The dtypes ``numpy.dtype(...)`` made for pickles that are still unbuilt
#: and unused, by id (dtypes cannot be weakly referenced). numpy's
#: ``dtype.__setstate__`` changes a dtype in place, so a BUILD on a dtype that
#: an array, a scalar or another dtype already uses would make numpy read that
#: data with another layout (raw bytes as object pointers: a crash). A dtype
#: therefore takes one BUILD, before anything uses it, as numpy writes them.
_UNBUILT: dict[int, np.dtype[Any]] = {}
#: Beyond this many, the oldest unbuilt dtypes can no longer be built.
_MAX_UNBUILT = 1 << 14


def _fail(message: str) -> emulpickle.EmulationError:
    return emulpickle.EmulationError(message)


def shown(value: object, width: int = 80) -> str:
    """``value`` for a message: bounded, however the pickle shared it."""
    return bounded_repr(value, max_chars=width)


def dtype_text(dtype: np.dtype[Any]) -> str:
    """How messages name a dtype: ``str(dtype)`` unless it has fields.

    The str of a structured dtype lists every field's name and dtype, each
    time a sub-dtype is reached: field names of a megabyte in a sub-dtype
    shared by thousands of fields would make a message of gigabytes.
    """
    if dtype.names is None and dtype.subdtype is None:
        return str(dtype)
    kind = "sub-array" if dtype.names is None else "structured"
    return f"<{kind} dtype of {dtype.itemsize} bytes>"


def _remember_unbuilt(dtype: np.dtype[Any]) -> None:
    while len(_UNBUILT) >= _MAX_UNBUILT:
        try:
            del _UNBUILT[next(iter(_UNBUILT))]
        except (KeyError, RuntimeError, StopIteration):  # another thread's change
            break
    _UNBUILT[id(dtype)] = dtype


def seal(dtype: object) -> None:
    """Mark ``dtype`` as used: no BUILD may change it from now on."""
    _UNBUILT.pop(id(dtype), None)


#: Sealed dtypes whose items are plain bytes, by id, with their item size, so
#: that the fast paths check a dtype with one lookup. An entry is added only
#: after its dtype was sealed, and a sealed dtype never takes a BUILD again,
#: so nothing recorded here can go stale; the entry holds the dtype, so its id
#: cannot be reused while it is here. Only small dtypes are kept (no fields,
#: no metadata): entries outlive the load that made them.
PLAIN: dict[int, tuple[np.dtype[Any], int]] = {}
#: When full, ``PLAIN`` starts again from empty.
_MAX_PLAIN = 256


def plain_itemsize(dtype: object) -> int:
    """Seal ``dtype`` and return its item size if it is a dtype whose items are
    plain bytes (no object references, not pickled as lists); else -1.

    The fast paths look ``PLAIN`` up themselves and call this when the
    dtype is not there.
    """
    if type(dtype) not in DTYPE_CLASSES:
        return -1
    descr = cast(Any, dtype)
    _UNBUILT.pop(id(descr), None)  # seal(dtype)
    if descr.flags & _LIST_OR_OBJECT:
        return -1
    itemsize: int = descr.itemsize
    if descr.names is None and descr.metadata is None:
        if len(PLAIN) >= _MAX_PLAIN:
            PLAIN.clear()
        PLAIN[id(descr)] = (descr, itemsize)
    return itemsize


def parse_typestr(value: object) -> np.dtype[Any]:
    """A fresh dtype for a type string as numpy writes it in pickles."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise _fail("numpy.dtype: type string is not ASCII") from None
    if not isinstance(value, str) or not _TYPESTR.match(value):
        raise _fail(f"numpy.dtype: unsupported type string {shown(value)}")
    if value[0] in "SUV" and len(value) > 1:
        size = int(value[1:]) * (4 if value[0] == "U" else 1)
        if size > _MAX_ITEMSIZE:
            raise _fail(f"numpy.dtype: item size {size} is too large")
    # copy=True always: a pickle must never get hold of (and then BUILD into)
    # numpy's shared builtin descriptors.
    return np.dtype(value, align=False, copy=True)


class DTypeEmulator:
    """Answers ``numpy.dtype``: ``numpy.dtype(typestr, align, copy)``."""

    def __repr__(self) -> str:
        return "<emulated numpy.dtype>"

    def py_call(self, *args: object) -> object:
        if not 1 <= len(args) <= 3:
            raise _fail(f"numpy.dtype takes 1 to 3 arguments, got {len(args)}")
        for flag in args[1:]:
            if not isinstance(flag, (bool, int)) or flag not in (0, 1):
                raise _fail("numpy.dtype: align and copy must be booleans")
        dtype = parse_typestr(args[0])
        if len(args) > 1 and args[1]:
            # align only matters for structured dtypes, which BUILD sets up.
            dtype = np.dtype(dtype, align=True, copy=True)
        _remember_unbuilt(dtype)
        return dtype


class StringDTypeEmulator:
    """Answers ``numpy._core._internal._convert_to_stringdtype_kwargs``."""

    def __repr__(self) -> str:
        return "<emulated numpy StringDType constructor>"

    def py_call(self, *args: object) -> object:
        string_dtype = getattr(np.dtypes, "StringDType", None)
        if string_dtype is None:  # pragma: no cover - numpy < 2
            raise _fail("StringDType needs numpy >= 2")
        if not 1 <= len(args) <= 2:
            raise _fail("StringDType: expected (coerce[, na_object])")
        coerce = args[0]
        if not isinstance(coerce, (bool, int)) or coerce not in (0, 1):
            raise _fail("StringDType: coerce must be a boolean")
        if len(args) == 1:
            return string_dtype(coerce=bool(coerce))
        na_object = args[1]
        if na_object is not None and type(na_object) not in (float, str):
            raise _fail(
                f"StringDType: unsupported na_object type {type(na_object).__name__}"
            )
        return string_dtype(coerce=bool(coerce), na_object=na_object)


def dtype_classes() -> set[type]:
    """Every dtype class a pickle could BUILD into (``type(np.dtype(...))``)."""
    classes: set[type] = {np.dtype}
    codes = np.typecodes["All"] + "SUVOMm"
    for code in codes:
        classes.add(type(np.dtype(code)))
    classes.add(type(np.dtype("i4,f8")))
    dtypes_module = getattr(np, "dtypes", None)
    if dtypes_module is not None:
        for name in dir(dtypes_module):
            value = getattr(dtypes_module, name)
            if isinstance(value, type) and issubclass(value, np.dtype):
                classes.add(value)
    return classes


#: Every dtype class (the fast paths accept these without ``isinstance``).
DTYPE_CLASSES: frozenset[type] = frozenset(dtype_classes())


def _check_int(value: object, what: str) -> int:
    if type(value) is not int:
        raise _fail(f"numpy.dtype state: {what} must be an int, not {shown(value)}")
    return value


def _check_shape(value: object, what: str) -> tuple[int, ...]:
    if type(value) is int:
        value = (value,)
    if type(value) is not tuple or len(value) > 64:
        raise _fail(f"{what}: shape must be a tuple of at most 64 ints")
    dims: list[int] = []
    for dim in value:
        if type(dim) is not int or dim < 0:
            raise _fail(f"{what}: invalid dimension {shown(dim)}")
        dims.append(dim)
    return tuple(dims)


def _byteorder_prefix(byteorder: str) -> str:
    return "" if byteorder == "|" else byteorder


def _expected_datetime(
    kind: str, byteorder: str, meta: object, extra: object
) -> np.dtype[Any]:
    if type(extra) is not tuple or len(extra) != 4:
        raise _fail("numpy.dtype state: bad datetime metadata")
    unit, num, den, events = extra
    if isinstance(unit, bytes):
        unit = unit.decode("ascii", "replace")
    # Type first: a set lookup hashes its argument, and hashing a deeply
    # nested tuple from the pickle would crash the interpreter.
    if type(unit) is not str or unit not in _DATETIME_UNITS:
        raise _fail(f"numpy.dtype state: unknown datetime unit {shown(unit, 40)}")
    num = _check_int(num, "datetime multiplier")
    if not 1 <= num <= 2**31 - 1 or den != 1 or events != 1:
        raise _fail("numpy.dtype state: bad datetime multiplier")
    prefix = "" if byteorder == "|" else byteorder
    text = f"{prefix}{kind}8" if unit == "generic" else f"{prefix}{kind}8[{num}{unit}]"
    if meta is None:
        return np.dtype(text)
    return np.dtype(text, metadata=_check_metadata(meta))


def _check_metadata(meta: object) -> dict[Any, Any]:
    if type(meta) is not dict:
        raise _fail("numpy.dtype state: metadata must be a dict or None")
    return meta


#: How deeply sub-array and struct-field dtypes may nest, and how many
#: sub-dtypes (counting each time one is reached) a dtype may hold. numpy
#: compares, hashes and prints dtypes by recursing in C: a dtype nested 200,000
#: deep crashes the interpreter, and sub-dtypes shared along many paths make
#: those walks exponential. Real dtypes nest a few levels.
MAX_DTYPE_DEPTH = 32
MAX_DTYPE_NODES = 100_000


def _check_nesting(children: list[np.dtype[Any]]) -> None:
    """Refuse sub-dtypes nested deeper or bigger than numpy can safely walk."""
    pending = [(child, 1) for child in children]
    nodes = 0
    while pending:
        dtype, depth = pending.pop()
        nodes += 1
        if depth > MAX_DTYPE_DEPTH:
            raise _fail(f"numpy.dtype state: dtypes nested over {MAX_DTYPE_DEPTH} deep")
        if nodes > MAX_DTYPE_NODES:
            raise _fail(
                f"numpy.dtype state: over {MAX_DTYPE_NODES} nested dtypes "
                "(counting shared ones each time)"
            )
        subdtype = dtype.subdtype
        if subdtype is not None:
            pending.append((subdtype[0], depth + 1))
        fields = dtype.fields
        if fields:
            pending.extend((entry[0], depth + 1) for entry in fields.values())


def _expected_struct(
    names: object, fields: object, elsize: int, flags: int
) -> np.dtype[Any]:
    if type(names) is not tuple or type(fields) is not dict:
        raise _fail("numpy.dtype state: names must be a tuple and fields a dict")
    if any(type(name) is not str for name in names):  # before they are hashed
        raise _fail("numpy.dtype state: field names must be str")
    if len(set(names)) != len(names):
        raise _fail("numpy.dtype state: duplicate field names")
    formats: list[np.dtype[Any]] = []
    offsets: list[int] = []
    titles: list[object] = []
    for name in names:
        entry = fields.get(name)
        if type(entry) is not tuple or len(entry) not in (2, 3):
            raise _fail(f"numpy.dtype state: bad field entry for {shown(name)}")
        sub, offset = entry[0], entry[1]
        if not isinstance(sub, np.dtype):
            raise _fail(f"numpy.dtype state: field {shown(name)} has no dtype")
        offset = _check_int(offset, "field offset")
        if offset < 0 or offset + sub.itemsize > elsize:
            raise _fail(
                f"numpy.dtype state: field {shown(name)} at offset {offset} "
                f"does not fit in an item of {elsize} bytes"
            )
        title = entry[2] if len(entry) == 3 else None
        if title is not None and type(title) is not str:
            raise _fail("numpy.dtype state: field titles must be str")
        formats.append(sub)
        offsets.append(offset)
        titles.append(title)
    _check_nesting(formats)
    extra_keys = set(fields) - set(names) - {t for t in titles if t is not None}
    if extra_keys:
        raise _fail("numpy.dtype state: fields that are not named")
    spec: dict[str, object] = {
        "names": list(names),
        "formats": formats,
        "offsets": offsets,
        "itemsize": elsize,
    }
    if any(t is not None for t in titles):
        spec["titles"] = titles
    make_dtype = cast(Any, np.dtype)
    result: np.dtype[Any] = make_dtype(spec, align=bool(flags & _ALIGNED_STRUCT))
    return result


def _expected_dtype(inst: np.dtype[Any], state: tuple[Any, ...]) -> np.dtype[Any]:
    """The dtype ``state`` describes, built with public constructors only."""
    version = state[0]
    if not ((version == 3 and len(state) == 8) or (version == 4 and len(state) == 9)):
        raise _fail("numpy.dtype state: unsupported version or length")
    byteorder, subarray, names, fields = state[1:5]
    elsize = _check_int(state[5], "elsize")
    alignment = _check_int(state[6], "alignment")
    flags = _check_int(state[7], "flags")
    extra = state[8] if len(state) == 9 else None
    if type(byteorder) is not str or byteorder not in _BYTEORDERS:
        raise _fail(f"numpy.dtype state: bad byte order {shown(byteorder, 20)}")
    if not -1 <= elsize <= _MAX_ITEMSIZE or not -1 <= alignment <= 64:
        raise _fail("numpy.dtype state: bad item size or alignment")
    kind = inst.kind
    if kind in "Mm":
        if type(extra) is not tuple or len(extra) != 2:
            raise _fail("numpy.dtype state: datetime dtype without unit metadata")
        expected = _expected_datetime(kind, byteorder, extra[0], extra[1])
    elif subarray is not None:
        if names is not None or type(subarray) is not tuple or len(subarray) != 2:
            raise _fail("numpy.dtype state: bad sub-array description")
        base, shape = subarray
        if not isinstance(base, np.dtype):
            raise _fail("numpy.dtype state: sub-array without a base dtype")
        _check_nesting([base])
        dims = _check_shape(shape, "numpy.dtype sub-array")
        if math.prod(dims) * base.itemsize != elsize:
            raise _fail("numpy.dtype state: sub-array size does not match elsize")
        expected = np.dtype((base, shape))
    elif names is not None:
        if kind != "V":
            raise _fail("numpy.dtype state: fields on a non-void dtype")
        expected = _expected_struct(names, fields, elsize, flags)
    else:
        if fields is not None:
            raise _fail("numpy.dtype state: fields without names")
        prefix = _byteorder_prefix(byteorder)
        if kind in "SUV":
            if elsize < 0 or (kind == "U" and elsize % 4):
                raise _fail("numpy.dtype state: bad flexible item size")
            size = elsize // 4 if kind == "U" else elsize
            text = f"{prefix}{kind}{size}"
        elif kind == "T":
            raise _fail("numpy.dtype state: StringDType takes no BUILD state")
        else:
            if elsize not in (-1, inst.itemsize):
                raise _fail("numpy.dtype state: elsize does not match the type")
            text = prefix + inst.str[1:]
        if extra is None:
            expected = np.dtype(text)
        else:
            expected = np.dtype(text, metadata=_check_metadata(extra))
    composite = subarray is not None or names is not None or kind in "Mm"
    if composite and elsize not in (-1, expected.itemsize):
        raise _fail("numpy.dtype state: elsize does not match the fields")
    if kind in "SUV" and elsize != expected.itemsize:
        raise _fail("numpy.dtype state: elsize does not match the type")
    if alignment not in (-1, expected.alignment):
        raise _fail("numpy.dtype state: alignment does not match the type")
    if flags != expected.flags:
        raise _fail(
            f"numpy.dtype state: flags {flags} do not match the type "
            f"(expected {expected.flags})"
        )
    return expected


def set_dtype_state(inst: Any, state: Any) -> None:
    """State setter for dtype instances: validate, then ``__setstate__``."""
    if not isinstance(inst, np.dtype):
        raise _fail("numpy.dtype state applied to a non-dtype")
    if inst.isbuiltin == 1:
        raise _fail("the pickle tried to modify one of numpy's builtin dtypes")
    if _UNBUILT.pop(id(inst), None) is not inst:
        raise _fail("numpy.dtype state: the dtype was built before or is in use")
    if type(state) is not tuple:
        raise _fail("numpy.dtype state must be a tuple")
    expected = _expected_dtype(inst, state)
    cast(Any, inst).__setstate__(_private_state(state))
    if (
        inst != expected
        or inst.itemsize != expected.itemsize
        or inst.byteorder != expected.byteorder
        or inst.flags != expected.flags
        or inst.alignment != expected.alignment
    ):
        raise _fail(
            f"numpy.dtype state is inconsistent (expected {dtype_text(expected)})"
        )


def _private_state(state: tuple[Any, ...]) -> tuple[Any, ...]:
    """``state`` with copies of its dicts, and its sub-dtypes sealed.

    numpy keeps the very ``fields`` and metadata dicts it is given; the pickle
    could otherwise change them (SETITEM) after they were checked.
    """
    items = list(state)
    subarray, fields = items[2], items[4]
    if subarray is not None:
        seal(subarray[0])
    if fields is not None:
        for entry in fields.values():
            seal(entry[0])
        items[4] = dict(fields)
    if len(items) == 9:
        extra = items[8]
        if type(extra) is dict:
            items[8] = dict(extra)
        elif type(extra) is tuple and type(extra[0]) is dict:
            items[8] = (dict(extra[0]), *extra[1:])
    return tuple(items)
