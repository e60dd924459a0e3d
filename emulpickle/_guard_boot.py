"""Installs the guard from ``EMULPICKLE_GUARD="MODE:MANIFEST"`` at start-up.

The ``emulpickle_guard.pth`` file the package installs imports this module
at interpreter start-up, before any library, and only when the variable is
set (so an interpreter without it imports nothing of emulpickle). ``MODE`` is
``strict``, ``emulate`` or ``audit``; ``MANIFEST`` is the lock file's path
(everything after the first ``:``; empty pins nothing).

A value that cannot be honoured (an unknown mode, a manifest that cannot be
read) stops the interpreter with a message on stderr and exit status 2:
whoever set the variable asked for a guard, and running without one would
fail open.
"""

from __future__ import annotations

import os
import sys

#: The variable read, and the exit status of a refused start.
VARIABLE = "EMULPICKLE_GUARD"
EXIT_STATUS = 2


def activate(value: str) -> None:
    """Install the guard ``value`` describes, or stop the interpreter."""
    mode, sep, manifest = value.partition(":")
    mode = mode.strip().lower()
    try:
        if not sep or mode not in ("strict", "emulate", "audit"):
            raise ValueError(
                "expected MODE:MANIFEST with MODE one of strict, emulate, audit "
                "(e.g. strict:/srv/app/pickles.lock)"
            )
        from emulpickle.guard import install_guard

        install_guard(manifest or None, mode)  # type: ignore[arg-type]
    except Exception as exc:
        sys.stderr.write(
            f"emulpickle: {VARIABLE}={value!r} cannot be honoured: {exc}; "
            "refusing to start without the guard it asks for\n"
        )
        sys.stderr.flush()
        os._exit(EXIT_STATUS)


_value = os.environ.get(VARIABLE, "")
if _value:
    activate(_value)
