"""The ``how`` fixture: each opcode test loads through ``loads``, ``load`` and
``Unpickler``.
"""

from __future__ import annotations

import pytest
from helpers.opcode_cases.common import LOADERS


@pytest.fixture(params=LOADERS)
def how(request: pytest.FixtureRequest) -> str:
    return str(request.param)
