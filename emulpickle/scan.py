"""Static scan: which globals could a pickle reach, and are they safe?

:func:`scan` reads a pickle file (or bytes) without building any object or
importing anything it names, and reports every global a loader could reach —
however it is spelled (GLOBAL, STACK_GLOBAL from any string opcode, memoized
or not, INST, OBJ on such a class, EXT1/2/4 through copyreg's registry) — in
every pickle of the input: stacked pickles, the legacy torch layout, every
member of a zip archive (torch.save, npz) and object arrays in ``.npy`` files.

The verdict is an allowlist: a global is ``"safe"`` when the registry (by
default the curated default registry plus the installed first-party numpy and
torch plugins) answers it, ``"dangerous"`` when it reaches process,
filesystem, network, import or code-evaluation machinery, or a nested loader,
or when its name is computed at load time, and ``"unknown"`` otherwise. A
report is :attr:`~ScanReport.clean` only when every global is safe and the
input could be read to the end.
"""

from __future__ import annotations

import ast
import codecs
import copyreg
import mmap
import os
import struct
from typing import Any

import attrs

from . import _zipread
from ._py2names import map_python2_name
from .registry import Registry, default_registry, installed_plugins

__all__ = ["Finding", "ScanReport", "classify", "scan"]

#: Largest size a deflated zip member may inflate to.
MAX_INFLATED_MEMBER = 256 << 20
#: A member may always inflate to this much, and beyond it to at most
#: ``MAX_INFLATE_RATIO`` times its compressed size (zip bombs run ~1000:1).
MIN_INFLATE_ALLOWANCE = 32 << 20
MAX_INFLATE_RATIO = 50
#: Largest total of inflated bytes for one archive.
MAX_INFLATED_TOTAL = 1 << 30
#: How deep zips inside zips are followed.
MAX_NESTING = 3
_MAX_NPY_HEADER = 1 << 16
_MAX_FINDINGS_PER_PICKLE = 10_000
_MAX_ERRORS = 1000

# --- the dangerous list -----------------------------------------------------

#: Modules (and everything under them) that reach process, filesystem,
#: network, import or code-evaluation machinery, or load nested pickles.
DANGEROUS_MODULES = frozenset(
    [
        "os",
        "posix",
        "nt",
        "posixpath",
        "ntpath",
        "subprocess",
        "_posixsubprocess",
        "_winapi",
        "multiprocessing",
        "signal",
        "pty",
        "tty",
        "termios",
        "fcntl",
        "resource",
        "sys",
        "importlib",
        "imp",
        "zipimport",
        "runpy",
        "pkgutil",
        "site",
        "sysconfig",
        "socket",
        "_socket",
        "ssl",
        "select",
        "selectors",
        "socketserver",
        "http",
        "urllib",
        "urllib2",
        "urllib3",
        "requests",
        "httpx",
        "aiohttp",
        "ftplib",
        "smtplib",
        "poplib",
        "imaplib",
        "nntplib",
        "telnetlib",
        "xmlrpc",
        "webbrowser",
        "shutil",
        "tempfile",
        "glob",
        "fileinput",
        "linecache",
        "ctypes",
        "_ctypes",
        "cffi",
        "mmap",
        "gc",
        "inspect",
        "pickle",
        "_pickle",
        "cPickle",
        "pickletools",
        "shelve",
        "marshal",
        "dill",
        "cloudpickle",
        "joblib",
        "code",
        "codeop",
        "pdb",
        "bdb",
        "timeit",
        "cProfile",
        "profile",
        "trace",
        "tracemalloc",
        "mailcap",
        "pydoc",
        "pip",
        "venv",
        "ensurepip",
        "distutils",
        "setuptools",
        "threading",
        "_thread",
        "concurrent",
        "asyncio.subprocess",
        "asyncio.unix_events",
        "asyncio.windows_events",
        "torch.jit",
        "torch.hub",
        "torch.package",
        "torch.utils.cpp_extension",
        "torch._C",
        "torch.ops",
        "torch.classes",
        "torch.library",
        "torch.compiler",
        "torch._dynamo",
        "torch._inductor",
        "numpy.testing",
        "numpy.f2py",
        "numpy.distutils",
        "numpy.ctypeslib",
        "numpy.lib.npyio",
        "numpy.lib.format",
        "yaml",
        "jinja2",
        "builtins.__import__",
        "IPython",
        "__main__",
    ]
)

#: Qualified names that are dangerous although their module is not.
DANGEROUS_NAMES = frozenset(
    [
        "builtins.eval",
        "builtins.exec",
        "builtins.compile",
        "builtins.open",
        "builtins.getattr",
        "builtins.setattr",
        "builtins.delattr",
        "builtins.__import__",
        "builtins.breakpoint",
        "builtins.input",
        "builtins.globals",
        "builtins.locals",
        "builtins.vars",
        "builtins.exit",
        "builtins.quit",
        "builtins.help",
        "builtins.__loader__",
        "builtins.__spec__",
        "builtins.__builtins__",
        "builtins.memoryview",
        "__builtin__.eval",
        "__builtin__.exec",
        "__builtin__.compile",
        "__builtin__.open",
        "__builtin__.getattr",
        "__builtin__.setattr",
        "__builtin__.delattr",
        "__builtin__.__import__",
        "__builtin__.input",
        "__builtin__.raw_input",
        "__builtin__.execfile",
        "__builtin__.file",
        "__builtin__.reload",
        "__builtin__.apply",
        "__builtin__.globals",
        "__builtin__.locals",
        "__builtin__.vars",
        "operator.attrgetter",
        "operator.methodcaller",
        "operator.itemgetter",
        "_operator.attrgetter",
        "_operator.methodcaller",
        "_operator.itemgetter",
        "functools.partial",
        "_functools.partial",
        "functools.reduce",
        "_functools.reduce",
        "functools.partialmethod",
        "functools.singledispatch",
        "types.FunctionType",
        "types.LambdaType",
        "types.CodeType",
        "types.MethodType",
        "types.ModuleType",
        "types.new_class",
        "types.BuiltinFunctionType",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "torch.load",
        "torch.serialization.load",
        "torch.storage._load_from_bytes",
        "torch.from_file",
        "torch.save",
        "torch.classes",
        "torch.ops",
        "numpy.load",
        "numpy.save",
        "numpy.savez",
        "numpy.savez_compressed",
        "numpy.fromfile",
        "numpy.memmap",
        "numpy.loadtxt",
        "numpy.genfromtxt",
        "numpy.fromregex",
        "numpy.tofile",
        "pandas.read_pickle",
        "pandas.io.pickle",
        "codecs.open",
        "io.open",
        "io.FileIO",
        "_io.open",
        "_io.FileIO",
        "pathlib.Path.write_text",
        "pathlib.Path.write_bytes",
        "pathlib.Path.unlink",
        "pathlib.Path.open",
        "pathlib.Path.read_text",
        "pathlib.Path.read_bytes",
        "zipfile.ZipFile",
        "tarfile.open",
        "tarfile.TarFile",
        "gzip.open",
        "bz2.open",
        "lzma.open",
        "uuid._popen",
        "platform.popen",
        "copyreg._inverted_registry",
        "copyreg.add_extension",
    ]
)

#: Names of attributes that walk out of an object into its module, its
#: globals, or the interpreter.
DANGEROUS_ATTRIBUTES = frozenset(
    [
        "__globals__",
        "__builtins__",
        "__subclasses__",
        "__import__",
        "__code__",
        "__closure__",
        "__func__",
        "__self__",
        "__class__",
        "__base__",
        "__bases__",
        "__mro__",
        "__dict__",
        "__getattribute__",
        "__getattr__",
        "__setattr__",
        "__delattr__",
        "__reduce__",
        "__reduce_ex__",
        "__init_subclass__",
        "__loader__",
        "__spec__",
        "__module__",
        "__call__",
        "__init__",
        "__new__",
        "__wrapped__",
        "f_globals",
        "f_locals",
        "f_back",
        "gi_frame",
        "cr_frame",
        "tb_frame",
        "func_globals",
    ]
)

_BUILTIN_MODULES = frozenset({"builtins", "__builtin__", "__builtins__"})
_DANGEROUS_TOPS = frozenset(m for m in DANGEROUS_MODULES if "." not in m)


def classify(
    module: str | None,
    name: str | None,
    *,
    registry: Registry | None = None,
    python2: bool = False,
) -> tuple[str, str]:
    """The verdict for one global and a note, e.g. ``("dangerous", "reaches os")``.

    The verdict is ``"safe"``, ``"dangerous"`` or ``"unknown"``.

    ``python2`` applies Python 2 name mapping (as a loader's ``fix_imports``
    does for protocols 0-2) before the registry is asked.
    """
    if module is None or name is None:
        return "dangerous", "name computed at load time; cannot be checked statically"
    mapped = map_python2_name(module, name) if python2 else (module, name)
    for mod, qual in {(module, name), mapped}:
        why = _danger(mod, qual)
        if why:
            return "dangerous", why
    note = ""
    if mapped != (module, name):
        note = f"Python 2 name, loaded as {mapped[0]}.{mapped[1]}"
    reg = registry if registry is not None else _scan_registry()
    if reg.resolve(mapped[0], mapped[1]) is not None:
        return "safe", note
    return "unknown", note


def _danger(module: str, name: str) -> str:
    parts = module.split(".")
    name_parts = name.split(".")
    if parts[0] in _BUILTIN_MODULES:
        parts[0] = "builtins"
    full = [*parts, *name_parts]
    for i in range(1, len(full) + 1):
        prefix = ".".join(full[:i])
        if prefix in DANGEROUS_MODULES or prefix in DANGEROUS_NAMES:
            return f"reaches {prefix}"
        alt = "__builtin__" + prefix[8:] if prefix.startswith("builtins") else ""
        if alt in DANGEROUS_NAMES:
            return f"reaches {prefix}"
    for part in name_parts:
        if part in DANGEROUS_ATTRIBUTES:
            return f"walks through {part}"
        if part in _DANGEROUS_TOPS and len(name_parts) > 1:
            return f"walks into module {part}"
    if len(name_parts) > 1 and name_parts[0] in _DANGEROUS_TOPS | _BUILTIN_MODULES:
        return f"walks into module {name_parts[0]}"
    if len(name_parts) == 1 and name in _DANGEROUS_TOPS:
        return f"names module {name}"
    for part in parts:
        if part in DANGEROUS_ATTRIBUTES or part == "__builtins__":
            return f"walks through {part}"
    return ""


_REGISTRY: Registry | None = None


def _scan_registry() -> Registry:
    """The default registry plus the installed first-party plugins."""
    global _REGISTRY
    if _REGISTRY is None:
        try:
            available = installed_plugins()
            names = [p for p in ("numpy", "torch") if p in available]
            _REGISTRY = Registry.with_plugins(*names) if names else default_registry()
        except Exception:  # a broken plugin must not break scanning
            _REGISTRY = default_registry()
    return _REGISTRY


# --- results ------------------------------------------------------------------


@attrs.frozen
class Finding:
    """One global the input can reach.

    Attributes:
        module: module part as written (None when computed at load time).
        name: qualified name as written (None when computed at load time).
        via: how it is reached: GLOBAL, STACK_GLOBAL, INST, EXT1/2/4.
        offset: byte offset of that opcode within its pickle stream.
        where: which pickle: ``"pickle #1"``, ``"archive/data.pkl"``, ...
        verdict: ``"safe"``, ``"dangerous"`` or ``"unknown"``.
        note: why, and anything else worth saying.
    """

    module: str | None
    name: str | None
    via: str
    offset: int
    where: str
    verdict: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return attrs.asdict(self)

    def __str__(self) -> str:
        target = (
            f"{self.module}.{self.name}"
            if self.module is not None and self.name is not None
            else "<computed name>"
        )
        text = f"{self.verdict}: {target} ({self.via} at {self.offset}, {self.where})"
        return text + (f": {self.note}" if self.note else "")


@attrs.frozen
class ScanReport:
    """What :func:`scan` found.

    Attributes:
        source: the path scanned, or ``"<bytes>"``.
        findings: every global reached, with its verdict.
        errors: problems reading the input (each makes the report unclean).
    """

    source: str
    findings: list[Finding] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)

    @property
    def clean(self) -> bool:
        """True only when every global is safe and nothing broke."""
        return not self.errors and all(f.verdict == "safe" for f in self.findings)

    @property
    def dangerous(self) -> list[Finding]:
        """The findings with a ``"dangerous"`` verdict."""
        return [f for f in self.findings if f.verdict == "dangerous"]

    @property
    def unknown(self) -> list[Finding]:
        """The findings with an ``"unknown"`` verdict."""
        return [f for f in self.findings if f.verdict == "unknown"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: source, clean, findings, errors."""
        return {
            "source": self.source,
            "clean": self.clean,
            "findings": [f.to_dict() for f in self.findings],
            "errors": list(self.errors),
        }


# --- the walker -------------------------------------------------------------


class _Broken(Exception):
    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


# Opcodes that push one non-name value and have a fixed total length.
_PUSH_FIXED = [-1] * 256
for _code, _width in {
    0x4E: 1, 0x88: 1, 0x89: 1, 0x5D: 1, 0x7D: 1, 0x29: 1, 0x8F: 1, 0x97: 1,
    0x4A: 5, 0x4B: 2, 0x4D: 3, 0x47: 9,
}.items():  # fmt: skip
    _PUSH_FIXED[_code] = _width
# Opcodes that pop some values then push some, (needed, pushed).
_POP_PUSH: dict[int, tuple[int, int]] = {
    0x61: (2, 1), 0x73: (3, 1), 0x52: (2, 1), 0x62: (2, 1), 0x85: (1, 1),
    0x86: (2, 1), 0x87: (3, 1), 0x81: (2, 1), 0x92: (3, 1), 0x51: (1, 1),
    0x98: (1, 1),
}  # fmt: skip
# Opcodes that pop to the last MARK, then (needed, pushed).
_MARK_POP: dict[int, tuple[int, int]] = {
    0x65: (1, 1), 0x75: (1, 1), 0x90: (1, 1), 0x6C: (0, 1), 0x74: (0, 1),
    0x64: (0, 1), 0x91: (0, 1), 0x31: (0, 0),
}  # fmt: skip
_LEN_NAMES = {0x58: True, 0x54: True, 0x42: False, 0x8B: False}
_LEN8_NAMES = {0x8D: True, 0x8E: False, 0x96: False}
_LINE_PUSH = {0x49, 0x4C, 0x46, 0x50}


def _as_name(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return None


_RefKey = tuple[str | None, str | None, str, bool]


def _walk(data: Any, pos: int, end: int, refs: dict[_RefKey, list[int]]) -> int:
    """Walk one pickle in ``data[pos:end]``, recording globals into ``refs``.

    ``refs`` maps ``(module, name, via, python2)`` to ``[first offset,
    count]``. Returns the offset after STOP; raises :class:`_Broken`.
    """
    stack: list[object] = []
    push = stack.append
    marks: list[int] = []
    fence = 0
    memo: list[object] = []
    sparse: dict[int, object] | None = None
    proto = 0
    push_fixed = _PUSH_FIXED
    start = pos
    try:
        while True:
            if pos >= end:
                raise _Broken("pickle data was truncated", start)
            start = pos
            op = data[pos]
            width = push_fixed[op]
            if width >= 0:
                push(None)
                pos += width
                continue
            if op == 0x8C or op == 0x55 or op == 0x43 or op == 0x8A:
                n = data[pos + 1]
                pos += 2 + n
                if pos > end:
                    raise _Broken("pickle data was truncated", start)
                push(data[pos - n : pos] if op == 0x8C or op == 0x55 else None)
                continue
            if op == 0x94:  # MEMOIZE
                if len(stack) <= fence:
                    raise _Broken("stack underflow", start)
                if sparse is None:
                    memo.append(stack[-1])
                else:
                    sparse[len(sparse)] = stack[-1]
                pos += 1
                continue
            if op == 0x28:  # MARK
                fence = len(stack)
                marks.append(fence)
                pos += 1
                continue
            mark_pop = _MARK_POP.get(op)
            if mark_pop is not None:
                if not marks:
                    raise _Broken("could not find MARK", start)
                del stack[marks.pop() :]
                fence = marks[-1] if marks else 0
                need, pushed = mark_pop
                if len(stack) - fence < need:
                    raise _Broken("stack underflow", start)
                if need:
                    stack[-1] = None
                elif pushed:
                    push(None)
                pos += 1
                continue
            if op == 0x68 or op == 0x6A:  # BINGET, LONG_BINGET
                if op == 0x68:
                    index = data[pos + 1]
                    pos += 2
                else:
                    index = struct.unpack("<I", data[pos + 1 : pos + 5])[0]
                    pos += 5
                push(_memo_get(memo, sparse, index, start))
                continue
            if op == 0x71 or op == 0x72:  # BINPUT, LONG_BINPUT
                if op == 0x71:
                    index = data[pos + 1]
                    pos += 2
                else:
                    index = struct.unpack("<I", data[pos + 1 : pos + 5])[0]
                    pos += 5
                if len(stack) <= fence:
                    raise _Broken("stack underflow", start)
                sparse = _memo_put(memo, sparse, index, stack[-1])
                continue
            pop_push = _POP_PUSH.get(op)
            if pop_push is not None:
                need, pushed = pop_push
                if len(stack) - fence < need:
                    raise _Broken("stack underflow", start)
                del stack[len(stack) - need :]
                push(None)
                pos += 1
                continue
            if op == 0x95:  # FRAME
                pos += 9
                continue
            if op == 0x80:  # PROTO
                proto = data[pos + 1]
                if proto > 5:
                    raise _Broken(f"unsupported pickle protocol: {proto}", start)
                pos += 2
                continue
            if op == 0x93:  # STACK_GLOBAL
                if len(stack) - fence < 2:
                    raise _Broken("stack underflow", start)
                name = _as_name(stack.pop())
                module = _as_name(stack.pop())
                _record(refs, module, name, "STACK_GLOBAL", proto < 3, start)
                push(None)
                pos += 1
                continue
            if op == 0x2E:  # STOP
                if len(stack) <= fence:
                    raise _Broken("stack underflow", start)
                return pos + 1
            if op == 0x67 or op == 0x70:  # GET, PUT (text)
                raw, pos = _line(data, pos + 1, end, start)
                index = _text_index(raw, start)
                if op == 0x67:
                    push(_memo_get(memo, sparse, index, start))
                    continue
                if len(stack) <= fence:
                    raise _Broken("stack underflow", start)
                sparse = _memo_put(memo, sparse, index, stack[-1])
                continue
            pos = _walk_rare(data, pos, end, op, stack, marks, refs, proto)
            fence = marks[-1] if marks else 0
    except IndexError:
        raise _Broken("pickle data was truncated", start) from None
    except struct.error:
        raise _Broken("pickle data was truncated", start) from None


def _memo_get(
    memo: list[object], sparse: dict[int, object] | None, index: int, start: int
) -> object:
    if sparse is None:
        if index < len(memo):
            return memo[index]
    elif index in sparse:
        return sparse[index]
    raise _Broken(f"memo value not found at index {index}", start)


def _memo_put(
    memo: list[object], sparse: dict[int, object] | None, index: int, value: object
) -> dict[int, object] | None:
    if sparse is None:
        if index < len(memo):
            memo[index] = value
            return None
        if index == len(memo):
            memo.append(value)
            return None
        sparse = dict(enumerate(memo))
        memo.clear()
    sparse[index] = value
    return sparse


def _record(
    refs: dict[_RefKey, list[int]],
    module: str | None,
    name: str | None,
    via: str,
    python2: bool,
    offset: int,
) -> None:
    key = (module, name, via, python2)
    seen = refs.get(key)
    if seen is None:
        if len(refs) >= _MAX_FINDINGS_PER_PICKLE:
            raise _Broken("too many distinct globals", offset)
        refs[key] = [offset, 1]
    else:
        seen[1] += 1


def _text_index(raw: bytes, start: int) -> int:
    try:
        index = int(raw)
    except ValueError:
        raise _Broken(f"bad memo index {raw!r}", start) from None
    if index < 0:
        raise _Broken("negative memo index", start)
    return index


def _line(data: Any, pos: int, end: int, start: int) -> tuple[bytes, int]:
    i = data.find(b"\n", pos, end)
    if i < 0:
        raise _Broken("pickle data was truncated", start)
    return data[pos:i], i + 1


def _walk_rare(
    data: Any,
    pos: int,
    end: int,
    op: int,
    stack: list[object],
    marks: list[int],
    refs: dict[_RefKey, list[int]],
    proto: int,
) -> int:
    """The less frequent opcodes; returns the next position."""
    start = pos
    fence = marks[-1] if marks else 0
    is_name = _LEN_NAMES.get(op)
    if is_name is not None:  # 4-byte counted
        n = struct.unpack(
            "<i" if op in (0x54, 0x8B) else "<I", data[pos + 1 : pos + 5]
        )[0]
        if n < 0:
            raise _Broken("negative byte count", start)
        pos += 5 + n
        if pos > end:
            raise _Broken("pickle data was truncated", start)
        stack.append(data[pos - n : pos] if is_name else None)
        return pos
    is_name = _LEN8_NAMES.get(op)
    if is_name is not None:
        n = struct.unpack("<Q", data[pos + 1 : pos + 9])[0]
        pos += 9 + n
        if pos > end:
            raise _Broken("pickle data was truncated", start)
        stack.append(data[pos - n : pos] if is_name else None)
        return pos
    if op in _LINE_PUSH:
        _, pos = _line(data, pos + 1, end, start)
        stack.append(None)
        return pos
    if op == 0x53:  # STRING
        raw, pos = _line(data, pos + 1, end, start)
        value: object = None
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b"'", b'"'):
            try:
                value = codecs.escape_decode(raw[1:-1])[0]
            except ValueError:
                value = None
        stack.append(value)
        return pos
    if op == 0x56:  # UNICODE
        raw, pos = _line(data, pos + 1, end, start)
        try:
            stack.append(str(raw, "raw-unicode-escape"))
        except UnicodeDecodeError:
            stack.append(None)
        return pos
    if op == 0x63 or op == 0x69:  # GLOBAL, INST
        first, pos = _line(data, pos + 1, end, start)
        second, pos = _line(data, pos, end, start)
        module = first.decode("utf-8", "surrogateescape")
        name = second.decode("utf-8", "surrogateescape")
        via = "GLOBAL" if op == 0x63 else "INST"
        _record(refs, module, name, via, proto < 3, start)
        if op == 0x69:
            if not marks:
                raise _Broken("could not find MARK", start)
            del stack[marks.pop() :]
        stack.append(None)
        return pos
    if op in (0x82, 0x83, 0x84):  # EXT1, EXT2, EXT4
        size, fmt = {0x82: (1, "<B"), 0x83: (2, "<H"), 0x84: (4, "<i")}[op]
        raw = data[pos + 1 : pos + 1 + size]
        if len(raw) < size or pos + 1 + size > end:
            raise _Broken("pickle data was truncated", start)
        code = struct.unpack(fmt, raw)[0]
        via = f"EXT{size}"
        key = copyreg._inverted_registry.get(code)  # type: ignore[attr-defined]
        if key:
            _record(refs, str(key[0]), str(key[1]), via, False, start)
        else:
            _record(refs, None, None, via, False, start)
        stack.append(None)
        return pos + 1 + size
    if op == 0x6F:  # OBJ: the class is a global already recorded
        if not marks:
            raise _Broken("could not find MARK", start)
        k = marks.pop()
        if len(stack) - k < 1:
            raise _Broken("stack underflow", start)
        del stack[k:]
        stack.append(None)
        return pos + 1
    if op == 0x30:  # POP
        if len(stack) > fence:
            stack.pop()
        elif marks:
            del stack[marks.pop() :]
        else:
            raise _Broken("stack underflow", start)
        return pos + 1
    if op == 0x32:  # DUP
        if len(stack) <= fence:
            raise _Broken("stack underflow", start)
        stack.append(stack[-1])
        return pos + 1
    raise _Broken(f"invalid load key, {bytes([op])!r}", start)


# --- inputs -----------------------------------------------------------------

_TORCH_LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_NPY_MAGIC = b"\x93NUMPY"


@attrs.define
class _Context:
    registry: Registry
    findings: list[Finding] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)
    inflated: int = 0
    cache: dict[tuple[str | None, str | None, bool], tuple[str, str]] = attrs.field(
        factory=dict
    )

    def error(self, message: str) -> None:
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append(message)

    def report(self, refs: dict[_RefKey, list[int]], where: str, base: int) -> None:
        for (module, name, via, python2), (offset, count) in refs.items():
            key = (module, name, python2)
            verdict = self.cache.get(key)
            if verdict is None:
                verdict = classify(
                    module, name, registry=self.registry, python2=python2
                )
                self.cache[key] = verdict
            note = verdict[1]
            if module is None and via.startswith("EXT"):
                note = (
                    "extension code not in this process's copyreg registry; "
                    "the loader's registry decides"
                )
            if count > 1:
                note = f"{note}; {count} times" if note else f"{count} times"
            self.findings.append(
                Finding(module, name, via, offset - base, where, verdict[0], note)
            )


def _plausible(refs: dict[_RefKey, list[int]]) -> bool:
    """Whether a walk over data that does not look like a pickle found real names."""
    for module, name, _, _ in refs:
        if module is None or name is None:
            continue
        if all(p.isidentifier() for p in module.split(".")) and all(
            p.isidentifier() for p in name.split(".")
        ):
            return True
    return False


def _scan_stream(
    ctx: _Context, data: Any, pos: int, end: int, label: str, strict: bool
) -> None:
    """Scan the stacked pickles in ``data[pos:end]``.

    ``label`` names the stream (``""`` for the input itself). When ``strict``
    is false the bytes need not be a pickle at all: what was found is kept
    only when it names real-looking globals.
    """
    number = 0
    legacy = False
    base = pos
    found: list[tuple[dict[_RefKey, list[int]], str]] = []
    error = ""
    while pos < end:
        number += 1
        if label:
            where = label if number == 1 else f"{label} (pickle #{number})"
        else:
            where = f"pickle #{number}"
        refs: dict[_RefKey, list[int]] = {}
        found.append((refs, where))
        try:
            after = _walk(data, pos, end, refs)
        except _Broken as exc:
            error = f"{where}: {exc.reason} (at offset {exc.offset - base})"
            break
        if number == 1 and after - pos <= 32 and _TORCH_LEGACY_MAGIC in data[pos:after]:
            legacy = True
        if legacy and number == 5:
            break  # legacy torch.save: raw storage bytes follow
        pos = after
    if not strict and not any(_plausible(refs) for refs, _ in found):
        return  # not a pickle: bytes that happened to parse
    for refs, where in found:
        ctx.report(refs, where, base)
    if error:
        ctx.error(error)


def _scan_npy(ctx: _Context, data: Any, pos: int, end: int, label: str) -> None:
    """Scan a ``.npy`` image in ``data[pos:end]``: its pickle, if it has one."""
    head = data[pos : min(end, pos + 12)]
    if len(head) < 10:
        ctx.error(f"{label}: truncated .npy header")
        return
    major = head[6]
    if major == 1:
        size = struct.unpack("<H", head[8:10])[0]
        body = pos + 10
    elif len(head) >= 12:
        size = struct.unpack("<I", head[8:12])[0]
        body = pos + 12
    else:
        ctx.error(f"{label}: truncated .npy header")
        return
    if size > _MAX_NPY_HEADER or body + size > end:
        ctx.error(f"{label}: bad .npy header length {size}")
        return
    text = bytes(data[body : body + size]).decode("latin-1")
    descr: object = None
    try:
        header = ast.literal_eval(text.strip())
        if isinstance(header, dict):
            descr = header.get("descr")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        descr = None
    if isinstance(descr, str) and "O" not in descr:
        return  # plain data: numpy.load never unpickles it
    if descr is None and "'descr'" not in text and '"descr"' not in text:
        ctx.error(f"{label}: unreadable .npy header")
    _scan_stream(ctx, data, body + size, end, label, True)


def _looks_like_pickle(name: str, data: Any, start: int, end: int) -> bool:
    parts = name.lower().split("/")
    if parts[-1].endswith((".pkl", ".pickle")):
        return True
    if len(parts) >= 2 and parts[-2] == "data" and parts[-1].isdigit():
        return False  # a torch.save storage: raw tensor bytes, never unpickled
    return end - start >= 2 and data[start] == 0x80 and data[start + 1] <= 5


def _scan_zip(ctx: _Context, data: Any, label: str, depth: int) -> None:
    try:
        members = _zipread.read_members(data)
    except (_zipread.ZipError, struct.error) as exc:
        ctx.error(f"{label or 'archive'}: {exc}")
        return
    if not members:
        ctx.error(f"{label or 'archive'}: no members in the central directory")
    for member in members:
        name = f"{label}/{member.name}" if label else member.name
        if member.name.endswith("/") and member.compressed_size == 0:
            continue
        try:
            left = MAX_INFLATED_TOTAL - ctx.inflated
            allowed = max(
                MIN_INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * member.compressed_size
            )
            limit = min(MAX_INFLATED_MEMBER, left, allowed)
            buf, start, end = _zipread.read_member(data, member, limit)
        except (_zipread.ZipError, struct.error) as exc:
            ctx.error(f"{name}: {exc}")
            continue
        if buf is not data:
            ctx.inflated += end - start
        _scan_member(ctx, buf, start, end, name, depth)


def _scan_member(
    ctx: _Context, data: Any, start: int, end: int, name: str, depth: int
) -> None:
    head = data[start : min(end, start + 6)]
    if head == _NPY_MAGIC:
        _scan_npy(ctx, data, start, end, f"{name} (npz member)")
        return
    if head[:4] == b"PK\x03\x04" and depth < MAX_NESTING:
        inner = data[start:end] if start or end != len(data) else data
        _scan_zip(ctx, inner, name, depth + 1)
        return
    _scan_stream(
        ctx, data, start, end, name, _looks_like_pickle(name, data, start, end)
    )


def _scan_buffer(ctx: _Context, data: Any) -> None:
    if len(data) == 0:
        ctx.error("empty input")
        return
    head = data[:6]
    if head == _NPY_MAGIC:
        _scan_npy(ctx, data, 0, len(data), "npy payload")
    elif head[:4] == b"PK\x03\x04" or (head[:1] != b"\x80" and _zipread.is_zip(data)):
        _scan_zip(ctx, data, "", 0)
    else:
        _scan_stream(ctx, data, 0, len(data), "", True)


def scan(
    source: str | os.PathLike[str] | bytes, *, registry: Registry | None = None
) -> ScanReport:
    """Scan a pickle file, or pickle bytes, without loading it.

    Args:
        source: a path, or the bytes of a file (pickle, torch checkpoint,
            zip, ``.npy`` or ``.npz``).
        registry: what counts as safe; default: the default registry plus
            the installed first-party plugins (numpy, torch).

    Returns:
        A :class:`ScanReport`. Unreadable files are reported in its
        ``errors``, never raised.
    """
    ctx = _Context(registry if registry is not None else _scan_registry())
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = "<bytes>"
        _scan_buffer(ctx, bytes(source))
        return ScanReport(label, ctx.findings, ctx.errors)
    label = os.fsdecode(source)
    try:
        with open(source, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                _scan_buffer(ctx, b"")
            else:
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    _scan_buffer(ctx, mapped)
    except (OSError, ValueError) as exc:
        ctx.error(f"cannot read {label}: {exc}")
    return ScanReport(label, ctx.findings, ctx.errors)
