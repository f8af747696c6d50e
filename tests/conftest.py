"""Fixtures shared by every test; each package's test data is in ``fixtures/`` (shared by
its tests and its CLI tests in ``cli/``)."""

from __future__ import annotations

import pytest
import torch

pytest_plugins = [
    "fixtures.eval",
    "fixtures.manifests",
    "fixtures.mulan",
    "fixtures.semantic",
    "fixtures.stages",
    "fixtures.tokenize",
]


@pytest.fixture(autouse=True)
def one_thread():
    """Debug models are too small to share between threads: on a loaded 2-core machine two
    threads made the codec training test 7-12x slower (spin-waiting) and toy trainer
    models ~100x; one thread is not."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
