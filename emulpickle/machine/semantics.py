"""What the pickle operations do to objects: protocol first, then pickle's rules.

Each function takes an object that came out of the pickle (an emulator, a
value it produced, or whatever a user hook returned) and applies one pickle
operation to it. When the object implements the matching emulation protocol
(:mod:`emulpickle.protocols`) that method is used; otherwise the operation
follows CPython's unpickler exactly. Calls of builtin types go through the
validated stand-ins of :mod:`emulpickle.machine.standins`.

Behaviour is only ever found on the *class*, the way Python finds special
methods: protocol methods, ``__setstate__``, ``append``/``extend``/``add``
are looked up in the type's MRO, never in an instance's ``__dict__`` or
slots, so state a pickle sets with BUILD is data and cannot add or shadow a
method. And in registry mode (no user ``find_class``) only what the registry
answered may be called or instantiated as it is; any other value the pickle
made is called only through a protocol method or a builtin stand-in.

Emulators may call these helpers too (``copyreg._reconstructor`` does); they
follow the rules of the load in progress.
"""

from __future__ import annotations

import sys
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

from .._render import bounded_repr
from ..errors import EmulationError
from ..protocols import PROTOCOL_METHODS
from .context import current_call_policy
from .hashkeys import check_hash_keys
from .standins import BUILTIN_CALLS, BUILTIN_NEWS

__all__ = [
    "PROTOCOL_METHODS",
    "add_items",
    "append",
    "build",
    "call",
    "check_instantiable",
    "class_attribute",
    "extend",
    "new",
    "protocol_method",
    "set_items",
]

_MISSING: Any = object()

# Objects whose attributes are shared code, not instance data: BUILD on one
# would change behaviour for everything that uses it.
_CODE_KINDS = (type, ModuleType, FunctionType, BuiltinFunctionType, MethodType)


def _declared(cls: type, name: str) -> Any:
    """``name`` as the first class of ``cls``'s MRO declares it, or _MISSING."""
    for klass in cls.__mro__:
        attr = klass.__dict__.get(name, _MISSING)
        if attr is not _MISSING:
            return attr
    return _MISSING


def class_attribute(obj: object, name: str) -> Any:
    """``obj.name`` found on ``obj``'s class only (None when it has none).

    Instance ``__dict__`` entries and slot values are ignored, and so are
    data descriptors (slots, properties), whose value is instance state: a
    pickle's BUILD can set those, so they must never become behaviour.
    Non-data descriptors (functions, ``staticmethod``...) are bound to
    ``obj`` as attribute access would bind them.
    """
    cls = type(obj)
    attr = _declared(cls, name)
    if attr is _MISSING:
        return None
    kind = type(attr)
    if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
        return None
    getter = getattr(kind, "__get__", None)
    if getter is None:
        return attr
    return getter(attr, obj, cls)


def protocol_method(obj: object, name: str) -> Any:
    """Return ``obj``'s emulation method ``name``, or None if it has none.

    The method must be declared by a class (see :func:`class_attribute`):
    for an instance, by its class; for a class, as a ``classmethod`` or
    ``staticmethod`` of its own (a plain function there is meant for its
    instances).
    """
    if isinstance(obj, type):
        attr = _declared(obj, name)
        if isinstance(attr, (classmethod, staticmethod)):
            return attr.__get__(None, obj)
        return None
    return class_attribute(obj, name)


def _refuse(what: str, obj: object) -> EmulationError:
    return EmulationError(
        f"the pickle tried to {what} {bounded_repr(obj)}, which no emulator "
        "answers; only what the registry answers may be called"
    )


def call(func: Any, args: tuple[Any, ...]) -> Any:
    """``func(*args)`` as REDUCE does it: ``py_call`` if ``func`` has one.

    Emulators that receive a callable from the pickle (e.g. torch's
    ``_rebuild_from_type_v2``) call it with this, never directly. Builtin
    types go through validated stand-ins, registry call handlers are
    honoured, and during a registry-mode load anything else is called only
    if the registry answered it.
    """
    policy = current_call_policy()
    if policy is not None:
        handler = policy.call_handler(func)
        if handler is not None:
            if handler.call is None:
                raise EmulationError(f"{bounded_repr(func)} may not be called here")
            return handler.call(*args)
    py_call = protocol_method(func, "py_call")
    if py_call is not None:
        return py_call(*args)
    if isinstance(func, type):
        stand_in = BUILTIN_CALLS.get(func)
        if stand_in is not None:
            return stand_in(*args)
    if policy is not None and not policy.trusts(func):
        raise _refuse("call", func)
    return func(*args)


def new(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``cls.__new__(cls, *args, **kwargs)`` as NEWOBJ / NEWOBJ_EX do it."""
    policy = current_call_policy()
    if policy is not None:
        handler = policy.call_handler(cls)
        if handler is not None:
            if handler.new is None:
                raise EmulationError(
                    f"{bounded_repr(cls)} may not be instantiated here"
                )
            return handler.new(*args, **kwargs)
    py_new = protocol_method(cls, "py_new")
    if py_new is not None:
        return py_new(*args, **kwargs)
    if not isinstance(cls, type):
        raise EmulationError(
            f"NEWOBJ class argument must be a type, not {type(cls).__name__}"
        )
    stand_in = BUILTIN_NEWS.get(cls)
    if stand_in is not None:
        return stand_in(*args, **kwargs)
    if policy is not None and not policy.trusts(cls):
        raise _refuse("instantiate", cls)
    return cls.__new__(cls, *args, **kwargs)


def check_instantiable(cls: type) -> None:
    """Refuse ``cls`` unless the load in progress may instantiate it as it is.

    For emulators that must run a real constructor themselves
    (``copyreg._reconstructor`` calls ``base.__new__(cls, state)``): ``cls``
    must be what the registry answered, with no call handlers (those are the
    only way the registry allows it to be made).
    """
    policy = current_call_policy()
    if policy is None:
        return
    if policy.call_handler(cls) is not None or not policy.trusts(cls):
        raise _refuse("instantiate", cls)


def build(inst: Any, state: Any) -> None:
    """Apply a BUILD state to ``inst``."""
    py_setstate = protocol_method(inst, "py_setstate")
    if py_setstate is not None:
        py_setstate(state)
        return
    if isinstance(inst, _CODE_KINDS):
        policy = current_call_policy()
        if policy is not None and policy.wrap_errors:
            raise EmulationError(
                f"BUILD on {bounded_repr(inst)}: setting state on a class, "
                "module or function would change code, not data"
            )
    py_dict_set = protocol_method(inst, "py_dict_set")
    py_setattr = protocol_method(inst, "py_setattr")
    if py_dict_set is None and py_setattr is None:
        setstate = class_attribute(inst, "__setstate__")
        if setstate is not None:
            setstate(state)
            return
    slotstate = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
    if state:
        # The state's keys were checked when its dict was built, but BUILD
        # may pour several states into one object: non-str keys are counted
        # per object too (see emulpickle.check_hash_keys).
        if py_dict_set is not None:
            for key, value in state.items():
                if type(key) is not str:
                    check_hash_keys((key,), into=inst)
                py_dict_set(key, value)
        else:
            # Entries of the instance dict are data: behaviour is looked up
            # on the class, so even "__class__" or "py_call" here is inert.
            inst_dict = inst.__dict__
            intern = sys.intern
            for key, value in state.items():
                if type(key) is str:
                    inst_dict[intern(key)] = value
                else:
                    check_hash_keys((key,), into=inst_dict)
                    inst_dict[key] = value
    if slotstate:
        for key, value in slotstate.items():
            if py_setattr is not None:
                py_setattr(key, value)
            else:
                _check_slot_name(key)
                setattr(inst, key, value)


def _check_slot_name(key: object) -> None:
    """Refuse slot state that would set behaviour rather than data.

    ``setattr`` (unlike a write to the instance dict) runs descriptors:
    ``__class__`` would change the object's type and ``__dict__`` replace
    its namespace. No class pickles a dunder name in its slot state.
    """
    if type(key) is not str:
        raise EmulationError(
            f"BUILD slot state keys must be str, not {type(key).__name__}"
        )
    if key.startswith("__") and key.endswith("__"):
        raise EmulationError(
            f"BUILD slot state may not set {bounded_repr(key)}: dunder "
            "attributes are behaviour, not data"
        )


def append(target: Any, item: Any) -> None:
    """APPEND on something that is not exactly a list."""
    py_append = protocol_method(target, "py_append")
    if py_append is None:
        py_append = _container_method(target, "append")
    py_append(item)


def extend(target: Any, items: list[Any]) -> None:
    """APPENDS on something that is not exactly a list."""
    py_append = protocol_method(target, "py_append")
    if py_append is not None:
        for item in items:
            py_append(item)
        return
    extend_method = class_attribute(target, "extend")
    if extend_method is not None:
        extend_method(items)
        return
    append_method = _container_method(target, "append")
    for item in items:
        append_method(item)


def set_items(target: Any, items: list[Any]) -> None:
    """SETITEM(S) on something that is not exactly a dict (items alternate k, v)."""
    py_setitem = protocol_method(target, "py_setitem")
    if py_setitem is not None:
        for i in range(0, len(items), 2):
            py_setitem(items[i], items[i + 1])
        return
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


def add_items(target: Any, items: list[Any]) -> None:
    """ADDITEMS on something that is not exactly a set."""
    py_add = protocol_method(target, "py_add")
    if py_add is not None:
        for item in items:
            py_add(item)
    elif isinstance(target, set):
        target.update(items)
    else:
        add = _container_method(target, "add")
        for item in items:
            add(item)


def _container_method(target: object, name: str) -> Any:
    """``target.name`` from its class, or the AttributeError pickle would raise."""
    method = class_attribute(target, name)
    if method is None:
        raise AttributeError(
            f"{type(target).__name__!r} object has no attribute {name!r}"
        )
    return method
