"""The first-party plugins, as the command line reaches them.

The CLI uses only the plugins' public APIs (``emulpickle_torch.load`` and
:mod:`emulpickle_torch.cli_support`), imported here when installed; without
a plugin, the commands that need it say how to install it, with a command
that works as written (:func:`emulpickle.files.install_command`).
"""

from __future__ import annotations

import functools
from types import ModuleType

import emulpickle
from emulpickle.files import install_command, plugin_versions

from .output import CliError

__all__ = ["registry", "require_torch", "torch_support", "version_line"]


def registry() -> emulpickle.Registry:
    """The default registry plus the installed first-party plugins."""
    from emulpickle.defaults import first_party_registry

    return first_party_registry()


@functools.cache
def torch_support() -> ModuleType | None:
    """:mod:`emulpickle_torch.cli_support`, or None without the plugin."""
    try:
        from emulpickle_torch import cli_support
    except ImportError:
        return None
    return cli_support


def require_torch(what: str) -> tuple[ModuleType, ModuleType]:
    """``emulpickle_torch`` and its ``cli_support``; a :class:`CliError`
    saying how to install the plugin when it is not installed (``what``
    says what needs it)."""
    support = torch_support()
    if support is None:
        raise CliError(
            f"{what} needs the emulpickle-torch plugin: {install_command('torch')}"
        )
    import emulpickle_torch

    return emulpickle_torch, support


def version_line() -> str:
    """``emulpickle X.Y.Z (plugins: numpy A.B.C, torch ...)``: what
    ``emulpickle --version`` prints."""
    plugins = ", ".join(f"{name} {v}" for name, v in plugin_versions().items())
    return f"emulpickle {emulpickle.__version__} (plugins: {plugins or 'none'})"
