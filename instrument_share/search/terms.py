"""Text into search terms, the same way for an instrument's record and for a
query: normalise (NFKC, so ＳＥＭ is SEM; lower case), cut Chinese into words
with jieba (every thesaurus term is one of its words), keep Latin words and
numbers whole and also joined (`ICP-MS`, `ICP MS` and `ICPMS` all give
`icpms`; `D8 Advance` gives `d8advance`), and name the thesaurus entries a
text mentions as concept terms (`#sem`, with `#em` for its broader family),
so that 扫描电镜, SEM and scanning electron microscope meet in one term.
"""
from __future__ import annotations

import gc
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

THESAURUS_FILE = Path(__file__).with_name("thesaurus.yaml")
BRANDS_FILE = Path(__file__).with_name("brands.yaml")  # makers: 岛津 is Shimadzu
CONCEPT = "#"  # concept terms start with it; no word does
MAX_TERM = 80  # the terms table's column
_HAN = "\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_CJK = re.compile(f"[{_HAN}]")
# Words of other scripts (Latin, Greek, kana, Hangul …: Röntgen is one word)
# and numbers, with what may join them inside one name: "ICP-MS", "LC-MS/MS",
# "D8 Advance" (a space only between words of one run).
_WORD = f"(?:(?![{_HAN}])[^\\W_])+"
_LATIN_RUN = re.compile(f"{_WORD}(?:[-/+.·_|' ]{_WORD})*")
_LATIN_WORD = re.compile(_WORD)
# Joiners between Chinese characters are dropped before cutting: 液相色谱-质谱联用.
_CJK_JOINER = re.compile(f"(?<=[{_HAN}])[-·/ ]+(?=[{_HAN}])")
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63", "-"))
MOST_TERMS = 8  # a query's terms beyond these are not searched (each costs a pass over the index)
SHORTEST_PREFIX = 2  # a one-letter word matches only itself, not every word it begins
LONGEST_RUN = 4  # words of a Latin run tried together against the thesaurus
JOINED_WORDS = 3  # words of a Latin run also indexed joined up


@dataclass(frozen=True)
class Entry:
    """One kind of instrument of the thesaurus, or a maker (no category)."""

    id: str
    name: str
    name_en: str
    category: str
    broader: tuple[str, ...]
    terms: tuple[str, ...]

    @property
    def concept(self) -> str:
        return CONCEPT + self.id


def normalise(text: str) -> str:
    """Full-width to half-width, one case, Chinese joiners dropped, one
    spelling (the demo's records write "analyser", people type "analyzer")."""
    text = unicodedata.normalize("NFKC", text or "").lower().translate(_DASHES)
    return _CJK_JOINER.sub("", text).replace("analyser", "analyzer")


def compact(text: str) -> str:
    """A name without what people leave out: spaces, hyphens, dots, slashes."""
    return "".join(ch for ch in normalise(text) if ch.isalnum())


@dataclass(frozen=True)
class Thesaurus:
    entries: dict[str, Entry]
    by_key: dict[str, Entry]  # compact name, English name or term → entry

    def concepts(self, entry: Entry) -> list[str]:
        """The entry's concept and those of every broader entry, nearest first."""
        found, queue = [], [entry.id]
        while queue:
            ident = queue.pop(0)
            if CONCEPT + ident not in found:
                found.append(CONCEPT + ident)
                queue.extend(self.entries[ident].broader)
        return found


@cache
def thesaurus() -> Thesaurus:
    rows = []
    for path in (THESAURUS_FILE, BRANDS_FILE):
        with path.open(encoding="utf-8") as stream:
            rows += yaml.safe_load(stream)
    entries = {}
    for row in rows:
        entries[row["id"]] = Entry(row["id"], row["name"], row.get("name_en", ""), row.get("category", ""),
                                   tuple(row.get("broader", ())), tuple(str(t) for t in row.get("terms", ())))
    by_key: dict[str, Entry] = {}
    for entry in entries.values():
        for key in (entry.name, entry.name_en, *entry.terms):
            if compact(key):
                by_key.setdefault(compact(key), entry)
    return Thesaurus(entries, by_key)


@cache
def _segmenter():
    """jieba's tokenizer with every Chinese thesaurus key as a word, built
    once per process (about a second)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for key in thesaurus().by_key:
        if _CJK.search(key):  # X射线衍射仪 too: jieba keeps Latin letters in its words
            tokenizer.add_word(key, freq=100000)
    # The dictionary is some hundred thousand objects that live as long as
    # the process: out of the cyclic collector's sight (see create_app).
    gc.freeze()
    return tokenizer


def _inside(span: tuple[int, int], claimed: list[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end and span != (start, end) for start, end in claimed)


def _concepts(found: list[tuple[tuple[int, int], Entry]]) -> Iterator[str]:
    """The concepts of thesaurus keys found at these spans, except a key
    inside a longer one: 液相 in 液相色谱-质谱联用仪 is not a liquid
    chromatograph, GC in GC-MS not a gas chromatograph."""
    claimed = [span for span, _ in found]
    for span, entry in found:
        if not _inside(span, claimed):
            yield from thesaurus().concepts(entry)


def _latin_terms(run: str) -> Iterator[str]:
    """The words of a Latin run; two or three consecutive words joined up
    (`d8advance`, `jsmit800`: typed without the space or hyphen); and the
    concepts of the thesaurus keys among up to four consecutive words."""
    words = _LATIN_WORD.findall(run)
    yield from words
    by_key = thesaurus().by_key
    found = []
    for size in range(min(LONGEST_RUN, len(words)), 0, -1):
        for first in range(len(words) - size + 1):
            joined = "".join(words[first:first + size])
            if 1 < size <= JOINED_WORDS:
                yield joined[:MAX_TERM]
            entry = by_key.get(joined)
            if entry is not None:
                found.append(((first, first + size), entry))
    yield from _concepts(found)


def _chinese_terms(text: str) -> Iterator[str]:
    """Chinese words, cut finely (jieba's search mode: 扫描电子显微镜 also gives
    扫描, 电子, 显微镜), and the concepts of the thesaurus keys among them.
    The Latin letters stay in the text jieba cuts, so X射线衍射仪 is one word."""
    by_key = thesaurus().by_key
    found = []
    for word, start, end in _segmenter().tokenize(text, mode="search"):
        if _CJK.search(word):
            yield word[:MAX_TERM]
            entry = by_key.get(compact(word))
            if entry is not None:
                found.append(((start, end), entry))
    yield from _concepts(found)


def document_terms(text: str) -> Iterator[str]:
    """Every term of a record's text, repeated as often as it occurs."""
    text = normalise(text)
    for run in _LATIN_RUN.findall(text):
        yield from _latin_terms(run)
    yield from _chinese_terms(text)


@dataclass(frozen=True)
class QueryTerm:
    """One term of a query: what the person typed, and the terms of the index
    any one of which satisfies it (a concept, or a word; `prefix` also lets a
    longer word match, for model numbers typed in part)."""

    typed: str
    terms: tuple[str, ...]
    prefix: bool = False


def _word_terms(words: list[str]) -> Iterator[QueryTerm]:
    """Words typed outside a thesaurus key, split as records are: each must
    match, longer ones also as the start of a word (a model typed in part)."""
    for word in words:
        key = compact(word)[:MAX_TERM]
        if key:
            yield QueryTerm(word, (key,), prefix=len(key) >= SHORTEST_PREFIX)


def _chunk_terms(chunk: str) -> Iterator[QueryTerm]:
    by_key = thesaurus().by_key
    if not _CJK.search(chunk):
        words = _LATIN_WORD.findall(chunk)
        # "D8Advance" is one word; "D/MAX-2500/PC", "Perform'X" are words as records have them.
        yield from _word_terms(words)
        return
    for word in _segmenter().cut(chunk):
        key = compact(word)
        if not key:
            continue
        if key in by_key:
            yield QueryTerm(word, (by_key[key].concept,))
        elif _CJK.search(word):
            yield QueryTerm(word, (word[:MAX_TERM],))
        else:
            yield from _word_terms(_LATIN_WORD.findall(word))


def query_terms(query: str) -> list[QueryTerm]:
    """A query's terms; each must match. Thesaurus keys become their concept
    (exactly: "SEM" does not find "semi-anechoic"), the longest first, over
    up to four words ("scanning electron microscope"); other Latin words
    match as prefixes, other Chinese words exactly (records are cut finer
    than queries, so 显微镜 finds 扫描电子显微镜)."""
    found: list[QueryTerm] = []
    by_key = thesaurus().by_key
    chunks = [chunk for chunk in normalise(query).split() if compact(chunk)]
    at = 0
    while at < len(chunks):
        for size in range(min(LONGEST_RUN, len(chunks) - at), 0, -1):
            entry = by_key.get(compact("".join(chunks[at:at + size])))
            if entry is not None:
                found.append(QueryTerm(" ".join(chunks[at:at + size]), (entry.concept,)))
                at += size
                break
        else:
            found.extend(_chunk_terms(chunks[at]))
            at += 1
    unique: dict[tuple, QueryTerm] = {}
    for term in found:
        unique.setdefault((term.terms, term.prefix), term)
    return list(unique.values())[:MOST_TERMS]
