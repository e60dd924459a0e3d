"""The hub benchmark's corpus, small: emulpickle flags exactly its hostile files.

``benchmarks/hub_corpus.py --small`` writes ~100 files in a hub-like tree
(torch, TorchScript, numpy, joblib, pickles, gzip, safetensors, sharded
checkpoints, zip/tar/7z archives, text) with ~25 hostile ones: payloads
as raw files, in torch checkpoints, object arrays, joblib files, compressed
streams, archives, a second pickle stream and a checkpoint shard, including
the constructions picklescan misses. ``emulpickle scan DIR --jsonl`` is run
on the tree as a user runs it, and its report is scored against the ground
truth: no miss, no false alarm, every file accounted for. Formats whose
library is missing are left out of the corpus (torch, scikit-learn, py7zr).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import hub_corpus

from emulpickle.cli import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("hub")
    manifest = hub_corpus.generate(out, small=True, seed=0)
    return out / "hub", manifest


@pytest.fixture(scope="module")
def report(corpus: tuple[Path, dict[str, Any]]) -> str:
    """``emulpickle scan HUB --jsonl --no-cache --jobs 1``'s output, once."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["scan", str(corpus[0]), "--jsonl", "--no-cache", "--jobs", "1"])
    assert status != 0, out.getvalue()[-2000:]  # hostile files fail the run
    return out.getvalue()


def test_corpus_holds_every_hostile_kind(corpus: tuple[Path, dict[str, Any]]) -> None:
    """The ground truth is what the corpus claims: hostile files of every
    container kind whose library is installed, about a quarter of the files."""
    hub, manifest = corpus
    kinds = {e["kind"] for e in manifest["entries"] if e["hostile"]}
    expected = {
        "hostile:second pickle stream",
        "hostile:gzip",
        "hostile:bz2",
        "hostile:xz",
        "hostile:runpy.run_path",
        "hostile:numpy.save object array",
        "hostile:npy header + pickle",
        "hostile:npz object member",
        "hostile:zip of models",
        "hostile:tar.gz of models",
        "hostile:dotted STACK_GLOBAL",
        "hostile:os.system-EXT1",
    }
    if "torch" not in manifest["skipped"]:
        expected |= {
            "hostile:torch.save zip data.pkl",
            "hostile:torch.save legacy",
            "hostile:torchscript constants.pkl",
            "hostile:pickle before torch zip",
            "shard-bin",
        }
    assert expected <= kinds
    assert 80 <= manifest["files"] <= 130
    for entry in manifest["entries"]:
        assert (hub / entry["path"]).stat().st_size == entry["size"]


def _scored(
    corpus: tuple[Path, dict[str, Any]], report: str
) -> tuple[list[str], list[str], dict[str, str]]:
    hub, manifest = corpus
    known = {e["path"] for e in manifest["entries"]}
    flagged, _review = hub_corpus.emulpickle_flags(report, hub, known)
    misses, false_alarms = hub_corpus.score(manifest, flagged)
    return misses, false_alarms, {e["path"]: e["kind"] for e in manifest["entries"]}


def test_scan_misses_no_hostile_file(
    corpus: tuple[Path, dict[str, Any]], report: str
) -> None:
    misses, _, kinds = _scored(corpus, report)
    assert [(m, kinds[m]) for m in misses] == []


def test_scan_flags_no_benign_file(
    corpus: tuple[Path, dict[str, Any]], report: str
) -> None:
    _, false_alarms, kinds = _scored(corpus, report)
    assert [(f, kinds[f]) for f in false_alarms] == []


def test_benign_torchscript_is_not_flagged(
    corpus: tuple[Path, dict[str, Any]], report: str
) -> None:
    # Its code/*.debug_pkl names torch.jit._pickle's identity helpers; its
    # __torch__ classes stay "unknown" (review): TorchScript is code.
    _, false_alarms, kinds = _scored(corpus, report)
    if "torchscript" not in kinds.values():
        pytest.skip("torch is not installed")
    assert [f for f in false_alarms if kinds[f] == "torchscript"] == []


def test_every_file_is_reported(
    corpus: tuple[Path, dict[str, Any]], report: str
) -> None:
    """Each file of the tree is in the report, or is a shard of a sharded
    checkpoint reported under its index."""
    hub, manifest = corpus
    known = {e["path"] for e in manifest["entries"]}
    reported = set()
    for line in report.splitlines():
        record = json.loads(line)
        if "file" in record:
            name = hub_corpus.corpus_file(record["file"], hub, known)
            assert name is not None, record["file"]
            reported.add(name)
            reported.update(manifest["groups"].get(name, ()))
    assert reported == known


def test_score_counts_misses_and_false_alarms() -> None:
    manifest: dict[str, Any] = {
        "hostile": ["a/evil.pkl", "b/model-2.bin"],
        "groups": {"b/index.json": ["b/model-1.bin", "b/model-2.bin"]},
    }
    assert hub_corpus.score(manifest, set()) == (["a/evil.pkl", "b/model-2.bin"], [])
    flagged = {"b/index.json", "c/fine.pt"}
    assert hub_corpus.score(manifest, flagged) == (["a/evil.pkl"], ["c/fine.pt"])


def test_corpus_file_strips_members_and_positions(tmp_path: Path) -> None:
    known = {"org/m/model.zip", "org/m/x.pkl"}
    hub = tmp_path
    assert hub_corpus.corpus_file(f"{hub}/org/m/model.zip:a/b.pkl", hub, known) == (
        "org/m/model.zip"
    )
    assert hub_corpus.corpus_file("org/m/x.pkl (pos 12)", hub, known) == "org/m/x.pkl"
    assert hub_corpus.corpus_file(f"{hub}/org/m/model.zip/inner", hub, known) == (
        "org/m/model.zip"
    )
    assert hub_corpus.corpus_file("elsewhere/y.pkl", hub, known) is None
