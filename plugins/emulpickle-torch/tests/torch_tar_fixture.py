"""The legacy tar checkpoint (torch < 0.4) the tar tests and the drop-in proof share.

torch 2.13 cannot write this format; torch.load(weights_only=False) reads it,
which is what the tests compare against.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch_ckpt_helpers import (
    p_global,
    p_int,
    p_pid,
    p_str,
    p_tuple,
    pickle_of,
    sys_info,
    tar_storages,
    tar_tensors,
)

GEN = np.random.default_rng(7)

# key, storage class, data
STORAGES: list[tuple[int, str, np.ndarray[Any, Any]]] = [
    (101, "FloatStorage", GEN.standard_normal(12).astype("<f4")),
    (102, "DoubleStorage", GEN.standard_normal(6).astype("<f8")),
    (103, "LongStorage", GEN.integers(-(2**62), 2**62, 4).astype("<i8")),
    (104, "ByteStorage", GEN.integers(0, 256, 5).astype("u1")),
    (105, "HalfStorage", GEN.standard_normal(4).astype("<f2")),
    (106, "ComplexFloatStorage", GEN.standard_normal(6).astype("<f4")),
    (107, "BoolStorage", np.array([1, 0, 1], "u1")),
]
ITEMSIZE = {"ComplexFloatStorage": 8}

# name: (tensor key, storage key, size, stride, storage offset)
TENSORS: dict[str, tuple[int, int, tuple[int, ...], tuple[int, ...], int]] = {
    "w": (1, 101, (3, 4), (4, 1), 0),
    "wt": (2, 101, (4, 3), (1, 4), 0),
    "view": (3, 201, (2, 3), (3, 1), 0),
    "view_strided": (4, 201, (2,), (2,), 1),
    "double": (5, 102, (6,), (1,), 0),
    "long": (6, 103, (2, 2), (2, 1), 0),
    "byte": (7, 104, (5,), (1,), 0),
    "half": (8, 105, (2, 2), (1, 2), 0),
    "complex": (9, 106, (3,), (1,), 0),
    "bool": (10, 107, (3,), (1,), 0),
    "scalar": (11, 101, (), (), 5),
    "empty": (12, 101, (0, 3), (3, 1), 0),
}


def storages_member() -> bytes:
    items = [
        (key, kind, data.nbytes // ITEMSIZE.get(kind, data.itemsize), data.tobytes())
        for key, kind, data in STORAGES
    ]
    # storage 201 views elements 2..8 of storage 101
    return tar_storages(items, views=[(201, 101, 2, 6)])


def main_pickle() -> bytes:
    items = b"".join(p_str(name) + p_pid(spec[0]) for name, spec in TENSORS.items())
    items += p_str("again") + p_pid(1)  # the same tensor twice
    items += p_str("storage") + p_pid(102)  # a storage on its own
    module = p_tuple(p_global("collections", "OrderedDict"), b"N", b"N") + b"Q"
    items += p_str("module") + module  # an nn.Module class, saved without source
    items += p_str("epoch") + p_int(3)
    return pickle_of(b"}(" + items + b"u")


def members() -> dict[str, bytes]:
    # The order torch's _save wrote them in.
    return {
        "sys_info": sys_info(),
        "pickle": main_pickle(),
        "tensors": tar_tensors(list(TENSORS.values())),
        "storages": storages_member(),
    }
