"""Edges of search's term matching that mutation testing found untested
(issue #21, `make mutation MODULE=search/terms.py`): one name written with
other dashes, widths and spellings; Latin words joined two and three at a
time but not four; a thesaurus key inside a longer one (GC in GC-MS, CT in
PET/CT) not standing for its own kind; keys of up to four words, in a
record and in a query; one-letter words; the eight terms a query keeps;
and the weight each occurrence gives in the index. Through the search
service and the API, over instruments made by the factories."""
from __future__ import annotations

import sqlalchemy as sa

from instrument_share.extensions import db
from instrument_share.search.models import InstrumentTerm
from instrument_share.search.services import SearchFilters, search_instruments


def names(query: str) -> list[str]:
    found = search_instruments(SearchFilters(q=query, per_page=50))
    return sorted(instrument.name for instrument in found.items)


def thing(make, name: str, name_en: str = "", model: str = "", manufacturer: str = ""):
    """An instrument whose texts are only these (and its category and place)."""
    return make.instrument(name=name, name_en=name_en, model=model, manufacturer=manufacturer)


def weights(instrument) -> dict[str, int]:
    db.session.expire_all()
    return dict(db.session.execute(sa.select(InstrumentTerm.term, InstrumentTerm.weight)
                                   .where(InstrumentTerm.instrument_id == instrument.id)).all())


def test_a_model_with_an_en_dash_or_full_width_letters_is_found_typed_plainly(make, app_context):
    dashed = thing(make, "试验台甲", model="QX–7700")  # an en dash, as pasted from a brochure
    wide = thing(make, "试验台乙", model="ＫＷ７７００")
    for query in ("QX-7700", "qx7700", "QX 7700", "qx–7700", "QX7"):
        assert names(query) == [dashed.name], query
    for query in ("KW7700", "kw7700", "ＫＷ７７００"):
        assert names(query) == [wide.name], query


def test_analyser_and_analyzer_are_one_word(make, app_context):
    british = thing(make, "试验台丙", name_en="Quux analyser")
    american = thing(make, "试验台丁", name_en="Quux analyzer")
    both = sorted([british.name, american.name])
    assert names("analyser") == both
    assert names("analyzer") == both
    assert names("quux analyser") == both


def test_latin_words_are_indexed_joined_two_and_three_at_a_time_but_not_four(make, app_context):
    unit = thing(make, "试验台戊", model="Qa Qb Qc Qd")
    for query in ("qaqb", "qbqc", "qcqd", "qaqbqc", "qbqcqd", "QA-QB-QC", "qd"):
        assert names(query) == [unit.name], query
    assert names("qaqbqcqd") == []
    assert names("qaqc") == []
    terms = weights(unit)
    # Each word and each join once, with the model's weight (6); no join of four.
    assert {term: terms.get(term) for term in ("qa", "qb", "qc", "qd", "qaqb", "qbqc", "qcqd", "qaqbqc", "qbqcqd")} == {
        "qa": 6, "qb": 6, "qc": 6, "qd": 6, "qaqb": 6, "qbqc": 6, "qcqd": 6, "qaqbqc": 6, "qbqcqd": 6}
    assert "qaqbqcqd" not in terms


def test_a_word_counts_once_per_occurrence_in_the_index(make, app_context):
    unit = thing(make, "试验台己 QX7700", name_en="qx7700", model="QX7700")
    terms = weights(unit)
    # name 10 + name_en 6 + model 6: the Chinese cut adds no second Latin "qx7700".
    assert terms["qx7700"] == 22
    assert terms["试验台"] == terms["试验"] == 10  # jieba's search mode: the word and its parts, once each


def test_a_model_number_typed_to_its_full_length_of_a_hundred_letters_is_found(make, app_context):
    long_model = "Q" * 100
    unit = thing(make, "试验台庚", model=long_model)
    assert names(long_model) == [unit.name]
    assert names(long_model[:80]) == [unit.name]
    assert names("Q" * 79 + "Z") == []


def test_a_single_letter_matches_only_itself(make, app_context):
    lettered = thing(make, "试验台辛", model="Q 500")
    longer = thing(make, "试验台壬", model="QZ500")
    assert names("q") == [lettered.name]
    assert names("qz") == [longer.name]
    assert names("500") == [lettered.name]


def test_gc_inside_gc_ms_and_ct_inside_pet_ct_do_not_stand_for_their_own_kind(make, app_context):
    gc = thing(make, "气相色谱仪", name_en="gas chromatography system")
    gcms = thing(make, "气相色谱-质谱联用仪", model="GC-MS")
    petct = thing(make, "试验台癸", model="PET/CT")
    ct = thing(make, "工业CT", model="CT")
    assert names("气相色谱仪") == [gc.name]
    assert names("GC") == [gc.name]
    assert names("GC-MS") == [gcms.name]
    assert names("气质联用") == [gcms.name]
    assert names("CT") == [ct.name]
    assert names("PET/CT") == [petct.name]


def test_a_chinese_name_with_a_hyphen_is_its_kind_not_the_kind_before_the_hyphen(make, app_context):
    gcms = thing(make, "气相色谱-质谱联用仪")
    assert names("GC-MS") == [gcms.name]
    assert names("气相色谱仪") == []
    assert names("气相色谱·质谱联用仪") == [gcms.name]


def test_keys_of_four_words_in_a_record_and_in_a_query(make, app_context):
    english = thing(make, "试验台子", name_en="gas chromatography–mass spectrometry")
    chinese = thing(make, "气质联用仪")
    both = sorted([english.name, chinese.name])
    assert names("gas chromatography mass spectrometry") == both
    assert names("GAS CHROMATOGRAPHY–MASS SPECTROMETRY") == both
    assert names("GC-MS") == both
    # Two words of it are another kind's key (gas chromatography): not this one's.
    assert names("gas chromatography") == []


def test_a_query_searches_its_first_eight_terms(make, app_context):
    unit = thing(make, "试验台丑", model="Qa Qb Qc Qd Qe Qf Qg Qh")
    eight = "qa qb qc qd qe qf qg qh"
    assert names(eight) == [unit.name]
    assert names(eight + " nothinglikethis") == [unit.name]
    assert names("nothinglikethis " + eight) == []
    # The same word typed twice is one term: the ninth is still searched.
    assert names("qa qa qb qc qd qe qf qg nothinglikethis") == []


def test_a_query_of_punctuation_and_chinese_mixed_with_latin(make, app_context):
    unit = thing(make, "透射试验台", model="QX7700")
    assert names("QX7700透射") == [unit.name]
    assert names("，透射") == [unit.name]
    assert names("-- 透射 //") == [unit.name]
    assert names("透射，扫描") == []
    assert names("扫描，透射") == []


def test_a_key_of_three_words_is_found_before_a_fourth_word(make, app_context):
    sem = thing(make, "扫描电子显微镜", model="QX")  # no English name: only the concept meets the words
    assert names("scanning electron microscope qx") == [sem.name]
    assert names("qx scanning electron microscope") == [sem.name]
    assert names("scanning electron microscope qz") == []


def test_the_terms_nothing_matched_are_named_as_typed(make, app_context):
    thing(make, "试验台寅", model="QX7700")
    found = search_instruments(SearchFilters(q="Gas Chromatography QX7700 zzzqqq 锟斤拷"))
    assert found.items == [] and found.unmatched == ["gas chromatography", "zzzqqq", "锟", "斤", "拷"]
    assert search_instruments(SearchFilters(q="扫描电镜QX7700")).unmatched == ["扫描电镜"]
    assert search_instruments(SearchFilters(q="锟斤拷qx7700")).unmatched == ["锟", "斤", "拷"]
