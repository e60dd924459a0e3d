"""The first-party registry (what the CLI and the scanner use) registers a
plugin only for names it claims, and answers exactly what a registry with
every plugin registered at once answers."""

from __future__ import annotations

import importlib
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import emulpickle
from emulpickle.defaults import (
    FIRST_PARTY_PLUGINS,
    default_registry,
    first_party_registry,
)
from emulpickle.registry import installed_plugins


def _claiming_plugins() -> list[tuple[str, tuple[str, ...]]]:
    found = []
    for name, entry in sorted(installed_plugins().items()):
        claims = getattr(importlib.import_module(entry.module), "CLAIMS", None)
        if claims:
            found.append((name, claims))
    return found


@pytest.mark.parametrize(("plugin", "claims"), _claiming_plugins())
def test_every_name_a_plugin_registers_is_inside_its_claims(
    plugin: str, claims: tuple[str, ...]
) -> None:
    registry = emulpickle.Registry()
    installed_plugins()[plugin].load()(registry)
    assert registry._entries, plugin
    outside = [
        f"{module}.{name}"
        for module, name in registry._entries
        if not any(module == c or module.startswith(c + ".") for c in claims)
    ]
    assert outside == [], (plugin, outside[:10])


def test_the_first_party_registry_answers_as_an_eager_one() -> None:
    eager = emulpickle.Registry(parent=default_registry())
    for name, entry in installed_plugins().items():
        if name in FIRST_PARTY_PLUGINS:
            entry.load()(eager)
    lazy = first_party_registry()
    assert lazy.read_only
    names: set[tuple[str, str]] = set()
    registry: emulpickle.Registry | None = eager
    while registry is not None:
        names.update(registry._entries)
        registry = registry.parent
    names |= {("sklearn.nothing", "Here"), ("pandas", "nothing"), ("os", "system")}
    for module, name in sorted(names):
        assert (lazy.resolve(module, name) is None) == (
            eager.resolve(module, name) is None
        ), (module, name)


CHILD = r"""
import json, sys
from emulpickle.scanner import scan
plain = scan(sys.argv[1])
after_plain = sorted(m for m in ("pandas", "sklearn", "scipy") if m in sys.modules)
model = scan(sys.argv[2])
after_model = sorted(m for m in ("pandas", "sklearn", "scipy") if m in sys.modules)
print(json.dumps([plain.clean, after_plain, model.clean, after_model]))
"""


def test_scanning_plain_pickles_imports_no_pandas_or_sklearn(tmp_path: Path) -> None:
    pytest.importorskip("emulpickle_sklearn")
    linear = pytest.importorskip("sklearn.linear_model")
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"weights": [1.0, 2.0], "name": "m"}))
    model = tmp_path / "model.pkl"
    model.write_bytes(
        pickle.dumps(linear.LinearRegression().fit([[0.0], [1.0]], [0, 1]))
    )
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(plain), str(model)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    plain_clean, after_plain, model_clean, after_model = json.loads(out.stdout)
    assert plain_clean and after_plain == []
    assert model_clean and "sklearn" in after_model
