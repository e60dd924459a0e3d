"""The bypass suite: strict mode refuses an unpinned pickle on every route in.

Each route runs in a child process (the guard cannot be uninstalled) that
installs ``emulpickle.guard(mode="strict")`` with a manifest pinning only a
harmless pickle, then tries to load ``EVIL`` (which runs ``touch CANARY``
under ``pickle``) that way: it must raise PickleNotAllowedError and the
canary must not exist; where the route can load data, the pinned pickle
loads. ``before`` runs before the guard is installed (references captured,
subclasses defined, modules imported early); the routes fickling missed
(GHSA-wccx-j62j-r448, GHSA-fphw-536r-4p88: entry points its patches did not
see) are the ``captured-*``, ``reload``, ``py-*`` and library rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from helpers.guard_child import run_child


class Route(NamedTuple):
    before: str  # runs before the guard (may define names)
    evil: str  # an expression loading EVIL (or a file holding it)
    good: str | None = None  # the same route on the pinned GOOD, or None


SETUP = """\
import pickle
GOOD = pickle.dumps({"ok": [1, 2]}, 2)
open("evil.pkl", "wb").write(EVIL)
open("good.pkl", "wb").write(GOOD)
"""

ROUTES = {
    "loads": Route("", "pickle.loads(EVIL)", "pickle.loads(GOOD)"),
    "loads-bytearray": Route(
        "", "pickle.loads(bytearray(EVIL))", "pickle.loads(memoryview(GOOD))"
    ),
    "load-bytesio": Route(
        "", "pickle.load(io.BytesIO(EVIL))", "pickle.load(io.BytesIO(GOOD))"
    ),
    "load-file": Route(
        "", "pickle.load(open('evil.pkl', 'rb'))", "pickle.load(open('good.pkl', 'rb'))"
    ),
    "Unpickler": Route(
        "",
        "pickle.Unpickler(io.BytesIO(EVIL)).load()",
        "pickle.Unpickler(open('good.pkl', 'rb')).load()",
    ),
    "_pickle-loads": Route(
        "import _pickle", "_pickle.loads(EVIL)", "_pickle.loads(GOOD)"
    ),
    "_pickle-Unpickler": Route(
        "import _pickle",
        "_pickle.Unpickler(io.BytesIO(EVIL)).load()",
        "_pickle.Unpickler(io.BytesIO(GOOD)).load()",
    ),
    "py-_loads": Route("", "pickle._loads(EVIL)", "pickle._loads(GOOD)"),
    "py-_load": Route(
        "",
        "pickle._load(open('evil.pkl', 'rb'))",
        "pickle._load(open('good.pkl', 'rb'))",
    ),
    "py-_Unpickler-captured": Route(
        "PU = pickle._Unpickler",
        "PU(io.BytesIO(EVIL)).load()",
        "PU(io.BytesIO(GOOD)).load()",
    ),
    "py-subclass-defined-before": Route(
        "class Mine(pickle._Unpickler):\n    pass",
        "Mine(open('evil.pkl', 'rb')).load()",
        "Mine(open('good.pkl', 'rb')).load()",
    ),
    "py-subclass-defined-after": Route(
        "",
        "type('Fresh', (pickle._Unpickler,), {})(io.BytesIO(EVIL)).load()",
        "type('Fresh', (pickle._Unpickler,), {})(io.BytesIO(GOOD)).load()",
    ),
    "captured-loads": Route(
        "from pickle import loads as early_loads",
        "early_loads(EVIL)",
        "early_loads(GOOD)",
    ),
    "captured-Unpickler": Route(
        "from pickle import Unpickler as EarlyUnpickler",
        "EarlyUnpickler(io.BytesIO(EVIL)).load()",
    ),
    "c-subclass-defined-before": Route(
        "class MineC(pickle.Unpickler):\n    pass", "MineC(io.BytesIO(EVIL)).load()"
    ),
    "reload": Route(
        "import importlib",
        "(importlib.reload(pickle), pickle._loads(EVIL))",
    ),
    "reload-loads": Route(
        "import importlib",
        "(importlib.reload(pickle), pickle.loads(EVIL))",
        "(importlib.reload(pickle), pickle.loads(GOOD))",
    ),
    "renamed-module": Route(
        "import pickle as renamed, sys\nalias = sys.modules['pickle']",
        "alias.loads(EVIL)",
    ),
    "copyreg-extension": Route(
        "import copyreg\ncopyreg.add_extension('os', 'system', 0xE1)\n"
        "from pickle import loads as early\n"
        "EXT = b'\\x80\\x02\\x82\\xe1(V' + EVIL.split(b'(V')[1]",
        "early(EXT)",
    ),
    "shelve-imported-before": Route(
        "import shelve\ns = shelve.open('db')\ns.dict[b'k'] = EVIL",
        "s['k']",
    ),
    "shelve-imported-after": Route(
        "def shelf_after():\n"
        "    import shelve\n"
        "    with shelve.open('db2') as s:\n"
        "        s.dict[b'k'] = EVIL\n"
        "    with shelve.open('db2') as s:\n"
        "        return s['k']",
        "shelf_after()",
    ),
    "multiprocessing-before": Route(
        "from multiprocessing.reduction import ForkingPickler",
        "ForkingPickler.loads(EVIL)",
        "ForkingPickler.loads(GOOD)",
    ),
    "multiprocessing-after": Route(
        "",
        "__import__('multiprocessing.reduction').reduction.ForkingPickler.loads(EVIL)",
    ),
    "cloudpickle-imported-before": Route(
        "cloudpickle = __import__('cloudpickle')",
        "cloudpickle.loads(EVIL)",
        "cloudpickle.loads(GOOD)",
    ),
    "zip-member": Route(
        "import zipfile\nwith zipfile.ZipFile('a.zip', 'w') as z:\n"
        "    z.writestr('m.pkl', EVIL)",
        "pickle.load(zipfile.ZipFile('a.zip').open('m.pkl'))",
    ),
    "stacked-only-first-pinned": Route(
        "open('stack.pkl', 'wb').write(GOOD + EVIL)\nf = open('stack.pkl', 'rb')",
        "(pickle.load(f), pickle.load(f))",
    ),
    "stacked-bytesio": Route(
        "b = io.BytesIO(GOOD + EVIL)", "(pickle.load(b), pickle.load(b))"
    ),
    "thread": Route(
        "import concurrent.futures as cf\npool = cf.ThreadPoolExecutor(1)",
        "pool.submit(pickle._loads, EVIL).result()",
    ),
}


def _script(route: Route) -> str:
    lines = [SETUP, route.before]
    lines.append("import emulpickle")
    lines.append("emulpickle.guard(manifest=pin('m.lock', GOOD), mode='strict')")
    lines.append(f"err = outcome('evil', lambda: {route.evil})")
    lines.append("if isinstance(err, emulpickle.PickleNotAllowedError):")
    lines.append("    print('message=' + str(err).replace(chr(10), ' '))")
    if route.good is not None:
        lines.append(f"outcome('good', lambda: {route.good})")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_strict_refuses_every_route(name: str, tmp_path: Path) -> None:
    if name.startswith("cloudpickle"):
        pytest.importorskip("cloudpickle")
    route = ROUTES[name]
    outcomes, process, canary = run_child(tmp_path, _script(route))
    assert not canary, f"{name}: the pickle ran"
    assert outcomes.get("evil") == "PickleNotAllowedError", process.stderr[-2000:]
    if route.good is not None:
        assert outcomes.get("good") == "LOADED", process.stderr[-2000:]
    assert "emulpickle manifest add" in outcomes["message"]


def test_message_names_file_hash_and_pin_command(tmp_path: Path) -> None:
    code = SETUP + (
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', GOOD))\n"
        "e = outcome('evil', lambda: pickle.load(open('evil.pkl', 'rb')))\n"
        "print('path=' + str(e.path)); print('sha=' + e.sha256)\n"
        "print('message=' + str(e))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    import hashlib

    evil = (tmp_path / "evil.pkl").read_bytes()
    digest = hashlib.sha256(evil).hexdigest()
    assert outcomes["sha"] == digest, process.stderr
    assert outcomes["path"] == "evil.pkl"
    message = outcomes["message"]
    assert digest in message and "evil.pkl" in message
    assert f"emulpickle manifest add evil.pkl -m {tmp_path / 'm.lock'}" in message


def test_file_swapped_after_open_loads_what_was_hashed(tmp_path: Path) -> None:
    """TOCTOU: the hash is of the open file, not of whatever the path names
    later; a path swapped after hashing is hashed again when reopened."""
    code = SETUP + (
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', GOOD))\n"
        "f = open('good.pkl', 'rb')\n"
        "os.replace('evil.pkl', 'good.pkl')\n"
        "print('value=' + repr(outcome('opened', lambda: pickle.load(f))))\n"
        "outcome('reopened', lambda: pickle.load(open('good.pkl', 'rb')))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["opened"] == "LOADED", process.stderr
    assert outcomes["value"] == "{'ok': [1, 2]}"
    assert outcomes["reopened"] == "PickleNotAllowedError"


def test_canary_control(tmp_path: Path) -> None:
    """Without the guard, EVIL does create the canary (the suite can fail)."""
    outcomes, _, canary = run_child(
        tmp_path, SETUP + "outcome('evil', lambda: pickle.loads(EVIL))\n"
    )
    assert outcomes["evil"] == "LOADED" and canary


#: Routes the patches see (not only the backstop): there, unpinned data is
#: refused even when it names no global at all.
PATCHED = [
    "loads",
    "load-bytesio",
    "load-file",
    "Unpickler",
    "_pickle-loads",
    "py-_loads",
    "py-_Unpickler-captured",
    "py-subclass-defined-before",
    "multiprocessing-before",
    "reload-loads",
]


@pytest.mark.parametrize("name", PATCHED)
def test_unpinned_data_without_globals_is_refused_too(
    name: str, tmp_path: Path
) -> None:
    route = ROUTES[name]
    assert route.good is not None
    script = _script(route._replace(evil=route.good)).replace(
        "pin('m.lock', GOOD)", "pin('m.lock', b'')"
    )
    outcomes, process, _ = run_child(tmp_path, script)
    assert outcomes.get("evil") == "PickleNotAllowedError", process.stderr[-2000:]
