"""A base for the small immutable value classes of the public API.

These classes (limits, registry answers, scan results) are written out by hand
instead of with attrs because ``import emulpickle`` must stay cheap: importing
attrs and generating its methods costs several times what all of emulpickle's
own modules do.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

__all__ = ["FrozenValue"]

_V = TypeVar("_V", bound="FrozenValue")


class FrozenValue:
    """Immutable value object: equality, hash, repr and ``replace`` by field.

    Subclasses name their fields, in ``__init__`` order, in ``_fields`` (and
    set ``__slots__ = _fields``), and assign them in ``__init__`` with
    :meth:`_set`.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, FrozenValue)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __repr__(self) -> str:
        pairs = zip(self._fields, self._values(), strict=True)
        fields = ", ".join(f"{name}={value!r}" for name, value in pairs)
        return f"{self.__class__.__name__}({fields})"

    def __reduce__(self) -> tuple[Any, tuple[object, ...]]:
        return (self.__class__, self._values())

    def replace(self: _V, **changes: Any) -> _V:
        """A copy with the given fields changed."""
        unknown = set(changes) - set(self._fields)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has no field(s) {', '.join(sorted(unknown))}"
            )
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return self.__class__(**values)

    # Python 3.13's copy.replace() calls this.
    __replace__ = replace
