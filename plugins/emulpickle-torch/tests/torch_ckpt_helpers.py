"""Helpers for the emulpickle-torch tests: hand-built checkpoints, comparisons."""

from __future__ import annotations

import io
import struct
import zipfile
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
    if array.dtype.kind == "c":
        unit = array.view(f"u{array.dtype.itemsize // 2}")
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


def zip_bytes(records: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in records.items():
            archive.writestr(name, data)
    return buffer.getvalue()
