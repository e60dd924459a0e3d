"""The unpickling machine: opcodes, the loop that runs them, and their semantics.

``opcodes`` is the one opcode table (shared with the disassembler and the
scanner's walkers); ``vm`` is the loop (compiled with mypyc where possible;
``selection`` picks the compiled module or its source, and this package
re-exports what it picked); ``semantics`` says what calling, instantiating and
BUILD mean for the objects a pickle makes, with ``standins`` the validated
stand-ins for builtin types (bounded by ``numbounds`` and ``textcodecs``);
``hashkeys`` refuses dict keys that would crash or stall hashing; ``context``
holds the limits of the load in progress; ``py2names`` maps Python 2 names;
``host`` is the typed seam to whoever runs the machine (an ``Unpickler``).

Imports flow one way: this package imports only the bottom layer
(``errors``, ``limits``, ``generic``, ``_render``) — never the registry,
the emulators, the unpickler, the scanner or the CLI, which all build on it.
"""

from __future__ import annotations

from .selection import Machine, Passthrough, compiled

__all__ = ["Machine", "Passthrough", "compiled"]
