"""The guard's modes, per-entry trust, the token API and installing it once.

Each case runs in a child process (the guard cannot be uninstalled).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.guard_child import child_env, run_child

GOOD = "import pickle\nGOOD = pickle.dumps({'ok': [1, 2]}, 2)\n"


def test_emulate_loads_data_and_never_runs_code(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    code = GOOD + (
        "import numpy as np, collections\n"
        "ARR = pickle.dumps({'a': np.arange(3), 'd': collections.OrderedDict(x=1)})\n"
        "import emulpickle\n"
        "emulpickle.guard(mode='emulate')\n"
        "v = outcome('arr', lambda: pickle.loads(ARR))\n"
        "a, d = v['a'], v['d']\n"
        "print('value=' + type(a).__name__ + str(a.tolist()) + str(dict(d)))\n"
        "for name, fn in [\n"
        "    ('loads', lambda: pickle.loads(EVIL)),\n"
        "    ('load', lambda: pickle.load(io.BytesIO(EVIL))),\n"
        "    ('Unpickler', lambda: pickle.Unpickler(io.BytesIO(EVIL)).load()),\n"
        "    ('_loads', lambda: pickle._loads(EVIL)),\n"
        "]:\n"
        "    outcome(name, fn)\n"
        "from pickle import loads as late\n"
        "v = outcome('good', lambda: pickle._Unpickler(io.BytesIO(GOOD)).load())\n"
        "print('good_value=' + repr(v))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["arr"] == "LOADED", process.stderr[-2000:]
    assert outcomes["value"] == "ndarray[0, 1, 2]{'x': 1}"
    for name in ("loads", "load", "Unpickler", "_loads"):
        assert outcomes[name] == "ForbiddenGlobalError", (name, process.stderr)
    assert outcomes["good_value"] == "{'ok': [1, 2]}"


def test_emulate_backstop_refuses_routes_it_cannot_emulate(tmp_path: Path) -> None:
    code = (
        "from pickle import loads as early\n"
        "import emulpickle\n"
        "emulpickle.guard(mode='emulate')\n"
        "outcome('evil', lambda: early(EVIL))\n"
    )
    outcomes, _, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["evil"] == "PickleNotAllowedError"


def test_audit_loads_and_reports_each_unpinned_load(tmp_path: Path) -> None:
    code = GOOD + (
        "import collections, logging, warnings\n"
        "OTHER = pickle.dumps(collections.OrderedDict(a=1))\n"
        "records = []\n"
        "class H(logging.Handler):\n"
        "    def emit(self, record):\n"
        "        records.append(record)\n"
        "logging.getLogger('emulpickle.guard').addHandler(H())\n"
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', GOOD), mode='audit')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('ignore')\n"
        "    warnings.simplefilter('always', emulpickle.PickleAuditWarning)\n"
        "    outcome('pinned', lambda: pickle.loads(GOOD))\n"
        "    outcome('other', lambda: pickle.loads(OTHER))\n"
        "    open('o.pkl', 'wb').write(b'not a pickle')\n"
        "    with open('o.pkl', 'rb') as f:\n"
        "        outcome('file', lambda: pickle.load(f))\n"
        "print('warnings=' + ','.join(type(w.message).__name__ for w in caught))\n"
        "W = emulpickle.PickleAuditWarning\n"
        "print('category=' + str(caught[0].category is W))\n"
        "print('records=' + str(len(records)))\n"
        "print('sha=' + str(records[0].sha256 == sha(OTHER)))\n"
    )
    outcomes, process, _ = run_child(tmp_path, code)
    assert outcomes["pinned"] == "LOADED", process.stderr[-2000:]
    assert outcomes["other"] == "LOADED"
    assert outcomes["file"] == "UnpicklingError"  # not a pickle: loaded as before
    assert outcomes["warnings"] == "PickleAuditWarning,PickleAuditWarning"
    assert outcomes["category"] == "True"
    assert outcomes["records"] == "2"
    assert outcomes["sha"] == "True"


def test_per_entry_trust(tmp_path: Path) -> None:
    """trust="emulate": even a pinned pickle loads only through emulpickle."""
    code = GOOD + (
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', GOOD, EVIL, trust='emulate'))\n"
        "v = outcome('good', lambda: pickle.loads(GOOD))\n"
        "print('value=' + repr(v))\n"
        "outcome('evil', lambda: pickle.loads(EVIL))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["good"] == "LOADED", process.stderr[-2000:]
    assert outcomes["value"] == "{'ok': [1, 2]}"
    assert outcomes["evil"] == "ForbiddenGlobalError"


def test_allow_pickles_is_scoped_and_needs_the_token(tmp_path: Path) -> None:
    code = GOOD + (
        "import threading\n"
        "OTHER = pickle.dumps([3], 2)\n"
        "import emulpickle\n"
        "token = emulpickle.no_pickles()\n"
        "outcome('before', lambda: pickle.loads(GOOD))\n"
        "outcome('second_token', emulpickle.no_pickles)\n"
        "allow = emulpickle.allow_pickles\n"
        "outcome('wrong_token', lambda: allow(object(), only=[]).__enter__())\n"
        "outcome('bad_hash', lambda: allow(token, only=['nope']).__enter__())\n"
        "seen = {}\n"
        "def other_thread():\n"
        "    try:\n"
        "        pickle.loads(GOOD); seen['t'] = 'LOADED'\n"
        "    except Exception as e:\n"
        "        seen['t'] = type(e).__name__\n"
        "with emulpickle.allow_pickles(token, only=['sha256:' + sha(GOOD)]):\n"
        "    outcome('inside', lambda: pickle.loads(GOOD))\n"
        "    outcome('inside_other', lambda: pickle.loads(OTHER))\n"
        "    outcome('inside_evil', lambda: pickle.loads(EVIL))\n"
        "    t = threading.Thread(target=other_thread); t.start(); t.join()\n"
        "print('thread=' + seen['t'])\n"
        "outcome('after', lambda: pickle.loads(GOOD))\n"
        "outcome('reinstall', lambda: emulpickle.guard(mode='audit'))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["before"] == "PickleNotAllowedError", process.stderr[-2000:]
    assert outcomes["second_token"] == "RuntimeError"
    assert outcomes["wrong_token"] == "PermissionError"
    assert outcomes["bad_hash"] == "ManifestError"
    assert outcomes["inside"] == "LOADED"
    assert outcomes["inside_other"] == "PickleNotAllowedError"
    assert outcomes["inside_evil"] == "PickleNotAllowedError"
    assert outcomes["thread"] == "PickleNotAllowedError"
    assert outcomes["after"] == "PickleNotAllowedError"
    assert outcomes["reinstall"] == "RuntimeError"


def test_installing_twice(tmp_path: Path) -> None:
    code = GOOD + (
        "import emulpickle\n"
        "pin('m.lock', GOOD)\n"
        "g = emulpickle.guard(manifest='m.lock', mode='strict')\n"
        "again = emulpickle.guard(manifest='m.lock', mode='strict')\n"
        "print('same=' + str(again is g))\n"
        "G = emulpickle.guard\n"
        "outcome('other_mode', lambda: G(manifest='m.lock', mode='audit'))\n"
        "outcome('bad_mode', lambda: emulpickle.guard(mode='lenient'))\n"
        "print('token=' + str(emulpickle.no_pickles() is not None))\n"
        "outcome('pinned', lambda: pickle.loads(GOOD))\n"
    )
    outcomes, process, _ = run_child(tmp_path, code)
    assert outcomes["same"] == "True", process.stderr[-2000:]
    assert outcomes["other_mode"] == "RuntimeError"
    assert outcomes["bad_mode"] == "ValueError"
    assert outcomes["token"] == "True"
    assert outcomes["pinned"] == "LOADED"


def test_bad_mode_before_install(tmp_path: Path) -> None:
    outcomes, _, _ = run_child(
        tmp_path,
        "import emulpickle\noutcome('m', lambda: emulpickle.guard(mode='x'))\n",
    )
    assert outcomes["m"] == "ValueError"


def test_import_emulpickle_does_not_import_or_install_the_guard(tmp_path: Path) -> None:
    code = (
        "import sys, pickle, emulpickle\n"
        "emulpickle.loads(pickle.dumps([1]))\n"
        "print(sorted(m for m in sys.modules if m.startswith('emulpickle.guard')))\n"
        "print(pickle.loads is __import__('_pickle').loads)\n"
        "print(callable(emulpickle.guard), 'emulpickle.guard' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(tmp_path),
    )
    assert result.stdout.split("\n")[:3] == ["[]", "True", "True True"]
