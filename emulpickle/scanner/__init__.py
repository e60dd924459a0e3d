"""The static scanner: which globals could a pickle reach, and are they safe?

:func:`scan` reads a pickle file (or bytes) without building any object or
importing anything it names, and reports every global a loader could reach —
however it is spelled (GLOBAL, STACK_GLOBAL from any string opcode, memoized
or not, INST, OBJ on such a class, EXT1/2/4 through copyreg's registry) — in
every pickle of the input: stacked pickles, the legacy torch layout, every
member of a zip archive (torch.save, npz), object arrays in ``.npy`` files,
and joblib files (compressed or not) read as ``joblib.load`` reads them, past
the array data it finds in the stream. Frames are checked as the loader
checks them. An input that loaders read in more than one way (a pickle with
a zip behind it, a tar whose first header is a pickle) is scanned every
way: the pickle at offset 0, every zip found by its end record, a tar at
offset 0.

Besides globals it reports what else makes a loader run or read what it
should not: a BUILD whose state sets an emulation-protocol method or a
dunder name (or whose names are made at load time), and links or special
files in a tar archive (torch's tar loader extracts and opens them).

The verdict is an allowlist: a global is ``"safe"`` when the registry (by
default the curated default registry plus the installed first-party numpy and
torch plugins) answers it, ``"dangerous"`` when it reaches process,
filesystem, network, import or code-evaluation machinery, or a nested loader,
or when its name is computed at load time, and ``"unknown"`` otherwise. A
report is :attr:`~ScanReport.clean` only when every finding is safe and the
input could be read to the end: an archive nested too deep, a member that
cannot be read or inflated, a central directory holding more (or fewer)
entries than it lists make it unclean, with an error saying why.

Modules, from the entry point down:

* ``targets``: what a scan of paths covers (directories, symlinks, sharded
  checkpoints); ``filescan``: one target scanned, its format named, hashed.
* ``readings``: :func:`scan`, and every reading of one input a loader makes.
* ``containers``: zip and tar archives, ``.npy`` images, compressed files;
  ``sevenzip``: 7z archives.
* ``torchtar``: the records of the oldest (tar) ``torch.save`` format.
* ``streams``: stacked pickles, read plainly and as ``joblib.load`` does.
* ``walk``: the opcode walker (compiled with mypyc); ``joblib``: the walker
  that also skips joblib's array data.
* ``layout``: where the readings lie (zip end records, tar links).
* ``collector``: findings merged by name, errors, the inflation budget.
* ``policy``: the verdicts; ``report``: :class:`Finding`, :class:`ScanReport`.

The scanner imports the unpickler, the registry, the shared format readers
and the opcode table, never the command line.
"""

from __future__ import annotations

from .policy import classify
from .readings import scan
from .report import Finding, ScanReport

__all__ = ["Finding", "ScanReport", "classify", "scan"]
