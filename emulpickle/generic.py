"""Inert stand-ins for globals no emulator answers (``unknown="generic"``).

A :class:`GenericClass` records which global the pickle named; calling or
instantiating it yields a :class:`GenericObject` that records everything the
pickle did to it: arguments, BUILD state, appended items, set items.
Nothing named by the pickle is imported or run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._render import bounded_repr
from ._render import text as render_text
from .errors import EmulationError

__all__ = [
    "GenericAttribute",
    "GenericClass",
    "GenericObject",
    "GenericRenderer",
    "generic_getattr",
    "register_repr",
]


class _Guard(threading.local):
    """Per-thread bookkeeping that stops ``==`` from looping."""

    def __init__(self) -> None:
        self.eq_active: set[tuple[int, int]] = set()


_guard = _Guard()

#: Longest name a repr shows (a pickle chooses names of any length).
_MAX_NAME_SHOWN = 300
#: How much of a generic object ``repr`` shows. The contents are the
#: pickle's: shared subtrees and cycles are shown once (``<shared tuple>``),
#: so the repr of a DAG with 2**40 paths stays short and fast.
REPR_MAX_CHARS = 4096
REPR_MAX_DEPTH = 16

_Part = Callable[[object], None]

#: ``renderer(obj, part) -> bool``: see :func:`register_repr`.
GenericRenderer = Callable[["GenericObject", _Part], bool]

# The renderers plugins added, the latest first (replaced, never mutated, so
# a rendering in progress in another thread iterates a stable tuple).
_renderers: tuple[GenericRenderer, ...] = ()


def _clip(name: str) -> str:
    if len(name) <= _MAX_NAME_SHOWN:
        return name
    return name[: _MAX_NAME_SHOWN - 3] + "..."


class GenericClass:
    """An unknown global ``module.name``; callable and newable.

    Attributes:
        module: the module the pickle named.
        name: the (possibly dotted) name inside that module.
    """

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    @property
    def qualname(self) -> str:
        """``module.name``."""
        return f"{self.module}.{self.name}"

    def py_call(self, *args: object) -> GenericObject:
        """Calling the class (REDUCE, INST, OBJ) records the arguments."""
        return GenericObject(self, args)

    def py_new(self, *args: object, **kwargs: object) -> GenericObject:
        """``cls.__new__(cls, ...)`` (NEWOBJ, NEWOBJ_EX) records the arguments."""
        return GenericObject(self, args, kwargs)

    def py_setstate(self, state: object) -> None:
        """Classes take no BUILD state: a pickle must not rewrite a class."""
        raise EmulationError(f"cannot set state on the class {self.qualname}")

    def __repr__(self) -> str:
        return f"<generic class {_clip(self.qualname)}>"

    def __bounded_repr__(self, part: _Part) -> None:
        """Its repr, under :func:`emulpickle.bounded_repr`'s budget."""
        part(render_text(repr(self)))

    def __eq__(self, other: object) -> bool:
        if type(self) is not GenericClass or type(other) is not GenericClass:
            return NotImplemented
        return self.module == other.module and self.name == other.name

    def __hash__(self) -> int:
        return hash((GenericClass, self.module, self.name))


class GenericObject:
    """An instance of a :class:`GenericClass`, built only from pickle data.

    Attributes:
        cls: the generic class it was made from.
        args: positional arguments of the call / ``__new__``.
        kwargs: keyword arguments of ``__new__`` (NEWOBJ_EX).
        state: the BUILD state exactly as given; None if there was none.
        list_items: items appended by APPEND(S) (list subclasses).
        dict_items: items set by SETITEM(S) (dict subclasses).
        set_items: items added by ADDITEMS (set subclasses).
    """

    __slots__ = (
        "args",
        "cls",
        "dict_items",
        "kwargs",
        "list_items",
        "set_items",
        "state",
    )

    def __init__(
        self,
        cls: GenericClass,
        args: tuple[object, ...] = (),
        kwargs: dict[str, object] | None = None,
    ) -> None:
        self.cls = cls
        self.args = args
        self.kwargs: dict[str, object] = kwargs if kwargs is not None else {}
        self.state: object = None
        self.list_items: list[object] = []
        self.dict_items: dict[Any, object] = {}
        self.set_items: list[object] = []

    def py_setstate(self, state: object) -> None:
        """Keep the BUILD state as given."""
        self.state = state

    def py_append(self, item: object) -> None:
        """Record an appended item."""
        self.list_items.append(item)

    def py_setitem(self, key: object, value: object) -> None:
        """Record a set item."""
        self.dict_items[key] = value

    def py_add(self, item: object) -> None:
        """Record an added set element."""
        self.set_items.append(item)

    def __repr__(self) -> str:
        return bounded_repr(self, max_chars=REPR_MAX_CHARS, max_depth=REPR_MAX_DEPTH)

    def __bounded_repr__(self, part: _Part) -> None:
        """``mod.Cls(args, key=value, ..., items=[...])``, within the budget.

        Everything the pickle gave is rendered through ``part``, so an object
        reached again (a shared subtree or a cycle back to this object) is
        shown once and then as ``<shared ...>``. A renderer added with
        :func:`register_repr` that recognises the object shows it instead.
        """
        for renderer in _renderers:
            if renderer(self, part):
                return
        part(render_text(_clip(self.cls.qualname) + "("))
        first = True

        def lead(label: str = "") -> None:
            nonlocal first
            part(render_text(label if first else ", " + label))
            first = False

        for arg in self.args:
            lead()
            part(arg)
        for key, value in self.kwargs.items():
            lead(f"{_clip(str(key))}=")
            part(value)
        state = self.state
        if type(state) is dict:
            for key, value in state.items():
                if type(key) is str:
                    lead(f"{_clip(key)}=")
                else:
                    lead()
                    part(key)
                    part(render_text(": "))
                part(value)
        elif state is not None:
            lead("state=")
            part(state)
        for label, items in (
            ("items=", self.list_items),
            ("dict_items=", self.dict_items),
            ("set_items=", self.set_items),
        ):
            if items:
                lead(label)
                part(items)
        part(render_text(")"))

    def _key(self) -> tuple[object, ...]:
        return (
            self.cls,
            self.args,
            self.kwargs,
            self.state,
            self.list_items,
            self.dict_items,
            self.set_items,
        )

    def __eq__(self, other: object) -> bool:
        """Equal by value: same class, arguments, state and items.

        Self-referential objects compare without unbounded recursion: while
        a pair of objects is being compared, a comparison of the same pair
        reached through a cycle is taken as equal (so two cyclic structures
        of the same shape are equal, and any real difference still shows).
        """
        if not isinstance(other, GenericObject):
            return NotImplemented
        if self is other:
            return True
        pair = (id(self), id(other))
        active = _guard.eq_active
        if pair in active:
            return True
        active.add(pair)
        try:
            return self._key() == other._key()
        finally:
            active.discard(pair)

    def __hash__(self) -> int:
        # Only the creation arguments, which never change, feed the hash, so
        # an object keeps its hash while BUILD and SETITEMS fill it in.
        try:
            return hash((self.cls, self.args))
        except TypeError:
            return hash(self.cls)


def register_repr(renderer: GenericRenderer) -> None:
    """Show some generic objects in their own way in every repr.

    Plugins call this when imported: the torch plugin shows pickled
    ``nn.Module`` objects as torch does (``Sequential(`` then one
    ``(0): Linear(...)`` line per submodule). ``renderer(obj, part)`` is
    asked for each :class:`GenericObject` rendered, the latest registered
    first; it returns False, having rendered nothing, for an object it
    leaves to the others (and finally to the default form), or renders
    ``obj`` through ``part`` exactly as a ``__bounded_repr__`` method does
    (``part(value)`` for values of the pickle, ``part(render_text(s))`` for
    literal text, in which a newline is indented to the object's depth) and
    returns True. Rendering stays bounded: what ``part`` is given counts
    against :func:`emulpickle.bounded_repr`'s budget, objects met again are
    shown as ``<shared ...>``, and an exception ends the rendering there.
    Adding a renderer that is already there does nothing.
    """
    global _renderers
    if renderer not in _renderers:
        _renderers = (renderer, *_renderers)


class GenericAttribute(GenericClass):
    """An attribute of a generic object (or of another generic attribute).

    ``getattr(obj, "name")`` in a pickle (for example a pickled bound method)
    gives one of these; it is callable and newable like a
    :class:`GenericClass`. Attributes of a :class:`GenericClass` itself are
    plain :class:`GenericClass` objects with a dotted name instead
    (``mod.Cls.attr``), exactly what a pickle naming ``Cls.attr`` gives.

    Attributes:
        owner: the object the attribute was taken from.
        attr: the attribute name.
        module: the module of the owner's class.
        name: ``Cls().attr`` for an attribute of an instance of ``Cls``.
    """

    __slots__ = ("attr", "owner")

    def __init__(self, owner: GenericObject | GenericAttribute, attr: str) -> None:
        base = owner if isinstance(owner, GenericAttribute) else owner.cls
        suffix = "" if isinstance(owner, GenericAttribute) else "()"
        super().__init__(base.module, f"{base.name}{suffix}.{attr}")
        self.owner = owner
        self.attr = attr

    def __repr__(self) -> str:
        return f"<generic attribute {_clip(self.qualname)}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenericAttribute):
            return NotImplemented
        return self.attr == other.attr and self.owner == other.owner

    def __hash__(self) -> int:
        return hash((GenericAttribute, self.attr, hash(self.owner)))


#: Longest dotted name ``generic_getattr`` makes (``Cls().a.b...``).
MAX_GENERIC_NAME = 1000


def generic_getattr(obj: object, name: object, *default: object) -> GenericClass:
    """Emulate ``builtins.getattr`` on generic objects, without any lookup.

    Pickles use ``getattr`` for bound methods, enum members and alternative
    constructors (``getattr(Cls, "from_dict")``). On a :class:`GenericClass`
    the result is ``GenericClass(module, "Cls.name")``; on a
    :class:`GenericObject` or :class:`GenericAttribute` it is a
    :class:`GenericAttribute`. A generic object has every attribute, so a
    default is accepted and ignored.

    Raises:
        EmulationError: ``obj`` is not generic, the name is not a string, or
            more than one default is given.
    """
    if len(default) > 1:
        raise EmulationError(
            f"getattr expected at most 3 arguments, got {2 + len(default)}"
        )
    if not isinstance(name, str):
        raise EmulationError(
            f"getattr: attribute name must be a string, not {type(name).__name__}"
        )
    if isinstance(obj, GenericClass | GenericObject):
        base = obj if isinstance(obj, GenericClass) else obj.cls
        if len(base.name) + len(name) > MAX_GENERIC_NAME:
            # Each getattr copies the dotted name: long chains of them would
            # cost memory quadratic in the input (and deep recursion to hash).
            raise EmulationError(
                f"getattr: the name {base.name[:60]}... would be longer than "
                f"{MAX_GENERIC_NAME} characters"
            )
    if isinstance(obj, (GenericObject, GenericAttribute)):
        return GenericAttribute(obj, name)
    if isinstance(obj, GenericClass):
        return GenericClass(obj.module, f"{obj.name}.{name}")
    raise EmulationError(
        f"getattr is only emulated on generic objects, not {type(obj).__name__}"
    )
