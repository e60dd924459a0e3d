"""Bounded rendering of values a pickle chose: for error messages and reprs.

A pickle of a few hundred bytes can build a tuple shared 2**40 times (forty
levels of ``(x, x)``), a list nested a million deep, or an int of a million
digits. ``repr`` of any of those never finishes, overflows the C stack or
raises (int-to-str conversion is capped by CPython). Every message and repr
that shows a pickle-chosen value therefore goes through :func:`bounded_repr`:

* the output is at most ``max_chars`` characters (the cut is marked ``...``);
* containers are shown at most ``max_depth`` levels deep;
* an object reached a second time (a shared subtree, or a cycle) is shown as
  ``<shared list>`` rather than rendered again, so the work done is linear in
  the number of *distinct* objects visited, and that is capped by the size
  budget too;
* only types whose ``repr`` is known to be cheap and bounded are asked for
  their own ``repr``; anything else appears as ``<module.Class object>``,
  unless its class defines ``__bounded_repr__(render)``, which emulator
  classes use to show their contents through the same budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_MAX_CHARS", "DEFAULT_MAX_DEPTH", "bounded_repr"]

#: How long a rendering may be unless the caller says otherwise.
DEFAULT_MAX_CHARS = 200
#: How deeply containers are rendered unless the caller says otherwise.
DEFAULT_MAX_DEPTH = 6

# Ints whose repr is cheap (and allowed: CPython refuses str() of huge ints).
_MAX_INT_BITS = 640
# Leaf types whose repr is linear in their size and never recurses.
_LEAF_TYPES: tuple[type, ...] = (bool, float, complex, type(None))


class _Budget(Exception):
    """Raised inside the walk once the output is full."""


class _Renderer:
    """One rendering: the output so far, the budget left, what was seen."""

    __slots__ = ("depth", "max_depth", "out", "room", "seen")

    def __init__(self, max_chars: int, max_depth: int) -> None:
        self.out: list[str] = []
        self.room = max_chars
        self.max_depth = max_depth
        self.depth = 0
        self.seen: set[int] = set()

    def emit(self, text: str) -> None:
        if len(text) > self.room:
            self.out.append(text[: max(self.room, 0)])
            self.room = 0
            raise _Budget
        self.out.append(text)
        self.room -= len(text)

    def render(self, value: object) -> None:
        """Append ``value``'s rendering (raises _Budget when full)."""
        kind = type(value)
        if kind is str:
            self._text(value)  # type: ignore[arg-type]
        elif kind is int:
            self._int(value)  # type: ignore[arg-type]
        elif kind in (bytes, bytearray):
            self._bytes(value)  # type: ignore[arg-type]
        elif kind in _LEAF_TYPES:
            self.emit(repr(value))
        elif kind in (tuple, list, set, frozenset, dict):
            self._container(value)
        else:
            self._object(value)

    def _text(self, value: str) -> None:
        # Only as much of the string as could be shown is ever repr'd.
        head = value[: self.room + 1]
        text = repr(head)
        if len(head) < len(value):
            text = text[:-1] + "..." + text[-1]
        self.emit(text)

    def _bytes(self, value: bytes | bytearray) -> None:
        head = bytes(value[: self.room + 1])
        text = repr(head)
        if len(head) < len(value):
            text = text[:-1] + "..." + text[-1]
        if type(value) is bytearray:
            text = f"bytearray({text})"
        self.emit(text)

    def _int(self, value: int) -> None:
        if value.bit_length() > _MAX_INT_BITS:
            self.emit(f"<int of {value.bit_length()} bits>")
        else:
            self.emit(repr(value))

    def _enter(self, value: object) -> bool:
        """Whether ``value`` is shown in full: not seen yet, not too deep."""
        key = id(value)
        if key in self.seen:
            self.emit(f"<shared {type(value).__name__}>")
            return False
        self.seen.add(key)
        if self.depth >= self.max_depth:
            self.emit(f"<{type(value).__name__}...>")
            return False
        return True

    def _container(self, value: Any) -> None:
        if not self._enter(value):
            return
        kind = type(value)
        if kind is tuple:
            opening, closing = "(", ",)" if len(value) == 1 else ")"
        elif kind is list:
            opening, closing = "[", "]"
        elif kind is dict:
            opening, closing = "{", "}"
        elif not value:
            self.emit(f"{kind.__name__}()")
            return
        elif kind is set:
            opening, closing = "{", "}"
        else:
            opening, closing = "frozenset({", "})"
        self.emit(opening)
        self.depth += 1
        if kind is dict:
            self._items(value.items(), pairs=True)
        else:
            self._items(value, pairs=False)
        self.depth -= 1
        self.emit(closing)

    def _items(self, items: Any, *, pairs: bool) -> None:
        first = True
        for item in items:
            if not first:
                self.emit(", ")
            first = False
            if pairs:
                self.render(item[0])
                self.emit(": ")
                self.render(item[1])
            else:
                self.render(item)

    def _object(self, value: object) -> None:
        cls = type(value)
        custom: Callable[[object, Callable[[object], None]], None] | None = getattr(
            cls, "__bounded_repr__", None
        )
        if custom is not None:
            if not self._enter(value):
                return
            self.depth += 1
            try:
                custom(value, self._part)
            finally:
                self.depth -= 1
            return
        if isinstance(value, type):
            self.emit(f"<class {_qualified(value)}>")
            return
        self.emit(f"<{_qualified(cls)} object>")

    def _part(self, piece: object) -> None:
        """What ``__bounded_repr__`` calls: text is emitted, values rendered."""
        if type(piece) is _Text:
            self.emit(str(piece))
        else:
            self.render(piece)


class _Text(str):
    """Literal text handed to the renderer by ``__bounded_repr__``."""

    __slots__ = ()


def text(value: str) -> str:
    """Mark ``value`` as literal text for a ``__bounded_repr__`` callback."""
    return _Text(value)


def _qualified(cls: type) -> str:
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "?")
    if not isinstance(module, str) or module == "builtins":
        return str(name)[:100]
    return f"{module[:100]}.{str(name)[:100]}"


def bounded_repr(
    value: object,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> str:
    """A repr of ``value`` of at most ``max_chars`` characters, in linear time.

    Safe for any value a pickle built: shared subtrees and cycles are shown
    once (later visits read ``<shared list>``), containers deeper than
    ``max_depth`` read ``<list...>``, huge ints read ``<int of N bits>``, and
    objects of other types read ``<module.Class object>`` unless their class
    defines ``__bounded_repr__(self, part)``, which calls ``part(x)`` for
    each value to show (rendered under the same budget) and
    ``part(emulpickle.render_text("..."))`` for literal text.
    """
    renderer = _Renderer(max(max_chars - 3, 1), max_depth)
    try:
        renderer.render(value)
    except _Budget:
        return "".join(renderer.out) + "..."
    except RecursionError:  # pragma: no cover - depth is bounded above
        return "".join(renderer.out) + "..."
    return "".join(renderer.out)
