"""Pickles written by numpy 1.x (``numpy.core`` names) load like pickle.loads.

The fixtures are written by ``fixtures/make_numpy1_pickles.py`` under numpy
1.26; CI also runs this plugin's tests under numpy 1.26 itself.
"""

from __future__ import annotations

import pickle
import pickletools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy_helpers import assert_same, emulate

FIXTURES = Path(__file__).parent / "fixtures"
FILES = sorted(FIXTURES.glob("numpy1_p*.pkl"))


def assert_same_tree(got: Any, want: Any) -> None:
    if isinstance(want, dict):
        assert type(got) is dict and got.keys() == want.keys()
        for key in want:
            assert_same_tree(got[key], want[key])
    elif isinstance(want, list):
        assert type(got) is list and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same_tree(g, w)
    else:
        assert_same(got, want)


def test_fixtures_exist() -> None:
    assert [f.name for f in FILES] == [f"numpy1_p{p}.pkl" for p in (2, 4, 5)]


# numpy 2 warns when pickle.loads imports numpy.core; emulpickle imports nothing.
@pytest.mark.filterwarnings("ignore:numpy.core:DeprecationWarning")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_numpy1_pickle_loads_like_pickle(path: Path) -> None:
    data = path.read_bytes()
    globals_named = {
        arg for op, arg, _ in pickletools.genops(data) if isinstance(arg, str)
    }
    assert "numpy.core.multiarray" in " ".join(globals_named)  # really numpy 1.x
    want = pickle.loads(data)
    got = emulate(data)
    assert_same_tree(got, want)
    assert np.asarray(got["objects"]).tolist() == [1, "two", (3,), None]
