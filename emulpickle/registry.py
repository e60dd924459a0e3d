"""Registries: which emulator answers which global.

A :class:`Registry` maps ``(module, name)`` to an emulator. Registries chain
to a parent, so an application extends the curated default set without
changing it::

    reg = Registry(parent=default_registry())
    reg.register("mypkg.models", "Config", Config)

The registry holds emulators but imports none: the curated registries
(:func:`default_registry`, :func:`first_party_registry`) are built by
:mod:`emulpickle.defaults`, which these two functions call. Imports flow
down only (``_frozen``; ``emulators.records`` when a record class is
registered), never to the unpickler, the scanner or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from ._frozen import FrozenValue

__all__ = [
    "PLUGIN_GROUP",
    "CallHandler",
    "PluginNotFoundError",
    "Registry",
    "Resolution",
    "default_registry",
    "first_party_registry",
    "installed_plugins",
]

#: Entry-point group in which plugin distributions advertise ``register``.
PLUGIN_GROUP = "emulpickle.plugins"

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .machine.host import StateSetter

T = TypeVar("T")


class Resolution(FrozenValue):
    """The answer to a global: the emulator and the registry that holds it."""

    _fields = ("value", "registry")
    __slots__ = _fields
    value: object
    registry: Registry

    def __init__(self, value: object, registry: Registry) -> None:
        self._set("value", value)
        self._set("registry", registry)


class CallHandler(FrozenValue):
    """Validating stand-ins for calling a registered real object.

    Attributes:
        call: used for REDUCE, INST and OBJ; None refuses those.
        new: used for NEWOBJ and NEWOBJ_EX; None refuses those.
    """

    _fields = ("call", "new")
    __slots__ = _fields
    call: Callable[..., object] | None
    new: Callable[..., object] | None

    def __init__(
        self, call: Callable[..., object] | None, new: Callable[..., object] | None
    ) -> None:
        self._set("call", call)
        self._set("new", new)


class PluginNotFoundError(LookupError):
    """A plugin asked for by name is not installed.

    Attributes:
        name: the plugin that was asked for.
        installed: names of the plugins that are installed.
    """

    def __init__(self, name: str, installed: list[str]) -> None:
        have = ", ".join(installed) if installed else "none"
        super().__init__(
            f"no emulpickle plugin named {name!r} is installed "
            f"(installed plugins: {have}); plugins are distributions with an "
            f"entry point in the {PLUGIN_GROUP!r} group"
        )
        self.name = name
        self.installed = installed


def installed_plugins() -> dict[str, EntryPoint]:
    """The plugins installed in this environment, by entry-point name."""
    # Imported here: importlib.metadata alone would double emulpickle's
    # import time, and only plugin loading needs it.
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


class Registry:
    """A mapping from pickle globals to emulators, chained to a parent.

    Args:
        parent: a registry consulted for names this one does not hold.
        name: a label used in ``repr`` and error messages.
    """

    def __init__(self, parent: Registry | None = None, *, name: str = "") -> None:
        self.parent = parent
        self.name = name
        self._entries: dict[tuple[str, str], object] = {}
        self._state_setters: dict[type, StateSetter] = {}
        self._handlers: dict[int, tuple[object, CallHandler]] = {}
        self._read_only = False

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Registry{label} with {len(self._entries)} entries>"

    @property
    def read_only(self) -> bool:
        """Whether this registry refuses changes."""
        return self._read_only

    def freeze(self) -> None:
        """Make this registry read-only."""
        self._read_only = True

    def _check_writable(self) -> None:
        if self._read_only:
            raise TypeError(
                f"{self!r} is read-only; create Registry(parent=...) and extend that"
            )

    def register(
        self,
        module: str,
        name: str,
        emulator: object,
        *,
        call: Callable[..., object] | None = None,
        new: Callable[..., object] | None = None,
    ) -> None:
        """Answer the global ``module.name`` with ``emulator``.

        ``emulator`` may be a *real* object (a class, say) that must not be
        called with arbitrary arguments: give ``call`` and/or ``new`` and the
        machine calls those instead (``call(*args)`` for REDUCE/INST/OBJ,
        ``new(*args, **kwargs)`` for NEWOBJ); once either is given, the
        operation without a handler is refused. Mutable containers are
        refused: every load shares the emulator, so a pickle could otherwise
        change it for the next one.
        """
        self._check_writable()
        if isinstance(emulator, (list, dict, set, bytearray)):
            raise TypeError(
                f"cannot register a mutable {type(emulator).__name__} as an emulator"
            )
        # Imported here: the registry sits beside the emulators, not on them.
        from .emulators.records import is_record_class, set_record_state

        if is_record_class(emulator):
            self._state_setters[emulator] = set_record_state  # type: ignore[index]
        self._entries[(module, name)] = emulator
        if call is not None or new is not None:
            self._handlers[id(emulator)] = (emulator, CallHandler(call, new))

    def emulate(self, module: str, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`register`; returns the object unchanged."""

        def decorator(emulator: T) -> T:
            self.register(module, name, emulator)
            return emulator

        return decorator

    def unregister(self, module: str, name: str) -> None:
        """Remove this registry's own entry for ``module.name`` (KeyError if absent)."""
        self._check_writable()
        del self._entries[(module, name)]

    def register_state_setter(self, cls: type, setter: StateSetter) -> None:
        """Apply BUILD states to instances of exactly ``cls`` with ``setter``.

        ``setter(instance, state)`` replaces standard BUILD semantics (and the
        instance's own ``__setstate__``) for that type, so an emulator that
        must return a *real* object (a numpy array, say) can still validate
        the state before the real object sees it. Registering a dataclass or
        attrs class with :meth:`register` does this automatically.
        """
        self._check_writable()
        self._state_setters[cls] = setter

    def call_handler(self, obj: object) -> CallHandler | None:
        """How calls on ``obj`` are handled, if it was registered with handlers."""
        registry: Registry | None = self
        key = id(obj)
        while registry is not None:
            found = registry._handlers.get(key)
            if found is not None and found[0] is obj:
                return found[1]
            registry = registry.parent
        return None

    def state_setter(self, cls: type) -> StateSetter | None:
        """The state setter for instances of exactly ``cls``, here or in a parent."""
        registry: Registry | None = self
        while registry is not None:
            setter = registry._state_setters.get(cls)
            if setter is not None:
                return setter
            registry = registry.parent
        return None

    def resolve(self, module: str, name: str) -> Resolution | None:
        """Find ``module.name`` here or in a parent; None when nobody answers."""
        registry: Registry | None = self
        key = (module, name)
        while registry is not None:
            entries = registry._entries
            if key in entries:
                return Resolution(entries[key], registry)
            registry = registry.parent
            if registry is not None and type(registry).resolve is not _RESOLVE:
                # A parent that answers in its own way (the first-party
                # registry registers a claiming plugin when first asked).
                return registry.resolve(module, name)
        return None

    def __contains__(self, key: object) -> bool:
        if not (isinstance(key, tuple) and len(key) == 2):
            return False
        return self.resolve(str(key[0]), str(key[1])) is not None

    def own_entries(self) -> Iterator[tuple[str, str]]:
        """The ``(module, name)`` keys held by this registry itself."""
        return iter(list(self._entries))

    @classmethod
    def with_plugins(cls, *names: str, parent: Registry | None = None) -> Registry:
        """A new registry with the named plugins registered into it.

        Plugins are looked up in the ``emulpickle.plugins`` entry-point group
        and their target, ``register(registry)``, is called on the new
        registry, whose parent is ``parent`` (default: the default registry).
        Installing a plugin never changes :func:`default_registry` itself.

        Raises:
            PluginNotFoundError: a name is not an installed plugin.
        """
        available = installed_plugins()
        missing = [name for name in names if name not in available]
        if missing:
            raise PluginNotFoundError(missing[0], sorted(available))
        label = "plugins: " + ", ".join(names)
        registry = cls(
            parent=parent if parent is not None else default_registry(), name=label
        )
        for name in names:
            register = available[name].load()
            register(registry)
        return registry

    def names(self) -> set[tuple[str, str]]:
        """Every ``(module, name)`` answered here or by a parent."""
        result: set[tuple[str, str]] = set()
        registry: Registry | None = self
        while registry is not None:
            result.update(registry._entries)
            registry = registry.parent
        return result


#: :meth:`Registry.resolve` itself, to tell a parent that overrides it.
_RESOLVE = Registry.resolve


def default_registry() -> Registry:
    """The curated, read-only registry of emulators for safe standard types.

    Built once per process by :func:`emulpickle.defaults.default_registry`.
    """
    from . import defaults  # defaults imports the emulators, which know us

    return defaults.default_registry()


def first_party_registry() -> Registry:
    """The default registry plus every installed first-party plugin (read-only).

    See :func:`emulpickle.defaults.first_party_registry`.
    """
    from . import defaults

    return defaults.first_party_registry()
