"""Blocks, block managers, DataFrame and Series.

A manager is kept as a :class:`Manager` (its axes and blocks, unchecked)
until the frame's or series' BUILD: only then is its shape known, so the
blocks are checked there (placements inside the frame covering each column
exactly once, every column as long as the index) and the real object is
built from its columns with pandas' public constructors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from emulpickle import Registry

from ._arrays import Columns, check_values
from ._base import PandasGlobal, fail, guarded, real, register_global
from ._checks import check_array, check_bool, check_int, span_length
from ._dtypes import state_dict
from ._indexes import check_index, check_label

__all__ = ["Block", "Manager", "register_frames"]


class Block:
    """One block: its values and placement, as the pickle gave them."""

    __slots__ = ("placement", "values")

    def __init__(self, values: object, placement: object) -> None:
        self.values = real(values)
        self.placement = real(placement)

    def __repr__(self) -> str:
        return "<pandas block (checked when its frame is built)>"


class Manager:
    """A block manager's axes and blocks, checked by the frame's BUILD."""

    __slots__ = ("axes", "blocks", "single")

    def __init__(self, axes: list[object], blocks: list[Block], single: bool) -> None:
        self.axes = axes
        self.blocks = blocks
        self.single = single

    def __repr__(self) -> str:
        return "<pandas block manager (checked when its frame is built)>"


def _unpickle_block(values: object, placement: object, ndim: object = 2) -> Block:
    check_int(ndim, "block ndim")
    if ndim not in (1, 2):
        raise fail("block ndim", ndim, "expected 1 or 2")
    return Block(values, placement)


def _placement(placement: object, count: int, what: str) -> list[int]:
    """The column positions a block covers; exactly ``count`` of them."""
    if type(placement) is slice:
        start = check_int(
            placement.start if placement.start is not None else 0, f"{what} start"
        )
        stop = check_int(placement.stop, f"{what} stop")
        step = check_int(
            placement.step if placement.step is not None else 1, f"{what} step"
        )
        if step == 0:
            raise fail(what, placement, "step 0")
        size = span_length(start, stop, step)
        if size != count:  # before materialising the range
            raise fail(
                what, placement, f"places {size} columns, the block holds {count}"
            )
        return list(range(start, stop, step))
    array = check_array(placement, what, kinds="iu")
    if len(array) != count:
        raise fail(what, array, f"places {len(array)} columns, the block holds {count}")
    return [int(i) for i in array]


def _block_columns(values: object, what: str) -> list[Any]:
    """A block's values as a list of 1-D columns."""
    if isinstance(values, Columns):
        return list(values)
    if type(values) is np.ndarray and values.ndim == 2:
        check_array(values, what, ndim=(2,))
        return list(values)
    return [check_values(values, what)]


def _manager_from_state(state: object, single: bool) -> Manager:
    """A manager from the ``(..., {"0.14.1": {axes, blocks}})`` BUILD state."""
    if (
        type(state) is tuple
        and state
        and type(state[-1]) is dict
        and "0.14.1" in state[-1]
    ):
        inner = state[-1]["0.14.1"]
    else:
        raise fail("block manager state", state, "expected pandas' 0.14.1 state")
    d = state_dict(inner, "block manager state", frozenset({"axes", "blocks"}))
    axes, blocks = d.get("axes"), d.get("blocks")
    if type(axes) is not list or type(blocks) is not list:
        raise fail("block manager state", inner, "expected lists of axes and blocks")
    made = []
    for item in blocks:
        b = state_dict(item, "block state", frozenset({"values", "mgr_locs"}))
        made.append(Block(b.get("values"), b.get("mgr_locs")))
    return Manager(list(axes), made, single)


def _manager_call(single: bool) -> Any:
    def call(blocks: object, axes: object, *rest: object) -> Manager:
        if type(blocks) not in (tuple, list) or type(axes) not in (tuple, list):
            raise fail("block manager", (blocks, axes), "expected blocks and axes")
        assert isinstance(blocks, tuple | list) and isinstance(axes, tuple | list)
        checked: list[Block] = []
        for block in blocks:
            found = real(block)
            if type(found) is not Block:
                raise fail("block manager block", block, "expected a pandas block")
            checked.append(found)
        return Manager(list(axes), checked, single)

    return call


def _manager(value: object, what: str) -> Manager:
    value = real(value)
    if type(value) is not Manager:
        raise fail(what, value, "expected a block manager")
    return value


def _frame_columns(mgr: Manager) -> tuple[Any, Any, list[Any]]:
    """Checked (columns, index, one 1-D array per column in order)."""
    if len(mgr.axes) != 2:
        raise fail("DataFrame manager axes", len(mgr.axes), "expected 2")
    columns = check_index(mgr.axes[0], "DataFrame columns")
    index = check_index(mgr.axes[1], "DataFrame index")
    ncols, nrows = len(columns), len(index)
    placed: list[Any] = [None] * ncols
    filled = 0
    for block in mgr.blocks:
        arrays = _block_columns(block.values, "DataFrame block values")
        for pos, array in zip(
            _placement(block.placement, len(arrays), "block placement"),
            arrays,
            strict=True,
        ):
            if not 0 <= pos < ncols:
                raise fail(
                    "block placement", pos, f"outside the frame's {ncols} columns"
                )
            if placed[pos] is not None:
                raise fail("block placement", pos, "places a column twice")
            if len(array) != nrows:
                raise fail(
                    "block values",
                    len(array),
                    f"a column of {len(array)} rows in a frame of {nrows}",
                )
            placed[pos] = array
            filled += 1
    if filled != ncols:
        missing = [i for i, a in enumerate(placed) if a is None]
        raise fail(
            "block placements", missing[:10], "leave these columns without values"
        )
    return columns, index, placed


def _as_series(array: Any) -> Any:
    # An explicit dtype: pandas must keep object columns object (pandas 3
    # would infer "str" from an object array of strings).
    return pd.Series(array, dtype=array.dtype, copy=False)


def _generic_state(
    state: object, what: str, extra: frozenset[str]
) -> dict[str, object]:
    keys = frozenset(
        {
            "_mgr",
            "_data",
            "_typ",
            "_metadata",
            "attrs",
            "_attrs",
            "_flags",
            "_subtyp",
            "_item_cache",
            "_is_copy",
        }
    )
    return state_dict(state, what, keys | extra)


def _finish(obj: Any, d: dict[str, object], what: str) -> Any:
    attrs = d.get("attrs", d.get("_attrs"))
    if attrs:
        if type(attrs) is not dict:
            raise fail(f"{what} attrs", attrs, "expected a dict")
        obj.attrs = attrs
    flags = d.get("_flags")
    if flags:
        f = state_dict(flags, f"{what} flags", frozenset({"allows_duplicate_labels"}))
        allows = check_bool(
            f.get("allows_duplicate_labels", True), "allows_duplicate_labels"
        )
        if not allows:
            obj = guarded(
                f"{what} flags", lambda: obj.set_flags(allows_duplicate_labels=False)
            )
    return obj


def _build_frame(state: object) -> object:
    d = _generic_state(state, "DataFrame state", frozenset())
    mgr = _manager(d.get("_mgr", d.get("_data")), "DataFrame manager")
    columns, index, arrays = _frame_columns(mgr)

    def build() -> Any:
        frame = pd.DataFrame(
            {i: _as_series(a) for i, a in enumerate(arrays)}, index=None
        )
        if not arrays:
            frame = pd.DataFrame(index=pd.RangeIndex(len(index)))
        frame.columns = columns
        frame.index = index
        return frame

    return _finish(guarded("DataFrame", build), d, "DataFrame")


def _build_series(state: object) -> object:
    d = _generic_state(
        state, "Series state", frozenset({"_name", "name", "_index", "_values"})
    )
    mgr = _manager(d.get("_mgr", d.get("_data")), "Series manager")
    if len(mgr.axes) != 1 or len(mgr.blocks) != 1:
        raise fail(
            "Series manager",
            (len(mgr.axes), len(mgr.blocks)),
            "expected one axis and one block",
        )
    index = check_index(mgr.axes[0], "Series index")
    block = mgr.blocks[0]
    values = check_values(block.values, "Series values")
    if len(values) != len(index):
        raise fail(
            "Series values",
            len(values),
            f"{len(values)} values for an index of {len(index)}",
        )
    _placement(block.placement, len(values), "Series block placement")
    name = check_label(d.get("_name", d.get("name")), "Series name")
    made = guarded(
        "Series",
        lambda: pd.Series(
            values, index=index, name=name, dtype=values.dtype, copy=False
        ),
    )
    return _finish(made, d, "Series")


def register_frames(registry: Registry) -> None:
    """Register blocks, managers, DataFrame and Series."""
    register_global(
        registry,
        ("pandas._libs.internals._unpickle_block",),
        PandasGlobal("_unpickle_block", _unpickle_block),
    )
    mm = "pandas.core.internals.managers"
    for name, single in (("BlockManager", False), ("SingleBlockManager", True)):
        emulator = PandasGlobal(
            f"{mm}.{name}",
            _manager_call(single),
            lambda state, single=single: _manager_from_state(state, single),  # type: ignore[misc]
        )
        register_global(registry, (f"{mm}.{name}",), emulator)
    register_global(
        registry,
        ("pandas.DataFrame", "pandas.core.frame.DataFrame"),
        PandasGlobal("pandas.DataFrame", build=_build_frame),
    )
    register_global(
        registry,
        ("pandas.Series", "pandas.core.series.Series"),
        PandasGlobal("pandas.Series", build=_build_series),
    )
