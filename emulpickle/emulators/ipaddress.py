"""Emulators for ``ipaddress``: IPv4/IPv6 addresses, networks and interfaces.

``ipaddress`` is imported only when a pickle needs it. Imports only ``base``.
"""

from __future__ import annotations

from .base import Entry, StdlibEmulator, arity, entries_of, fail, guard

__all__ = ["entries"]

_IP_BITS = {"4": 32, "6": 128}


def _ip(name: str) -> StdlibEmulator:
    what = f"ipaddress.{name}"
    bits = _IP_BITS[name[3]]
    is_address = name.endswith("Address")

    def make(*args: object) -> object:
        import ipaddress

        arity(what, args, 1, 1)
        value = args[0]
        if type(value) is int:
            if not 0 <= value < 1 << bits:
                raise fail(what, f"int out of range for a {bits}-bit address")
        elif type(value) is bytes and is_address:
            if len(value) != bits // 8:
                raise fail(what, f"packed address must be {bits // 8} bytes")
        elif type(value) is str:
            if len(value) > 200:
                raise fail(what, "address string too long")
        else:
            raise fail(what, f"unsupported argument type {type(value).__name__}")
        cls: type = getattr(ipaddress, name)
        return guard(what, lambda: cls(value))

    return StdlibEmulator("ipaddress", name, make)


def entries() -> list[Entry]:
    """The emulators of this family."""
    return entries_of(
        [
            _ip(f"IPv{version}{kind}")
            for version in "46"
            for kind in ("Address", "Network", "Interface")
        ]
    )
