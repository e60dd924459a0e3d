"""Helpers for the emulpickle-torch tests: hand-built checkpoints, comparisons."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

TORCH_REASON = (
    "torch is not installed; these tests write checkpoints with torch==2.13.0 "
    "(pip install -e 'plugins/emulpickle-torch[test]')"
)

# ------------------------------------------------------- hand-built pickles


def p_global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def p_str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def p_int(value: int) -> bytes:
    if -(2**31) <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def p_tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def p_call(func: bytes, *args: bytes) -> bytes:
    return func + p_tuple(*args) + b"R"


def p_storage(key: str, numel: int, storage: str = "FloatStorage") -> bytes:
    pid = p_tuple(
        p_str("storage"), p_global("torch", storage), p_str(key), p_str("cpu"),
        p_int(numel),
    )  # fmt: skip
    return pid + b"Q"


def p_tensor(
    key: str,
    numel: int,
    offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
) -> bytes:
    return p_call(
        p_global("torch._utils", "_rebuild_tensor_v2"),
        p_storage(key, numel),
        p_int(offset),
        p_tuple(*(p_int(s) for s in size)),
        p_tuple(*(p_int(s) for s in stride)),
        b"\x89",
        b"N",
    )


def pickle_of(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


def write_zip(
    path: Path,
    records: dict[str, bytes],
    *,
    root: str = "archive",
    compress: bool = False,
) -> Path:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in records.items():
            archive.writestr(f"{root}/{name}" if root else name, data)
    return path


def float_checkpoint(
    path: Path,
    body: bytes,
    data: dict[str, bytes] | None = None,
    **kwargs: Any,
) -> Path:
    records = {"data.pkl": pickle_of(body), "byteorder": b"little"}
    for key, value in (data or {"0": np.arange(4, dtype="<f4").tobytes()}).items():
        records[f"data/{key}"] = value
    return write_zip(path, records, **kwargs)


# --------------------------------------------------------------- comparing


def bits(array: Any) -> Any:
    """A view of ``array``'s elements as unsigned ints of the same width."""
    array = array.copy(order="C")
    if array.dtype.kind == "c" or array.dtype.names:  # complex, or complex32 pairs
        unit = array.reshape(-1).view(f"u{array.dtype.itemsize // 2}")
        return unit.reshape(*array.shape, 2)
    return array.view(f"u{array.dtype.itemsize}")


def torch_bits(tensor: Any) -> Any:
    """The tensor's elements as unsigned ints, via torch (bit-exact)."""
    import torch

    tensor = tensor.detach().resolve_conj().resolve_neg().contiguous()
    width = tensor.element_size()
    if tensor.is_complex():
        tensor = torch.view_as_real(tensor)
        width //= 2
    unsigned = {1: torch.uint8, 2: torch.uint16, 4: torch.uint32, 8: torch.uint64}
    raw = tensor.view(unsigned[width])
    return raw.numpy()


def assert_same_tensor(ours: Any, theirs: Any) -> None:
    """Bit-for-bit equality of an emulated tensor and a real one."""
    assert ours.dtype == str(theirs.dtype).removeprefix("torch.")
    assert ours.shape == tuple(theirs.shape)
    assert ours.stride == tuple(theirs.stride())
    assert ours.storage_offset == theirs.storage_offset()
    assert ours.requires_grad == theirs.requires_grad
    expected = torch_bits(theirs)
    got = bits(ours.numpy())
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert ours.tobytes() == expected.tobytes()


def rewrite_zip(path: Path, target: Path, change: Any) -> Path:
    """Copy a zip archive record by record, letting ``change`` edit each.

    ``change(name, data)`` returns ``(name, data, compress_type)``.
    """
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            name, data, method = change(info.filename, src.read(info))
            dst.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return target


def zip_bytes(records: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in records.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# ------------------------------------------- legacy tar checkpoints by hand
#
# torch 2.13 cannot write the tar format (torch < 0.4), so these follow what
# its reader, torch.serialization._legacy_load, expects: int keys, decimal
# string persistent ids, little-endian storage bytes after an int64 count.


def p_list(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"l"


def p_pid(key: int) -> bytes:
    return p_str(str(key)) + b"Q"


def tar_storages(
    storages: list[tuple[int, str, int, bytes]],
    views: Sequence[tuple[int, int, int, int]] = (),
) -> bytes:
    """The ``storages`` member: (key, storage class, numel, raw bytes) each."""
    out = pickle_of(p_int(len(storages)))
    for key, storage_type, numel, data in storages:
        record = p_tuple(p_int(key), p_str("cpu"), p_global("torch", storage_type))
        out += pickle_of(record) + struct.pack("<q", numel) + data
    view_items = (p_tuple(*(p_int(v) for v in view)) for view in views)
    return out + pickle_of(p_list(*view_items))


#: (tensor key, storage key, size, stride, storage offset)
TarTensor = tuple[int, int, tuple[int, ...], tuple[int, ...], int]


def tar_tensors(
    tensors: list[TarTensor],
    tensor_type: str = "FloatTensor",
) -> bytes:
    """The ``tensors`` member: (key, storage key, size, stride, offset) each."""
    out = pickle_of(p_int(len(tensors)))
    for key, storage_key, size, stride, offset in tensors:
        record = p_tuple(p_int(key), p_int(storage_key), p_global("torch", tensor_type))
        meta = struct.pack(f"<q{2 * len(size) + 1}q", len(size), *size, *stride, offset)
        out += pickle_of(record) + meta
    return out


def tar_checkpoint(
    members: dict[str, bytes] | Sequence[tuple[str, bytes]],
    *,
    tar_format: int = tarfile.PAX_FORMAT,
    types: dict[str, bytes] | None = None,
    pax: dict[str, dict[str, str]] | None = None,
) -> bytes:
    """A tar archive of ``members``.

    ``types`` overrides a member's tar type, ``pax`` adds PAX records to it.
    """
    items = members.items() if isinstance(members, dict) else members
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:", format=tar_format) as tar:
        for name, data in items:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1234567890.5  # float, as os.stat gave torch: a PAX record
            info.type = (types or {}).get(name, tarfile.REGTYPE)
            info.pax_headers = (pax or {}).get(name, {})
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sys_info() -> bytes:
    return pickle_of(b"}")


TAR_DATA = np.arange(4, dtype="<f4").tobytes()


def small_tar_members(
    *,
    numel: int = 4,
    data: bytes = TAR_DATA,
    tensor: TarTensor = (2, 1, (4,), (1,), 0),
    main: bytes | None = None,
    views: Sequence[tuple[int, int, int, int]] = (),
) -> dict[str, bytes]:
    """A one-tensor tar checkpoint: storage 1 (float32), tensor 2, ``{"t": 2}``."""
    return {
        "sys_info": sys_info(),
        "pickle": main or pickle_of(b"}" + p_str("t") + p_pid(2) + b"s"),
        "tensors": tar_tensors([tensor]),
        "storages": tar_storages([(1, "FloatStorage", numel, data)], views),
    }
