"""Which globals are safe, which dangerous: the scanner's verdicts.

The verdict is an allowlist. A global is ``"safe"`` when the registry (by
default :func:`emulpickle.registry.first_party_registry`: the curated default
registry plus the installed first-party plugins) answers it, ``"dangerous"``
when it reaches process, filesystem, network, import or code-evaluation
machinery, or a nested loader, or when its name is computed at load time,
and ``"unknown"`` otherwise. Besides globals, this module judges the other
findings: BUILD states that plant names on an object, and links and special
files in tar archives.
"""

from __future__ import annotations

from .._render import bounded_repr
from ..defaults import first_party_registry
from ..machine.py2names import map_python2_name
from ..registry import Registry
from .layout import link_escapes

__all__ = [
    "DANGEROUS_ATTRIBUTES",
    "DANGEROUS_MODULES",
    "DANGEROUS_NAMES",
    "INERT_NAMES",
    "build_verdict",
    "classify",
    "scan_registry",
    "tar_verdict",
]

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

#: Globals inside a dangerous module that are inert themselves, with a note:
#: safe when spelled exactly so. joblib's array placeholder only carries an
#: array's shape, order and dtype (its ``subclass`` is a global of its own,
#: judged by itself); the scan follows the array data joblib.load reads after
#: it, and emulpickle's joblib reader loads it with every attribute checked.
INERT_NAMES = {
    "joblib.numpy_pickle.NumpyArrayWrapper": (
        "joblib's array placeholder: joblib.load reads the array that follows it"
    ),
    # TorchScript archives (torch.jit.save) name these in their data.pkl and
    # code/*.debug_pkl: identity functions that tag a list's type.
    **{
        f"torch.jit._pickle.{helper}": "TorchScript's list/type-tag helper "
        "(returns its argument)"
        for helper in (
            "build_intlist",
            "build_tensorlist",
            "build_doublelist",
            "build_boollist",
            "build_tensor_from_id",
            "restore_type_tag",
        )
    },
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
    if note and mapped == (module, name) and "." not in name:
        # emulpickle loads these itself (files/joblib.py), checked, and
        # joblib.load only reads data the scan follows: safe as written.
        return "safe", note
    if mapped != (module, name):
        note = f"Python 2 name, loaded as {mapped[0]}.{mapped[1]}"
    reg = registry if registry is not None else scan_registry()
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


def scan_registry() -> Registry:
    """What a scan judges safe by default: the default registry plus the
    installed first-party plugins (each loaded when a name it claims is
    first asked for: see :func:`emulpickle.defaults.first_party_registry`)."""
    return first_party_registry()


def build_verdict(key: str | None) -> tuple[str, str]:
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


def tar_verdict(via: str, target: str) -> tuple[str, str]:
    """The verdict on a link (``via`` ``"SYMLINK"``/``"HARDLINK"``, to
    ``target``) or special file (``"SPECIAL"``, of kind ``target``) in a tar
    archive: an extracting loader (torch's tar loader) follows or makes it."""
    if via == "SPECIAL":
        return "unknown", (
            f"a {target}: extracting it makes one, which may block or read a device"
        )
    if link_escapes(target):
        return "dangerous", (
            f"points to {bounded_repr(target)}, outside the archive: extracting "
            "it (as torch's tar loader does) links to a file of the host, which "
            "is then read (or overwritten)"
        )
    return "unknown", (
        f"points to {bounded_repr(target)}: extracting it reads another "
        "member (or nothing) in its place; torch.save never writes links"
    )
