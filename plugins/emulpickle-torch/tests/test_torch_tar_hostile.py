"""Hostile legacy tar checkpoints: refused with emulpickle errors, nothing run.

Built by hand (see test_torch_tar.py for the proof that the builders write
what torch reads), so these run without torch installed.
"""

from __future__ import annotations

import struct
import tarfile
from pathlib import Path

import emulpickle_torch as et
import pytest
from emulpickle_torch._source import BufferSource
from torch_ckpt_helpers import (
    TAR_DATA,
    TarTensor,
    p_call,
    p_global,
    p_pid,
    p_str,
    p_tuple,
    pickle_of,
    tar_checkpoint,
    tar_storages,
)
from torch_ckpt_helpers import small_tar_members as members

import emulpickle
from emulpickle.formats.tar import read_members


def patch_header(data: bytes, name: str, start: int, value: bytes) -> bytes:
    """Overwrite a field of ``name``'s header and fix the checksum."""
    out = bytearray(data)
    for pos in range(0, len(out), 512):
        if out[pos : pos + 100].split(b"\0", 1)[0] == name.encode():
            out[pos + start : pos + start + len(value)] = value
            out[pos + 148 : pos + 156] = b" " * 8
            checksum = sum(out[pos : pos + 512])
            out[pos + 148 : pos + 156] = b"%06o\0 " % checksum
            return bytes(out)
    raise AssertionError(f"no header for {name!r}")


def test_handmade_tar_loads() -> None:
    loaded = et.load(tar_checkpoint(members()))
    assert loaded["t"].numpy().tolist() == [0.0, 1.0, 2.0, 3.0]
    view = members(views=((5, 1, 1, 2),), tensor=(2, 5, (2,), (1,), 0))
    assert et.load(tar_checkpoint(view))["t"].numpy().tolist() == [1.0, 2.0]


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "a/../../b", "x\\y", ".."])
def test_unsafe_member_names(name: str) -> None:
    archive = tar_checkpoint({name: b"x", **members()})
    with pytest.raises(et.TorchFormatError, match="unsafe tar member name"):
        et.load(archive)


def test_dotdot_pickle_member_is_not_the_pickle() -> None:
    parts = members()
    parts["../pickle"] = parts.pop("pickle")
    with pytest.raises(et.TorchFormatError, match="unsafe"):
        et.load(tar_checkpoint(parts))


@pytest.mark.parametrize("missing", ["pickle", "tensors", "storages"])
def test_missing_member(missing: str) -> None:
    parts = members()
    del parts[missing]
    with pytest.raises(et.TorchFormatError, match=f"without a '{missing}'"):
        et.load(tar_checkpoint(parts))


def test_links_and_sparse_members_are_refused() -> None:
    parts = {**members(), "pickle": b""}  # a link has no data
    link = tar_checkpoint(parts, types={"pickle": tarfile.SYMTYPE})
    with pytest.raises(et.TorchFormatError, match="without a 'pickle' file"):
        et.load(link)
    sparse = tar_checkpoint(members(), types={"tensors": tarfile.GNUTYPE_SPARSE})
    with pytest.raises(et.TorchFormatError, match="sparse"):
        et.load(sparse)


def test_duplicate_members_and_keys() -> None:
    parts = members()
    archive = tar_checkpoint([*parts.items(), ("pickle", pickle_of(b"N"))])
    with pytest.raises(et.TorchFormatError, match="appears twice"):
        et.load(archive)
    same_key = members(tensor=(1, 1, (4,), (1,), 0))  # tensor key = storage key
    with pytest.raises(et.TorchFormatError, match="defined twice"):
        et.load(tar_checkpoint(same_key))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        (124, b"\x80" + (2**62).to_bytes(11, "big"), "outside the file"),  # base-256
        (124, b"77777777777\0", "outside the file"),
        (124, b"12x4\0", "bad size"),
    ],
)
def test_huge_or_bad_header_sizes(field: int, value: bytes, match: str) -> None:
    archive = patch_header(tar_checkpoint(members()), "storages", field, value)
    with pytest.raises(et.TorchFormatError, match=match):
        et.load(archive)


def test_bad_checksum() -> None:
    archive = bytearray(tar_checkpoint(members()))
    archive[100] ^= 1  # the first header's mode field
    with pytest.raises(et.TorchFormatError, match="checksum"):
        et.load(bytes(archive))


def test_huge_pax_size() -> None:
    archive = tar_checkpoint(members(), pax={"storages": {"size": str(2**62)}})
    with pytest.raises(et.TorchFormatError, match="outside the file"):
        et.load(archive)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"numel": 2**60}, "declares"),  # more elements than the member holds
        ({"numel": -1}, "declares"),
        ({"data": TAR_DATA[:8]}, "declares"),  # truncated storage bytes
    ],
)
def test_lying_storage_sizes(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(et.TorchFormatError, match=match):
        et.load(tar_checkpoint(members(**kwargs)))  # type: ignore[arg-type]


def test_truncated_files() -> None:
    archive = tar_checkpoint(members())
    storages = read_members(BufferSource(archive))["storages"]
    with pytest.raises(et.TorchFormatError, match="outside the file"):
        et.load(archive[: storages.offset + storages.size - 4])
    for cut in range(512, len(archive), 61):
        try:
            et.load(archive[:cut])["t"].tobytes()
        except emulpickle.UnpicklingError:
            continue
        assert cut >= storages.offset + storages.size  # only the padding was cut


@pytest.mark.parametrize(
    "tensor",
    [
        (2, 1, (5,), (1,), 0),  # too many elements
        (2, 1, (1,), (1,), 4),  # offset past the end
        (2, 1, (2, 2), (3, 1), 0),  # stride reaches past the end
        (2, 1, (2,), (-1,), 1),  # negative stride
        (2, 1, (2**40, 2**40), (2**60, 1), 0),  # overflowing extent
    ],
)
def test_tensor_views_out_of_bounds(tensor: TarTensor) -> None:
    with pytest.raises(emulpickle.EmulationError):
        et.load(tar_checkpoint(members(tensor=tensor)))


def test_storage_view_out_of_bounds() -> None:
    parts = members(views=((5, 1, 3, 2),), tensor=(2, 5, (2,), (1,), 0))
    with pytest.raises(emulpickle.EmulationError, match="exceeds"):
        et.load(tar_checkpoint(parts))


def test_bad_counts_and_dimensions() -> None:
    parts = members()
    parts["tensors"] = pickle_of(b"\x8a\x05" + (2**39).to_bytes(5, "little"))
    with pytest.raises(et.TorchFormatError, match="count"):
        et.load(tar_checkpoint(parts))
    parts = members()
    record = pickle_of(p_tuple(b"K\x02", b"K\x01", p_global("torch", "FloatTensor")))
    ndim = struct.pack("<i4x", 2**31 - 1)
    parts["tensors"] = pickle_of(b"K\x01") + record + ndim + bytes(64)
    with pytest.raises(et.TorchFormatError, match="dimensions"):
        et.load(tar_checkpoint(parts))


def test_unknown_persistent_id() -> None:
    main = pickle_of(p_pid(999))
    with pytest.raises(et.TorchFormatError, match="unknown persistent id"):
        et.load(tar_checkpoint(members(main=main)))
    main = pickle_of(p_str("../1") + b"Q")
    with pytest.raises(et.TorchFormatError, match="unexpected persistent id"):
        et.load(tar_checkpoint(members(main=main)))


@pytest.mark.parametrize("where", ["pickle", "tensors", "storages"])
def test_payload_is_refused(tmp_path: Path, where: str) -> None:
    marker = tmp_path / "pwned"
    payload = pickle_of(p_call(p_global("os", "system"), p_str(f"touch {marker}")))
    parts = members()
    parts[where] = payload
    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        et.load(tar_checkpoint(parts))
    assert (info.value.module, info.value.name) == ("os", "system")
    assert not marker.exists()


def test_sys_info_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    parts = members()
    parts["sys_info"] = pickle_of(
        p_call(p_global("os", "system"), p_str(f"touch {marker}"))
    )
    assert et.load(tar_checkpoint(parts))["t"].numel == 4  # torch ignores it too
    assert not marker.exists()


def test_stacked_long_names_are_refused() -> None:
    def entry(name: str) -> bytes:
        info = tarfile.TarInfo(name)
        return info.tobuf(tarfile.GNU_FORMAT)

    first, second = "a" * 120, "pickle" + "b" * 120
    stacked = entry(first)[:-512] + entry(second)
    body = tar_checkpoint(members(), tar_format=tarfile.GNU_FORMAT)
    with pytest.raises(et.TorchFormatError, match="two GNU long names"):
        et.load(stacked + body)


MODULUS = 2**61 - 1  # sys.hash_info.modulus: k * MODULUS all hash to 0


@pytest.mark.parametrize("key", [1 << 64, -(1 << 63) - 1, MODULUS * (1 << 10)])
def test_keys_outside_64_bits_are_refused(key: int) -> None:
    # Keys are looked up and stored in one dict: unbounded ints could all
    # share a hash and make every insertion slower than the last.
    storage = tar_checkpoint(
        members(views=((key, 1, 0, 1),), tensor=(2, 1, (4,), (1,), 0))
    )
    with pytest.raises(et.TorchFormatError, match="64-bit int"):
        et.load(storage)
    parts = members()
    parts["storages"] = tar_storages([(key, "FloatStorage", 4, TAR_DATA)])
    with pytest.raises(et.TorchFormatError, match="64-bit int"):
        et.load(tar_checkpoint(parts))


def test_many_colliding_view_keys_are_refused() -> None:
    views = tuple((k * MODULUS, 1, 0, 0) for k in range(1, 20_000))
    with pytest.raises(et.TorchFormatError, match="64-bit int"):
        et.load(tar_checkpoint(members(views=views)))


def test_64_bit_keys_still_load() -> None:
    key = (1 << 64) - 1  # what a storage address could be
    parts = members(views=((key, 1, 1, 2),), tensor=(2, key, (2,), (1,), 0))
    assert et.load(tar_checkpoint(parts))["t"].numpy().tolist() == [1.0, 2.0]
