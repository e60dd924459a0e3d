"""The first-party plugins as :func:`emulpickle.open_file` reaches them.

Plugins are found by their entry points (group ``emulpickle.plugins``) and
imported by name with :mod:`importlib`, never statically: the core works
without them. :func:`install_command` says how to install a missing one
with a command that works as written: the first-party plugins are not on a
package index, they are directories of the emulpickle repository.
"""

from __future__ import annotations

import functools
import importlib
import json
import shlex
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlparse

from ..defaults import FIRST_PARTY_PLUGINS
from ..registry import installed_plugins

__all__ = ["install_command", "plugin_module", "plugin_versions"]


def plugin_module(name: str) -> ModuleType | None:
    """The top module of the installed first-party plugin ``name``
    (``"torch"``, ``"numpy"``), or None when it is not installed or cannot
    be imported."""
    entry = installed_plugins().get(name)
    if entry is None:
        return None
    try:
        return importlib.import_module(entry.module)
    except ImportError:
        return None


def plugin_versions() -> dict[str, str]:
    """The installed first-party plugins and their versions, in
    :data:`~emulpickle.defaults.FIRST_PARTY_PLUGINS` order."""
    available = installed_plugins()
    versions: dict[str, str] = {}
    for name in FIRST_PARTY_PLUGINS:
        entry = available.get(name)
        if entry is not None:
            dist = getattr(entry, "dist", None)
            versions[name] = str(getattr(dist, "version", None) or "?")
    return versions


def _clone_roots() -> list[Path]:
    """Where emulpickle's repository may be: around the imported package
    (an editable install, or a checkout on the path), and the directory
    pip installed it from (``direct_url.json``, written for local installs)."""
    roots = [Path(__file__).resolve().parents[2]]
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        text = distribution("emulpickle").read_text("direct_url.json")
    except (ImportError, PackageNotFoundError):
        text = None
    if text:
        try:
            url = urlparse(str(json.loads(text).get("url", "")))
        except (ValueError, AttributeError):
            url = None
        if url is not None and url.scheme == "file":
            roots.append(Path(unquote(url.path)))
    return roots


@functools.cache
def install_command(name: str) -> str:
    """A command that installs the first-party plugin ``name``.

    ``pip install /path/to/clone/plugins/emulpickle-NAME`` when emulpickle
    comes from a clone that is still on disk; otherwise the path relative
    to a clone's root, ``pip install ./plugins/emulpickle-NAME``, said so.
    """
    directory = f"plugins/emulpickle-{name}"
    for root in _clone_roots():
        if (root / directory / "pyproject.toml").is_file():
            return f"pip install {shlex.quote(str(root / directory))}"
    return f"pip install ./{directory} (from a clone of the emulpickle repository)"
