"""Run the Python examples of the documentation, page by page.

Every fenced ``python`` block of a page runs, in order, in one namespace per
page, so the examples users copy are known to work. Blocks fenced as ``py``
instead of ``python`` are illustrations that need files the reader has (a
model checkpoint, say) and are not run. A page whose examples need a library
that is not always installed says so in a ``<!-- needs: pandas sklearn -->``
comment; without it, that page is skipped.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
NEEDS = re.compile(r"<!-- needs: ([\w .]+) -->")


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = python_blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no python examples")
    for needs in NEEDS.findall(page.read_text(encoding="utf-8")):
        for module in needs.split():
            pytest.importorskip(module)
    monkeypatch.chdir(ROOT)
    # A real module, so that dataclasses and pickle can find the page's classes.
    module = types.ModuleType(f"docs_{page.stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for number, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{page.name}[block {number}]", "exec"), module.__dict__)
        except Exception as exc:
            raise AssertionError(
                f"example {number} of {page.name} failed: {exc!r}\n{code}"
            ) from exc


def test_some_pages_have_examples() -> None:
    assert sum(len(python_blocks(page)) for page in PAGES) >= 10
