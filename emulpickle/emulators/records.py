"""Rebuild instances of registered dataclasses and attrs classes.

When an application registers a plain ``@dataclass`` or ``@attrs.define``
class, a pickle may create instances of it (NEWOBJ, ``copyreg`` helpers,
REDUCE) and then BUILD them with a state dict. The state is not poured into
``__dict__`` blindly: it is checked against the declared fields and passed
through the class's own ``__init__`` (the application's code, which it
trusts), so defaults, converters, validators and ``__post_init__`` all run.
Keys that are not fields are refused, unless the class declares a field
marked with ``metadata={"emulpickle": "extras"}``, which then receives them.

:meth:`emulpickle.Registry.register` installs :func:`set_record_state` as the
state setter of every record class it is given. Imports only the bottom layer
(``errors``, ``_render``).
"""

from __future__ import annotations

from typing import Any

from .._render import bounded_repr
from ..errors import EmulationError

__all__ = [
    "EXTRAS",
    "is_attrs_class",
    "is_record_class",
    "record_fields",
    "set_record_state",
]

#: Field metadata marking the field that keeps state keys the class lacks.
EXTRAS = {"emulpickle": "extras"}


def is_record_class(obj: object) -> bool:
    """Whether ``obj`` is a dataclass or attrs class (not an instance)."""
    # What dataclasses.is_dataclass checks. The dataclasses module is imported
    # below only where a dataclass exists, so it is loaded already there.
    return isinstance(obj, type) and (_is_dataclass(obj) or is_attrs_class(obj))


def _is_dataclass(cls: type) -> bool:
    return hasattr(cls, "__dataclass_fields__")


def is_attrs_class(cls: type) -> bool:
    """Whether ``cls`` is an attrs class (what ``attrs.has`` checks).

    attrs itself is imported only once such a class exists (so it is loaded
    already): importing it would otherwise dominate ``import emulpickle``.
    """
    return getattr(cls, "__attrs_attrs__", None) is not None


def record_fields(cls: type) -> dict[str, bool]:
    """Map each field name to whether ``__init__`` accepts it."""
    if is_attrs_class(cls):
        import attrs

        return {f.name: f.init for f in attrs.fields(cls)}
    import dataclasses

    return {f.name: f.init for f in dataclasses.fields(cls)}


def _init_name(cls: type, name: str) -> str:
    """The ``__init__`` keyword for field ``name`` (attrs strips underscores)."""
    if is_attrs_class(cls):
        import attrs

        for f in attrs.fields(cls):
            if f.name == name:
                return str(f.alias) if getattr(f, "alias", None) else name.lstrip("_")
    return name


def _extras_field(cls: type) -> str | None:
    if is_attrs_class(cls):
        import attrs

        for f in attrs.fields(cls):
            if f.metadata.get("emulpickle") == "extras":
                return str(f.name)
        return None
    import dataclasses

    for df in dataclasses.fields(cls):
        if df.metadata.get("emulpickle") == "extras":
            return df.name
    return None


def set_record_state(inst: Any, state: object) -> None:
    """Apply a BUILD state to an instance of a registered record class."""
    cls = type(inst)
    if isinstance(state, list) and _is_dataclass(cls):
        import dataclasses

        # dataclass(slots=True) pickles its field values as a list, in order.
        names = [f.name for f in dataclasses.fields(cls)]
        if len(state) != len(names):
            raise EmulationError(
                f"state for {cls.__qualname__} has {len(state)} values, "
                f"expected {len(names)}"
            )
        state = dict(zip(names, state, strict=True))
    if isinstance(state, tuple) and len(state) == 2:
        dict_state, slot_state = state
        merged: dict[Any, Any] = {}
        for part in (dict_state, slot_state):
            if part is None:
                continue
            if not isinstance(part, dict):
                raise EmulationError(
                    f"state for {cls.__qualname__} must be a dict, "
                    f"not {type(part).__name__}"
                )
            merged.update(part)
        state = merged
    if not isinstance(state, dict):
        raise EmulationError(
            f"state for {cls.__qualname__} must be a dict, not {type(state).__name__}"
        )
    fields = record_fields(cls)
    extras_name = _extras_field(cls)
    extras: dict[str, Any] = {}
    init_kwargs: dict[str, Any] = {}
    late: dict[str, Any] = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise EmulationError(
                f"state key {bounded_repr(key)} for {cls.__qualname__} is not a string"
            )
        if key not in fields or key == extras_name:
            if extras_name is None:
                raise EmulationError(
                    f"{cls.__qualname__} has no field {bounded_repr(key)} "
                    "(mark a field with metadata=emulpickle.EXTRAS to keep extras)"
                )
            extras[key] = value
        elif fields[key]:
            init_kwargs[_init_name(cls, key)] = value
        else:
            late[key] = value
    if extras_name is not None and fields.get(extras_name):
        init_kwargs[_init_name(cls, extras_name)] = extras
    try:
        cls.__init__(inst, **init_kwargs)
    except EmulationError:
        raise
    except (TypeError, ValueError) as exc:
        raise EmulationError(f"{cls.__qualname__}: {exc}") from exc
    for key, value in late.items():
        object.__setattr__(inst, key, value)
    if extras_name is not None and not fields.get(extras_name):
        object.__setattr__(inst, extras_name, extras)
