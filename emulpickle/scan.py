"""Static scan: which globals could a pickle reach, and are they safe?

:func:`scan` reads a pickle file (or bytes) without building any object or
importing anything it names, and reports every global a loader could reach —
however it is spelled (GLOBAL, STACK_GLOBAL from any string opcode, memoized
or not, INST, OBJ on such a class, EXT1/2/4 through copyreg's registry) — in
every pickle of the input: stacked pickles, the legacy torch layout, every
member of a zip archive (torch.save, npz), object arrays in ``.npy`` files,
and joblib files (compressed or not) read as ``joblib.load`` reads them, past
the array data it finds in the stream. Frames are checked as the loader
checks them. An input that loaders read in more than one way (a pickle with
a zip behind it, a tar whose first header is a pickle) is scanned every
way: the pickle at offset 0, every zip found by its end record, a tar at
offset 0.

Besides globals it reports what else makes a loader run or read what it
should not: a BUILD whose state sets an emulation-protocol method or a
dunder name (or whose names are made at load time), and links or special
files in a tar archive (torch's tar loader extracts and opens them).

The verdict is an allowlist: a global is ``"safe"`` when the registry (by
default the curated default registry plus the installed first-party numpy and
torch plugins) answers it, ``"dangerous"`` when it reaches process,
filesystem, network, import or code-evaluation machinery, or a nested loader,
or when its name is computed at load time, and ``"unknown"`` otherwise. A
report is :attr:`~ScanReport.clean` only when every finding is safe and the
input could be read to the end: an archive nested too deep, a member that
cannot be read or inflated, a central directory holding more (or fewer)
entries than it lists make it unclean, with an error saying why.
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Any

from . import _scan_layout
from ._frozen import FrozenValue
from ._render import bounded_repr
from .errors import UnpicklingError
from .machine.py2names import map_python2_name
from .registry import Registry, first_party_registry
from .scanner.walk import BUILD_VIA

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
#: Distinct findings one scan lists (past it: an error says some are not).
_MAX_FINDINGS = 100_000
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
#: ``via`` of the findings that are links or special files in a tar archive.
_TAR_VIAS = {"SYMLINK": "symlink", "HARDLINK": "hard link", "SPECIAL": "special file"}
_DANGEROUS_TOPS = frozenset(m for m in DANGEROUS_MODULES if "." not in m)

#: Globals inside a dangerous module that are inert themselves, with a note.
#: joblib's array placeholder only carries an array's shape and dtype; the
#: scan follows the array data joblib.load reads after it.
INERT_NAMES = {
    "joblib.numpy_pickle.NumpyArrayWrapper": (
        "joblib's array placeholder: joblib.load reads the array that follows it"
    ),
}


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
        why = "" if f"{mod}.{qual}" in INERT_NAMES else _danger(mod, qual)
        if why:
            return "dangerous", why
    note = INERT_NAMES.get(f"{mapped[0]}.{mapped[1]}", "")
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


def _scan_registry() -> Registry:
    """The default registry plus the installed first-party plugins."""
    return first_party_registry()


# --- results ------------------------------------------------------------------


class Finding(FrozenValue):
    """One global the input can reach, or another way it could run code.

    Besides globals, a finding is a BUILD whose state sets an
    emulation-protocol method or a dunder name (``via`` ``"BUILD"``,
    ``name`` the key, ``module`` None; ``name`` None when the state is made
    at load time, so its names cannot be checked), or a link in a tar
    archive (``via`` ``"SYMLINK"``/``"HARDLINK"``, ``name`` its target,
    ``module`` None), which an extracting loader would follow, or a special
    file (``via`` ``"SPECIAL"``, ``name`` its kind).

    Attributes:
        module: module part as written (None when computed at load time).
        name: qualified name as written (None when computed at load time).
        via: how it is reached: GLOBAL, STACK_GLOBAL, INST, EXT1/2/4; or
            BUILD, SYMLINK, HARDLINK, SPECIAL (see above).
        offset: byte offset of that opcode within its pickle stream.
        where: which pickle: ``"pickle #1"``, ``"archive/data.pkl"``, ...
        verdict: ``"safe"``, ``"dangerous"`` or ``"unknown"``.
        note: why, and anything else worth saying.
    """

    _fields = ("module", "name", "via", "offset", "where", "verdict", "note")
    __slots__ = _fields
    module: str | None
    name: str | None
    via: str
    offset: int
    where: str
    verdict: str
    note: str

    def __init__(
        self,
        module: str | None,
        name: str | None,
        via: str,
        offset: int,
        where: str,
        verdict: str,
        note: str = "",
    ) -> None:
        self._set("module", module)
        self._set("name", name)
        self._set("via", via)
        self._set("offset", offset)
        self._set("where", where)
        self._set("verdict", verdict)
        self._set("note", note)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(zip(self._fields, self._values(), strict=True))

    @property
    def target(self) -> str:
        """What was found, for display: ``module.name``, ``<computed name>``,
        a BUILD state key, or the kind of a tar link."""
        if self.via == BUILD_VIA:
            if self.name is None:
                return "<BUILD state made at load time>"
            return f"<BUILD state key {bounded_repr(self.name)}>"
        if self.via in _TAR_VIAS:
            return f"<tar {_TAR_VIAS[self.via]}>"
        if self.module is not None and self.name is not None:
            return f"{self.module}.{self.name}"
        return "<computed name>"

    def __str__(self) -> str:
        text = (
            f"{self.verdict}: {self.target} ({self.via} at {self.offset}, {self.where})"
        )
        return text + (f": {self.note}" if self.note else "")


class ScanReport(FrozenValue):
    """What :func:`scan` found.

    Attributes:
        source: the path scanned, or ``"<bytes>"``.
        findings: every global reached, with its verdict.
        errors: problems reading the input (each makes the report unclean).
    """

    _fields = ("source", "findings", "errors")
    __slots__ = _fields
    source: str
    findings: list[Finding]
    errors: list[str]

    def __init__(
        self,
        source: str,
        findings: list[Finding] | None = None,
        errors: list[str] | None = None,
    ) -> None:
        self._set("source", source)
        self._set("findings", [] if findings is None else findings)
        self._set("errors", [] if errors is None else errors)

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


# --- inputs -----------------------------------------------------------------

_TORCH_LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_NPY_MAGIC = b"\x93NUMPY"
# What joblib.load recognises at the start of a file, as it does: by prefix.
_COMPRESSED = (
    (b"ZF", "compat"),
    (b"\x78", "zlib"),
    (b"\x1f\x8b", "gzip"),
    (b"BZ", "bz2"),
    (b"\xfd\x37\x7a\x58\x5a", "xz"),
    (b"\x5d\x00", "lzma"),
    (b"\x04\x22\x4d\x18", "lz4"),
)
# A bz2 header: a pickle may start with "BZ" (BINBYTES), never with this.
_BZ2_BLOCKS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
_PLAIN_NOTE = "reached only when the file is read by pickle.load, not joblib.load"

if TYPE_CHECKING:
    from .scanner.walk import Refs

    _Found = list[tuple[Refs, str]]


class _Context:
    """What one scan has found so far.

    Findings are merged by what they name: a global (or BUILD key, or link
    target) reached from many pickles, say every member of a 50,000-member
    zip, is one finding that counts them, so the report (and the scan's
    memory) grows with the distinct names found, never with the members.
    """

    __slots__ = ("cache", "errors", "inflated", "merged", "registry")

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.errors: list[str] = []
        self.inflated = 0
        self.cache: dict[tuple[str | None, str | None, bool], tuple[str, str]] = {}
        # key -> [module, name, via, offset, where, verdict, note, pickles, count]
        self.merged: dict[tuple[object, ...], list[Any]] = {}

    def error(self, message: str) -> None:
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append(message)

    def inflate_limit(self, compressed: int) -> int:
        """How far a stream of ``compressed`` bytes may decompress."""
        allowed = max(MIN_INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * compressed)
        return min(MAX_INFLATED_MEMBER, MAX_INFLATED_TOTAL - self.inflated, allowed)

    def add(
        self,
        key: tuple[object, ...],
        finding: tuple[str | None, str | None, str, int, str, str, str],
        count: int = 1,
    ) -> None:
        """One finding (module, name, via, offset, where, verdict, note),
        merged with an earlier one of the same ``key``."""
        seen = self.merged.get(key)
        if seen is not None:
            seen[7] += 1
            seen[8] += count
        elif len(self.merged) < _MAX_FINDINGS:
            self.merged[key] = [*finding, 1, count]
        elif len(self.merged) == _MAX_FINDINGS:
            self.merged[key] = [*finding, 1, count]  # kept, to say this once
            self.error(f"more than {_MAX_FINDINGS} distinct findings: not all listed")

    def report(self, refs: Refs, where: str, base: int, extra: str = "") -> None:
        for (module, name, via, python2), (offset, count) in refs.items():
            key = (module, name, python2)
            verdict = self.cache.get(key) if via != BUILD_VIA else _build_verdict(name)
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
            if extra:
                note = f"{note}; {extra}" if note else extra
            self.add(
                (module, name, via, python2, extra),
                (module, name, via, offset - base, where, verdict[0], note),
                count,
            )

    def findings(self) -> list[Finding]:
        """The findings so far, in the order first found."""
        out = []
        for (
            module,
            name,
            via,
            offset,
            where,
            verdict,
            note,
            pickles,
            count,
        ) in self.merged.values():
            if pickles > 1:
                more = f"{count} times in {pickles} places (the first is shown)"
            else:
                more = f"{count} times" if count > 1 else ""
            if more:
                note = f"{note}; {more}" if note else more
            out.append(Finding(module, name, via, offset, where, verdict, note))
        return out


def _build_verdict(key: str | None) -> tuple[str, str]:
    """The verdict on a BUILD state that sets ``key`` (None: unknown keys)."""
    if key is None:
        return "unknown", (
            "the state (or one of its keys) is made at load time by a call, "
            "so which names it sets on the object cannot be checked statically"
        )
    return "dangerous", (
        f"the state sets {bounded_repr(key)}: an emulation-protocol method or "
        "dunder name in a state plants behaviour on the object it fills in"
    )


def _real_name(module: str | None, name: str | None) -> bool:
    """Whether ``module.name`` looks like a real global (not parsed from noise)."""
    if module is None or name is None:
        return False
    return all(p.isidentifier() for p in module.split(".")) and all(
        p.isidentifier() for p in name.split(".")
    )


def _plausible(refs: Refs) -> bool:
    """Whether a walk over data that does not look like a pickle found real names."""
    return any(_real_name(module, name) for module, name, _, _ in refs)


def _chain(
    data: Any, pos: int, end: int, label: str, joblib: bool, before_zip: bool
) -> tuple[_Found, str, bool]:
    """Walk the stacked pickles in ``data[pos:end]``.

    Returns what each pickle names (with its ``where``), the error that ended
    the walk (``""`` if none) and whether a pickle names joblib's array
    wrapper. With ``joblib``, such pickles are walked as ``joblib.load``
    reads them: array data after each wrapper is skipped. With
    ``before_zip`` (a zip follows, scanned as such), the walk ends where a
    zip record starts: a pickle loader reading on fails there at once
    (PERSID, with no persistent_load for a first pickle).
    """
    from .scanner import walk as _scan_walk

    number = 0
    legacy = False
    base = pos
    found: _Found = []
    wrapper = False
    while pos < end:
        if number and before_zip and data[pos : pos + 2] == b"PK":
            break
        number += 1
        if label:
            where = label if number == 1 else f"{label} (pickle #{number})"
        else:
            where = f"pickle #{number}"
        refs: Refs = {}
        found.append((refs, where))
        broken: _scan_walk.Broken | None = None
        after = end
        try:
            after = _scan_walk.walk(data, pos, end, refs)
        except _scan_walk.Broken as exc:
            broken = exc
        if _scan_walk.names_wrapper(refs):
            wrapper = True
            if joblib:
                from . import _scan_joblib

                refs.clear()
                broken = None
                try:
                    after = _scan_joblib.walk(data, pos, end, refs)
                except _scan_walk.Broken as exc:
                    broken = exc
        if broken is not None:
            offset = broken.offset - base
            return found, f"{where}: {broken.reason} (at offset {offset})", wrapper
        if number == 1 and after - pos <= 32 and _TORCH_LEGACY_MAGIC in data[pos:after]:
            legacy = True
        if legacy and number == 5:
            break  # legacy torch.save: raw storage bytes follow
        pos = after
    return found, "", wrapper


def _plain_only(plain: _Found, joblib: _Found) -> _Found:
    """What a plain pickle reader reaches that joblib's reading does not.

    Only real-looking names are kept: beyond the first array, a plain reader
    walks through array bytes, and noise there is no finding.
    """
    # The same opcode, whatever protocol each reading had reached.
    seen = {(key[:3], hits[0]) for refs, _ in joblib for key, hits in refs.items()}
    extra: _Found = []
    for refs, where in plain:
        only = {
            key: hits
            for key, hits in refs.items()
            if (key[:3], hits[0]) not in seen and _real_name(key[0], key[1])
        }
        if only:
            extra.append((only, where))
    return extra


#: How sure :func:`_scan_stream` is that its bytes are a pickle: a loader
#: reads them as one (errors count); they may be one (kept only when real
#: names are found); or they are what a pickle loader reads at the start of
#: a file that is also something else (kept when the first pickle is whole,
#: or real names are found).
_STRICT = "strict"
_MAYBE = "maybe"
_LEADING = "leading"


def _scan_stream(
    ctx: _Context,
    data: Any,
    pos: int,
    end: int,
    label: str,
    how: str,
    joblib: bool = True,
    before_zip: bool = False,
) -> None:
    """Scan the stacked pickles in ``data[pos:end]``.

    ``label`` names the stream (``""`` for the input itself); ``how`` is one
    of ``_STRICT``, ``_MAYBE``, ``_LEADING``. A stream naming joblib's array
    wrapper is scanned as ``joblib.load`` reads it (unless not ``joblib``),
    plus whatever else a plain pickle reader would reach. ``before_zip``:
    see :func:`_chain`.
    """
    found, error, wrapper = _chain(data, pos, end, label, False, before_zip)
    extra: _Found = []
    if wrapper and joblib:
        plain = found
        found, error, _ = _chain(data, pos, end, label, True, before_zip)
        extra = _plain_only(plain, found)
    if how != _STRICT and not any(_plausible(refs) for refs, _ in found + extra):
        whole = len(found) > 1 or not error
        if how == _MAYBE or not whole or not any(refs for refs, _ in found):
            return  # not a pickle: bytes that happened to parse
    for refs, where in found:
        ctx.report(refs, where, pos)
    for refs, where in extra:
        ctx.report(refs, where, pos, _PLAIN_NOTE)
    if error:
        ctx.error(error)


def _scan_npy(ctx: _Context, data: Any, pos: int, end: int, label: str) -> None:
    """Scan a ``.npy`` image in ``data[pos:end]``: its pickle, if it has one."""
    import ast

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
    _scan_stream(ctx, data, body + size, end, label, _STRICT)


def _looks_like_pickle(name: str, data: Any, start: int, end: int) -> bool:
    parts = name.lower().split("/")
    if parts[-1].endswith((".pkl", ".pickle")):
        return True
    if len(parts) >= 2 and parts[-2] == "data" and parts[-1].isdigit():
        return False  # a torch.save storage: raw tensor bytes, never unpickled
    return end - start >= 2 and data[start] == 0x80 and data[start + 1] <= 5


def _scan_zips(
    ctx: _Context, data: Any, label: str, depth: int, required: bool
) -> bool:
    """Scan every zip in ``data`` a zip reader can find by its end record.

    The last one is what zip readers take; earlier ones (zips appended to
    zips) are scanned too. Returns whether there was any. When ``required``
    (the data starts as a zip, so loaders read it as one) finding none is
    an error.
    """
    ends, more = _scan_layout.zip_ends(data)
    if not ends and required:
        _scan_zip(ctx, data, None, label, depth)  # the reader says what is wrong
    for number, (eocd, directory) in enumerate(ends, 1):
        if directory[2] == 0 and not required:
            continue  # an empty archive: nothing to read (nor a zip, maybe)
        where = label
        if number > 1:
            prefix = f"{label}/" if label else ""
            where = f"{prefix}<zip ending at offset {eocd + _scan_layout.EOCD_SIZE}>"
        _scan_zip(ctx, data, (eocd, directory), where, depth)
    if more:
        ctx.error(
            f"{label or 'input'}: more than {_scan_layout.MAX_ZIP_READINGS} zip "
            "central directories; the rest are not scanned"
        )
    return bool(ends)


def _scan_zip(
    ctx: _Context,
    data: Any,
    end: tuple[int, _scan_layout.Directory] | None,
    label: str,
    depth: int,
) -> None:
    """The zip whose end record and central directory are ``end`` (None: the
    one the zip reader finds): every member, and that none is left out."""
    from . import _zipread

    source = data
    if end is not None:
        stop, base = end[0] + _scan_layout.EOCD_SIZE, end[1].base
        if base or stop != len(data):
            source = _scan_layout.Span(data, base, stop)
    archive = label or "archive"
    try:
        members = _zipread.read_members(source)
    except (_zipread.ZipError, struct.error, UnpicklingError) as exc:
        ctx.error(f"{archive}: {exc}")
        return
    if not members:
        ctx.error(f"{archive}: no members in the central directory")
    if end is not None:
        start, size, count, _ = end[1]
        listed = _scan_layout.count_entries(data, start, start + size, count + 1)
        if len(members) < count:
            ctx.error(
                f"{archive}: the central directory lists {count} members, of "
                f"which {len(members)} could be read: the rest are not scanned"
            )
        elif listed > count:
            ctx.error(
                f"{archive}: the central directory holds more entries than the "
                f"{count} it lists (zipfile reads them all): they are not scanned"
            )
    for member in members:
        name = f"{label}/{member.name}" if label else member.name
        if member.name.endswith("/") and member.compressed_size == 0:
            continue
        try:
            limit = ctx.inflate_limit(member.compressed_size)
            buf, start, stop = _zipread.read_member(source, member, limit)
        except (_zipread.ZipError, struct.error, UnpicklingError) as exc:
            ctx.error(f"{name}: {exc}")
            continue
        if buf is not source:
            ctx.inflated += stop - start
        _scan_member(ctx, buf, start, stop, name, depth)


#: Bytes per element of the storage classes old (tar) torch.save files name.
_TORCH_ELEMENT_SIZES = {
    "DoubleStorage": 8,
    "FloatStorage": 4,
    "HalfStorage": 2,
    "BFloat16Storage": 2,
    "LongStorage": 8,
    "IntStorage": 4,
    "ShortStorage": 2,
    "CharStorage": 1,
    "ByteStorage": 1,
    "BoolStorage": 1,
    "ComplexDoubleStorage": 16,
    "ComplexFloatStorage": 8,
}


def _scan_tar(
    ctx: _Context, data: Any, label: str, depth: int, required: bool = True
) -> None:
    """A tar archive: every member, and old torch.save's storages/tensors
    members the way torch reads them (pickles between raw records).

    Links and special files are findings: torch's tar loader extracts its
    members and opens them, following a link to wherever it points. When
    not ``required`` (the data need not be a tar), an unreadable archive is
    no error: it is no tar.
    """
    from . import _tarread

    try:
        members = _tarread.read_members(data)
    except (_tarread.TarError, UnpicklingError) as exc:
        if required:
            ctx.error(f"{label or 'tar archive'}: {exc}")
        return
    torch_layout = "pickle" in members
    for member in members.values():
        name = f"{label}/{member.name}" if label else member.name
        if not member.regular:
            _tar_special(ctx, data, member.offset, name)
            continue
        start, end = member.offset, member.offset + member.size
        if torch_layout and member.name in ("storages", "tensors"):
            _scan_torch_records(ctx, data, start, end, name, member.name)
        else:
            _scan_member(ctx, data, start, end, name, depth)


def _tar_special(ctx: _Context, data: Any, offset: int, where: str) -> None:
    """A finding for a tar member that is a link or a special file."""
    special = _scan_layout.tar_special(data, offset)
    if special is None:
        return  # a directory
    via, target = special
    header = offset - 512
    if via == "SPECIAL":
        verdict = "unknown"
        note = f"a {target}: extracting it makes one, which may block or read a device"
    elif _scan_layout.link_escapes(target):
        verdict = "dangerous"
        note = (
            f"points to {bounded_repr(target)}, outside the archive: extracting "
            "it (as torch's tar loader does) links to a file of the host, which "
            "is then read (or overwritten)"
        )
    else:
        verdict = "unknown"
        note = (
            f"points to {bounded_repr(target)}: extracting it reads another "
            "member (or nothing) in its place; torch.save never writes links"
        )
    ctx.add((None, target, via), (None, target, via, header, where, verdict, note))


def _scan_torch_records(
    ctx: _Context, data: Any, start: int, end: int, label: str, kind: str
) -> None:
    """``storages``/``tensors`` of a tar checkpoint: a count pickle, then per
    record a pickle and raw bytes (whose size the pickle or bytes give)."""
    from .scanner import walk as _scan_walk

    pos = start
    number = 0
    records = -1
    while pos < end:
        number += 1
        where = f"{label} (pickle #{number})"
        refs: Refs = {}
        try:
            after = _scan_walk.walk(data, pos, end, refs)
        except _scan_walk.Broken as exc:
            ctx.report(refs, where, start)
            ctx.error(f"{where}: {exc.reason} (at offset {exc.offset - start})")
            return
        ctx.report(refs, where, start)
        if number == 1:
            count = _small_int(data[pos:after])
            if count is None:
                ctx.error(f"{where}: the record count is not an int")
                return
            records = count
        elif number - 1 > records:
            if kind == "tensors" or number - 2 > records:
                ctx.error(f"{where}: more pickles than the count says")
                return
            pos = after  # storages end with the pickled list of views
            continue
        else:
            skip = _torch_record_size(data, after, end, refs, kind)
            if skip is None:
                ctx.error(f"{where}: cannot tell the size of the raw record after it")
                return
            after += skip
        pos = after
    if pos > end:
        ctx.error(f"{label}: a raw record ends beyond the member")


def _small_int(pickled: Any) -> int | None:
    """The value of a pickled int (no globals: checked by the caller's walk)."""
    from .unpickler import loads

    try:
        value = loads(bytes(pickled))
    except Exception:
        return None
    return value if type(value) is int and 0 <= value < 1 << 32 else None


def _torch_record_size(
    data: Any, pos: int, end: int, refs: Refs, kind: str
) -> int | None:
    """How many raw bytes follow a record's pickle (None: cannot tell)."""
    if pos + 8 > end:
        return None
    if kind == "tensors":  # ndim (int32), 4 unused bytes, sizes, strides, offset
        ndim = int.from_bytes(data[pos : pos + 4], "little", signed=True)
        return 8 + 16 * ndim + 8 if 0 <= ndim <= 64 else None
    sizes = {
        _TORCH_ELEMENT_SIZES[name]
        for module, name, _, _ in refs
        if module == "torch" and name in _TORCH_ELEMENT_SIZES
    }
    if len(sizes) != 1:
        return None
    count = int.from_bytes(data[pos : pos + 8], "little", signed=True)
    return 8 + count * sizes.pop() if count >= 0 else None


def _scan_member(
    ctx: _Context, data: Any, start: int, end: int, name: str, depth: int
) -> None:
    head = data[start : min(end, start + 6)]
    if head == _NPY_MAGIC:
        _scan_npy(ctx, data, start, end, f"{name} (npz member)")
        return
    archive = "zip" if head[:4] == b"PK\x03\x04" else ""
    if not archive and data[start + 257 : min(end, start + 262)] == b"ustar":
        archive = "tar"
    if archive:
        if depth >= MAX_NESTING:
            ctx.error(
                f"{name}: a {archive} archive nested more than {MAX_NESTING} "
                "deep: not scanned"
            )
            return
        inner = data[start:end] if start or end != len(data) else data
        if archive == "zip":
            _scan_zips(ctx, inner, name, depth + 1, True)
        else:
            _scan_tar(ctx, inner, name, depth + 1)
        return
    how = _STRICT if _looks_like_pickle(name, data, start, end) else _MAYBE
    _scan_stream(ctx, data, start, end, name, how)


def _compression(head: bytes) -> str | None:
    """The compressor joblib.load would pick for a file starting with ``head``."""
    for prefix, kind in _COMPRESSED:
        if head.startswith(prefix):
            if kind == "bz2" and not (
                head[3:4].isdigit() and head[4:10] in _BZ2_BLOCKS
            ):
                return None  # not bz2: a pickle starting with BINBYTES
            return kind
    return None


def _scan_compressed(ctx: _Context, data: Any, kind: str) -> None:
    """Scan a compressed joblib file: the pickle stream it decompresses to."""
    from . import _scan_joblib

    if kind == "lz4":
        ctx.error("lz4-compressed file (joblib): lz4 is not supported by the scanner")
        return
    try:
        buf = _scan_joblib.decompress(data, kind, ctx.inflate_limit(len(data)))
    except _scan_joblib.DecompressError as exc:
        ctx.error(f"{kind}-compressed file: {exc}")
        return
    ctx.inflated += len(buf)
    label = f"{kind}-compressed stream"
    if not buf:
        ctx.error(f"{label}: empty")
        return
    # joblib before 0.10 ("compat") reads its arrays from separate files.
    _scan_stream(ctx, buf, 0, len(buf), label, _STRICT, joblib=kind != "compat")


def _scan_buffer(ctx: _Context, data: Any) -> None:
    """Every reading of ``data`` a loader can make.

    First the one its first bytes decide, as loaders decide (``.npy``; zip;
    tar; a joblib compression; else a pickle), then the others: the pickle a
    pickle loader reads at offset 0 (``torch.load`` of anything that does not
    start as a zip, ``pickle.load``, ``joblib.load``), every zip found by its
    end record (``zipfile``, wherever the archive starts), and a tar at
    offset 0 (``tarfile``, which needs no magic).
    """
    if len(data) == 0:
        ctx.error("empty input")
        return
    head = bytes(data[:10])
    kind = _compression(head)
    is_zip = head[:4] in (b"PK\x03\x04", b"PK\x05\x06")
    is_tar = len(data) >= 512 and data[257:262] == b"ustar"
    zipped = not is_zip and bool(_scan_layout.zip_ends(data)[0])
    if head[:6] == _NPY_MAGIC:
        _scan_npy(ctx, data, 0, len(data), "npy payload")
    elif is_zip:
        _scan_zips(ctx, data, "", 0, True)
    elif is_tar:
        _scan_tar(ctx, data, "", 0)
    elif kind is not None:
        _scan_compressed(ctx, data, kind)
    else:
        _scan_stream(ctx, data, 0, len(data), "", _STRICT, before_zip=zipped)
    if not is_zip:
        # A pickle loader fails at once on a zip's first bytes (PERSID).
        if kind is not None or is_tar or head[:6] == _NPY_MAGIC:
            _scan_stream(ctx, data, 0, len(data), "", _LEADING, before_zip=zipped)
        if zipped:
            _scan_zips(ctx, data, "", 0, False)
    if not is_tar and len(data) >= 512:
        _scan_tar(ctx, data, "", 0, required=False)


def scan(
    source: str | os.PathLike[str] | bytes, *, registry: Registry | None = None
) -> ScanReport:
    """Scan a pickle file, or pickle bytes, without loading it.

    Args:
        source: a path, or the bytes of a file (pickle, torch checkpoint,
            zip, ``.npy``, ``.npz``, or a joblib file, compressed or not).
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
        return ScanReport(label, ctx.findings(), ctx.errors)
    label = os.fsdecode(source)
    try:
        with open(source, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                _scan_buffer(ctx, b"")
            else:
                import mmap

                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    _scan_buffer(ctx, mapped)
    except (OSError, ValueError) as exc:
        ctx.error(f"cannot read {label}: {exc}")
    return ScanReport(label, ctx.findings(), ctx.errors)
