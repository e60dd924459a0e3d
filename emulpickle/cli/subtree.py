"""``show --path``: the value a dotted path names in a loaded tree.

The rule, step by step from the root:

* the longest key of the current container that the rest of the path
  starts with wins, so a key that itself holds dots (``enc.layers.0.weight``
  in a state dict) is matched whole before it is split;
* a key is a string key, or an integer key written in decimal (``state.0``
  finds ``state[0]`` of an optimizer state dict when no ``"0"`` key exists);
* ``[i]`` or ``.i`` indexes a list or tuple (``-1`` is the last item);
* a generic object's entries are named as the tree names them (``args[0]``,
  keyword names, its state's keys, ``state``); in a pickled ``nn.Module``
  the ``_modules`` / ``_parameters`` / ``_buffers`` levels may be left out,
  as tensor names leave them out (``encoder.fc.weight``).

So every name in the tensor table is a path ``--path`` accepts.
"""

from __future__ import annotations

import re
from collections import deque

import emulpickle
from emulpickle import GenericObject

from .output import CliError
from .plugins import torch_support
from .tensors import Part, join_path
from .values import entries, key_text, size

__all__ = ["find_subtree"]

#: Entries named in a "not found" message.
_SHOWN_KEYS = 12
_INDEX = re.compile(r"\[(-?[0-9]+)\]")


def _ends(rest: str) -> list[int]:
    """Where a step may end: before a ``.`` or ``[``, after a ``]``, or at
    the end; the longest first."""
    ends = {len(rest)}
    for i, char in enumerate(rest):
        if char in ".[" and i:
            ends.add(i)
        elif char == "]":
            ends.add(i + 1)
    return sorted(ends, reverse=True)


def _index(obj: object, text: str) -> tuple[object, Part] | None:
    if not isinstance(obj, (list, tuple, deque)):
        return None
    match = _INDEX.fullmatch(text) or re.fullmatch(r"-?[0-9]+", text)
    if match is None:
        return None
    i = int(match.group(1) if match.re is _INDEX else match.group(0))
    if not -len(obj) <= i < len(obj):
        return None
    i %= len(obj)
    return obj[i], (f"[{i}]", False)


def _int_key(text: str) -> int | None:
    if re.fullmatch(r"-?[0-9]{1,100}", text):
        return int(text)
    return None


def _lookup(obj: object, text: str) -> tuple[object, list[Part]] | None:
    """The child of ``obj`` named ``text``, with the steps leading to it."""
    found = _index(obj, text)
    if found is not None:
        return found[0], [found[1]]
    if isinstance(obj, dict):
        if text in obj:
            return obj[text], [(text, True)]
        number = _int_key(text)
        if number is not None and number in obj:
            return obj[number], [(number, True)]
        return None
    if not isinstance(obj, GenericObject):
        return None
    number = _int_key(text)
    for key, is_key, child in entries(obj):
        if isinstance(key, str) and key == text:
            return child, [(key, is_key)]
        if is_key and number is not None and type(key) is int and key == number:
            return child, [(key, True)]
    torch = torch_support()
    hidden = torch.MODULE_STATE_KEYS if torch is not None else ()
    state = obj.state
    if isinstance(state, dict):
        for group in hidden:
            inner = state.get(group)
            if isinstance(inner, dict) and text in inner:
                return inner[text], [(group, True), (text, True)]
    return None


def _names(obj: object) -> str:
    names = [
        key_text(key, True) if is_key else str(key)
        for key, is_key, _ in _first(obj, _SHOWN_KEYS)
    ]
    more = size(obj) - len(names)
    return ", ".join(names) + (f", ... ({more} more)" if more > 0 else "")


def _first(obj: object, n: int) -> list[tuple[object, bool, object]]:
    out: list[tuple[object, bool, object]] = []
    for entry in entries(obj):
        if len(out) == n:
            break
        out.append(entry)
    return out


def find_subtree(root: object, path: str) -> tuple[object, tuple[Part, ...]]:
    """The value at ``path`` in ``root`` and the steps to it (see the module
    documentation for the rule).

    Raises:
        CliError: (status 1) nothing there; the message lists the keys
            that are.
    """
    obj = root
    parts: list[Part] = []
    rest = path
    while rest:
        for end in _ends(rest):
            found = _lookup(obj, rest[:end])
            if found is not None:
                obj, steps = found
                parts.extend(steps)
                rest = rest[end:]
                if rest.startswith("."):
                    rest = rest[1:]
                break
        else:
            where = "the root" if not parts else join_path(parts)
            shown = emulpickle.bounded_repr(rest, max_chars=80)
            if size(obj) or isinstance(obj, (dict, list, tuple)):
                keys = f"; there: {_names(obj)}"
            else:
                keys = f" (a {type(obj).__name__}, not a container)"
            raise CliError(f"--path: nothing at {shown} under {where}{keys}", 1)
    return obj, tuple(parts)
