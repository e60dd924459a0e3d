"""Scan policy files: allowed globals, severities, what fails; strict validation."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from emulpickle import PolicyError, ScanPolicy
from emulpickle.scanner.engine import scan_paths

UNKNOWN = b"\x80\x02cmypkg.models\nNet\n)\x81."
GETATTR = b"\x80\x02cbuiltins\ngetattr\n."
ODICT = pickle.dumps(__import__("collections").OrderedDict(a=1))
EVIL = b"cos\nsystem\n(S'x'\ntR."
WALK = b"\x80\x02cmypkg.models\nNet.__globals__\n."


def _scan(tmp_path: Path, data: bytes, policy: ScanPolicy) -> Any:
    path = tmp_path / "f.pkl"
    path.write_bytes(data)
    (result,) = scan_paths([str(path)], jobs=1, cache=False, policy=policy)
    return result


def test_allow_makes_a_global_safe(tmp_path: Path) -> None:
    plain = _scan(tmp_path, UNKNOWN, ScanPolicy())
    assert [f.verdict for f in plain.findings] == ["unknown"]
    allowed = _scan(tmp_path, UNKNOWN, ScanPolicy(allow=["mypkg.models.*"]))
    assert allowed.clean
    assert "policy 'mypkg.models.*': was unknown" in allowed.findings[0].note
    assert not ScanPolicy().fails(allowed)


def test_severity_raises_and_lowers(tmp_path: Path) -> None:
    odict = _scan(
        tmp_path, ODICT, ScanPolicy(severity={"collections.OrderedDict": "dangerous"})
    )
    assert {f.verdict for f in odict.findings} == {"dangerous"}
    lowered = _scan(tmp_path, UNKNOWN, ScanPolicy(severity={"mypkg.*": "safe"}))
    assert lowered.clean


def test_a_glob_never_lowers_a_dangerous_verdict(tmp_path: Path) -> None:
    walk = _scan(tmp_path, WALK, ScanPolicy(allow=["mypkg.*"]))
    assert [f.verdict for f in walk.findings] == ["dangerous"]
    evil = _scan(tmp_path, EVIL, ScanPolicy(allow=["os.*"], severity={"o*": "unknown"}))
    assert [f.verdict for f in evil.findings] == ["dangerous"]
    # written out in full, it is the user's decision
    named = _scan(tmp_path, GETATTR, ScanPolicy(allow=["builtins.getattr"]))
    assert named.clean


def test_most_specific_rule_wins(tmp_path: Path) -> None:
    policy = ScanPolicy(allow=["mypkg.*"], severity={"mypkg.models.*": "dangerous"})
    result = _scan(tmp_path, UNKNOWN, policy)
    assert [f.verdict for f in result.findings] == ["dangerous"]


def test_fail_on(tmp_path: Path) -> None:
    unknown = _scan(tmp_path, UNKNOWN, ScanPolicy())
    assert ScanPolicy().fails(unknown)
    assert not ScanPolicy(fail_on=["dangerous"]).fails(unknown)
    broken = _scan(tmp_path, b"\x80\x02(", ScanPolicy())
    assert broken.errors
    assert ScanPolicy(fail_on=["error"]).fails(broken)
    assert not ScanPolicy(fail_on=["dangerous", "unknown"]).fails(broken)


def test_load(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    doc = {
        "emulpickle-scan-policy": 1,
        "allow": ["mypkg.models.*", "collections.OrderedDict"],
        "severity": {"builtins.getattr": "dangerous", "somepkg.*": "unknown"},
        "fail_on": ["dangerous", "error"],
    }
    path.write_text(json.dumps(doc))
    policy = ScanPolicy.load(path)
    assert policy.allow == ("mypkg.models.*", "collections.OrderedDict")
    assert dict(policy.severity) == doc["severity"]
    assert policy.fail_on == {"dangerous", "error"}
    assert ScanPolicy.from_dict({"emulpickle-scan-policy": 1}) == ScanPolicy()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "a policy is a JSON object"),
        ({"allow": []}, '"emulpickle-scan-policy": 1'),
        ({"emulpickle-scan-policy": 2}, '"emulpickle-scan-policy": 1'),
        ({"emulpickle-scan-policy": 1, "alow": []}, "unknown key 'alow'"),
        ({"emulpickle-scan-policy": 1, "allow": "x.y"}, "allow must be a list"),
        ({"emulpickle-scan-policy": 1, "allow": [1]}, "1 is not a string"),
        ({"emulpickle-scan-policy": 1, "allow": ["*"]}, "would match every global"),
        ({"emulpickle-scan-policy": 1, "allow": [" a.b"]}, "is not a global's name"),
        (
            {"emulpickle-scan-policy": 1, "severity": ["a"]},
            "severity must be an object",
        ),
        (
            {"emulpickle-scan-policy": 1, "severity": {"a.b": "bad"}},
            "'bad' is not one of safe, unknown, dangerous",
        ),
        (
            {
                "emulpickle-scan-policy": 1,
                "allow": ["a.b"],
                "severity": {"a.b": "unknown"},
            },
            "both allowed and given severity",
        ),
        ({"emulpickle-scan-policy": 1, "fail_on": ["safe"]}, "not among"),
    ],
)
def test_invalid_policies(doc: object, message: str) -> None:
    with pytest.raises(PolicyError, match=__import__("re").escape(message)):
        ScanPolicy.from_dict(doc)


def test_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="No such file"):
        ScanPolicy.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PolicyError, match=r"bad\.json: not JSON"):
        ScanPolicy.load(bad)
