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
from collections.abc import Callable, Iterator
from typing import Any

import emulpickle
from emulpickle import GenericObject

__all__ = [
    "VALUE_WIDTH",
    "abbrev",
    "children",
    "distinct_names",
    "distinct_texts",
    "dtype_text",
    "elide_middle",
    "entries",
    "key_text",
    "numpy_module",
    "size",
    "type_name",
]

#: Longest abbreviated value in a tree line.
VALUE_WIDTH = 60
#: Longest key in a path or tree line before its middle is left out.
KEY_WIDTH = 60
#: Keys are rendered at most this wide, even to tell two apart.
MAX_KEY_WIDTH = 4096


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


def elide_middle(text: str, width: int) -> str:
    """``text``, or its start and end around ``...`` when longer than
    ``width``: keys that differ only at the end (``in_proj_weight`` and
    ``in_proj_bias``) stay apart."""
    if len(text) <= width:
        return text
    keep = max(width - 3, 2)
    head = keep // 3  # the end tells names apart more often: it gets more
    return text[:head] + "..." + text[len(text) - (keep - head) :]


def key_text(key: object, quote: bool = False, width: int = KEY_WIDTH) -> str:
    """A dict key in a path (as it is, for a str) or a tree line (quoted),
    its middle left out when it is longer than ``width``."""
    if isinstance(key, str):
        if not quote:
            return key
        if len(key) + 2 <= width:
            return repr(key)
        # The two ends quoted apart: '...' inside one literal would read as
        # part of the key.
        keep = max(width - 7, 2)
        head = keep // 3
        return repr(key[:head]) + "..." + repr(key[len(key) - (keep - head) :])
    if type(key) is int and key.bit_length() <= 200:
        return repr(key)
    return elide_middle(emulpickle.bounded_repr(key, max_chars=2 * width), width)


def _distinct(
    items: list[Any], render: Callable[[Any, int], str], width: int
) -> list[str]:
    """``render(item, width)`` of each item; when two would read the same,
    all are rendered wider (by half, up to :data:`MAX_KEY_WIDTH`), so that
    siblings keep one look."""
    while True:
        texts = [render(item, width) for item in items]
        if len(set(texts)) == len(texts) or width >= MAX_KEY_WIDTH:
            return texts
        width = min(width * 3 // 2, MAX_KEY_WIDTH)


def distinct_texts(keys: list[object]) -> list[str]:
    """:func:`key_text` (quoted) of each key; keys whose shortened texts
    would read the same (they differ only in the middle) are shown wider."""
    return _distinct(keys, lambda key, width: key_text(key, True, width), KEY_WIDTH)


def distinct_names(names: list[str], width: int) -> list[str]:
    """Each name with its middle left out beyond ``width`` characters,
    wider where two would then read the same."""
    return _distinct(names, elide_middle, width)


#: What :func:`entries` gives for a child reached by a dict key: the key is
#: shown with :func:`key_text`; other children have a label of their own.
DICT_KEY = True


def entries(obj: object) -> Iterator[tuple[object, bool, object]]:
    """``(key or label, is a dict key, child)`` for each child of a container;
    nothing for a leaf. Labels are ``[i]``, ``args[i]``, keyword names,
    ``state`` or ``""`` (set items)."""
    if isinstance(obj, (list, tuple, deque)):
        for i, item in enumerate(obj):
            yield f"[{i}]", False, item
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield key, DICT_KEY, value
    elif isinstance(obj, (set, frozenset)):
        for item in obj:
            yield "", False, item
    elif isinstance(obj, GenericObject):
        for i, item in enumerate(obj.args):
            yield f"args[{i}]", False, item
        for key, value in obj.kwargs.items():
            yield key, not isinstance(key, str), value
        state = obj.state
        if isinstance(state, dict):
            for key, value in state.items():
                yield key, DICT_KEY, value
        elif state is not None:
            yield "state", False, state
        for i, item in enumerate(obj.list_items):
            yield f"[{i}]", False, item
        for key, value in obj.dict_items.items():
            yield key, DICT_KEY, value
        for item in obj.set_items:
            yield "", False, item


def children(obj: object, quote: bool = False) -> Iterator[tuple[str, object]]:
    """``(name part, child)`` pairs of a container; nothing for a leaf.

    Keys are given as they are (tensor names) or, with ``quote``, as reprs.
    """
    for key, is_key, child in entries(obj):
        yield (key_text(key, quote) if is_key else str(key)), child


def size(obj: object) -> int:
    """How many children :func:`entries` gives, counted without a walk."""
    if isinstance(obj, GenericObject):
        state = obj.state
        n = len(state) if isinstance(state, dict) else int(state is not None)
        return (
            len(obj.args)
            + len(obj.kwargs)
            + n
            + len(obj.list_items)
            + len(obj.dict_items)
            + len(obj.set_items)
        )
    if isinstance(obj, (list, tuple, deque, dict, set, frozenset)):
        return len(obj)
    return 0
