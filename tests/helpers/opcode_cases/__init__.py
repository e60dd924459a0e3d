"""Hand-written pickles, one module per opcode family, and the tables they make.

``VALID`` pickles are loaded by CPython and by emulpickle and must give the
same result; the invalid ones must be refused by both: ``BAD_STACK`` (empty
stack, wrong operand types), ``BAD_MARK`` (MARK missing), ``TRUNCATED``
(argument cut short, no STOP: ``TruncatedError``) and ``MALFORMED``
(malformed arguments and other refusals). Each table here joins the
families' rows, so a test can check that every opcode has a valid case.
"""

from __future__ import annotations

from typing import Any

from . import calls, containers, hooks, memo, protocol, scalars, strings

VALID: list[Any] = [
    *protocol.VALID,
    *scalars.VALID,
    *strings.VALID,
    *containers.VALID,
    *memo.VALID,
    *calls.VALID,
    *hooks.VALID,
]
BAD_STACK: list[Any] = [
    *protocol.BAD_STACK,
    *containers.BAD_STACK,
    *memo.BAD_STACK,
    *calls.BAD_STACK,
    *hooks.BAD_STACK,
]
BAD_MARK: list[Any] = [*containers.BAD_MARK, *calls.BAD_MARK]
TRUNCATED: list[Any] = [
    *protocol.TRUNCATED,
    *scalars.TRUNCATED,
    *strings.TRUNCATED,
    *memo.TRUNCATED,
    *calls.TRUNCATED,
    *hooks.TRUNCATED,
]
MALFORMED: list[Any] = [
    *protocol.MALFORMED,
    *scalars.MALFORMED,
    *strings.MALFORMED,
    *memo.MALFORMED,
    *calls.MALFORMED,
    *hooks.MALFORMED,
]
