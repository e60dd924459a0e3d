"""Validation of the fields that name storages in every torch.save format."""

from __future__ import annotations

import re

from emulpickle import bounded_repr

from ._dtypes import StorageType
from .errors import TorchFormatError

__all__ = ["check_key", "check_location", "check_storage_id", "check_storage_type"]

_SAFE_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,256}")


def check_key(key: object, what: str) -> str:
    """A record or storage key that is safe to use as a record name."""
    if isinstance(key, bytes):
        key = key.decode("ascii", "replace")
    if not isinstance(key, str) or not _SAFE_KEY.fullmatch(key) or key in (".", ".."):
        raise TorchFormatError(f"unsafe {what} {bounded_repr(key)}")
    return key


def check_storage_type(value: object) -> StorageType:
    """The storage class a record names (``torch.FloatStorage``...)."""
    if not isinstance(value, StorageType):
        raise TorchFormatError(f"not a storage type: {bounded_repr(value)}")
    return value


def check_location(location: object) -> str:
    """The device a storage was saved from (``"cpu"``, ``"cuda:0"``...)."""
    if isinstance(location, bytes):
        location = location.decode("ascii", "replace")
    if not isinstance(location, str) or len(location) > 64:
        raise TorchFormatError(f"bad storage location {bounded_repr(location)}")
    return location


def check_storage_id(
    storage_type: object, raw_key: object, location: object, numel: object
) -> tuple[str, str]:
    """Validate the fields a storage persistent id shares in the zip and stream formats.

    Returns the checked storage key and location.
    """
    check_storage_type(storage_type)
    key = check_key(raw_key, "storage key")
    checked_location = check_location(location)
    # torch counts elements in an int64; a larger count cannot be a storage
    # (and would not even print: str() refuses ints over 4300 digits).
    if type(numel) is not int or not 0 <= numel < 1 << 63:
        raise TorchFormatError(f"bad storage size {bounded_repr(numel)}")
    return key, checked_location
