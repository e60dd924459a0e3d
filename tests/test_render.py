"""Properties of ``emulpickle.bounded_repr``.

* Whatever the value (nested, shared along 2**k paths, cyclic, deep, made
  of generic objects), the rendering is at most ``max_chars`` long and takes
  time linear in what it shows.
* For small plain values that fit the budget, it is exactly ``repr(value)``
  (a differential test against CPython's repr).
"""

from __future__ import annotations

import collections
import datetime
import decimal
from typing import Any

import pytest
from helpers.strategies import builtin_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulpickle
from emulpickle import GenericClass, bounded_repr

# --------------------------------------------------------- arbitrary values

_GENERIC = GenericClass("mod", "Cls")


def _wrap(kind: str, child: Any) -> Any:
    """One level over ``child``, referring to it twice (a DAG level)."""
    if kind == "tuple":
        return (child, child)
    if kind == "list":
        return [child, child]
    if kind == "dict":
        return {"a": child, "b": child}
    if kind == "generic":
        obj = _GENERIC.py_call(child, child)
        obj.py_setstate({"s": child})
        return obj
    if kind == "slice":
        return slice(child, child, None)
    if kind == "deque":
        return collections.deque([child, child])
    return collections.OrderedDict(x=child, y=child)


_KINDS = ["tuple", "list", "dict", "generic", "slice", "deque", "ordered"]


@st.composite
def hostile_values(draw: st.DrawFn) -> Any:
    """DAGs of up to 2**60 paths, deep chains, cycles, over any leaf."""
    big = st.sampled_from(["int", "str"]).map(
        lambda kind: 10**5000 if kind == "int" else "x" * 10**5
    )
    value = draw(st.one_of(builtin_values, big))
    for kind in draw(st.lists(st.sampled_from(_KINDS), max_size=60)):
        value = _wrap(kind, value)
    shape = draw(st.sampled_from(["dag", "deep", "cycle", "generic-cycle"]))
    if shape == "deep":
        for _ in range(draw(st.integers(0, 3000))):
            value = [value]
    elif shape == "cycle":
        value = [value]
        value.append(value)
    elif shape == "generic-cycle":
        obj = _GENERIC.py_call(value)
        obj.py_setstate({"me": obj})
        obj.py_append(obj)
        value = obj
    return value


# Hypothesis warns about the reprs of its own strategies of huge values.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    value=hostile_values(),
    max_chars=st.integers(min_value=-2, max_value=400),
    max_depth=st.integers(min_value=0, max_value=3000),
)
def test_output_never_exceeds_max_chars(
    value: Any, max_chars: int, max_depth: int
) -> None:
    shown = bounded_repr(value, max_chars=max_chars, max_depth=max_depth)
    assert isinstance(shown, str)
    assert len(shown) <= max(max_chars, 0)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=hostile_values())
def test_reprs_of_generic_objects_are_bounded(value: Any) -> None:
    obj = _GENERIC.py_call(value)
    obj.py_setstate({"v": value, ("k",): value})
    obj.py_append(value)
    limit = emulpickle.generic.REPR_MAX_CHARS
    assert len(repr(obj)) <= limit
    assert len(str(obj)) <= limit


def test_budget_of_a_few_characters() -> None:
    assert bounded_repr([1, 2], max_chars=6) == "[1, 2]"
    assert bounded_repr([1, 2], max_chars=5) == "[1..."
    assert bounded_repr([1, 2], max_chars=2) == ".."
    assert bounded_repr([1, 2], max_chars=0) == ""


def test_shared_and_cyclic_values_are_shown_once() -> None:
    x: Any = None
    for _ in range(60):
        x = (x, x)
    assert "<shared tuple>" in bounded_repr(x, max_depth=100, max_chars=10**6)
    loop: list[Any] = [1]
    loop.append(loop)
    assert bounded_repr(loop) == "[1, <shared list>]"
    # empty containers are one object everywhere: never "shared"
    assert bounded_repr(((), (), [], frozenset(), frozenset())) == repr(
        ((), (), [], frozenset(), frozenset())
    )


def test_known_types() -> None:
    assert bounded_repr(10**1000) == "<int of 3322 bits>"
    assert bounded_repr(decimal.Decimal("1.5")) == "Decimal('1.5')"
    assert bounded_repr(datetime.date(2020, 1, 2)) == "datetime.date(2020, 1, 2)"
    assert bounded_repr(collections.OrderedDict(a=[1])) == "OrderedDict({'a': [1]})"
    assert bounded_repr(collections.deque([1])) == "deque([1])"
    assert bounded_repr(slice(1, None, 2)) == "slice(1, None, 2)"
    assert bounded_repr(Ellipsis) == "Ellipsis"
    assert bounded_repr(object()) == "<object object>"
    assert bounded_repr(GenericClass("m", "C")) == "<generic class m.C>"
    assert bounded_repr(_GENERIC.py_call(1)) == "mod.Cls(1)"


class _Broken:
    def __bounded_repr__(self, part: Any) -> None:
        part(emulpickle.render_text("so far"))
        raise RuntimeError("broken")


def test_a_failing_custom_rendering_ends_the_output() -> None:
    assert bounded_repr([_Broken(), 1]) == "[so far..."


# -------------------------------------------------- differential with repr

_plain_atoms = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**600), max_value=2**600),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.binary(max_size=20).map(bytearray),
)

_plain_keys = st.recursive(
    st.one_of(
        st.none(),
        st.integers(min_value=-(2**600), max_value=2**600),
        st.text(max_size=10),
        st.binary(max_size=10),
        st.floats(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(tuple),
        st.frozensets(children, max_size=3),
    ),
    max_leaves=6,
)

_plain_values = st.recursive(
    _plain_atoms,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(_plain_keys, children, max_size=4),
        st.sets(_plain_keys, max_size=4),
        st.frozensets(_plain_keys, max_size=4),
    ),
    max_leaves=25,
)


def _nesting(value: Any, seen: set[int]) -> int:
    """Container depth of ``value``; -1 if a non-empty container repeats."""
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        if not value:
            return 1
        if id(value) in seen:
            return -1
        seen.add(id(value))
        items = (
            [x for pair in value.items() for x in pair]
            if isinstance(value, dict)
            else list(value)
        )
        depths = [_nesting(item, seen) for item in items]
        return -1 if -1 in depths else 1 + max(depths)
    return 0


@settings(max_examples=500, deadline=None)
@given(value=_plain_values, spare=st.integers(min_value=0, max_value=50))
def test_equal_to_repr_when_it_fits(value: Any, spare: int) -> None:
    expected = repr(value)
    depth = _nesting(value, set())
    if depth < 0:
        return  # hypothesis shared a container: shown once, differently
    shown = bounded_repr(value, max_chars=len(expected) + spare, max_depth=depth)
    assert shown == expected
