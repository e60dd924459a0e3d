"""What the pickle operations do to objects: protocol first, then pickle's rules.

Each function takes an object that came out of the pickle (an emulator, a
value it produced, or whatever a user hook returned) and applies one pickle
operation to it. When the object implements the matching emulation protocol
(:mod:`emulpickle.protocols`) that method is used; otherwise the operation
follows CPython's unpickler exactly. Calls of builtin types go through the
validated stand-ins of :mod:`emulpickle._builtins`.

Emulators may call these helpers too (``copyreg._reconstructor`` does).
"""

from __future__ import annotations

import sys
from types import FunctionType
from typing import Any

from ._builtins import BUILTIN_CALLS, BUILTIN_NEWS
from ._hashkeys import check_hash_keys
from .errors import EmulationError

__all__ = [
    "add_items",
    "append",
    "build",
    "call",
    "extend",
    "new",
    "protocol_method",
    "set_items",
]


def protocol_method(obj: object, name: str) -> Any:
    """Return ``obj``'s emulation method ``name``, or None if it has none.

    A class whose *instances* implement the protocol (a plain function found
    on the class) does not count: the method is meant for its instances.
    """
    method = getattr(obj, name, None)
    if method is None or (isinstance(obj, type) and type(method) is FunctionType):
        return None
    return method


def call(func: Any, args: tuple[Any, ...]) -> Any:
    """``func(*args)`` as REDUCE does it: ``py_call`` if ``func`` has one.

    Emulators that receive a callable from the pickle (e.g. torch's
    ``_rebuild_from_type_v2``) call it with this, never directly. Builtin
    types go through validated stand-ins.
    """
    py_call = protocol_method(func, "py_call")
    if py_call is not None:
        return py_call(*args)
    if type(func) is type or isinstance(func, type):
        stand_in = BUILTIN_CALLS.get(func)
        if stand_in is not None:
            return stand_in(*args)
    return func(*args)


def new(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``cls.__new__(cls, *args, **kwargs)`` as NEWOBJ / NEWOBJ_EX do it."""
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
    return cls.__new__(cls, *args, **kwargs)


def build(inst: Any, state: Any) -> None:
    """Apply a BUILD state to ``inst``."""
    py_setstate = protocol_method(inst, "py_setstate")
    if py_setstate is not None:
        py_setstate(state)
        return
    py_dict_set = protocol_method(inst, "py_dict_set")
    py_setattr = protocol_method(inst, "py_setattr")
    if py_dict_set is None and py_setattr is None:
        setstate = getattr(inst, "__setstate__", None)
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
                setattr(inst, key, value)


def append(target: Any, item: Any) -> None:
    """APPEND on something that is not exactly a list."""
    py_append = protocol_method(target, "py_append")
    if py_append is not None:
        py_append(item)
    else:
        target.append(item)


def extend(target: Any, items: list[Any]) -> None:
    """APPENDS on something that is not exactly a list."""
    py_append = protocol_method(target, "py_append")
    if py_append is not None:
        for item in items:
            py_append(item)
        return
    try:
        extend_method = target.extend
    except AttributeError:
        pass
    else:
        extend_method(items)
        return
    append_method = target.append
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
        add = target.add
        for item in items:
            add(item)
