"""copyreg extension codes (EXT1/EXT2/EXT4) with a trusting find_class, the
get_extension hook and its exceptions.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.strategies import assert_same, real_find_class, recording
from helpers.trusting import PROTOCOLS, HookError, RealUnpickler, _opnames, _raiser

import emulpickle


class ExtSmall:
    def __init__(self) -> None:
        self.v = "EXT1"


class ExtMedium:
    def __init__(self) -> None:
        self.v = "EXT2"


class ExtLarge:
    def __init__(self) -> None:
        self.v = "EXT4"


EXT_CODES = {ExtSmall: 0xF1, ExtMedium: 0xBEEF, ExtLarge: 0x12345678}
EXT_OPCODES = {ExtSmall: "EXT1", ExtMedium: "EXT2", ExtLarge: "EXT4"}


@pytest.fixture
def extensions() -> Iterator[None]:
    for cls, code in EXT_CODES.items():
        assert code not in copyreg._inverted_registry  # type: ignore[attr-defined]
        copyreg.add_extension(cls.__module__, cls.__qualname__, code)
    try:
        yield
    finally:
        for cls, code in EXT_CODES.items():
            copyreg.remove_extension(cls.__module__, cls.__qualname__, code)
        copyreg.clear_extension_cache()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("cls", list(EXT_CODES), ids=lambda c: c.__name__)
def test_extension_codes(extensions: None, cls: type, protocol: int) -> None:
    obj = [cls(), cls(), cls]
    data = pickle.dumps(obj, protocol)
    if protocol >= 2:
        assert EXT_OPCODES[cls] in _opnames(data)
    expected = pickle.loads(data)
    seen: list[Any] = []
    got = emulpickle.loads(data, find_class=recording(real_find_class, seen))
    assert_same(expected, got)
    assert got[2] is cls
    assert (
        cls.__module__,
        cls.__qualname__,
    ) in seen  # default get_extension goes through find_class
    assert_same(expected, RealUnpickler(io.BytesIO(data)).load())

    # a get_extension hook replaces the copyreg lookup
    codes: list[int] = []
    by_code = {code: c for c, code in EXT_CODES.items()}

    def get_extension(code: int) -> Any:
        codes.append(code)
        return by_code[code]

    def no_find_class(module: str, name: str) -> Any:
        if protocol >= 2 and (module, name) == (cls.__module__, cls.__qualname__):
            raise AssertionError(
                "find_class must not be asked for an extension-coded global"
            )
        return real_find_class(module, name)

    got = emulpickle.loads(data, find_class=no_find_class, get_extension=get_extension)
    assert_same(expected, got)
    if protocol >= 2:
        assert codes and set(codes) == {EXT_CODES[cls]}

    class ExtUnpickler(RealUnpickler):
        def get_extension(self, code: int) -> Any:
            codes.append(-code)
            return by_code[code]

    codes.clear()
    assert_same(expected, ExtUnpickler(io.BytesIO(data)).load())
    if protocol >= 2:
        assert codes and set(codes) == {-EXT_CODES[cls]}


def test_unregistered_extension_code_is_an_error(extensions: None) -> None:
    data = pickle.dumps(ExtMedium(), 2)
    copyreg.remove_extension(
        ExtMedium.__module__, ExtMedium.__qualname__, EXT_CODES[ExtMedium]
    )
    copyreg.clear_extension_cache()
    try:
        with pytest.raises(ValueError):  # pickle: "unregistered extension code"
            pickle.loads(data)
        with pytest.raises((ValueError, pickle.UnpicklingError)):
            emulpickle.loads(data, find_class=real_find_class)
    finally:
        copyreg.add_extension(
            ExtMedium.__module__, ExtMedium.__qualname__, EXT_CODES[ExtMedium]
        )


def test_get_extension_exception_propagates(extensions: None) -> None:
    data = pickle.dumps(ExtSmall(), 2)
    err = HookError("from get_extension")
    with pytest.raises(HookError) as info:
        emulpickle.loads(data, find_class=real_find_class, get_extension=_raiser(err))
    assert info.value is err

    class U(RealUnpickler):
        def get_extension(self, code: int) -> Any:
            raise err

    with pytest.raises(HookError) as info:
        U(io.BytesIO(data)).load()
    assert info.value is err
