"""Files pandas 1.5, 2.2 and 3.1 wrote (fixtures/make_fixtures.py) load as
the same objects ``pandas.read_pickle`` returns, dtypes and freqs included;
so do the files CI generates into ``$EMULPICKLE_PANDAS_GENERATED``."""

from __future__ import annotations

from pathlib import Path

import emulpickle_pandas
import pytest
from pandas_helpers import assert_same, fixture_files, needs, pd

FILES = fixture_files()


def test_every_version_is_committed() -> None:
    tags = {p.name.split("_")[0] for p in FILES}
    assert {"pd15", "pd22", "pd31"} <= tags
    assert sum(p.stat().st_size for p in FILES if "fixtures" in p.parts) < 300_000


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fixture_equals_read_pickle(path: Path) -> None:
    reason = needs(path)
    if reason:
        pytest.skip(reason)
    want = pd.read_pickle(path)
    got = emulpickle_pandas.read_pickle(path)
    assert_same(got, want)
