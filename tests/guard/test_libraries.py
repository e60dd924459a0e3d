"""The real libraries' loaders under the guard: numpy, joblib, pandas, torch.

Files are written by the libraries themselves (in the child, before the
guard); a pinned file loads with full fidelity, an unpinned one is refused
in strict mode, emulated in emulate mode. Hostile files carry a pickle that
runs ``touch CANARY``; the canary proves nothing ran.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.guard_child import run_child

#: Writes evil.npy: a valid .npy header for an object array, then EVIL.
NPY_EVIL = """\
import numpy as np
from numpy.lib import format as npformat
with open("evil.npy", "wb") as f:
    npformat.write_array_header_1_0(
        f, {"descr": "|O", "fortran_order": False, "shape": (1,)}
    )
    f.write(EVIL)
np.save("good.npy", np.array([{"a": 1}, [2]], dtype=object), allow_pickle=True)
GOOD = open("good.npy", "rb").read()
"""


def test_numpy_load_allow_pickle(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    code = NPY_EVIL + (
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', GOOD))\n"
        "outcome('evil', lambda: np.load('evil.npy', allow_pickle=True))\n"
        "v = outcome('good', lambda: np.load('good.npy', allow_pickle=True))\n"
        "print('value=' + repr(v.tolist()))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["evil"] == "PickleNotAllowedError", process.stderr[-2000:]
    assert outcomes["good"] == "LOADED"
    assert outcomes["value"] == "[{'a': 1}, [2]]"


def test_numpy_npz_pinned_as_a_whole(tmp_path: Path) -> None:
    """An .npz is pinned by its own hash; its object members then load (they
    unpickle lazily, after numpy.load returned); an unpinned one is refused."""
    pytest.importorskip("numpy")
    code = NPY_EVIL + (
        "np.savez('good.npz', o=np.array([{'a': 1}], dtype=object))\n"
        "import zipfile\n"
        "with zipfile.ZipFile('evil.npz', 'w') as z:\n"
        "    z.writestr('o.npy', open('evil.npy', 'rb').read())\n"
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', open('good.npz', 'rb').read()))\n"
        "good = np.load('good.npz', allow_pickle=True)\n"
        "v = outcome('good', lambda: good['o'])\n"
        "print('value=' + repr(v.tolist()))\n"
        "evil = np.load('evil.npz', allow_pickle=True)\n"
        "outcome('evil', lambda: evil['o'])\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["good"] == "LOADED", process.stderr[-2000:]
    assert outcomes["value"] == "[{'a': 1}]"
    assert outcomes["evil"] == "PickleNotAllowedError"


JOBLIB = """\
import joblib, numpy as np
joblib.dump({"w": np.arange(5.0)}, "good.joblib", compress=3)
GOOD = open("good.joblib", "rb").read()
open("evil.joblib", "wb").write(EVIL)
import zlib
"""


def test_joblib_load(tmp_path: Path) -> None:
    pytest.importorskip("joblib")
    code = JOBLIB + (
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', GOOD))\n"
        "outcome('evil', lambda: joblib.load('evil.joblib'))\n"
        "v = outcome('good', lambda: joblib.load('good.joblib'))\n"
        "print('value=' + repr(type(v['w']).__name__ + str(v['w'].tolist())))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["evil"] == "PickleNotAllowedError", process.stderr[-2000:]
    assert outcomes["good"] == "LOADED", process.stderr[-2000:]
    assert outcomes["value"] == "'ndarray[0.0, 1.0, 2.0, 3.0, 4.0]'"


def test_joblib_imported_before_the_guard(tmp_path: Path) -> None:
    """joblib's NumpyUnpickler subclasses pickle._Unpickler at import time."""
    pytest.importorskip("joblib")
    code = JOBLIB + (
        "from joblib.numpy_pickle import NumpyUnpickler\n"
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', GOOD))\n"
        "f = open('evil.joblib', 'rb')\n"
        "outcome('evil', lambda: NumpyUnpickler('evil.joblib', f, True).load())\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["evil"] == "PickleNotAllowedError", process.stderr[-2000:]


def test_pandas_read_pickle(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    code = (
        "import pandas as pd\n"
        "pd.DataFrame({'a': [1, 2]}).to_pickle('good.pkl.gz')\n"
        "GOOD = open('good.pkl.gz', 'rb').read()\n"
        "open('evil.pkl', 'wb').write(EVIL)\n"
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', GOOD))\n"
        "outcome('evil', lambda: pd.read_pickle('evil.pkl'))\n"
        "v = outcome('good', lambda: pd.read_pickle('good.pkl.gz'))\n"
        "print('value=' + str(v['a'].tolist()))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code)
    assert not canary
    assert outcomes["evil"] == "PickleNotAllowedError", process.stderr[-2000:]
    assert outcomes["good"] == "LOADED", process.stderr[-2000:]
    assert outcomes["value"] == "[1, 2]"


TORCH = """\
import torch
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + CANARY,))
torch.save({"t": torch.arange(4)}, "good.pt")
torch.save({"x": Evil()}, "evil.pt")
GOOD = open("good.pt", "rb").read()
"""


@pytest.mark.parametrize("weights_only", [True, False])
@pytest.mark.parametrize("when", ["before", "after"])
def test_torch_load(tmp_path: Path, weights_only: bool, when: str) -> None:
    """torch imported before the guard (patched at install) or after it
    (patched by the import hook); both weights_only values."""
    pytest.importorskip("torch")
    setup = TORCH if when == "before" else TORCH.replace("import torch\n", "")
    install = "import emulpickle\nemulpickle.guard(manifest=pin('m.lock', GOOD))\n"
    if when == "after":
        # Write the files in a first child; load in a second one that
        # imports torch only after the guard.
        run_child(tmp_path, "import torch\n" + setup, limit_memory=False)
        setup = "GOOD = open('good.pt', 'rb').read()\n"
    code = (
        setup
        + install
        + ("import torch\n" if when == "after" else "")
        + f"W = {weights_only}\n"
        + "outcome('evil', lambda: torch.load('evil.pt', weights_only=W))\n"
        + "v = outcome('good', lambda: torch.load('good.pt', weights_only=W))\n"
        + "print('value=' + str(v['t'].tolist()))\n"
        + "B = io.BytesIO(open('evil.pt', 'rb').read())\n"
        + "outcome('bytesio', lambda: torch.load(B))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code, limit_memory=False)
    assert not canary
    assert outcomes["evil"] == "PickleNotAllowedError", process.stderr[-2000:]
    assert outcomes["bytesio"] == "PickleNotAllowedError"
    assert outcomes["good"] == "LOADED", process.stderr[-2000:]
    assert outcomes["value"] == "[0, 1, 2, 3]"


def test_torch_load_captured_before_the_guard(tmp_path: Path) -> None:
    """A reference to torch.load taken before the guard still reaches the
    guarded pickle.Unpickler (weights_only=False)."""
    pytest.importorskip("torch")
    code = TORCH + (
        "from torch import load as early_load\n"
        "import emulpickle\n"
        "emulpickle.guard(manifest=pin('m.lock', GOOD))\n"
        "outcome('evil', lambda: early_load('evil.pt', weights_only=False))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code, limit_memory=False)
    assert not canary
    assert outcomes["evil"] == "PickleNotAllowedError", process.stderr[-2000:]


def test_torch_emulate_gives_real_tensors(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    code = TORCH + (
        "import emulpickle\n"
        "emulpickle.guard(mode='emulate')\n"
        "v = outcome('good', lambda: torch.load('good.pt', weights_only=False))\n"
        "print('value=' + type(v['t']).__name__ + str(v['t'].tolist()))\n"
        "outcome('evil', lambda: torch.load('evil.pt', weights_only=False))\n"
    )
    outcomes, process, canary = run_child(tmp_path, code, limit_memory=False)
    assert not canary
    assert outcomes["good"] == "LOADED", process.stderr[-2000:]
    assert outcomes["value"] == "Tensor[0, 1, 2, 3]"
    assert outcomes["evil"] == "ForbiddenGlobalError", process.stderr[-2000:]
