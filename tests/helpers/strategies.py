"""Hypothesis strategies and deep-comparison helpers for emulpickle's tests.

The strategies build values made only of builtin types (the ones the default
registry must round-trip at every protocol), including shared references and
reference cycles.  :func:`assert_same` compares two object graphs: values,
exact types at every level, ``-0.0`` versus ``0.0``, NaN (equal to NaN here),
and the *identity graph* -- two positions hold the same object in one graph
exactly when they hold the same object in the other.
"""

from __future__ import annotations

import math
import pickle
import types
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "BUILTIN_TYPES",
    "assert_same",
    "atoms",
    "builtin_values",
    "floats_any",
    "hashables",
    "huge_ints",
    "ints_any",
    "shared_structures",
    "texts",
    "values",
]

# ---------------------------------------------------------------------------
# atoms
# ---------------------------------------------------------------------------

_INT_BOUNDARIES = sorted(
    {
        sign * (base + delta)
        for base in (0, 2**7, 2**8, 2**15, 2**16, 2**31, 2**32, 2**63, 2**64)
        for delta in (-1, 0, 1)
        for sign in (1, -1)
    }
)

#: ints whose two's-complement encoding is longer than 255 bytes (LONG4)
huge_ints: st.SearchStrategy[int] = st.one_of(
    st.integers(min_value=2**2030, max_value=2**2100),
    st.integers(min_value=-(2**2100), max_value=-(2**2030)),
    st.sampled_from([2**2040 - 1, 2**2040, -(2**2040), -(2**2040) - 1, 10**1000]),
)

ints_any: st.SearchStrategy[int] = st.one_of(
    st.integers(min_value=-300, max_value=300),
    st.sampled_from(_INT_BOUNDARIES),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    huge_ints,
)

_SPECIAL_FLOATS = [
    0.0,
    -0.0,
    math.inf,
    -math.inf,
    5e-324,
    -5e-324,
    1.7976931348623157e308,
    0.1,
    1e16,
    1e22,
    2.0**53 + 1,
]

floats_no_nan: st.SearchStrategy[float] = st.one_of(
    st.floats(allow_nan=False), st.sampled_from(_SPECIAL_FLOATS)
)

floats_any: st.SearchStrategy[float] = st.one_of(
    st.floats(allow_nan=True), st.sampled_from([*_SPECIAL_FLOATS, math.nan, -math.nan])
)

complexes_no_nan = st.builds(complex, floats_no_nan, floats_no_nan)
complexes_any = st.builds(complex, floats_any, floats_any)

_SPECIAL_CHARS = [
    "\\",
    "\n",
    "\r",
    "\x00",
    "\x1a",
    "\t",
    " ",
    "\x7f",
    "\x80",
    "\xff",
    "\u0100",
    "\u20ac",
    "\ufeff",
    "\uffff",
    "\U00010000",
    "\U0001f600",
    "\U0010ffff",
    # lone surrogates: pickle writes them with surrogatepass (protocol >= 1)
    # or raw-unicode-escape (protocol 0)
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "V",
    "L",
    "S",
    "p",
    ".",
    "u",
    "U",
]

_chars = st.one_of(
    st.characters(exclude_categories=()),  # includes surrogates (rarely)
    st.characters(max_codepoint=0x7F),
    st.sampled_from(_SPECIAL_CHARS),
)

#: str values > 64 KiB (bigger than a protocol-4 frame), as a rare case
big_texts = st.sampled_from(["x" * 70000, "\u20ac" * 30000, "ab\ud800" * 23000])
big_bytes = st.sampled_from([b"x" * 70000, bytes(range(256)) * 300])

texts: st.SearchStrategy[str] = st.one_of(
    st.text(_chars, max_size=12),
    st.text(_chars, min_size=200, max_size=300),  # around the 255-byte SHORT_ boundary
    st.sampled_from(
        [
            "",
            "a",
            "\u00e9",
            "\ud800\udc00",
            "x" * 255,
            "x" * 256,
            "\xe9" * 128,
            "\\u",
            "\\u00e9",
            "\\U0001f600",
            "\\x41",
            "a\\\nb",
            "\\\\u0041",
        ]
    ),
)

_bytes = st.one_of(
    st.binary(max_size=12),
    st.binary(min_size=250, max_size=300),
    st.sampled_from([b"", b"\x00", b"\xff" * 256, b"x" * 255]),
)

#: hashable atoms (no NaN: NaN is never equal to itself, which breaks set/dict keys)
hashable_atoms: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    ints_any,
    floats_no_nan,
    complexes_no_nan,
    texts,
    _bytes,
    st.sampled_from([Ellipsis, NotImplemented]),
)

BUILTIN_TYPES: list[type] = [
    int,
    bool,
    float,
    complex,
    str,
    bytes,
    bytearray,
    list,
    tuple,
    dict,
    set,
    frozenset,
    slice,
    range,
    object,
    type,
    type(None),
]

_slices = st.builds(
    slice,
    st.none() | st.integers(-10, 10),
    st.none() | st.integers(-10, 10),
    st.none() | st.integers(-10, 10).filter(bool),
)
_ranges = st.builds(
    range,
    st.integers(-(2**70), 2**70),
    st.integers(-(2**70), 2**70),
    st.integers(-(2**70), 2**70).filter(bool),
)

#: every kind of builtin atom (not necessarily hashable)
atoms: st.SearchStrategy[Any] = st.one_of(
    hashable_atoms,
    floats_any,
    complexes_any,
    st.binary(max_size=12).map(bytearray),
    st.sampled_from(BUILTIN_TYPES),
    _slices,
    _ranges,
)


def _hashable_extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=5).map(tuple),
        st.frozensets(children, max_size=5),
    )


#: hashable nested values (keys of dicts, members of sets)
hashables: st.SearchStrategy[Any] = st.recursive(
    hashable_atoms, _hashable_extend, max_leaves=8
)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=5).map(
            tuple
        ),  # tuples of 0-5 items (TUPLE1/2/3 and MARK)
        st.lists(children, max_size=6),
        st.dictionaries(hashables, children, max_size=5),
        st.sets(hashables, max_size=5),
        st.frozensets(hashables, max_size=5),
    )


#: nested builtin values without deliberate sharing
values: st.SearchStrategy[Any] = st.recursive(atoms, _extend, max_leaves=20)

# ---------------------------------------------------------------------------
# shared references and cycles
# ---------------------------------------------------------------------------


@st.composite
def _graph(draw: st.DrawFn) -> Any:
    """A random graph of lists/dicts/bytearrays/sets with shared nodes and cycles."""
    n = draw(st.integers(min_value=1, max_value=6))
    kinds = draw(
        st.lists(
            st.sampled_from(["list", "dict", "tuple-of-list", "bytearray", "set"]),
            min_size=n,
            max_size=n,
        )
    )
    nodes: list[Any] = []
    for kind in kinds:
        if kind == "list":
            nodes.append([])
        elif kind == "dict":
            nodes.append({})
        elif kind == "tuple-of-list":
            nodes.append([])  # wrapped in a tuple below, which then sits in cycles
        elif kind == "bytearray":
            nodes.append(bytearray(draw(st.binary(max_size=4))))
        else:
            nodes.append(set(draw(st.sets(hashables, max_size=3))))
    shared_atoms = draw(
        st.lists(
            st.one_of(
                texts.filter(lambda s: len(s) > 1),
                st.tuples(hashable_atoms, hashable_atoms),
                st.frozensets(hashable_atoms, min_size=1, max_size=3),
            ),
            max_size=3,
        )
    )
    wrapped = [
        (node, i) if kind == "tuple-of-list" else node
        for i, (node, kind) in enumerate(zip(nodes, kinds, strict=True))
    ]
    for node in nodes:
        if isinstance(node, (bytearray, set)):
            if isinstance(node, set):
                for a in (
                    draw(st.lists(st.sampled_from(shared_atoms), max_size=2))
                    if shared_atoms
                    else []
                ):
                    node.add(a)
            continue
        edges = draw(
            st.lists(
                st.one_of(
                    st.integers(0, n - 1).map(lambda i: ("node", i)),
                    st.sampled_from(shared_atoms).map(lambda a: ("atom", a))
                    if shared_atoms
                    else st.nothing(),
                    atoms.map(lambda a: ("atom", a)),
                ),
                max_size=5,
            )
        )
        for what, target in edges:
            value = wrapped[target] if what == "node" else target
            if isinstance(node, list):
                node.append(value)
            else:
                key = draw(
                    st.one_of(
                        st.sampled_from(shared_atoms) if shared_atoms else st.nothing(),
                        hashables,
                    )
                )
                node[key] = value
    root = draw(st.integers(0, n - 1))
    return [wrapped[root], *wrapped] if draw(st.booleans()) else wrapped[root]


def _self_list(x: list[Any]) -> list[Any]:
    x.append(x)
    return x


def _self_dict(d: dict[Any, Any]) -> dict[Any, Any]:
    d["self"] = d
    return d


def _twice(x: Any) -> list[Any]:
    return [x, x, (x,), {"k": x}]


def _tuple_cycle(x: Any) -> Any:
    lst: list[Any] = [x]
    t = (lst, x)
    lst.append(t)
    return t


def _dict_list_cycle(x: Any) -> dict[Any, Any]:
    d: dict[Any, Any] = {"x": x}
    d["l"] = [d, x, d]
    return d


#: structures with shared references and cycles
shared_structures: st.SearchStrategy[Any] = st.one_of(
    st.lists(values, max_size=4).map(_self_list),
    st.dictionaries(hashables, values, max_size=4).map(_self_dict),
    st.one_of(
        st.lists(values, max_size=3),
        st.dictionaries(texts, values, max_size=3),
        st.binary(max_size=4).map(bytearray),
        st.sets(hashables, max_size=3),
        st.tuples(values, values),
        st.frozensets(hashables, min_size=1, max_size=3),
        texts.filter(lambda s: len(s) > 1),
        st.binary(min_size=2, max_size=5),
    ).map(_twice),
    values.map(_tuple_cycle),
    values.map(_dict_list_cycle),
    _graph(),
)

#: everything: plain values, rare huge strings/bytes, shared references and cycles
builtin_values: st.SearchStrategy[Any] = st.one_of(
    values,
    values,
    shared_structures,
    shared_structures,
    st.one_of(big_texts, big_bytes, big_bytes.map(bytearray)),
)

# ---------------------------------------------------------------------------
# deep comparison
# ---------------------------------------------------------------------------

_MISSING = object()
_IDENTITY_TYPES = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.ModuleType,
    types.MethodType,
    types.BuiltinMethodType,
)
_ATOM_TYPES = (int, float, complex, type(None), type(Ellipsis), type(NotImplemented))


def _tracked(x: Any) -> bool:
    """Whether x's identity is meaningful.

    (pickle memoizes it and CPython never caches it)
    """
    if isinstance(x, _ATOM_TYPES) and type(x) in (
        int,
        bool,
        float,
        complex,
        type(None),
        type(Ellipsis),
        type(NotImplemented),
    ):
        return False
    if isinstance(x, _IDENTITY_TYPES):
        return False
    if type(x) in (str, bytes, tuple, frozenset) and len(x) <= 1:
        # '' b'' () frozenset() and 1-char strings/bytes are cached singletons
        return type(x) in (tuple, frozenset) and len(x) == 1
    return True


def _slot_names(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        for name in slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{klass.__name__.lstrip('_')}{name}"
            if name not in names:
                names.append(name)
    return names


class _Comparer:
    def __init__(self, sharing: bool = True) -> None:
        self.sharing = sharing
        self.visited: set[tuple[int, int]] = set()
        self.fwd: dict[int, Any] = {}
        self.bwd: dict[int, Any] = {}
        self.keep: list[Any] = []

    def fail(self, path: str, msg: str) -> None:
        raise AssertionError(f"at {path}: {msg}")

    def compare(self, a: Any, b: Any, path: str, track: bool = True) -> None:
        if type(a) is not type(b):
            self.fail(
                path,
                f"type {type(a).__qualname__} != {type(b).__qualname__}: "
                f"{a!r:.200} vs {b!r:.200}",
            )
        if isinstance(a, _IDENTITY_TYPES):
            if a is not b:
                self.fail(path, f"{a!r} is not {b!r}")
            return
        if not self.sharing:
            if (id(a), id(b)) in self.visited:
                return
            self.visited.add((id(a), id(b)))
            self.keep.append((a, b))
        elif track and _tracked(a):
            seen_b = self.fwd.get(id(a), _MISSING)
            if seen_b is not _MISSING:
                if seen_b is not b:
                    self.fail(
                        path,
                        "sharing differs: this object was already seen "
                        "paired with another one",
                    )
                return
            if id(b) in self.bwd:
                self.fail(
                    path,
                    "sharing differs: two distinct objects map to one shared object",
                )
            self.fwd[id(a)] = b
            self.bwd[id(b)] = a
            self.keep.append((a, b))
        self._compare_value(a, b, path)
        self._compare_state(a, b, path)

    def _float(self, a: float, b: float, path: str) -> None:
        if math.isnan(a) or math.isnan(b):
            if not (math.isnan(a) and math.isnan(b)):
                self.fail(path, f"{a!r} != {b!r}")
            return
        if a != b or math.copysign(1.0, a) != math.copysign(1.0, b):
            self.fail(path, f"{a!r} != {b!r}")

    def _compare_value(self, a: Any, b: Any, path: str) -> None:
        if isinstance(a, (type(None), type(Ellipsis), type(NotImplemented))):
            if a is not b:
                self.fail(path, f"{a!r} is not {b!r}")
        elif isinstance(a, float):
            self._float(a, b, path)
        elif isinstance(a, complex):
            self._float(a.real, b.real, path + ".real")
            self._float(a.imag, b.imag, path + ".imag")
        elif isinstance(a, (int, str, bytes, bytearray)):
            if a != b:
                self.fail(path, f"{a!r:.300} != {b!r:.300}")
        elif isinstance(a, (tuple, list)):
            if len(a) != len(b):
                self.fail(path, f"length {len(a)} != {len(b)}")
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                self.compare(x, y, f"{path}[{i}]")
        elif isinstance(a, dict):
            if len(a) != len(b):
                self.fail(
                    path, f"length {len(a)} != {len(b)}: {a!r:.300} vs {b!r:.300}"
                )
            pairs = zip(a.items(), b.items(), strict=True)
            for i, ((ka, va), (kb, vb)) in enumerate(pairs):
                self.compare(ka, kb, f"{path}.key#{i}")
                self.compare(va, vb, f"{path}[{ka!r:.40}]")
        elif isinstance(a, (set, frozenset)):
            if len(a) != len(b):
                self.fail(path, f"length {len(a)} != {len(b)}")
            lookup = {x: x for x in b}
            for x in a:
                y = lookup.get(x, _MISSING)
                if y is _MISSING:
                    self.fail(path, f"member {x!r:.100} missing in {b!r:.300}")
                self.compare(x, y, f"{path}{{{x!r:.40}}}")
        elif isinstance(a, (slice, range)):
            for attr in ("start", "stop", "step"):
                self.compare(getattr(a, attr), getattr(b, attr), f"{path}.{attr}")
        elif isinstance(a, (memoryview, pickle.PickleBuffer)):
            ma, mb = memoryview(a), memoryview(b)
            for attr in ("readonly", "format", "shape", "itemsize"):
                if getattr(ma, attr) != getattr(mb, attr):
                    self.fail(
                        path,
                        f"memoryview {attr} {getattr(ma, attr)!r} != "
                        f"{getattr(mb, attr)!r}",
                    )
            if ma.tobytes() != mb.tobytes():
                self.fail(path, "memoryview contents differ")
        elif isinstance(a, BaseException):
            self.compare(a.args, b.args, path + ".args")
        elif (
            type(a).__eq__ is not object.__eq__
            and not hasattr(a, "__dict__")
            and not _slot_names(type(a))
            and a != b
        ):
            self.fail(path, f"{a!r:.200} != {b!r:.200}")

    def _compare_state(self, a: Any, b: Any, path: str) -> None:
        if type(a).__module__ == "builtins":
            return
        da = getattr(a, "__dict__", _MISSING)
        db = getattr(b, "__dict__", _MISSING)
        if (da is _MISSING) != (db is _MISSING):
            self.fail(path, "__dict__ presence differs")
        if da is not _MISSING:
            if set(da) != set(db):
                self.fail(path, f"attributes {sorted(da)} != {sorted(db)}")
            # keys of an instance __dict__ are interned by BUILD, so their identity
            # is not compared: equal key sets (checked above) is all that matters
            for k in da:
                self.compare(da[k], db[k], f"{path}.{k}")
        for name in _slot_names(type(a)):
            va = getattr(a, name, _MISSING)
            vb = getattr(b, name, _MISSING)
            if (va is _MISSING) != (vb is _MISSING):
                self.fail(path, f"slot {name} set in one object only")
            if va is not _MISSING:
                self.compare(va, vb, f"{path}.{name}")


def assert_same(a: Any, b: Any, *, sharing: bool = True) -> None:
    """Assert that object graphs a and b are the same up to identity of the roots.

    Checks exact types at every level, values (NaN == NaN, -0.0 != 0.0), the
    state of user objects (``__dict__`` and slots), and -- unless
    ``sharing=False`` -- that the sharing structure (which positions hold the
    same object) is identical.
    """
    _Comparer(sharing).compare(a, b, "root")


def real_find_class(module: str, name: str) -> Any:
    """Import a real global, like ``pickle.Unpickler.find_class`` at protocol 4."""
    import importlib

    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def recording(hook: Callable[..., Any], log: list[Any]) -> Callable[..., Any]:
    """Wrap a hook so that every call's arguments are appended to log."""

    def wrapper(*args: Any) -> Any:
        log.append(args)
        return hook(*args)

    return wrapper
