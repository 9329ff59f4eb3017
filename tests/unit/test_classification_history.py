"""Historised classification: a legal unit is classified as it was on 1 January of each year."""

import datetime as dt

import polars as pl

from observatory.classification import classify_operator_years, periods_in_force

D = dt.date

# One association that takes the ESS flag in mid-2015, becomes a SCIC in SAS form (5710, flag O)
# on 1 January 2019 and is renamed in 2021; a SAS without flag that INSEE flags O from 2018-03-01;
# a unit whose first period starts in 2016; a unit whose oldest period has no start date.
PERIODS = pl.DataFrame(
    {
        "siren": ["A", "A", "A", "A", "B", "B", "C", "D", "D"],
        "date_debut": [
            D(2008, 5, 1),
            D(2015, 6, 1),
            D(2019, 1, 1),
            D(2021, 9, 1),
            D(2011, 1, 1),
            D(2018, 3, 1),
            D(2016, 7, 1),
            None,
            D(2013, 1, 2),
        ],
        "date_fin": [D(2015, 5, 31), D(2018, 12, 31), D(2021, 8, 31), None, D(2018, 2, 28), None, None, D(2013, 1, 1), None],
        "categorie_juridique": ["9220", "9220", "5710", "5710", "5710", "5710", "5499", "7210", "7210"],
        "ess_flag": [None, "O", "O", "O", None, "O", None, None, None],
        "denomination": [
            "LES LOUPS",
            "LES LOUPS",
            "SCIC LES LOUPS",
            "LES LOUPS COOP",
            "CRECHE B",
            "CRECHE B",
            "SARL C",
            "COMMUNE D",
            "COMMUNE D",
        ],
    }
)
YEARS = list(range(2010, 2023))


def _by_year(df: pl.DataFrame, siren: str, *cols: str) -> dict[int, tuple]:
    return {r[0]: tuple(r[1:]) for r in df.filter(pl.col("siren") == siren).select("annee", *cols).rows()}


def test_classification_changes_with_the_period_in_force_on_1_january():
    out = classify_operator_years(PERIODS, YEARS)
    a = _by_year(out, "A", "categorie_juridique", "ess_flag", "operator_class", "rule")
    assert a[2015] == ("9220", None, "ess_association", "cj_statut_ess")
    assert a[2016] == ("9220", "O", "ess_association", "cj_statut_ess")
    assert a[2018] == ("9220", "O", "ess_association", "cj_statut_ess")
    # the change takes effect on 1 January 2019 itself
    # a SCIC in SAS form is a cooperative (art. 1 II 1°), not a II 2° ESS company, flag or no flag
    assert a[2019] == ("5710", "O", "ess_cooperative", "nom_cooperative")
    assert a[2022] == ("5710", "O", "ess_cooperative", "nom_cooperative")
    b = _by_year(out, "B", "ess_flag", "sector", "rule")
    assert b[2018] == (None, "lucratif", "cj_table")  # flag O only from 1 March 2018
    assert b[2019] == ("O", "ess", "ess_flag_o")


def test_name_in_force_is_used():
    out = classify_operator_years(PERIODS, YEARS)
    assert _by_year(out, "A", "denomination")[2021] == ("SCIC LES LOUPS",)
    assert _by_year(out, "A", "denomination")[2022] == ("LES LOUPS COOP",)


def test_year_before_the_first_period_uses_it_and_says_so():
    out = classify_operator_years(PERIODS, YEARS)
    c = _by_year(out, "C", "operator_class", "periode_en_vigueur", "periode_date_debut")
    assert c[2016] == ("lucratif", False, D(2016, 7, 1))
    assert c[2017] == ("lucratif", True, D(2016, 7, 1))
    assert {y for y, v in c.items() if v[1] is False} == set(range(2010, 2017))


def test_oldest_period_without_start_date_counts_as_since_ever():
    out = classify_operator_years(PERIODS, YEARS)
    d = _by_year(out, "D", "operator_class", "periode_en_vigueur", "periode_date_debut")
    assert d[2010] == ("public_commune", True, None)
    assert d[2013] == ("public_commune", True, None)  # the new period starts on 2 January
    assert d[2014] == ("public_commune", True, D(2013, 1, 2))


def test_unit_missing_from_sirene_is_indetermine_never_dropped():
    out = classify_operator_years(PERIODS, [2020], sirens=["A", "Z"])
    assert out.select("siren", "operator_class", "sector", "rule").rows() == [
        ("A", "ess_cooperative", "ess", "nom_cooperative"),
        ("Z", "indetermine", "indetermine", "unite_legale_absente"),
    ]


def test_one_row_per_unit_and_year_with_the_rules_version():
    out = classify_operator_years(PERIODS, YEARS)
    assert out.height == 4 * len(YEARS)
    assert out.select("siren", "annee").is_duplicated().sum() == 0
    assert out["rules_version"].n_unique() == 1 and out["rules_version"][0].startswith("2026.2+")


def test_rna_number_from_the_stock_applies_when_the_category_is_missing():
    periods = pl.DataFrame(
        {"siren": ["E"], "date_debut": [D(2012, 1, 1)], "categorie_juridique": [None], "ess_flag": [None], "denomination": ["X"]},
        schema_overrides={"categorie_juridique": pl.String, "ess_flag": pl.String},
    )
    assoc = pl.DataFrame({"siren": ["E"], "identifiant_association": ["W123456789"]})
    out = classify_operator_years(periods, [2014], associations=assoc)
    assert out.select("operator_class", "rule").row(0) == ("ess_association", "identifiant_rna")


def test_periods_in_force_picks_the_latest_start_on_or_before_the_date():
    chosen = periods_in_force(PERIODS, ["A"], [2019, 2020])
    assert chosen.select("annee", "periode_date_debut").rows() == [(2019, D(2019, 1, 1)), (2020, D(2019, 1, 1))]


def test_cooperative_series_does_not_break_the_year_the_flag_appears():
    """A SCIC SAS without flag until 2015 that INSEE flags O from 1 January 2016 (the flag's first
    year in the sample), and a SCOP SARL flagged N then O: ess_cooperative every year."""
    periods = pl.DataFrame(
        {
            "siren": ["S", "S", "P", "P"],
            "date_debut": [D(2012, 3, 1), D(2016, 1, 1), D(2011, 1, 1), D(2019, 1, 1)],
            "categorie_juridique": ["5710", "5710", "5499", "5499"],
            "ess_flag": [None, "O", "N", "O"],
            "denomination": ["SCIC LES P'TITS BOUTS", "SCIC LES P'TITS BOUTS", "Scop Crèche du Port", "Scop Crèche du Port"],
        }
    )
    out = classify_operator_years(periods, list(range(2013, 2021)))
    for siren in ("S", "P"):
        classes = _by_year(out, siren, "operator_class", "rule")
        assert set(classes.values()) == {("ess_cooperative", "nom_cooperative")}, (siren, classes)
    assert out.filter(pl.col("operator_class") == "ess_societe_commerciale").height == 0
