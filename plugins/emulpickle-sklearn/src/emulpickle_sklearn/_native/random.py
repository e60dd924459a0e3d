"""numpy.random: ``RandomState``, ``Generator``, bit generators, ``SeedSequence``.

numpy pickles them through ``numpy.random._pickle``'s constructors
(``__randomstate_ctor``, ``__generator_ctor``, ``__bit_generator_ctor``)
followed by a BUILD of the state dict. The C generators trust their state:
MT19937 reads ``key[pos++]`` and refills only when ``pos == 624``, Philox
reads ``buffer[buffer_pos]`` likewise, so a ``pos`` past the key reads (and
hands out) memory beyond it. Here the constructors make the real objects
(default-seeded, so usable even without a BUILD) only for the five bit
generators numpy ships, and every BUILD state is checked key by key (array
lengths and dtypes, positions, flags, integer ranges) before numpy's own
``__setstate__`` sees it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.random import (
    MT19937,
    PCG64,
    PCG64DXSM,
    SFC64,
    Generator,
    Philox,
    RandomState,
    SeedSequence,
)

from emulpickle import Registry
from emulpickle.machine.host import Replacement

from ._common import (
    NativeClass,
    Pending,
    check_array,
    check_int,
    fail,
    refuse_later_builds,
    shown,
)

__all__ = ["register_random"]

_MT_LEN = 624
_U32 = 2**32 - 1
_U64 = 2**64 - 1
_U128 = 2**128 - 1
#: numpy's pool sizes are small; entropy beyond this many bits is refused.
_MAX_ENTROPY_BITS = 1 << 16
_MAX_POOL = 1 << 12

#: The bit generators a pickle may name: numpy's own five.
_BIT_GENERATORS: dict[str, type[Any]] = {
    "MT19937": MT19937,
    "PCG64": PCG64,
    "PCG64DXSM": PCG64DXSM,
    "Philox": Philox,
    "SFC64": SFC64,
}
_MODULES = {
    "MT19937": "numpy.random._mt19937",
    "PCG64": "numpy.random._pcg64",
    "PCG64DXSM": "numpy.random._pcg64",
    "Philox": "numpy.random._philox",
    "SFC64": "numpy.random._sfc64",
}
_MARKERS = {name: NativeClass(name) for name in _BIT_GENERATORS}


def _check_keys(state: Any, keys: set[str], what: str) -> dict[str, Any]:
    if type(state) is not dict:
        raise fail(f"{what} must be a dict, not {type(state).__name__}")
    if set(state) != keys:
        raise fail(
            f"{what} has keys {shown(sorted(map(str, state)))}, expected {sorted(keys)}"
        )
    return state


def _u64s(value: object, what: str, length: int) -> np.ndarray[Any, Any]:
    checked = check_array(value, what, np.uint64, shape=(length,))
    copied: np.ndarray[Any, Any] = checked.copy()
    return copied


def check_bit_generator_state(name: str, state: object, what: str) -> dict[str, Any]:
    """A validated copy of the ``.state`` dict of bit generator ``name``."""
    if name == "MT19937":
        outer = _check_keys(state, {"bit_generator", "state"}, what)
    elif name == "Philox":
        outer = _check_keys(
            state,
            {
                "bit_generator",
                "state",
                "buffer",
                "buffer_pos",
                "has_uint32",
                "uinteger",
            },
            what,
        )
    else:
        outer = _check_keys(
            state, {"bit_generator", "state", "has_uint32", "uinteger"}, what
        )
    if type(outer["bit_generator"]) is not str or outer["bit_generator"] != name:
        raise fail(
            f"{what}: bit_generator {shown(outer['bit_generator'])} is not {name}"
        )
    inner = outer["state"]
    checked: dict[str, Any] = {"bit_generator": name}
    if name == "MT19937":
        inner = _check_keys(inner, {"key", "pos"}, f"{what}.state")
        key = check_array(
            inner["key"], f"{what}.state.key", np.uint32, shape=(_MT_LEN,)
        )
        pos = check_int(inner["pos"], f"{what}.state.pos", 0, _MT_LEN)
        checked["state"] = {"key": key.copy(), "pos": pos}
        return checked
    if name in ("PCG64", "PCG64DXSM"):
        inner = _check_keys(inner, {"state", "inc"}, f"{what}.state")
        checked["state"] = {
            "state": check_int(inner["state"], f"{what}.state.state", 0, _U128),
            "inc": check_int(inner["inc"], f"{what}.state.inc", 0, _U128),
        }
    elif name == "SFC64":
        inner = _check_keys(inner, {"state"}, f"{what}.state")
        checked["state"] = {"state": _u64s(inner["state"], f"{what}.state.state", 4)}
    else:  # Philox
        inner = _check_keys(inner, {"counter", "key"}, f"{what}.state")
        checked["state"] = {
            "counter": _u64s(inner["counter"], f"{what}.state.counter", 4),
            "key": _u64s(inner["key"], f"{what}.state.key", 2),
        }
        checked["buffer"] = _u64s(outer["buffer"], f"{what}.buffer", 4)
        checked["buffer_pos"] = check_int(
            outer["buffer_pos"], f"{what}.buffer_pos", 0, 4
        )
    checked["has_uint32"] = check_int(outer["has_uint32"], f"{what}.has_uint32", 0, 1)
    checked["uinteger"] = check_int(outer["uinteger"], f"{what}.uinteger", 0, _U32)
    return checked


def _bit_generator(name_or_class: object, what: str) -> Any:
    """A fresh real bit generator for a marker or a name numpy knows."""
    for name, marker in _MARKERS.items():
        if name_or_class is marker or (
            type(name_or_class) is str and name_or_class == name
        ):
            return _BIT_GENERATORS[name]()
    raise fail(f"{what}: unknown bit generator {shown(name_or_class)}")


def _given_bit_generator(args: tuple[object, ...], what: str) -> Any:
    """The bit generator argument of ``__randomstate_ctor`` / ``__generator_ctor``."""
    if not 1 <= len(args) <= 2:
        raise fail(f"{what} takes (bit_generator[, bit_generator_ctor])")
    if len(args) == 2 and args[1] is not BIT_GENERATOR_CTOR:
        raise fail(f"{what}: bit_generator_ctor must be numpy's own")
    first = args[0]
    if type(first) in _BIT_GENERATORS.values():
        return first  # made by this module, from a validated state
    return _bit_generator(first, what)


class BitGeneratorCtor:
    """Answers ``numpy.random._pickle.__bit_generator_ctor``."""

    def __repr__(self) -> str:
        return "<emulated numpy.random._pickle.__bit_generator_ctor>"

    def py_call(self, *args: object) -> object:
        """A default-seeded real bit generator of a known kind."""
        if len(args) > 1:
            raise fail("__bit_generator_ctor takes one argument")
        return _bit_generator(args[0] if args else "MT19937", "__bit_generator_ctor")


BIT_GENERATOR_CTOR = BitGeneratorCtor()


class RandomStateCtor:
    """Answers ``numpy.random._pickle.__randomstate_ctor``."""

    def __repr__(self) -> str:
        return "<emulated numpy.random._pickle.__randomstate_ctor>"

    def py_call(self, *args: object) -> object:
        """A real RandomState on a checked (or fresh) bit generator."""
        bit_generator = _given_bit_generator(args or ("MT19937",), "__randomstate_ctor")
        return RandomState(bit_generator)


class GeneratorCtor:
    """Answers ``numpy.random._pickle.__generator_ctor``."""

    def __repr__(self) -> str:
        return "<emulated numpy.random._pickle.__generator_ctor>"

    def py_call(self, *args: object) -> object:
        """A real Generator on a checked (or fresh) bit generator."""
        bit_generator = _given_bit_generator(args or ("MT19937",), "__generator_ctor")
        return Generator(bit_generator)


def set_bit_generator_state(bit_generator: Any, state: Any) -> None:
    """BUILD of a bit generator: ``state`` or ``(state, seed_seq)``, checked."""
    name = type(bit_generator).__name__
    what = f"{name} state"
    seed_seq: object = None
    if type(state) is tuple:
        if len(state) != 2:
            raise fail(f"{what} must be (state, seed_seq)")
        state, seed_seq = state
        if seed_seq is not None and type(seed_seq) is not SeedSequence:
            raise fail(f"{what}: seed_seq is a {type(seed_seq).__name__}")
    checked = check_bit_generator_state(name, state, what)
    if seed_seq is None:
        bit_generator.state = checked
    else:
        bit_generator.__setstate__((checked, seed_seq))


def set_random_state_state(random_state: Any, state: Any) -> None:
    """BUILD of a RandomState: the legacy dict or tuple, checked."""
    what = "RandomState state"
    name = type(random_state._bit_generator).__name__
    if type(state) is tuple:
        first = state[0] if state else None
        legacy = type(first) is str and first == "MT19937" and len(state) == 5
        if not legacy or name != "MT19937":
            raise fail(
                f"{what}: a tuple state must be ('MT19937', key, pos, has_gauss, gauss)"
            )
        state = {
            "bit_generator": "MT19937",
            "state": {"key": state[1], "pos": state[2]},
            "has_gauss": state[3],
            "gauss": state[4],
        }
    if type(state) is not dict:
        raise fail(f"{what} must be a dict, not {type(state).__name__}")
    rest = {k: v for k, v in state.items() if k not in ("has_gauss", "gauss")}
    checked = check_bit_generator_state(name, rest, what)
    checked["has_gauss"] = check_int(state.get("has_gauss"), f"{what}.has_gauss", 0, 1)
    gauss = state.get("gauss")
    if type(gauss) is not float:
        raise fail(f"{what}.gauss must be a float, not {type(gauss).__name__}")
    checked["gauss"] = gauss
    random_state.__setstate__(checked)


def set_generator_state(generator: Any, state: Any) -> None:
    """BUILD of a Generator (older numpy): its bit generator's state dict."""
    if state is None:
        return
    set_bit_generator_state(generator.bit_generator, state)


class SeedSequenceUnpickle:
    """Answers ``numpy.random.bit_generator.__pyx_unpickle_SeedSequence``."""

    def __repr__(self) -> str:
        return "<emulated numpy SeedSequence unpickler>"

    def py_call(self, *args: object) -> object:
        """``(cls, checksum, state)``: a pending SeedSequence for the BUILD."""
        if len(args) != 3 or args[0] is not SEED_SEQUENCE or args[2] is not None:
            raise fail(
                "__pyx_unpickle_SeedSequence expects (SeedSequence, checksum, None)"
            )
        return PendingSeedSequence("SeedSequence", ())


class PendingSeedSequence(Pending):
    """A SeedSequence waiting for its BUILD."""

    __slots__ = ()


SEED_SEQUENCE = NativeClass("numpy.random.bit_generator.SeedSequence")


def _entropy(value: Any, what: str) -> Any:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        number = int(value)
        if number < 0 or number.bit_length() > _MAX_ENTROPY_BITS:
            raise fail(f"{what} is out of range")
        return number
    if type(value) is np.ndarray:
        plain = value.ndim == 1 and value.dtype.kind in "ui"
        value = value.tolist() if plain else None
    if type(value) in (list, tuple) and len(value) <= _MAX_ENTROPY_BITS // 32:
        return [check_int(v, f"{what} item", 0, _U64) for v in value]
    raise fail(f"{what} must be None, an int or a sequence of ints")


def set_seed_sequence_state(pending: Any, state: Any) -> object:
    """BUILD of a SeedSequence: rebuild it from its entropy, check the pool."""
    what = "SeedSequence state"
    if type(pending) is not PendingSeedSequence:
        raise fail(f"{what} applied to a {type(pending).__name__}")
    if type(state) is not tuple or len(state) != 5:
        raise fail(
            f"{what} must be (entropy, n_children_spawned, pool, pool_size, spawn_key)"
        )
    entropy = _entropy(state[0], f"{what}.entropy")
    spawned = check_int(state[1], f"{what}.n_children_spawned", 0, _U64)
    pool_size = check_int(state[3], f"{what}.pool_size", 4, _MAX_POOL)
    pool = check_array(state[2], f"{what}.pool", np.uint32, shape=(pool_size,))
    spawn_key = state[4]
    if type(spawn_key) is not tuple or len(spawn_key) > 1024:
        raise fail(f"{what}.spawn_key must be a tuple of ints")
    key = tuple(check_int(v, f"{what}.spawn_key item", 0, _U64) for v in spawn_key)
    real = SeedSequence(
        entropy, spawn_key=key, pool_size=pool_size, n_children_spawned=spawned
    )
    if not np.array_equal(real.pool, pool):
        raise fail(f"{what}.pool does not follow from its entropy")
    return Replacement(real)


def register_random(registry: Registry) -> None:
    """Answer numpy.random's pickle constructors and bit generator classes."""
    module = "numpy.random._pickle"
    registry.register(module, "__bit_generator_ctor", BIT_GENERATOR_CTOR)
    registry.register(module, "__randomstate_ctor", RandomStateCtor())
    registry.register(module, "__generator_ctor", GeneratorCtor())
    # numpy < 1.17: ``numpy.random.__RandomState_ctor()`` and a tuple state.
    registry.register("numpy.random", "__RandomState_ctor", RandomStateCtor())
    for name, marker in _MARKERS.items():
        registry.register(_MODULES[name], name, marker)
        registry.register_state_setter(_BIT_GENERATORS[name], set_bit_generator_state)
    registry.register_state_setter(RandomState, set_random_state_state)
    registry.register_state_setter(Generator, set_generator_state)
    bit_generator = "numpy.random.bit_generator"
    registry.register(bit_generator, "SeedSequence", SEED_SEQUENCE)
    registry.register(
        bit_generator, "__pyx_unpickle_SeedSequence", SeedSequenceUnpickle()
    )
    registry.register_state_setter(PendingSeedSequence, set_seed_sequence_state)
    refuse_later_builds(registry, SeedSequence)
