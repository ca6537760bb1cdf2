"""Shared settings of the engine tests (the tiny model trained once per session is in tests/conftest.py)."""
from __future__ import annotations

import numpy as np
import pytest

# Tiny on purpose: the whole ml suite must run in about a minute on 2 shared cores.
TINY = dict(width=8, depth=3, batch=4, patch=64)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
