"""Hostile pickles the tests (and the hub benchmark's corpus) share.

Two families, each built from a marker path it would create under CPython's
``pickle.loads``:

* ``PAYLOADS`` (with ``Payload``): what the loader must refuse, naming the
  global it refuses first; ``EXT_KEYS`` are the copyreg extension codes the
  EXT1/EXT2/EXT4 payloads need registered to run.
* ``SCAN_BUILDERS``: spellings of the same calls the scanner must flag.

Nothing here runs a payload; the tests that do run them in child processes.
"""

from __future__ import annotations

import shlex
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from helpers import pickle_bytes as pb


def U(s: str) -> bytes:
    """BINUNICODE of ``s``."""
    return pb.binunicode(s)


def S(s: str) -> bytes:
    """SHORT_BINUNICODE of ``s``."""
    return pb.short_binunicode(s)


def call1(arg: bytes) -> bytes:
    """Call whatever is on the stack with one argument (TUPLE1 + REDUCE)."""
    return arg + pb.TUPLE1 + pb.REDUCE


# copyreg extension codes used for EXT1 / EXT2 / EXT4 payloads
EXT_KEYS = {
    0xE1: ("os", "system"),  # EXT1
    0xE1E2: ("posix", "system"),  # EXT2
    0x7EE1E2E3: ("subprocess", "call"),  # EXT4
}


class Payload(NamedTuple):
    build: Callable[[str], bytes]  # marker path -> pickle bytes
    module: str  # the global emulpickle must refuse first (after mapping)
    name: str
    opcode: str
    creates_file: bool = True  # True: under pickle.loads it creates the marker
    options: dict[str, Any] = {}  # noqa: RUF012 - NamedTuple default, never mutated


def sh(path: str) -> str:
    return "touch " + shlex.quote(path)


PAYLOADS: dict[str, Payload] = {
    "os.system-GLOBAL": Payload(
        lambda p: b"cos\nsystem\n" + call1(U(sh(p))) + b".", "os", "system", "GLOBAL"
    ),
    "os.system-GLOBAL-proto2": Payload(
        lambda p: b"\x80\x02cos\nsystem\n" + call1(U(sh(p))) + b".",
        "os",
        "system",
        "GLOBAL",
    ),
    "os.system-STACK_GLOBAL": Payload(
        lambda p: (
            b"\x80\x04" + S("os") + S("system") + b"\x93" + call1(U(sh(p))) + b"."
        ),
        "os",
        "system",
        "STACK_GLOBAL",
    ),
    "os.system-STACK_GLOBAL-BINUNICODE-names": Payload(
        lambda p: (
            b"\x80\x04" + U("os") + U("system") + b"\x93" + call1(U(sh(p))) + b"."
        ),
        "os",
        "system",
        "STACK_GLOBAL",
    ),
    "os.system-STACK_GLOBAL-memoized-names": Payload(
        # the names are pushed, memoized and popped; only BINGET brings them back
        lambda p: (
            b"\x80\x04"
            + S("os")
            + b"\x940"
            + S("system")
            + b"\x940"
            + b"h\x00h\x01\x93"
            + call1(U(sh(p)))
            + b"."
        ),
        "os",
        "system",
        "STACK_GLOBAL",
    ),
    "os.system-STACK_GLOBAL-LONG_BINGET-names": Payload(
        lambda p: (
            b"\x80\x04"
            + S("os")
            + b"r\x00\x00\x01\x000"
            + S("system")
            + b"r\x01\x00\x01\x000"
            + b"j\x00\x00\x01\x00j\x01\x00\x01\x00\x93"
            + call1(U(sh(p)))
            + b"."
        ),
        "os",
        "system",
        "STACK_GLOBAL",
    ),
    "os.system-STACK_GLOBAL-py2-strings-latin1": Payload(
        lambda p: b"\x80\x02U\x02osU\x06system\x93" + call1(U(sh(p))) + b".",
        "os",
        "system",
        "STACK_GLOBAL",
        True,
        {"encoding": "latin1"},
    ),
    "os.system-INST": Payload(
        lambda p: b"(" + U(sh(p)) + b"ios\nsystem\n.", "os", "system", "INST"
    ),
    "os.system-OBJ": Payload(
        lambda p: b"(cos\nsystem\n" + U(sh(p)) + b"o.", "os", "system", "GLOBAL"
    ),
    "os.system-popped-unused": Payload(
        lambda p: b"cos\nsystem\n0N.", "os", "system", "GLOBAL", False
    ),
    "os.system-inside-allowed-reduce": Payload(
        lambda p: b"ccopy_reg\n_reconstructor\n(cos\nsystem\n" + U(sh(p)) + b"NtR.",
        "os",
        "system",
        "GLOBAL",
        False,
    ),
    "os.system-EXT1": Payload(
        lambda p: b"\x80\x02\x82\xe1" + call1(U(sh(p))) + b".", "os", "system", "EXT1"
    ),
    "posix.system-EXT2": Payload(
        lambda p: b"\x80\x02\x83\xe2\xe1" + call1(U(sh(p))) + b".",
        "posix",
        "system",
        "EXT2",
    ),
    "subprocess.call-EXT4": Payload(
        lambda p: (
            b"\x80\x02\x84\xe3\xe2\xe1\x7e"
            + call1(b"](" + U("touch") + U(p) + b"e")
            + b"."
        ),
        "subprocess",
        "call",
        "EXT4",
    ),
    "posix.system": Payload(
        lambda p: b"cposix\nsystem\n" + call1(U(sh(p))) + b".",
        "posix",
        "system",
        "GLOBAL",
    ),
    "subprocess.Popen": Payload(
        lambda p: (
            b"csubprocess\nPopen\n" + call1(b"](" + U("touch") + U(p) + b"e") + b"."
        ),
        "subprocess",
        "Popen",
        "GLOBAL",
        False,  # asynchronous: no reliable control
    ),
    "subprocess.check_call": Payload(
        lambda p: (
            b"csubprocess\ncheck_call\n"
            + call1(b"](" + U("touch") + U(p) + b"e")
            + b"."
        ),
        "subprocess",
        "check_call",
        "GLOBAL",
    ),
    "commands.getoutput-py2-mapped": Payload(
        lambda p: b"ccommands\ngetoutput\n" + call1(U(sh(p))) + b".",
        "subprocess",
        "getoutput",
        "GLOBAL",
    ),
    "builtins.exec": Payload(
        lambda p: b"cbuiltins\nexec\n" + call1(U(f"open({p!r}, 'w').close()")) + b".",
        "builtins",
        "exec",
        "GLOBAL",
    ),
    "builtins.eval-py2-name": Payload(
        lambda p: (
            b"c__builtin__\neval\n"
            + call1(U(f"__import__('os').system({sh(p)!r})"))
            + b"."
        ),
        "builtins",
        "eval",
        "GLOBAL",
    ),
    "builtins.eval-proto3-unmapped": Payload(
        lambda p: b"\x80\x03c__builtin__\neval\n" + call1(U("1")) + b".",
        "__builtin__",
        "eval",
        "GLOBAL",
        False,
    ),
    "builtins.getattr-__import__-chain": Payload(
        lambda p: (
            b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n"
            + call1(U("os"))
            + U("system")
            + b"tR"
            + call1(U(sh(p)))
            + b"."
        ),
        "builtins",
        "getattr",
        "GLOBAL",
    ),
    "builtins.__import__": Payload(
        lambda p: (
            b"\x80\x04"
            + S("builtins")
            + S("__import__")
            + b"\x93"
            + call1(U("os"))
            + b"."
        ),
        "builtins",
        "__import__",
        "STACK_GLOBAL",
        False,
    ),
    "builtins.open": Payload(
        lambda p: b"cbuiltins\nopen\n" + U(p) + U("w") + b"\x86R.",
        "builtins",
        "open",
        "GLOBAL",
    ),
    "builtins.compile": Payload(
        lambda p: b"cbuiltins\ncompile\n" + U("1") + U("x") + U("eval") + b"\x87R.",
        "builtins",
        "compile",
        "GLOBAL",
        False,
    ),
    "builtins.setattr": Payload(
        lambda p: b"cbuiltins\nsetattr\n(cbuiltins\nint\n" + U("x") + b"K\x01tR.",
        "builtins",
        "setattr",
        "GLOBAL",
        False,
    ),
    "builtins.int-dotted-subclasses": Payload(
        lambda p: (
            b"\x80\x04" + S("builtins") + S("int.__class__.__subclasses__") + b"\x93)R."
        ),
        "builtins",
        "int.__class__.__subclasses__",
        "STACK_GLOBAL",
        False,
    ),
    "copyreg.__newobj__-dotted-globals": Payload(
        lambda p: b"\x80\x04" + S("copyreg") + S("__newobj__.__globals__") + b"\x93.",
        "copyreg",
        "__newobj__.__globals__",
        "STACK_GLOBAL",
        False,
    ),
    "copyreg.add_extension": Payload(
        lambda p: b"ccopyreg\nadd_extension\n" + U("os") + U("system") + b"K\x07\x87R.",
        "copyreg",
        "add_extension",
        "GLOBAL",
        False,
    ),
    "functools.reduce-py2-mapped": Payload(
        lambda p: b"c__builtin__\nreduce\n.", "functools", "reduce", "GLOBAL", False
    ),
    "pickle.loads-nested": Payload(
        lambda p: (
            b"cpickle\nloads\n"
            + call1(pb.binbytes(b"cos\nsystem\n" + call1(U(sh(p))) + b"."))
            + b"."
        ),
        "pickle",
        "loads",
        "GLOBAL",
    ),
    "importlib.import_module": Payload(
        lambda p: b"cimportlib\nimport_module\n" + call1(U("antigravity")) + b".",
        "importlib",
        "import_module",
        "GLOBAL",
        False,
    ),
}


def unicode_op(s: str) -> bytes:
    """SHORT_BINUNICODE of ``s``, or BINUNICODE when it is 256 bytes or more."""
    raw = s.encode()
    return (
        b"\x8c" + bytes([len(raw)]) + raw
        if len(raw) < 256
        else b"X" + struct.pack("<I", len(raw)) + raw
    )


def _s(s: str) -> bytes:  # protocol 0 string
    return b"S'" + s.encode("unicode_escape").replace(b"'", b"\\'") + b"'\n"


def _cmd(marker: Path) -> str:
    return f"touch {shlex.quote(str(marker))}"


def _py(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


# Each builder takes the marker path and returns a pickle that, under
# CPython's pickle.loads, would create that file.
SCAN_BUILDERS: dict[str, Callable[[Path], bytes]] = {
    "GLOBAL os.system": lambda m: b"cos\nsystem\n(" + _s(_cmd(m)) + b"tR.",
    "GLOBAL posix.system proto2": lambda m: (
        b"\x80\x02cposix\nsystem\n" + unicode_op(_cmd(m)) + b"\x85R."
    ),
    "GLOBAL builtins.exec": lambda m: (
        b"\x80\x03cbuiltins\nexec\n" + unicode_op(_py(m)) + b"\x85R."
    ),
    "python2 __builtin__.eval": lambda m: (
        b"c__builtin__\neval\n(" + _s(_py(m)) + b"tR."
    ),
    "STACK_GLOBAL": lambda m: (
        b"\x80\x04"
        + unicode_op("os")
        + unicode_op("system")
        + b"\x93"
        + unicode_op(_cmd(m))
        + b"\x85R."
    ),
    "STACK_GLOBAL memoized": lambda m: (
        b"\x80\x04"
        + unicode_op("subprocess")
        + b"\x94"
        + unicode_op("getoutput")
        + b"\x94"
        + b"00h\x00h\x01\x93"
        + unicode_op(_cmd(m))
        + b"\x85R."
    ),
    "STACK_GLOBAL python2 strings": lambda m: (
        b"\x80\x02U\x02osU\x06system\x93" + _s(_cmd(m)) + b"\x85R."
    ),
    "STACK_GLOBAL text memo": lambda m: (
        b"S'os'\np0\n0S'system'\np1\n0g0\ng1\n\x93(" + _s(_cmd(m)) + b"tR."
    ),
    "INST": lambda m: b"(" + _s(_cmd(m)) + b"ios\nsystem\n.",
    "OBJ": lambda m: b"(cos\nsystem\n" + _s(_cmd(m)) + b"o.",
    "dotted STACK_GLOBAL": lambda m: (
        b"\x80\x04"
        + unicode_op("shlex")
        + unicode_op("os.system")
        + b"\x93"
        + unicode_op(_cmd(m))
        + b"\x85R."
    ),
    "getattr chain": lambda m: (
        b"\x80\x04cbuiltins\ngetattr\ncbuiltins\n__import__\n"
        + unicode_op("os")
        + b"\x85R"
        + unicode_op("system")
        + b"\x86R"
        + unicode_op(_cmd(m))
        + b"\x85R."
    ),
    "payload after benign pickle": lambda m: (
        b"\x80\x04K\x01."
        + b"\x80\x04"
        + unicode_op("os")
        + unicode_op("system")
        + b"\x93"
        + unicode_op(_cmd(m))
        + b"\x85R."
    ),
    "broken tail": lambda m: (
        b"\x80\x02cos\nsystem\n" + unicode_op(_cmd(m)) + b"\x85R\xff\xfe"
    ),
}
