"""Generate a model-hub-like corpus of files, some hostile, with ground truth.

The tree looks like a hub mirror (``hub/<org>/<model>/...``): model cards,
configs and tokenizer files beside weights in every pickle-bearing format a
hub holds, each written by the real tool (``torch.save`` zip and legacy,
``torch.jit.save``, ``numpy.save``/``savez``, ``joblib.dump`` of scikit-learn
models, ``pickle.dump``, gzip, safetensors, sharded checkpoints, zip, tar and
7z archives). About 5 % of the files are hostile: code-execution pickles as
raw files, inside torch checkpoints, object arrays, joblib files, compressed
streams, archives, a second pickle stream and a checkpoint shard, including
the constructions picklescan misses (``tests/helpers/hostile_pickles.py``).

``manifest.json`` beside ``hub/`` is the ground truth: every file with its
kind, size and whether it is hostile, plus the sharded checkpoints' groups
(a scanner may report a sharded model under its index file).

Generation is seeded: the same arguments give the same tree (the same
files, kinds, sizes and bytes, but for the storage keys of legacy torch files
and the timestamps py7zr writes). Formats whose
library is missing (torch, scikit-learn, safetensors, py7zr) are skipped and
the manifest says which. Run it as::

    python benchmarks/hub_corpus.py OUT [--files 1000] [--big-mb 300] [--seed 0]
    python benchmarks/hub_corpus.py OUT --small     # ~100 files, a few MB
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import importlib.util
import io
import json
import lzma
import os
import pickle
import random
import shutil
import sys
import tarfile
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The hostile builders are the tests' own (one definition, no copies).
sys.path.insert(0, str(ROOT / "tests"))

from helpers.hostile_pickles import PAYLOADS, SCAN_BUILDERS  # noqa: E402

#: What the payloads would create if anything ever ran them.
MARKER = "/tmp/emulpickle-hub-corpus-pwned"
#: Fixed archive timestamps keep archives byte-identical across runs.
EPOCH = (2024, 1, 1, 0, 0, 0)

# PAYLOADS whose import or call has an effect under pickle.load (all of them
# but the plain "refused global" checks that do nothing when loaded).
_PAYLOAD_KEYS = [
    "os.system-GLOBAL",
    "os.system-STACK_GLOBAL-memoized-names",
    "os.system-EXT1",
    "posix.system-EXT2",
    "subprocess.call-EXT4",
    "subprocess.check_call",
    "commands.getoutput-py2-mapped",
    "builtins.eval-py2-name",
    "builtins.getattr-__import__-chain",
    "builtins.__import__",
    "builtins.open",
    "builtins.setattr",
    "builtins.int-dotted-subclasses",
    "copyreg.__newobj__-dotted-globals",
    "copyreg.add_extension",
    "pickle.loads-nested",
    "importlib.import_module",
]


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


class Reduce:
    """An object whose pickle calls ``func(*args)``: what a real tool writes
    (torch.save, numpy.save, joblib.dump) when handed a hostile object."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.func, self.args


def _system() -> Reduce:
    return Reduce(os.system, f"touch {MARKER}")


def _exec() -> Reduce:
    return Reduce(exec, f"open({MARKER!r}, 'w').close()")


def _raw_payload() -> bytes:
    return SCAN_BUILDERS["GLOBAL posix.system proto2"](Path(MARKER))


@dataclass
class Corpus:
    """The files written so far, and the ground truth."""

    root: Path
    rng: random.Random
    entries: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)

    def path(self, rel: str) -> Path:
        """The absolute path of ``rel`` (its directory created)."""
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add(self, rel: str, kind: str, hostile: bool = False) -> None:
        """Record a file written at ``rel``."""
        size = (self.root / rel).stat().st_size
        self.entries.append(
            {"path": rel, "kind": kind, "hostile": hostile, "size": size}
        )

    def write(self, rel: str, data: bytes, kind: str, hostile: bool = False) -> None:
        """Write ``data`` at ``rel`` and record it."""
        self.path(rel).write_bytes(data)
        self.add(rel, kind, hostile)


# --- the real tools ----------------------------------------------------------


def _torch() -> Any:
    import torch

    return torch


def _state_dict(rng: random.Random, nbytes: int) -> dict[str, Any]:
    """float32 tensors holding about ``nbytes`` in all, seeded by ``rng``."""
    torch = _torch()
    gen = torch.Generator().manual_seed(rng.randrange(1 << 30))
    sd: dict[str, Any] = {}
    left = max(nbytes // 4, 4)
    layer = 0
    while left > 0:
        n = min(left, max(4, rng.randrange(left // 2 + 2, left + 2)))
        cols = rng.choice([1, 4, 16, 64])
        rows = max(1, n // cols)
        sd[f"layers.{layer}.weight"] = torch.randn(rows, cols, generator=gen)
        sd[f"layers.{layer}.bias"] = torch.zeros(cols)
        left -= rows * cols + cols
        layer += 1
    return sd


def _torch_bytes(obj: Any, legacy: bool = False) -> bytes:
    torch = _torch()
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


_SCRIPTED: list[Any] = []


def _torchscript(rng: random.Random) -> bytes:
    torch = _torch()
    # TorchScript is deprecated, not gone: hubs hold many such archives.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if not _SCRIPTED:  # scripting compiles: once per process
            layers = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU())
            _SCRIPTED.append(torch.jit.script(layers))
        module = _SCRIPTED[0]
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(torch.full_like(p, rng.random()))
        buf = io.BytesIO()
        torch.jit.save(module, buf)
    return buf.getvalue()


def _npy(arr: Any) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _npz(**arrays: Any) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


_MODELS: list[Any] = []


def _sklearn_model(rng: random.Random) -> Any:
    if not _MODELS:  # fitting costs: a few models, dumped many times
        import numpy as np
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x = np.random.RandomState(0).rand(200, 8)
        y = (x[:, 0] + x[:, 1] > 1).astype(int)
        _MODELS.extend(
            [
                LogisticRegression().fit(x, y),
                make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
                RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y),
            ]
        )
    return rng.choice(_MODELS)


def _joblib(obj: Any, compress: int) -> bytes:
    import joblib

    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=compress)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, EPOCH), data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w:", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _7z(members: dict[str, bytes]) -> bytes:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writef(io.BytesIO(data), name)
    return buf.getvalue()


def _safetensors(sd: dict[str, Any]) -> bytes:
    from safetensors.torch import save

    return bytes(save(sd, metadata={"format": "pt"}))


# --- benign models -------------------------------------------------------------

_CARD = """---
license: apache-2.0
library_name: {lib}
---
# {name}

A model of the generated hub corpus (emulpickle's benchmarks/hub_corpus.py).
"""


def _small_bytes(rng: random.Random) -> int:
    """Mostly small weights: 1 KB to ~1 MB, log-uniform."""
    return int(2 ** rng.uniform(10, 20))


def _text_files(c: Corpus, model: str, lib: str) -> None:
    c.write(f"{model}/README.md", _CARD.format(lib=lib, name=model).encode(), "text")
    config = {"architectures": ["Model"], "hidden_size": c.rng.choice([64, 128])}
    c.write(f"{model}/config.json", json.dumps(config).encode(), "json")
    if c.rng.random() < 0.3:
        vocab = "\n".join(f"tok{i}" for i in range(c.rng.randrange(50, 500)))
        c.write(f"{model}/vocab.txt", vocab.encode(), "text")
    if c.rng.random() < 0.2:
        c.write(f"{model}/.gitattributes", b"*.bin filter=lfs\n", "text")


def _m_torch(c: Corpus, model: str) -> None:
    sd = _state_dict(c.rng, _small_bytes(c.rng))
    name = c.rng.choice(["pytorch_model.bin", "model.pt", "weights.pth"])
    c.write(f"{model}/{name}", _torch_bytes(sd), "torch-zip")
    if c.rng.random() < 0.3:
        extra = {"epoch": c.rng.randrange(100), "optimizer": {"lr": 1e-3}}
        c.write(f"{model}/training_state.pt", _torch_bytes(extra), "torch-zip")


def _m_torch_legacy(c: Corpus, model: str) -> None:
    sd = _state_dict(c.rng, _small_bytes(c.rng))
    c.write(f"{model}/pytorch_model.bin", _torch_bytes(sd, True), "torch-legacy")


def _m_torchscript(c: Corpus, model: str) -> None:
    c.write(f"{model}/traced_model.pt", _torchscript(c.rng), "torchscript")


def _m_numpy(c: Corpus, model: str) -> None:
    import numpy as np

    rs = np.random.RandomState(c.rng.randrange(1 << 30))
    n = _small_bytes(c.rng) // 8
    c.write(f"{model}/embeddings.npy", _npy(rs.rand(n)), "npy")
    if c.rng.random() < 0.4:  # object arrays: benign pickles inside .npy
        meta = np.array([{"label": i, "names": ["a", "b"]} for i in range(3)])
        c.write(f"{model}/labels.npy", _npy(meta), "npy-object")
    if c.rng.random() < 0.5:
        data = _npz(w=rs.rand(max(1, n // 4)), ids=np.arange(10))
        c.write(f"{model}/arrays.npz", data, "npz")


def _m_sklearn(c: Corpus, model: str) -> None:
    compress = c.rng.choice([0, 3])
    data = _joblib(_sklearn_model(c.rng), compress)
    c.write(f"{model}/model.joblib", data, f"joblib-{compress}")


def _m_pickle(c: Corpus, model: str) -> None:
    cfg = {
        "lr": c.rng.random(),
        "layers": [c.rng.randrange(8, 512) for _ in range(c.rng.randrange(1, 8))],
        "name": model,
        "tags": {"hub", "bench"},
        "shape": (3, 4),
    }
    proto = c.rng.choice([2, 4, 5])
    c.write(f"{model}/config.pkl", pickle.dumps(cfg, protocol=proto), "pickle")
    if c.rng.random() < 0.4:
        gz = gzip.compress(pickle.dumps(cfg, protocol=4), mtime=0)
        c.write(f"{model}/stats.pkl.gz", gz, "gzip+pickle")


def _m_safetensors(c: Corpus, model: str) -> None:
    sd = _state_dict(c.rng, _small_bytes(c.rng))
    c.write(f"{model}/model.safetensors", _safetensors(sd), "safetensors")


def _m_archive(c: Corpus, model: str) -> None:
    sd = _state_dict(c.rng, _small_bytes(c.rng) // 4)
    members = {
        "model/pytorch_model.bin": _torch_bytes(sd),
        "model/config.pkl": pickle.dumps({"ok": True}),
        "model/README.md": b"# packed model\n",
    }
    if c.rng.random() < 0.5:
        c.write(f"{model}/model.zip", _zip(members), "zip")
    else:
        c.write(f"{model}/model.tar.gz", _tar_gz(members), "tar.gz")


def _m_7z(c: Corpus, model: str) -> None:
    sd = _state_dict(c.rng, _small_bytes(c.rng) // 4)
    c.write(f"{model}/model.7z", _7z({"pytorch_model.bin": _torch_bytes(sd)}), "7z")


def _sharded(c: Corpus, model: str, hostile_shard: bool = False) -> None:
    """A two-shard checkpoint: .bin shards with pytorch_model.bin.index.json
    (the second shard hostile if asked), or safetensors shards with
    model.safetensors.index.json."""
    sd = _state_dict(c.rng, _small_bytes(c.rng))
    keys = list(sd)
    half = max(1, len(keys) // 2)
    parts = [dict(list(sd.items())[:half]), dict(list(sd.items())[half:])]
    use_bin = hostile_shard or c.rng.random() < 0.5
    stem, ext = ("pytorch_model", "bin") if use_bin else ("model", "safetensors")
    weight_map: dict[str, str] = {}
    shards: list[str] = []
    for i, part in enumerate(parts, 1):
        name = f"{stem}-{i:05d}-of-00002.{ext}"
        bad = hostile_shard and i == 2
        if bad:
            part = {**part, "_meta": _system()}
        data = _torch_bytes(part) if use_bin else _safetensors(part)
        c.write(f"{model}/{name}", data, f"shard-{ext}", hostile=bad)
        shards.append(f"{model}/{name}")
        weight_map.update(dict.fromkeys(part, name))
    index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    rel = f"{model}/{stem}.{ext}.index.json"
    c.write(rel, json.dumps(index, indent=2).encode(), "shard-index")
    c.groups[rel] = shards


def _m_sharded(c: Corpus, model: str) -> None:
    _sharded(c, model)


# (writer, weight, the modules it needs)
BENIGN: list[tuple[Callable[[Corpus, str], None], float, tuple[str, ...]]] = [
    (_m_torch, 30, ("torch",)),
    (_m_torch_legacy, 6, ("torch",)),
    (_m_torchscript, 4, ("torch",)),
    (_m_numpy, 12, ("numpy",)),
    (_m_sklearn, 10, ("sklearn", "joblib")),
    (_m_pickle, 14, ()),
    (_m_safetensors, 10, ("torch", "safetensors")),
    (_m_archive, 5, ("torch",)),
    (_m_7z, 2, ("torch", "py7zr")),
    (_m_sharded, 2, ("torch", "safetensors")),
]


# --- hostile files -------------------------------------------------------------


def _h_builder(key: str) -> Callable[[Corpus, str], None]:
    def write(c: Corpus, model: str) -> None:
        data = SCAN_BUILDERS[key](Path(MARKER))
        c.write(f"{model}/model.pkl", data, f"hostile:{key}", hostile=True)

    return write


def _h_payload(key: str) -> Callable[[Corpus, str], None]:
    def write(c: Corpus, model: str) -> None:
        data = PAYLOADS[key].build(MARKER)
        c.write(f"{model}/pytorch_model.bin", data, f"hostile:{key}", hostile=True)

    return write


def _h(rel: str, kind: str, make: Callable[[Corpus], bytes]) -> Any:
    def write(c: Corpus, model: str) -> None:
        c.write(f"{model}/{rel}", make(c), f"hostile:{kind}", hostile=True)

    return write


def _runpy(c: Corpus) -> bytes:
    return (
        b"\x80\x04\x8c\x05runpy\x8c\x08run_path\x93"
        + pickle.dumps(MARKER, protocol=4)[2:-1]
        + b"\x85R."
    )


def _npy_header_payload(c: Corpus) -> bytes:
    """numpy's own header for an object array, then a hostile pickle."""
    import numpy as np

    buf = io.BytesIO()
    header = {"descr": "|O", "fortran_order": False, "shape": (1,)}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + _raw_payload()


def _polyglot(c: Corpus) -> bytes:
    """A hostile pickle before a real torch zip: zip readers see the
    checkpoint, pickle.load (and torch.load's fallback) the payload."""
    return _raw_payload() + _torch_bytes({"w": _torch().zeros(3)})


def _torchscript_evil(c: Corpus) -> bytes:
    """A real TorchScript archive whose constants.pkl is replaced."""
    src = zipfile.ZipFile(io.BytesIO(_torchscript(c.rng)))
    members = {
        i.filename: (
            _raw_payload() if i.filename.endswith("constants.pkl") else src.read(i)
        )
        for i in src.infolist()
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name, data in members.items():
            out.writestr(zipfile.ZipInfo(name, EPOCH), data)
    return buf.getvalue()


# (writer, the modules it needs); the order is the ground truth's order.
HOSTILE: list[tuple[Callable[[Corpus, str], None], tuple[str, ...]]] = [
    *((_h_builder(k), ()) for k in SCAN_BUILDERS),
    *((_h_payload(k), ()) for k in _PAYLOAD_KEYS),
    (_h("model.pkl", "runpy.run_path", _runpy), ()),
    (
        _h(
            "stacked.pkl",
            "second pickle stream",
            lambda c: pickle.dumps({"ok": 1}) + pickle.dumps(_system()),
        ),
        (),
    ),
    (
        _h(
            "model.pkl.gz",
            "gzip",
            lambda c: gzip.compress(pickle.dumps(_exec()), mtime=0),
        ),
        (),
    ),
    (_h("model.pkl.bz2", "bz2", lambda c: bz2.compress(_raw_payload())), ()),
    (_h("model.pkl.xz", "xz", lambda c: lzma.compress(_raw_payload())), ()),
    (
        _h(
            "pytorch_model.bin",
            "torch.save zip data.pkl",
            lambda c: _torch_bytes({"w": _torch().ones(4), "hook": _system()}),
        ),
        ("torch",),
    ),
    (
        _h(
            "model.pt",
            "torch.save legacy",
            lambda c: _torch_bytes({"w": _torch().ones(4), "hook": _exec()}, True),
        ),
        ("torch",),
    ),
    (_h("traced.pt", "torchscript constants.pkl", _torchscript_evil), ("torch",)),
    (_h("weights.pt", "pickle before torch zip", _polyglot), ("torch",)),
    (
        _h(
            "labels.npy",
            "numpy.save object array",
            lambda c: _npy(__import__("numpy").array([{"a": 1}, _system()])),
        ),
        ("numpy",),
    ),
    (_h("meta.npy", "npy header + pickle", _npy_header_payload), ("numpy",)),
    (
        _h(
            "arrays.npz",
            "npz object member",
            lambda c: _npz(obj=__import__("numpy").array([_system(), 1])),
        ),
        ("numpy",),
    ),
    (_h("model.joblib", "joblib", lambda c: _joblib(_system(), 0)), ("joblib",)),
    (_h("model.jbl", "joblib compress=3", lambda c: _joblib(_exec(), 3)), ("joblib",)),
    (
        _h(
            "models.zip",
            "zip of models",
            lambda c: _zip(
                {
                    "m/config.pkl": pickle.dumps({"ok": 1}),
                    "m/extra.pkl": pickle.dumps(_system()),
                }
            ),
        ),
        (),
    ),
    (
        _h(
            "models.tar.gz",
            "tar.gz of models",
            lambda c: _tar_gz({"m/readme.md": b"hi\n", "m/model.pkl": _raw_payload()}),
        ),
        (),
    ),
    (
        _h(
            "model.7z",
            "7z of a torch checkpoint (nullifAI)",
            lambda c: _7z(
                {
                    "pytorch_model.bin": _torch_bytes(
                        {"w": _torch().ones(2), "x": _system()}
                    )
                }
            ),
        ),
        ("torch", "py7zr"),
    ),
    (lambda c, m: _sharded(c, m, hostile_shard=True), ("torch",)),
]

_HOSTILE_KEYS = [*SCAN_BUILDERS, *_PAYLOAD_KEYS]
_HOSTILE_KEYS += [f"container {i}" for i in range(len(HOSTILE) - len(_HOSTILE_KEYS))]
# --small keeps every container kind and these raw spellings (the first is
# plain, the others are those picklescan misses).
_SMALL_RAW = [
    "GLOBAL os.system",
    "dotted STACK_GLOBAL",
    "os.system-EXT1",
    "builtins.int-dotted-subclasses",
    "copyreg.__newobj__-dotted-globals",
    "importlib.import_module",
]


def _org_model(rng: random.Random, index: int) -> str:
    orgs = ["acme", "bigsci", "openlab", "tinyml", "vision-co", "nlp-group"]
    org = orgs[index % len(orgs)] if index < 60 else f"user{rng.randrange(10_000)}"
    return f"{org}/model-{index:04d}"


def _big(c: Corpus, big_mb: int) -> None:
    """A few 20-100 MB torch checkpoints, ``big_mb`` MB in all."""
    left = big_mb
    i = 0
    while left >= 20:
        mb = min(left, c.rng.randrange(20, 101))
        model = f"bigmodels/large-{i}"
        sd = _state_dict(c.rng, mb << 20)
        c.write(f"{model}/pytorch_model.bin", _torch_bytes(sd), "torch-zip-big")
        _text_files(c, model, "transformers")
        left -= mb
        i += 1


def generate(
    out: Path, files: int = 1000, big_mb: int = 300, seed: int = 0, small: bool = False
) -> dict[str, Any]:
    """Write the corpus under ``out/hub`` and its ground truth to
    ``out/manifest.json`` (replacing both); return the manifest."""
    hub = out / "hub"
    if hub.exists():
        shutil.rmtree(hub)
    hub.mkdir(parents=True)
    c = Corpus(hub, random.Random(seed))
    if _have("torch"):
        _torch().manual_seed(seed)
    hostile = HOSTILE
    if small:
        files, big_mb = min(files, 100), 0
        raw = set(SCAN_BUILDERS) | set(_PAYLOAD_KEYS)
        hostile = [
            h for h, key in zip(HOSTILE, _HOSTILE_KEYS, strict=True) if key not in raw
        ]
        hostile += [HOSTILE[_HOSTILE_KEYS.index(k)] for k in _SMALL_RAW]
    index = 0
    for writer, needs in hostile:
        if not all(_have(m) for m in needs):
            c.skipped.update(m for m in needs if not _have(m))
            continue
        writer(c, _org_model(c.rng, index))
        index += 1
    if _have("torch"):
        _big(c, big_mb)
    usable = [
        (w, weight) for w, weight, needs in BENIGN if all(_have(m) for m in needs)
    ]
    c.skipped.update(m for _, _, needs in BENIGN for m in needs if not _have(m))
    writers = [w for w, _ in usable]
    weights = [weight for _, weight in usable]
    first = list(writers)  # every kind at least once, then at random
    while len(c.entries) < files:
        model = _org_model(c.rng, index)
        writer = first.pop(0) if first else c.rng.choices(writers, weights)[0]
        writer(c, model)
        _text_files(c, model, writer.__name__[3:])
        index += 1
    manifest = {
        "seed": seed,
        "files": len(c.entries),
        "bytes": sum(e["size"] for e in c.entries),
        "hostile": sorted(e["path"] for e in c.entries if e["hostile"]),
        "groups": c.groups,
        "skipped": sorted(c.skipped),
        "entries": c.entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


# --- scoring a scanner's report against the ground truth ----------------------

_CUTS = ":!# ("  # what ends a file's path where a report names a member after it


def corpus_file(reported: str, hub: Path, known: set[str]) -> str | None:
    """The corpus file a report line names (``reported``: an absolute or
    hub-relative path, perhaps followed by ``:member``, ``/member`` or
    `` (pos 12)``); None if it names none."""
    text = reported.replace("\\", "/")
    for prefix in (str(hub.resolve()) + "/", str(hub) + "/"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    text = text.removeprefix("./")
    best = text if text in known else None
    for i, ch in enumerate(text):
        if (ch in _CUTS or ch == "/") and text[:i] in known:
            best = text[:i] if best is None or i > len(best) else best
    return best


def score(manifest: dict[str, Any], flagged: set[str]) -> tuple[list[str], list[str]]:
    """(misses, false alarms) of a scanner that flagged the corpus files
    ``flagged``: a hostile file is caught when it, or the sharded checkpoint
    whose index groups it, is flagged; a flagged file is a false alarm when
    neither it nor any file of its group is hostile."""
    hostile = set(manifest["hostile"])
    groups: dict[str, list[str]] = manifest["groups"]
    covered = set(flagged)
    for index, shards in groups.items():
        if index in flagged:
            covered.update(shards)
    misses = sorted(hostile - covered)
    false_alarms = sorted(
        f for f in flagged if f not in hostile and not hostile & set(groups.get(f, ()))
    )
    return misses, false_alarms


#: What makes emulpickle's result a flag (as a hub would act on it): a
#: dangerous global or a file it could not read to the end. Files with only
#: "unknown" globals (a scikit-learn model) are counted apart, as "review".
FLAG_VERDICTS = frozenset({"dangerous"})


def emulpickle_flags(
    stdout: str, hub: Path, known: set[str]
) -> tuple[set[str], set[str]]:
    """Flagged and review-only files from ``emulpickle scan --jsonl``."""
    flagged: set[str] = set()
    review: set[str] = set()
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        result = json.loads(line)
        if "file" not in result:
            continue  # a summary record
        name = corpus_file(result["file"], hub, known)
        if name is None:
            continue
        verdicts = {f["verdict"] for f in result["findings"]}
        if result["errors"] or verdicts & FLAG_VERDICTS:
            flagged.add(name)
        elif not result["clean"]:
            review.add(name)
    return flagged, review


def main(argv: list[str] | None = None) -> int:
    """Command line: generate the corpus and print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="directory for hub/ and manifest.json")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument(
        "--big-mb", type=int, default=300, help="MB of 20-100 MB checkpoints"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small", action="store_true", help="~100 files, a few MB")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    m = generate(args.out, args.files, args.big_mb, args.seed, args.small)
    took = time.perf_counter() - t0
    print(
        f"{m['files']} files, {m['bytes'] / 1e6:.1f} MB, {len(m['hostile'])} hostile"
        f" in {args.out / 'hub'} ({took:.1f} s)"
        + (
            f"; skipped (not installed): {', '.join(m['skipped'])}"
            if m["skipped"]
            else ""
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
