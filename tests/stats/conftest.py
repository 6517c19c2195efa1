"""What every statistics test starts from."""
from __future__ import annotations

import pytest

from instrument_share.stats import overview


@pytest.fixture(autouse=True)
def _statements_built_afresh():
    """Each test builds the dashboard's statement itself, not one built
    (lru_cache, a process's life) by an earlier test asking for the same
    days: mutmut runs a mutant of overview._statement or _per_instrument only
    against the tests it saw call them, and a test served from the cache
    calls neither (three survivors of stats/overview.py were that; issue #21)."""
    overview._built.cache_clear()
