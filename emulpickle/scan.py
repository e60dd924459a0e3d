"""Scan pickles without loading them: the public path of :mod:`emulpickle.scanner`.

This module is callable, so that every spelling works:

```python
import emulpickle
from emulpickle.scan import scan

emulpickle.scan(data)  # the module, called
emulpickle.scan.scan(data)  # the function
scan(data)
```

Calling the module calls :func:`scan` with the same arguments.
"""

from __future__ import annotations

import os
import sys
import types

from .registry import Registry
from .scanner import Finding, ScanReport, classify, scan

__all__ = ["Finding", "ScanReport", "classify", "scan"]


class _CallableModule(types.ModuleType):
    """This module's type: a module that, called, calls :func:`scan`."""

    def __call__(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        registry: Registry | None = None,
    ) -> ScanReport:
        """``scan(source, registry=registry)``."""
        return scan(source, registry=registry)


sys.modules[__name__].__class__ = _CallableModule
