"""What a file is, by its first bytes (magic numbers).

:func:`sniff` names the kind of a file from its head, in the order loaders
decide: a zip (``torch.save``, ``.npz``), ``.npy``, zstd, 7z, safetensors,
a legacy ``torch.save`` stream, a tar (the oldest ``torch.save`` format),
the compressed streams ``joblib.load`` recognises by prefix (gzip, bz2, xz,
lzma, lz4, zlib, and its own old format, ``"joblib"``), else a pickle:
``pickle.load`` and ``torch.load`` read anything else as one.
:func:`pickle_protocol` reads the protocol a pickle declares.
"""

from __future__ import annotations

__all__ = [
    "HEAD_SIZE",
    "KINDS",
    "TORCH_LEGACY_MAGIC",
    "joblib_compression",
    "pickle_protocol",
    "sniff",
]

#: How many bytes :func:`sniff` looks at (a tar's ``ustar`` is at 257).
HEAD_SIZE = 512
#: Every kind :func:`sniff` returns.
KINDS = (
    "zip",
    "npy",
    "gzip",
    "bz2",
    "xz",
    "lzma",
    "zstd",
    "lz4",
    "zlib",
    "joblib",
    "7z",
    "safetensors",
    "torch-legacy",
    "tar",
    "pickle",
)
#: A legacy ``torch.save`` stream starts with a pickle of this int (LONG1
#: and its 10 bytes), after the protocol opcode.
TORCH_LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a local header; an empty archive
_NPY = b"\x93NUMPY"
_ZSTD = b"\x28\xb5\x2f\xfd"
_7Z = b"7z\xbc\xaf\x27\x1c"
#: What ``joblib.load`` recognises, by prefix, as it does (its names).
_JOBLIB = (
    (b"ZF", "compat"),
    (b"\x78", "zlib"),
    (b"\x1f\x8b", "gzip"),
    (b"BZ", "bz2"),
    (b"\xfd\x37\x7a\x58\x5a", "xz"),
    (b"\x5d\x00", "lzma"),
    (b"\x04\x22\x4d\x18", "lz4"),
)
#: A bz2 stream: "BZh", a block size digit, then a block or end-of-stream
#: magic. A pickle may start with "BZ" (BINBYTES), never with this.
_BZ2_BLOCKS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
#: safetensors' own bound on its JSON header.
_SAFETENSORS_MAX_HEADER = 100_000_000


def joblib_compression(head: bytes) -> str | None:
    """The compressor ``joblib.load`` picks for a file starting with
    ``head``: ``"compat"`` (joblib < 0.10), ``"zlib"``, ``"gzip"``,
    ``"bz2"``, ``"xz"``, ``"lzma"``, ``"lz4"``, or None (a pickle)."""
    for prefix, kind in _JOBLIB:
        if head.startswith(prefix):
            if kind == "bz2" and not (
                head[3:4].isdigit() and head[4:10] in _BZ2_BLOCKS
            ):
                return None  # not bz2: a pickle starting with BINBYTES
            return kind
    return None


def _is_safetensors(head: bytes, size: int | None) -> bool:
    """An 8-byte little-endian length, then a JSON object that fits."""
    if len(head) < 10 or head[8:9] != b"{" or head[9:10] not in b'"} ':
        return False
    length = int.from_bytes(head[:8], "little")
    if not 2 <= length <= _SAFETENSORS_MAX_HEADER:
        return False
    return size is None or 8 + length <= size


def pickle_protocol(head: bytes) -> int | None:
    """The protocol a pickle starting with ``head`` declares (PROTO, 2 to
    5); None when it declares none (protocol 0 or 1, or not a pickle)."""
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return head[1]
    return None


def sniff(head: bytes, size: int | None = None) -> str:
    """The kind of a file starting with ``head`` (its first
    :data:`HEAD_SIZE` bytes, or all of a shorter file), one of
    :data:`KINDS`; ``size`` is the file's size, when known.

    ``"pickle"`` is what remains: what a pickle loader would try to read.
    """
    if head[:4] in _ZIP:
        return "zip"
    if head.startswith(_NPY):
        return "npy"
    if head.startswith(_ZSTD):
        return "zstd"
    if head.startswith(_7Z):
        return "7z"
    if _is_safetensors(head, size):
        return "safetensors"
    if TORCH_LEGACY_MAGIC in head[:32]:
        return "torch-legacy"
    # Before joblib's prefixes: one byte ("x") can start a tar member name.
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    compression = joblib_compression(head)
    if compression is not None:
        return "joblib" if compression == "compat" else compression
    return "pickle"
