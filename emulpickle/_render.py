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
* only types whose ``repr`` is known to be cheap and flat (numbers, the
  standard library's value types such as ``Decimal`` or ``datetime``) are
  asked for their own ``repr``; subclasses of the builtin containers and
  ``deque`` are shown as ``Name(<contents>)``; anything else appears as
  ``<module.Class object>``, unless its class defines
  ``__bounded_repr__(self, part)``, which emulator classes use to show their
  contents through the same budget.

Rendering never raises: an exception inside a ``repr`` or a
``__bounded_repr__`` ends the rendering where it happened.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_MAX_CHARS", "DEFAULT_MAX_DEPTH", "bounded_repr", "exception_text"]

#: How long a rendering may be unless the caller says otherwise.
DEFAULT_MAX_CHARS = 200
#: How deeply containers are rendered unless the caller says otherwise.
DEFAULT_MAX_DEPTH = 6

# Ints whose repr is cheap (and allowed: CPython refuses str() of huge ints).
_MAX_INT_BITS = 640
# Leaf types whose repr is linear in their size and never recurses.
_LEAF_TYPES: tuple[type, ...] = (
    bool,
    float,
    complex,
    type(None),
    type(Ellipsis),
    type(NotImplemented),
)
# Containers rendered item by item (exact types; subclasses are wrapped).
_CONTAINERS: tuple[type, ...] = (tuple, list, set, frozenset, dict)
#: Standard-library value types that are written as ``str(x)``
#: (``to_builtins``) and whose repr is flat too (it shows no other object a
#: pickle chose), named rather than imported so that importing emulpickle
#: stays fast; a subclass matches through its MRO.
STR_VALUE_TYPE_NAMES = frozenset(
    {
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "pathlib.PurePath",
        "ipaddress.IPv4Address",
        "ipaddress.IPv6Address",
        "ipaddress.IPv4Network",
        "ipaddress.IPv6Network",
        "ipaddress.IPv4Interface",
        "ipaddress.IPv6Interface",
    }
)
# Every type rendered by its own repr (linear in the value's size).
_FLAT_TYPE_NAMES = STR_VALUE_TYPE_NAMES | {"datetime.date", "datetime.time", "range"}


def has_type_named(cls: type, names: frozenset[str]) -> bool:
    """Whether ``cls`` or a base is called ``module.qualname`` in ``names``."""
    for base in getattr(cls, "__mro__", ()):
        module = getattr(base, "__module__", "")
        name = getattr(base, "__qualname__", "")
        if (name if module == "builtins" else f"{module}.{name}") in names:
            return True
    return False


#: How each builtin container type reads when it is empty.
_EMPTY: dict[type, str] = {
    tuple: "()",
    list: "[]",
    dict: "{}",
    set: "set()",
    frozenset: "frozenset()",
}
#: Container bases whose subclasses are shown as ``Name(<contents>)``.
_WRAPPED: tuple[type, ...] = (dict, list, tuple, set, frozenset, deque)


def _plain(value: object) -> object:
    """The builtin value of a subclass of int, float, complex, str or bytes.

    Through the base type's own methods (``+x`` and ``x[:]`` of the base
    type give exact builtins), so no method of the subclass runs.
    """
    if isinstance(value, int):
        return int.__pos__(value)
    if isinstance(value, float):
        return float.__pos__(value)
    if isinstance(value, complex):
        return complex.__pos__(value)
    if isinstance(value, str):
        return str.__str__(value)
    assert isinstance(value, bytes)
    return bytes.__getitem__(value, slice(None))


class _Budget(BaseException):
    """Raised inside the walk once the output is full.

    A BaseException, so that an ``except Exception`` in a
    ``__bounded_repr__`` cannot swallow it and go on rendering.
    """


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
        elif kind in _CONTAINERS:
            self._container(value, kind)
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
        # Only as much as could be shown is ever repr'd (bytearray quotes
        # differently from bytes: its own repr is used).
        head = value[: self.room + 1]
        text = repr(head)
        if len(head) < len(value):
            end = 1 if type(value) is bytes else 2  # the closing quote (and paren)
            text = text[:-end] + "..." + text[-end:]
        self.emit(text)

    def _int(self, value: int) -> None:
        if value.bit_length() > _MAX_INT_BITS:
            self.emit(f"<int of {value.bit_length()} bits>")
        else:
            self.emit(repr(value))

    def _first_visit(self, value: object) -> bool:
        """Whether ``value`` is met for the first time (else say it is shared)."""
        key = id(value)
        if key in self.seen:
            self.emit(f"<shared {type(value).__name__}>")
            return False
        self.seen.add(key)
        return True

    def _enter(self, value: object) -> bool:
        """Whether ``value`` is shown in full: not seen yet, not too deep."""
        if not self._first_visit(value):
            return False
        if self.depth >= self.max_depth:
            self.emit(f"<{type(value).__name__}...>")
            return False
        return True

    def _container(self, value: Any, kind: type) -> None:
        """``value``, of builtin container type ``kind`` (exactly)."""
        if not value:
            # Nothing to share or nest (``()`` is one object everywhere).
            self.emit(_EMPTY[kind])
            return
        if not self._enter(value):
            return
        self._contents(value, kind)

    def _contents(self, value: Any, kind: type) -> None:
        """The items of a container as ``kind``'s repr shows them."""
        if kind is tuple:
            opening, closing = "(", ",)" if len(value) == 1 else ")"
        elif kind in (list, deque):
            opening, closing = "[", "]"
        elif kind is frozenset:
            opening, closing = "frozenset({", "})"
        else:  # dict, set
            opening, closing = "{", "}"
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
        base = next((k for k in _WRAPPED if isinstance(value, k)), None)
        if base is not None:
            # OrderedDict, defaultdict, Counter, deque...: Name(<contents>).
            if self._enter(value):
                self.emit(f"{cls.__name__[:100]}(")
                self._contents(value, base)
                self.emit(")")
            return
        if isinstance(value, (int, float, complex, str, bytes)):
            # Subclasses of the leaf types (numpy's float64, str_...).
            self.render(_plain(value))
            return
        if has_type_named(cls, _FLAT_TYPE_NAMES):
            if self._first_visit(value):
                try:
                    shown = repr(value)
                except Exception:  # e.g. a Fraction too long for str()
                    shown = f"<{_qualified(cls)} object>"
                self.emit(shown)
            return
        if cls is slice:
            if self._enter(value):
                self._call_form("slice", (value.start, value.stop, value.step))  # type: ignore[attr-defined]
            return
        self.emit(f"<{_qualified(cls)} object>")

    def _call_form(self, name: str, args: tuple[object, ...]) -> None:
        self.emit(f"{name}(")
        self.depth += 1
        self._items(args, pairs=False)
        self.depth -= 1
        self.emit(")")

    def _part(self, piece: object) -> None:
        """What ``__bounded_repr__`` calls: text is emitted, values rendered."""
        if type(piece) is _Text:
            shown = str.__str__(piece)
            if "\n" in shown and self.depth > 1:
                # Lines of a nested multi-line rendering line up under the
                # object that wrote them (the depth, so the indent, is bounded).
                shown = shown.replace("\n", "\n" + "  " * (self.depth - 1))
            self.emit(shown)
        else:
            self.render(piece)


class _Text(str):
    """Literal text handed to the renderer by ``__bounded_repr__``."""

    __slots__ = ()


def text(value: str) -> str:
    """Mark ``value`` as literal text for a ``__bounded_repr__`` callback.

    A newline in it is followed by two spaces for each level the object
    being rendered is nested below the outermost one, so that a multi-line
    rendering (a module tree) inside another stays aligned.
    """
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
    limit = max(max_chars, 0)
    renderer = _Renderer(limit, max_depth)
    complete = False
    try:
        renderer.render(value)
        complete = True
    except _Budget:
        pass
    except Exception:  # a failing repr, or RecursionError: stop right there
        pass
    shown = "".join(renderer.out)
    if complete:
        return shown
    return shown[: max(limit - 3, 0)] + "..."[:limit]


def exception_text(exc: BaseException, *, max_chars: int = 500) -> str:
    """``str(exc)``, bounded: arguments that are not text are rendered bounded.

    ``str(KeyError(key))`` is ``repr(key)``, so an exception raised over a
    pickle-chosen value would render it whole; text arguments were already
    built by whoever raised and are only cut.
    """
    parts = [
        arg if type(arg) is str else bounded_repr(arg, max_chars=max_chars)
        for arg in exc.args
    ]
    text = ", ".join(parts) if len(parts) != 1 else parts[0]
    if len(text) > max_chars:
        text = text[: max_chars - 3] + "..."
    return text
