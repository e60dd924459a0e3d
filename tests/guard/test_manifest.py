"""The manifest file: round trip, deterministic output, bad files refused clearly."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from emulpickle.guard.manifest import Entry, Manifest, ManifestError

A = hashlib.sha256(b"a").hexdigest()
B = hashlib.sha256(b"b").hexdigest()
C = hashlib.sha256(b"c").hexdigest()


def _sample() -> Manifest:
    return Manifest(
        [
            Entry(B, path="models/b.pt", size=2, trust="emulate"),
            Entry(A, path="a.pkl", size=1, note="reviewed by ann: plain dicts"),
            Entry(C),
        ]
    )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "pickles.lock"
    _sample().save(path)
    loaded = Manifest.load(path)
    assert list(loaded) == list(_sample())
    assert loaded.get(A) == Entry(
        A, path="a.pkl", size=1, note="reviewed by ann: plain dicts"
    )
    assert loaded.get(B) is not None and loaded.get(B).trust == "emulate"  # type: ignore[union-attr]
    assert len(loaded) == 3


def test_output_is_deterministic_and_one_entry_per_line() -> None:
    text = _sample().to_json()
    reordered = Manifest(reversed(list(_sample()))).to_json()
    assert text == reordered
    lines = text.splitlines()
    assert lines[1] == '  "emulpickle-manifest": 1,'
    # Sorted by path (pathless last), one entry per line.
    assert A in lines[3] and '"path": "a.pkl"' in lines[3]
    assert B in lines[4] and C in lines[5]
    assert json.loads(text)["pickles"][0]["note"] == "reviewed by ann: plain dicts"


def test_non_ascii_and_undecodable_paths_round_trip(tmp_path: Path) -> None:
    odd = "caf\u00e9/\udcff.pkl"  # a lone surrogate: a non-UTF-8 file name
    manifest = Manifest([Entry(A, path="caf\u00e9.pkl"), Entry(B, path=odd)])
    manifest.save(tmp_path / "m.lock")
    text = (tmp_path / "m.lock").read_text("utf-8")
    assert "caf\u00e9.pkl" in text  # readable where it can be
    assert Manifest.load(tmp_path / "m.lock").get(B).path == odd  # type: ignore[union-attr]


def test_sha256_prefix_and_case() -> None:
    manifest = _sample()
    assert f"sha256:{A}" in manifest
    assert A.upper() in manifest
    assert manifest.get(f"SHA256:{A}") == manifest.get(A)
    assert Entry(f"sha256:{A.upper()}").sha256 == A
    assert "sha256:" not in manifest and "nope" not in manifest and 3 not in manifest
    assert manifest.get("x" * 64) is None


def test_add_replaces_and_remove() -> None:
    manifest = _sample()
    manifest.add(Entry(f"sha256:{A}", path="other.pkl"))
    assert len(manifest) == 3 and manifest.get(A).path == "other.pkl"  # type: ignore[union-attr]
    assert manifest.remove(f"sha256:{A}") is True
    assert manifest.remove(A) is False
    assert manifest.remove("garbage") is False
    assert A not in manifest and len(manifest) == 2


def test_empty_manifest(tmp_path: Path) -> None:
    Manifest().save(tmp_path / "m.lock")
    assert len(Manifest.load(tmp_path / "m.lock")) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sha256": "abc"}, "not a sha256"),
        ({"sha256": A, "trust": "yes"}, "trust must be one of pickle, emulate"),
        ({"sha256": A, "size": -1}, "size must be a non-negative integer"),
        ({"sha256": A, "size": True}, "size must be a non-negative integer"),
        ({"sha256": A, "path": 3}, "path must be a string"),
    ],
)
def test_invalid_entries(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        Entry(**kwargs)  # type: ignore[arg-type]


HUGE = "x" * 100_000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "not JSON: .* at line 1 column 2"),
        (b"[]", "expected a JSON object, got list"),
        (b"{}", "no 'emulpickle-manifest' key"),
        (b'{"emulpickle-manifest": 2}', "unsupported manifest version 2"),
        (b'{"emulpickle-manifest": true}', "unsupported manifest version True"),
        (b'{"emulpickle-manifest": 1, "extra": 1}', "unknown top-level keys"),
        (b'{"emulpickle-manifest": 1, "pickles": {}}', "'pickles' must be a list"),
        (
            b'{"emulpickle-manifest": 1, "pickles": [1]}',
            r"pickles\[0\] must be an object",
        ),
        (b'{"emulpickle-manifest": 1, "pickles": [{}]}', r"pickles\[0\] has no sha256"),
        (
            b'{"emulpickle-manifest": 1, "pickles": '
            b'[{"sha256": "%s", "trsut": "pickle"}]}' % A.encode(),
            r"pickles\[0\] has unknown keys \['trsut'\]",
        ),
        (
            b'{"emulpickle-manifest": 1, "pickles": '
            b'[{"sha256": "%s"}, {"sha256": "%s"}]}' % (A.encode(), A.upper().encode()),
            r"pickles\[1\]: sha256 .* is listed twice",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "not a manifest: RecursionError"),
        (
            b'{"emulpickle-manifest": 1, "pickles": [{"sha256": 1%s}]}'
            % (b"0" * 5000,),
            "ValueError",
        ),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.lock"
    path.write_bytes(content)
    with pytest.raises(ManifestError, match=message) as info:
        Manifest.load(path)
    assert str(info.value).startswith(str(path))
    assert len(str(info.value)) < 500


def test_file_chosen_values_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "bad.lock"
    doc = {"emulpickle-manifest": 1, "pickles": [{"sha256": HUGE}]}
    path.write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match="not a sha256") as info:
        Manifest.load(path)
    assert len(str(info.value)) < 500


def test_missing_file_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read manifest"):
        Manifest.load(tmp_path / "absent.lock")
