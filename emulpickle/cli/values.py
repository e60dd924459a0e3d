"""How the command line sees a loaded value: its children and short texts.

A container's children are the items of lists, tuples, deques, dicts and
sets and the arguments, state and items of a
:class:`emulpickle.GenericObject`. Leaves are shown abbreviated, never by
their own ``repr`` when that could walk pickle data (shared subtrees would
be visited once per path): :func:`emulpickle.bounded_repr` renders those.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator
from typing import Any

import emulpickle
from emulpickle import GenericObject

__all__ = [
    "VALUE_WIDTH",
    "abbrev",
    "children",
    "dtype_text",
    "key_text",
    "numpy_module",
    "type_name",
]

#: Longest abbreviated value in a tree line.
VALUE_WIDTH = 60
#: Longest abbreviated key in a path or tree line.
KEY_WIDTH = 30


def numpy_module() -> Any:
    """numpy, when something has imported it (arrays may then be in a tree)."""
    return sys.modules.get("numpy")


def dtype_text(dtype: Any) -> str:
    """A numpy dtype's str, unless it has fields (that str lists each one,
    however often a sub-dtype is shared: it may be gigabytes)."""
    if dtype.names is None and dtype.subdtype is None:
        return str(dtype)
    kind = "sub-array" if dtype.names is None else "structured"
    return f"<{kind} dtype of {dtype.itemsize} bytes>"


def type_name(obj: object) -> str:
    """The qualified name of ``obj``'s type (bare for builtins)."""
    kind = type(obj)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def abbrev(obj: object, width: int = VALUE_WIDTH) -> str:
    """A short repr of a leaf value, at most ``width`` characters."""
    if isinstance(obj, bool) or obj is None:
        return repr(obj)
    if isinstance(obj, int):
        if obj.bit_length() > 200:
            return f"<int of {obj.bit_length()} bits>"
        text = repr(int(obj))
    elif isinstance(obj, (str, bytes, bytearray)):
        head = obj[: width + 1]
        text = repr(head if isinstance(head, (str, bytes)) else bytes(head))
        if len(obj) > width:
            text = repr(head[:width]) + f"... ({len(obj)} long)"
        if isinstance(obj, bytearray):
            text = f"bytearray({text})"
        return text
    else:
        np = numpy_module()
        if np is not None and isinstance(obj, np.dtype):
            text = dtype_text(obj)
        elif np is not None and isinstance(obj, np.generic):
            # Scalars hold plain bytes (the plugin makes no others): their
            # repr is short, unless a structured dtype is shown with it.
            dtype = obj.dtype
            plain = dtype.names is None and dtype.subdtype is None
            text = repr(obj) if plain else f"numpy scalar {dtype_text(dtype)}"
        else:
            # Anything else may hold pickle data: never its own repr, which
            # could walk a shared subtree once per path.
            text = emulpickle.bounded_repr(obj, max_chars=width)
    if len(text) > width:
        text = text[: width - 3] + "..."
    return text


def key_text(key: object, quote: bool = False) -> str:
    """A dict key in a path (as it is, for a str) or a tree line (quoted)."""
    if isinstance(key, str) and not quote:
        return key
    return abbrev(key, KEY_WIDTH)


def children(obj: object, quote: bool = False) -> Iterator[tuple[str, object]]:
    """``(name part, child)`` pairs of a container; nothing for a leaf.

    Keys are given as they are (tensor names) or, with ``quote``, as reprs.
    """
    if isinstance(obj, (list, tuple, deque)):
        for i, item in enumerate(obj):
            yield f"[{i}]", item
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield key_text(key, quote), value
    elif isinstance(obj, (set, frozenset)):
        for item in obj:
            yield "", item
    elif isinstance(obj, GenericObject):
        for i, item in enumerate(obj.args):
            yield f"args[{i}]", item
        for key, value in obj.kwargs.items():
            yield key, value
        state = obj.state
        if isinstance(state, dict):
            for key, value in state.items():
                yield key_text(key, quote), value
        elif state is not None:
            yield "state", state
        for i, item in enumerate(obj.list_items):
            yield f"[{i}]", item
        for key, value in obj.dict_items.items():
            yield key_text(key, quote), value
        for item in obj.set_items:
            yield "", item
