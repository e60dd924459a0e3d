"""The :class:`Unpickler` and the ``load``/``loads`` functions.

The unpickler is the machine's host (:class:`emulpickle.machine.host.Host`):
it answers globals from its registry (or the user's ``find_class``) and runs
the hooks. Imports flow down: to the machine, the registry and the default
registries (``defaults``), never to the scanner or the CLI.
"""

from __future__ import annotations

import copyreg
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .defaults import default_registry
from .errors import ForbiddenGlobalError, UnpicklingError
from .generic import GenericClass, generic_getattr
from .limits import DEFAULT_LIMITS, Limits
from .machine import Machine, Passthrough
from .machine.context import reset_limits, set_limits
from .machine.opcodes import opcode_name
from .registry import CallHandler, Registry

if TYPE_CHECKING:
    from .machine.host import StateSetter

__all__ = ["MAX_DISALLOWED", "Unpickler", "load", "loads"]

Unknown = Literal["error", "generic"]

#: How many refused globals one load gathers for its ForbiddenGlobalError
#: before it stops (each is a stand-in kept until the load ends).
MAX_DISALLOWED = 1000


class _Refusals:
    """The globals one load refused: the first error, and a stand-in each.

    With ``unknown="error"`` a refused global does not end the load at once:
    it goes on with an inert :class:`GenericClass` in the global's place
    (what ``unknown="generic"`` gives), so that one error can name every
    global the pickle names that is not allowed. Nothing a pickle names runs
    either way; the stand-ins never leave the load.
    """

    __slots__ = ("first", "stand_ins")

    def __init__(self) -> None:
        self.first: ForbiddenGlobalError | None = None
        self.stand_ins: dict[tuple[str, str], GenericClass] = {}

    def stand_in(
        self, error: ForbiddenGlobalError, offset: int, opcode: str | None
    ) -> GenericClass:
        """The stand-in for the global ``error`` refuses (named at ``offset``)."""
        key = (error.module, error.name)
        found = self.stand_ins.get(key)
        if found is not None:
            return found
        if self.first is None:
            if offset >= 0 and opcode is not None:
                error.locate(offset, opcode)
            self.first = error
        elif len(self.stand_ins) >= MAX_DISALLOWED:
            # Enough to act on; a pickle naming a million globals must not
            # make a million stand-ins.
            raise self.error(stopped_early=True)
        found = GenericClass(error.module, error.name)
        self.stand_ins[key] = found
        return found

    def error(self, *, stopped_early: bool) -> ForbiddenGlobalError:
        """The first refusal, listing every global refused so far."""
        first = self.first
        assert first is not None
        first.disallowed = tuple(self.stand_ins)
        first._stopped_early = stopped_early and len(self.stand_ins) > 1
        return first


class Unpickler:
    """Reads pickles from a binary file (or bytes-like object) without running them.

    Args:
        file: a binary file object with ``read`` (and ``readline``), or a
            bytes-like object holding the pickle.
        registry: the :class:`~emulpickle.Registry` that answers globals;
            defaults to the class attribute ``registry`` or
            :func:`~emulpickle.default_registry`.
        unknown: ``"error"`` refuses globals no emulator answers with
            :class:`~emulpickle.ForbiddenGlobalError`; ``"generic"`` turns them
            into :class:`~emulpickle.GenericClass` objects.
        find_class: ``callable(module, name)`` replacing the registry lookup.
        persistent_load: ``callable(pid)`` for PERSID / BINPERSID.
        get_extension: ``callable(code)`` for EXT1 / EXT2 / EXT4.
        next_buffer: ``callable()`` returning the next out-of-band buffer.
        make_readonly: ``callable(obj)`` for READONLY_BUFFER.
        buffers: iterable of out-of-band buffers (sugar for ``next_buffer``).
        fix_imports: map Python 2 names to Python 3 ones before any hook sees them.
        encoding: how to decode Python 2 ``str`` data (``"bytes"`` keeps bytes).
        errors: the error handler for that decoding.
        limits: resource :class:`~emulpickle.Limits`.

    Subclasses may override :meth:`find_class`, :meth:`persistent_load`,
    :meth:`get_extension`, :meth:`next_buffer` and :meth:`make_readonly`, and
    may set a class attribute ``registry``.
    """

    registry: ClassVar[Registry | None] = None

    def __init__(
        self,
        file: Any,
        *,
        registry: Registry | None = None,
        unknown: Unknown = "error",
        find_class: Callable[[str, str], object] | None = None,
        persistent_load: Callable[[Any], object] | None = None,
        get_extension: Callable[[int], object] | None = None,
        next_buffer: Callable[[], object] | None = None,
        make_readonly: Callable[[Any], object] | None = None,
        buffers: Iterable[Any] | None = None,
        fix_imports: bool = True,
        encoding: str = "ASCII",
        errors: str = "strict",
        limits: Limits | None = None,
    ) -> None:
        if unknown not in ("error", "generic"):
            raise ValueError(f'unknown must be "error" or "generic", not {unknown!r}')
        if registry is None:
            registry = type(self).registry
        if registry is None:
            registry = default_registry()
        self._registry: Registry = registry
        self.unknown: Unknown = unknown
        self.limits: Limits = limits if limits is not None else DEFAULT_LIMITS
        self._find_class_hook = find_class
        self._persistent_load_hook = persistent_load
        self._get_extension_hook = get_extension
        self._next_buffer_hook = next_buffer
        self._make_readonly_hook = make_readonly
        self._buffers: Iterator[Any] | None = (
            iter(buffers) if buffers is not None else None
        )
        self._globals: dict[tuple[str, str], object] = {}
        self._extensions: dict[int, object] = {}
        trusting = (
            find_class is not None or type(self).find_class is not Unpickler.find_class
        )
        # Globals the registry refuses are gathered (see _Refusals); a
        # find_class of the caller's own decides, and its errors propagate.
        self._gather = not trusting
        self._refusals: _Refusals | None = None
        self._machine = Machine(
            self,
            file,
            encoding=encoding,
            errors=errors,
            fix_imports=fix_imports,
            limits=self.limits,
            wrap_errors=not trusting,
        )

    @property
    def active_registry(self) -> Registry:
        """The registry this unpickler resolves globals with."""
        return self._registry

    def load(self) -> Any:
        """Read one pickle and return the object; the file is left after its STOP."""
        token = set_limits(self.limits, self._machine.keys, self._machine)
        refusals = self._refusals = _Refusals() if self._gather else None
        try:
            result = self._machine.load()
        except Exception as exc:
            if refusals is not None and refusals.first is not None:
                # What stopped the load came after a refused global (maybe
                # because of its stand-in): the refusal is what to report.
                raise refusals.error(stopped_early=True) from None
            if isinstance(exc, Passthrough):
                raise exc.exc.with_traceback(exc.exc.__traceback__) from None
            raise
        finally:
            self._refusals = None
            self._machine.give_back()
            reset_limits(token)
        if refusals is not None and refusals.first is not None:
            raise refusals.error(stopped_early=False)
        return result

    # The machine calls these three; they are not hooks. It keeps what the
    # last two answer, once per object or class: no cache here.
    def resolve_global(self, module: str, name: str) -> object:
        """Answer a global named by the pickle (Python 2 names already mapped).

        A global the registry refuses is answered with an inert stand-in
        while the load goes on, so that the load's ForbiddenGlobalError names
        every refused global (see ``ForbiddenGlobalError.disallowed``).
        """
        refusals = self._refusals
        if refusals is not None:
            # Refused already (a pickle may name it a million times): the
            # registry, which gathering implies, would refuse it again.
            known = refusals.stand_ins.get((module, name))
            if known is not None:
                return known
        try:
            return self.find_class(module, name)
        except ForbiddenGlobalError as error:
            if refusals is None:
                raise
            machine = self._machine
            opcode = opcode_name(machine.global_opcode)
            return refusals.stand_in(error, machine.global_offset, opcode)

    def call_handler(self, obj: object) -> CallHandler | None:
        """The registry's call handler for ``obj``, if it was registered with one."""
        return self._registry.call_handler(obj)

    def state_setter(self, cls: type) -> StateSetter | None:
        """The registry's BUILD state setter for instances of ``cls``, if any."""
        return self._registry.state_setter(cls)

    # ------------------------------------------------------------------ hooks

    def find_class(self, module: str, name: str) -> Any:
        """Return the object for global ``module.name``.

        By default the registry answers; names it does not know raise
        :class:`~emulpickle.ForbiddenGlobalError` or, with
        ``unknown="generic"``, become :class:`~emulpickle.GenericClass`.
        """
        if self._find_class_hook is not None:
            return self._find_class_hook(module, name)
        key = (module, name)
        try:
            return self._globals[key]
        except KeyError:
            pass
        found = self._registry.resolve(module, name)
        if found is not None:
            value = found.value
        elif self.unknown == "generic":
            # getattr on generic objects yields generic attributes (how enum
            # members and class attributes pickle), never a real lookup.
            if key == ("builtins", "getattr"):
                value = generic_getattr
            else:
                value = GenericClass(module, name)
        else:
            raise ForbiddenGlobalError(module, name)
        self._globals[key] = value
        return value

    def persistent_load(self, pid: Any) -> Any:
        """Return the object for persistent id ``pid`` (PERSID / BINPERSID)."""
        if self._persistent_load_hook is not None:
            return self._persistent_load_hook(pid)
        raise UnpicklingError(
            "a persistent id instruction was encountered, "
            "but no persistent_load function was specified"
        )

    def get_extension(self, code: int) -> Any:
        """Return the object for extension ``code`` (EXT1 / EXT2 / EXT4).

        By default copyreg's extension registry maps the code to a
        ``(module, name)`` that is then resolved like any global.
        """
        if self._get_extension_hook is not None:
            return self._get_extension_hook(code)
        try:
            return self._extensions[code]
        except KeyError:
            pass
        key = copyreg._inverted_registry.get(code)  # type: ignore[attr-defined]
        if not key:
            if code <= 0:
                raise UnpicklingError("EXT specifies code <= 0")
            raise UnpicklingError(f"unregistered extension code {code}")
        module, name = key
        value = self._machine.resolve_global(module, name)
        if self._refusals is None or self._refusals.first is None:
            # (A refused global's stand-in must not answer a later load.)
            self._extensions[code] = value
        return value

    def next_buffer(self) -> Any:
        """Return the next out-of-band buffer (NEXT_BUFFER)."""
        if self._next_buffer_hook is not None:
            return self._next_buffer_hook()
        if self._buffers is None:
            raise UnpicklingError(
                "pickle stream refers to out-of-band data "
                "but no buffers argument was given"
            )
        try:
            return next(self._buffers)
        except StopIteration:
            raise UnpicklingError("not enough out-of-band buffers") from None

    def make_readonly(self, obj: Any) -> Any:
        """Return a read-only view of buffer ``obj`` (READONLY_BUFFER)."""
        if self._make_readonly_hook is not None:
            return self._make_readonly_hook(obj)
        try:
            view = memoryview(obj)
        except TypeError:
            raise UnpicklingError(
                f"READONLY_BUFFER applied to a {type(obj).__name__}, not a buffer"
            ) from None
        if view.readonly:
            view.release()
            return obj
        return view.toreadonly()


def loads(data: bytes | bytearray | memoryview, /, **options: Any) -> Any:
    """Load one pickle from a bytes-like object. Options as :class:`Unpickler`."""
    return Unpickler(data, **options).load()


def load(file: Any, /, **options: Any) -> Any:
    """Load one pickle from a binary file object. Options as :class:`Unpickler`."""
    return Unpickler(file, **options).load()
