"""What the emulpickle-pandas tests share: the reference comparison, the
fixture files, and pickles crafted from pandas' own globals."""

from __future__ import annotations

import copyreg
import os
from pathlib import Path
from typing import Any

import pytest

pd = pytest.importorskip("pandas")

FIXTURES = Path(__file__).parent / "fixtures"
#: CI writes freshly generated fixtures (make_fixtures.py in side venvs) here.
GENERATED_ENV = "EMULPICKLE_PANDAS_GENERATED"


def has_module(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def assert_same(got: Any, want: Any) -> None:
    """``got`` equals ``want`` exactly, types and dtypes included."""
    assert type(got) is type(want)
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_flags=True)
        assert got.attrs == want.attrs
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_exact=True, check_flags=True)
        assert got.attrs == want.attrs
    else:
        pd.testing.assert_index_equal(got, want, exact=True, check_exact=True)
        assert getattr(got, "freq", None) == getattr(want, "freq", None)


def fixture_files() -> list[Path]:
    """The committed fixtures, and the generated ones when CI names them."""
    files = sorted(p for p in FIXTURES.glob("pd*/*") if p.suffix in (".pkl", ".gz"))
    generated = os.environ.get(GENERATED_ENV)
    if generated:
        files += sorted(
            p for p in Path(generated).rglob("*") if p.suffix in (".pkl", ".gz")
        )
    return files


def needs(path: Path) -> str | None:
    """Why the reference cannot read ``path`` here (a missing module), or None."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        import gzip

        data = gzip.decompress(data)
    for module in ("pyarrow", "pytz"):
        if module.encode() in data and not has_module(module):
            return f"{module} is not installed"
    return None


class Reduce:
    """Pickles as ``func(*args)`` with an optional BUILD ``state``."""

    def __init__(self, func: Any, args: tuple[Any, ...], state: Any = None) -> None:
        self.func, self.args, self.state = func, args, state

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            (self.func, self.args)
            if self.state is None
            else (self.func, self.args, self.state)
        )


class New:
    """Pickles as NEWOBJ of ``cls`` then BUILD ``state`` (as frames do)."""

    def __init__(self, cls: type, state: Any) -> None:
        self.cls, self.state = cls, state

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # pickle checks NEWOBJ's class against it
        return self.cls

    def __reduce__(self) -> tuple[Any, ...]:
        return (copyreg.__newobj__, (self.cls,), self.state)


def block(values: Any, placement: Any) -> Reduce:
    from pandas._libs.internals import _unpickle_block

    return Reduce(_unpickle_block, (values, placement, 2))


def frame(blocks: list[Any], columns: Any, index: Any) -> New:
    """A DataFrame pickled as pandas does, from crafted blocks and axes."""
    from pandas.core.internals.managers import BlockManager

    manager = Reduce(BlockManager, (tuple(blocks), [columns, index]))
    state = {
        "_mgr": manager,
        "_typ": "dataframe",
        "_metadata": [],
        "attrs": {},
        "_flags": {"allows_duplicate_labels": True},
    }
    return New(pd.DataFrame, state)


def new_index(cls: Any, d: dict[str, Any]) -> Reduce:
    from pandas.core.indexes.base import _new_Index

    return Reduce(_new_Index, (cls, d))


def categorical(categories: list[Any], codes: Any) -> Reduce:
    """A Categorical as pandas pickles it (NDArrayBacked: dtype and codes)."""
    from pandas._libs.arrays import __pyx_unpickle_NDArrayBacked as unpickle

    dtype = pd.CategoricalDtype(categories)
    return Reduce(unpickle, (pd.Categorical, 0, None), (dtype, codes))
