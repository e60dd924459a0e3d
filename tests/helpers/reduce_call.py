"""``Call(func, *args)``: a value that pickles as ``func(*args)`` (REDUCE).

Lets a test write the pickle a hostile file would contain with the real
pickler: ``pickle.dumps(Call(int, Call(Decimal, "1e2000000")))``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Call"]


class Call:
    """Pickles as ``func(*args)``; ``func`` must be a global the pickler can name."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args
