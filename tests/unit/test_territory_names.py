"""Repair of names where a source replaced characters by '?' (assets/territory/names.py)."""

import polars as pl

from assets.territory.names import SUBSTITUTION, repair_one, repair_question_marks


def test_a_question_mark_takes_the_character_another_file_has_there():
    assert repair_one("CC du Val d'Arly ? Com'Arly", ["CC du Val d'Arly - Com'arly"]) == ("CC du Val d'Arly - Com'Arly", 0)
    # spaces, dashes and accents may differ in the other file; the damaged name keeps its own spelling
    assert repair_one("CC d'Evaux-les-Bains ? Chambon-sur-Voueize", ["CC d'Evaux les Bains - Chambon Sur Voueize"])[0] == (
        "CC d'Evaux-les-Bains - Chambon-sur-Voueize"
    )
    assert repair_one("CC Terre d?Emeraude Communauté", ["CC Terre d'Émeraude Communauté"])[0] == "CC Terre d'Emeraude Communauté"
    assert repair_one("CC Castillon ? Pujols", ["CC Castillon/Pujols"])[0] == "CC Castillon / Pujols"


def test_an_unrelated_or_damaged_candidate_is_not_used():
    assert repair_one(
        "CC Gartempe ? Saint-Pardoux", ["CC Creuse Sud Ouest", "CC Gartempe ? Saint Pardoux", "CC Gartempe - Saint Pardoux"]
    ) == ("CC Gartempe - Saint-Pardoux", 2)


def test_no_candidate_gives_the_substitution():
    assert repair_one("CA Golfe du Morbihan ? Vannes", ["Golfe du Morbihan - Vannes agglomération"]) == (
        "CA Golfe du Morbihan - Vannes",
        None,
    )
    assert repair_one("CC Terre d?Emeraude", []) == ("CC Terre d'Emeraude", None)


def test_frame_repair_prefers_the_same_year_and_records_the_source():
    names = pl.DataFrame({"annee": [2017, 2017, 2018], "epci_siren": ["A", "B", "A"], "epci_nom": ["CC X ? Y", "CC Z", None]})
    candidates = pl.DataFrame(
        {
            "annee": [2016, 2017, 2017],
            "epci_siren": ["A", "A", "A"],
            "epci_nom": ["CC X/Y", "CC X - Y", "CC X ? Y"],
            "source": ["stg.epci", "stg.dgcl_epci_membership", "stg.epci"],
        }
    )
    out = repair_question_marks(names, candidates)
    assert out.rows() == [
        (2017, "A", "CC X - Y", "CC X ? Y", "stg.dgcl_epci_membership 2017: CC X - Y"),
        (2017, "B", "CC Z", "CC Z", None),
        (2018, "A", None, None, None),
    ]
    assert SUBSTITUTION == "substitution"
