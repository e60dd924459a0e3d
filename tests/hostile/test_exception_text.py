"""Hostile: exceptions raised over a pickle-chosen value are reported bounded.

``str(KeyError(key))`` is ``repr(key)``: an emulator that fails with the
value it was given (here an application's emulator) must
not make the machine render a 2**40-path DAG, or a huge int (whose str()
raises), while wrapping the error in an ``EmulationError``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import sys
    import emulpickle

    def lookup(key):
        # What a failed lookup raises (without hashing the key first, which
        # an emulator must not do unchecked): str() of it is repr(key).
        raise KeyError(key)

    reg = emulpickle.Registry(parent=emulpickle.default_registry())
    reg.register("app", "lookup", lookup)
    GLOBAL = b"capp\\nlookup\\n"
    if sys.argv[1] == "dag":
        # x = (); forty times x = (x, x), through DUP: 2**40 paths
        value = b")" + b"2\\x86" * 40
    else:
        value = b"\\x8b" + (1 << 20).to_bytes(4, "little") + b"\\x5a" * (1 << 20)
    data = b"\\x80\\x02" + GLOBAL + value + b"\\x85R."
    try:
        emulpickle.loads(data, registry=reg)
    except emulpickle.EmulationError as exc:
        print(len(str(exc)), type(exc.__cause__).__name__)
    """
)


@pytest.mark.parametrize("value", ["dag", "bigint"])
def test_keyerror_over_hostile_value_is_bounded(value: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, value],
        capture_output=True,
        timeout=60,  # hang guard: the fixed code takes milliseconds
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    length, cause = proc.stdout.split()
    assert cause == b"KeyError"
    assert int(length) < 1000
