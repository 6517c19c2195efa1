"""Completions for the search box (API.md: GET /api/v1/instruments/suggest):
thesaurus terms first (扫描电镜 → 扫描电子显微镜), then categories, then
instruments whose name, model or maker starts with what was typed."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

from ..catalogue.models import Category, Instrument
from ..extensions import db
from .models import InstrumentTerm
from .terms import SHORTEST_PREFIX, Entry, compact, normalise, thesaurus

MOST = 10
MOST_TERMS = 5
MOST_CATEGORIES = 2


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # "term", "category" or "instrument"
    id: int | str | None = None  # the instrument's id, the category's code, the entry's id
    name: str | None = None  # a term's full name


@cache
def _words() -> list[tuple[str, str, Entry]]:
    """Every name and term of the thesaurus, compacted once per process."""
    return [(compact(word), word, entry) for entry in thesaurus().entries.values()
            for word in (*entry.terms, entry.name) if compact(word)]


def _terms(typed: str) -> list[Suggestion]:
    """Thesaurus terms that start with (then contain) what was typed, the
    kinds the catalogue holds most of first, one term per kind."""
    key = compact(typed)
    candidates = [(not compacted.startswith(key), len(word), word, entry)
                  for compacted, word, entry in _words() if key in compacted]
    held = dict(db.session.execute(
        sa.select(InstrumentTerm.term, sa.func.count())
        .where(InstrumentTerm.term.in_({entry.concept for *_, entry in candidates}))
        .group_by(InstrumentTerm.term)).all()) if candidates else {}
    found, seen = [], set()
    for *_, word, entry in sorted(candidates, key=lambda c: (c[0], -held.get(c[3].concept, 0), c[1], c[2])):
        if entry.id not in seen:
            seen.add(entry.id)
            found.append(Suggestion(word, "term", entry.id, entry.name))
    return found[:MOST_TERMS]


def _categories(typed: str) -> list[Suggestion]:
    rows = db.session.scalars(
        sa.select(Category).where(sa.or_(Category.name.contains(typed, autoescape=True),
                                         sa.func.lower(Category.name_en).contains(typed, autoescape=True)))
        .order_by(Category.sort_order).limit(MOST_CATEGORIES))
    return [Suggestion(category.name, "category", category.code) for category in rows]


def _instruments(typed: str, most: int) -> list[Suggestion]:
    key = compact(typed)
    if len(key) < SHORTEST_PREFIX or most <= 0:  # one letter would walk most of the index
        return []
    upper = key[:-1] + chr(ord(key[-1]) + 1)
    # The first rows of the term range, from the name, model and maker (their
    # weights are 5 and more): a few hundred rows, not every description
    # that mentions the word.
    near = (sa.select(InstrumentTerm.instrument_id)
            .where(InstrumentTerm.term >= key, InstrumentTerm.term < upper, InstrumentTerm.weight >= 5)
            .limit(most * 20))
    rows = db.session.execute(
        sa.select(Instrument.id, Instrument.name, Instrument.model)
        .where(Instrument.id.in_(near)).order_by(Instrument.name, Instrument.model).limit(most * 5)).all()
    found, seen = [], set()
    for instrument_id, name, model in rows:
        text = f"{name} {model}".strip()
        if text not in seen:
            seen.add(text)
            found.append(Suggestion(text, "instrument", instrument_id))
    return found[:most]


def near_misses(unmatched: list[str], query: str = "", most: int = 6) -> list[Suggestion]:
    """For terms that matched nothing: the thesaurus terms nearest to each,
    or to the whole query (a prefix, a part, or a close spelling: 扫苗电镜 →
    扫描电镜), and the categories those kinds belong to, so that no result
    is a dead end."""
    keys = {compacted: (word, entry) for compacted, word, entry in _words()}
    found: list[Suggestion] = []
    for typed in (*unmatched, query):
        key = compact(typed)
        if not key:
            continue
        close = [k for k in keys if k.startswith(key) or (len(key) > 1 and key in k)][:3]
        close += difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
        for k in close:
            word, entry = keys[k]
            found.append(Suggestion(word, "term", entry.id, entry.name))
    categories = {entry.category for entry in (thesaurus().entries[s.id] for s in found) if entry.category}
    found += [Suggestion(category.name, "category", category.code)
              for category in db.session.scalars(sa.select(Category).where(Category.code.in_(categories)))]
    unique = {(s.kind, s.id): s for s in reversed(found)}
    return list(reversed(unique.values()))[:most]


def suggest(typed: str) -> list[Suggestion]:
    """Up to ten completions of what was typed (nothing for blank text)."""
    # Control characters count as spaces, as in the search (PostgreSQL refuses a NUL).
    typed = normalise("".join(ch if ch.isprintable() else " " for ch in typed)).strip()[:50]
    if not compact(typed):
        return []
    found = _terms(typed) + _categories(typed)
    return found + _instruments(typed, MOST - len(found))
