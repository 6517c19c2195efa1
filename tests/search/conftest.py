"""What every search test starts from."""
from __future__ import annotations

import pytest

from instrument_share.search.index import _terms_of_text


@pytest.fixture(autouse=True)
def _no_cached_terms():
    """Each test cuts its own texts. The process's cache of cut texts, filled
    by an earlier test, hid a change to how texts are cut: mutmut runs the
    clean tests, then forks each mutant from that process, and 31 mutants of
    search/terms.py survived on the cache (issue #21)."""
    _terms_of_text.cache_clear()
