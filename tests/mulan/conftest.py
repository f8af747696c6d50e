"""A debug MuLan for each test (the corpus is ``fixtures.mulan.mulan_corpus``)."""

from __future__ import annotations

import pytest

from fixtures.mulan import make
from musiclm.mulan.model import MuLan


@pytest.fixture
def mulan() -> MuLan:
    return make()
