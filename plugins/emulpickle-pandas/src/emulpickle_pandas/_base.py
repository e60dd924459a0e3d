"""The emulators' shared machinery: pandas globals, pending instances, errors.

Every pandas global a pickle names is answered by a :class:`PandasGlobal`:
an inert object (never the real class or function) whose ``py_call`` /
``py_new`` check their arguments and build the real pandas object with the
installed pandas' own constructors. A class created by NEWOBJ and filled by
BUILD (``DataFrame``, ``IntegerArray``, ``CategoricalDtype``...) first is a
:class:`Pending`; the BUILD's state setter checks the state, builds the real
object and puts it in the pending's place (``Replacement``). The memo keeps
the pending, so :func:`real` follows ``Pending.real`` for values reached
again through it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulpickle import EmulationError, Registry, bounded_repr
from emulpickle.machine.host import Replacement

__all__ = [
    "PandasGlobal",
    "Pending",
    "fail",
    "guarded",
    "real",
    "register_global",
    "register_pending_setter",
    "resolve_pending",
]

#: ``builder(args) -> real object`` for REDUCE.
Caller = Callable[..., object]
#: ``builder(state) -> real object`` for NEWOBJ then BUILD.
Builder = Callable[[object], object]


def fail(what: str, value: object = None, why: str = "") -> EmulationError:
    """An EmulationError naming ``what`` and the bounded pickle value."""
    shown = "" if value is None else f" {bounded_repr(value)}"
    return EmulationError(
        f"pandas {what}{shown}: {why}" if why else f"pandas {what}{shown}"
    )


def guarded(what: str, build: Callable[[], Any]) -> Any:
    """Run a pandas constructor on checked arguments; its refusals (pandas
    raises ValueError/TypeError...) become EmulationErrors."""
    try:
        return build()
    except EmulationError:
        raise
    except (
        ValueError,
        TypeError,
        OverflowError,
        IndexError,
        KeyError,
        AttributeError,
    ) as exc:
        raise fail(
            what,
            why=f"pandas refused it ({type(exc).__name__}: {bounded_repr(str(exc))})",
        ) from exc


class Pending:
    """An instance NEWOBJ made, waiting for its BUILD state."""

    __slots__ = ("kind", "real")

    def __init__(self, kind: PandasGlobal) -> None:
        self.kind = kind
        self.real: object = None

    def __repr__(self) -> str:
        return f"<pending {self.kind.qualname} (no BUILD yet)>"


def real(value: object) -> object:
    """``value``, or the object a built :class:`Pending` stands for."""
    if type(value) is Pending and value.real is not None:
        return value.real
    return value


def resolve_pending(value: object) -> object:
    """``value`` with every built :class:`Pending` in its lists, dicts,
    tuples and sets replaced by the real object.

    BUILD puts the real object on the stack, but the memo keeps the pending
    (see :class:`~emulpickle.machine.host.Replacement`): an object pickled
    twice (``[frame, frame]``) is reached the second time through the memo.
    Walks each container once (iteratively: any depth), so the cost is
    bounded by the pickle's size.
    """
    top = [value]
    stack: list[object] = [top]
    seen: set[int] = set()
    rebuilt: dict[int, tuple[object, ...]] = {}
    # Tuples are immutable: a tuple holding a pending is rebuilt, and its
    # holders are fixed after their items (post-order).
    order: list[object] = []
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        kind = type(item)
        if kind in (list, tuple, set, frozenset):
            order.append(item)
            stack.extend(item)  # type: ignore[arg-type]
        elif kind is dict:
            order.append(item)
            stack.extend(item.values())  # type: ignore[attr-defined]

    def fixed(x: object) -> object:
        if type(x) is Pending and x.real is not None:
            return x.real
        return rebuilt.get(id(x), x)

    for item in reversed(order):
        if type(item) is list:
            item[:] = [fixed(x) for x in item]
        elif type(item) is dict:
            for key, x in item.items():
                item[key] = fixed(x)
        elif type(item) is tuple:
            new = tuple(fixed(x) for x in item)
            if any(a is not b for a, b in zip(new, item, strict=True)):
                rebuilt[id(item)] = new
    return top[0]


class PandasGlobal:
    """The emulator for one pandas global.

    Args:
        qualname: the name shown in errors (``pandas.DataFrame``).
        call: builds the real object from REDUCE arguments (None: refused).
        build: builds the real object from a BUILD state after NEWOBJ
            (None: NEWOBJ refused).
        tag: what index/array kind this class stands for (read by other
            emulators, e.g. ``_new_Index``'s first argument).
    """

    __slots__ = ("_build", "_call", "qualname", "tag")

    def __init__(
        self,
        qualname: str,
        call: Caller | None = None,
        build: Builder | None = None,
        tag: str = "",
    ) -> None:
        self.qualname = qualname
        self._call = call
        self._build = build
        self.tag = tag

    def __repr__(self) -> str:
        return f"<emulated {self.qualname}>"

    def py_call(self, *args: object) -> object:
        """REDUCE: the real object, from checked arguments."""
        if self._call is None:
            raise fail(
                f"{self.qualname}(...)",
                args,
                "this global is not called by pandas' pickles",
            )
        return self._call(*[real(arg) for arg in args])

    def py_new(self, *args: object, **kwargs: object) -> object:
        """NEWOBJ: a pending instance that its BUILD turns into the real one."""
        if self._build is None:
            raise fail(
                f"{self.qualname}.__new__", args, "pandas' pickles do not create it so"
            )
        return Pending(self)

    def finish(self, pending: Pending, state: object) -> Replacement:
        """BUILD of ``pending``: build, remember and hand back the real object."""
        if pending.real is not None:
            raise fail(f"{self.qualname}", state, "a second BUILD of one object")
        assert self._build is not None
        made = self._build(real(state))
        pending.real = made
        return Replacement(made)


def _set_pending_state(pending: Pending, state: object) -> Replacement:
    return pending.kind.finish(pending, state)


def register_pending_setter(registry: Registry) -> None:
    """Teach ``registry`` the BUILD of :class:`Pending` instances."""
    registry.register_state_setter(Pending, _set_pending_state)


def register_global(
    registry: Registry, names: tuple[str, ...], emulator: object
) -> None:
    """Register ``emulator`` under every dotted name in ``names``
    (``module.Name``; a class attribute as ``module:Class.attr``)."""
    for name in names:
        if ":" in name:
            module, attr = name.split(":")
        else:
            module, _, attr = name.rpartition(".")
        registry.register(module, attr, emulator)
