"""The small immutable value classes (Limits, Finding, ScanReport, ...).

They are written by hand, not with attrs, so that ``import emulpickle`` stays
cheap; these tests pin the behaviour attrs used to give them.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import emulpickle
from emulpickle.registry import CallHandler, Resolution

_FIELDS = (
    "max_mark_depth",
    "max_emulator_alloc",
    "max_key_depth",
    "max_key_size",
    "read_chunk",
    "max_hash_collisions",
    "max_number_digits",
    "max_inflated_bytes",
    "max_inflate_ratio",
    "max_archive_members",
)

limit_values = st.integers(min_value=0, max_value=1 << 40)


@given(st.dictionaries(st.sampled_from(_FIELDS), limit_values))
def test_limits_replace_changes_only_what_is_named(changes: dict[str, int]) -> None:
    base = emulpickle.Limits()
    changed = base.replace(**changes)
    for name in _FIELDS:
        expected = changes.get(name, getattr(base, name))
        assert getattr(changed, name) == expected
    assert (changed == base) == all(
        getattr(base, name) == value for name, value in changes.items()
    )
    assert changed == emulpickle.Limits(**{**_defaults(), **changes})


def _defaults() -> dict[str, int]:
    base = emulpickle.Limits()
    return {name: getattr(base, name) for name in _FIELDS}


@given(st.tuples(*(limit_values for _ in _FIELDS)))
def test_limits_equal_values_hash_equal_and_round_trip(values: tuple[int, ...]) -> None:
    a = emulpickle.Limits(*values)
    b = emulpickle.Limits(**dict(zip(_FIELDS, values, strict=True)))
    assert a == b
    assert not a != b  # noqa: SIM202 - __ne__ comes from __eq__
    assert hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert copy.copy(a) == a
    assert copy.deepcopy(a) == a
    assert eval(repr(a), {"Limits": emulpickle.Limits}) == a


def test_limits_are_immutable() -> None:
    limits = emulpickle.Limits()
    with pytest.raises(AttributeError):
        limits.read_chunk = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del limits.read_chunk  # type: ignore[misc]
    with pytest.raises(AttributeError):
        limits.new_field = 1  # type: ignore[attr-defined]
    assert limits.read_chunk == 1 << 20


def test_replace_refuses_unknown_fields() -> None:
    with pytest.raises(TypeError, match="max_depth"):
        emulpickle.Limits().replace(max_depth=3)


def test_values_of_different_classes_are_never_equal() -> None:
    handler = CallHandler(None, None)
    resolution = Resolution(None, emulpickle.Registry())
    assert handler != resolution
    assert emulpickle.Limits() != (100_000, 64 << 20, 10_000, 10_000_000, 1 << 20)


def test_finding_to_dict_and_report_defaults() -> None:
    finding = emulpickle.Finding("os", "system", "GLOBAL", 2, "pickle #1", "dangerous")
    assert finding.to_dict() == {
        "module": "os",
        "name": "system",
        "via": "GLOBAL",
        "offset": 2,
        "where": "pickle #1",
        "verdict": "dangerous",
        "note": "",
    }
    assert finding.replace(note="x").note == "x"
    one, two = emulpickle.ScanReport("a"), emulpickle.ScanReport("a")
    one.findings.append(finding)
    assert two.findings == []  # no shared default list
    assert not one.clean and two.clean


def test_import_and_loads_do_not_import_attrs() -> None:
    # attrs (and the method generation it runs) was most of the import time.
    # (scan() is left out: it consults the installed plugins, which may.)
    code = (
        "import sys, pickle, collections, emulpickle\n"
        "data = pickle.dumps([collections.OrderedDict(a=1), {1: 2.0}], 4)\n"
        "emulpickle.loads(data)\n"
        "print(sorted(m for m in ('attrs', 'attr', 'dataclasses', 'inspect')"
        " if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_limit_value_raised_is_documented() -> None:
    """Each ``limit=`` the code raises is a Limits field named in the docstring."""
    import re
    from pathlib import Path

    from helpers.paths import REPO_ROOT

    doc = emulpickle.LimitExceededError.__doc__ or ""
    raised: set[str] = set()
    for root in (REPO_ROOT / "emulpickle", REPO_ROOT / "plugins"):
        for path in Path(root).rglob("*.py"):
            if "tests" in path.parts:
                continue
            raised.update(re.findall(r'limit="([a-z_]+)"', path.read_text()))
            raised.update(re.findall(r'_LIMIT = "([a-z_]+)"', path.read_text()))
    raised |= {"max_inflated_bytes", "max_inflate_ratio"}  # formats' FormatError.limit
    assert raised >= {"max_mark_depth", "max_archive_members", "recursion"}
    for name in raised:
        assert f'``"{name}"``' in doc, name
        assert name == "recursion" or name in _FIELDS, name
