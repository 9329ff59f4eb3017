"""Operator classification: every class and rule on hand-made legal units, the real SIRENE units of
tests/fixtures/sirene, overrides, unknown codes, and the invariants of the reference tables."""

import shutil
import warnings
from pathlib import Path

import duckdb
import polars as pl
import pytest

from observatory.classification import (
    REFERENCE_DIR,
    ReferenceError,
    UnknownLegalCategoryWarning,
    classify_operators,
    load_overrides,
    load_rules,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "sirene" / "ul_ess_numerique_sample.csv"

# (case, CJ, ESS flag, name, RNA id, expected class, expected sector, expected rule)
CASES = [
    ("commune", "7210", None, "COMMUNE DE LYON", None, "public_commune", "public", "cj_public"),
    ("commune flagged O: public never ESS", "7210", "O", "COMMUNE DE X", None, "public_commune", "public", "cj_public"),
    ("commune deleguee", "7312", None, "COMMUNE DELEGUEE", None, "public_commune", "public", "cj_public"),
    ("communaute de communes", "7346", None, "CC DU PAYS", None, "public_intercommunal", "public", "cj_public"),
    ("communaute d'agglomeration", "7348", None, "CA X", None, "public_intercommunal", "public", "cj_public"),
    ("SIVU", "7353", None, "SIVU PETITE ENFANCE", None, "public_intercommunal", "public", "cj_public"),
    ("CCAS", "7361", None, "CCAS DE NANTES", None, "public_ccas", "public", "cj_public"),
    ("CIAS", "7367", None, "CIAS", None, "public_ccas", "public", "cj_public"),
    ("hopital", "7364", None, "CENTRE HOSPITALIER", None, "public_hopital", "public", "cj_public"),
    ("departement", "7220", None, "DEPARTEMENT DE LA SEINE SAINT DENIS", None, "public_autre", "public", "cj_public"),
    ("CAF 8110", "8110", None, "CAISSE D'ALLOCATIONS FAMILIALES", None, "public_autre", "public", "cj_public"),
    ("SEM flagged O stays public", "5515", "O", "SEM PETITE ENFANCE", None, "public_autre", "public", "cj_public"),
    ("GIP flagged O stays public", "7410", "O", "GIP", None, "public_autre", "public", "cj_public"),
    ("association, flag N: ESS by status", "9220", "N", "LES P'TITS LOUPS", None, "ess_association", "ess", "cj_statut_ess"),
    ("association droit local", "9260", None, "VEREIN", None, "ess_association", "ess", "cj_statut_ess"),
    ("association RUP", "9230", "O", "ASSOCIATION", None, "ess_association", "ess", "cj_statut_ess"),
    ("association named like a group", "9220", None, "LES PETITES CANAILLES", None, "ess_association", "ess", "cj_statut_ess"),
    ("SCOP SARL", "5458", None, "SCOP", None, "ess_cooperative", "ess", "cj_statut_ess"),
    ("SA cooperative", "5560", None, "X", None, "ess_cooperative", "ess", "cj_statut_ess"),
    ("mutuelle", "8210", None, "MUTUALITE FRANCAISE", None, "ess_mutuelle", "ess", "cj_statut_ess"),
    ("fondation", "9300", None, "FONDATION", None, "ess_fondation", "ess", "cj_statut_ess"),
    ("SAS flagged O", "5710", "O", "TEAM MOVE", None, "ess_societe_commerciale", "ess", "ess_flag_o"),
    ("SARL flagged O", "5499", "O", "X", None, "ess_societe_commerciale", "ess", "ess_flag_o"),
    ("flag in lower case", "5710", "o", "X", None, "ess_societe_commerciale", "ess", "ess_flag_o"),
    (
        "SAS flagged O named like a group: the flag wins",
        "5710",
        "O",
        "LA MAISON BLEUE",
        None,
        "ess_societe_commerciale",
        "ess",
        "ess_flag_o",
    ),
    ("SAS, flag null, SCIC in the name", "5710", None, "SCIC LES P'TITS BOUTS", None, "ess_cooperative", "ess", "nom_cooperative"),
    (
        "SARL, flag null, cooperative in the name",
        "5499",
        None,
        "Crèche coopérative du Val",
        None,
        "ess_cooperative",
        "ess",
        "nom_cooperative",
    ),
    (
        "SCIC SAS flagged O: a cooperative, not an ESS company",
        "5710",
        "O",
        "SCIC LES P'TITS BOUTS",
        None,
        "ess_cooperative",
        "ess",
        "nom_cooperative",
    ),
    ("SCOP SARL flagged O", "5499", "O", "SCOP CRECHE DU PORT", None, "ess_cooperative", "ess", "nom_cooperative"),
    (
        "cooperative SA, plain SA code, flag N: the name wins",
        "5599",
        "N",
        "SOCIETE COOPERATIVE PETITE ENFANCE",
        None,
        "ess_cooperative",
        "ess",
        "nom_cooperative",
    ),
    (
        "SAS, flag N, SCIC in the name: still a cooperative",
        "5710",
        "N",
        "SCIC LES P'TITS BOUTS",
        None,
        "ess_cooperative",
        "ess",
        "nom_cooperative",
    ),
    ("SCOPE is not SCOP", "5710", None, "SCOPE CRECHES", None, "lucratif", "lucratif", "cj_table"),
    ("People&Baby", "5710", None, "PEOPLE&BABY", None, "lucratif", "lucratif", "nom_groupe_lucratif"),
    ("People and Baby", "5710", "N", "People and Baby", None, "lucratif", "lucratif", "nom_groupe_lucratif"),
    ("Babilou (Evancia)", "5710", None, "EVANCIA", None, "lucratif", "lucratif", "nom_groupe_lucratif"),
    ("Les Petits Chaperons Rouges", "5710", None, "LES PETITS CHAPERONS ROUGES", None, "lucratif", "lucratif", "nom_groupe_lucratif"),
    ("Creche Attitude", "5499", None, "CRÈCHE ATTITUDE", None, "lucratif", "lucratif", "nom_groupe_lucratif"),
    ("plain SAS", "5710", None, "MICRO-CRECHE LES LUTINS", None, "lucratif", "lucratif", "cj_table"),
    ("SAS unipersonnelle", "5720", None, "X", None, "lucratif", "lucratif", "cj_table"),
    ("individual entrepreneur", "1000", None, None, None, "lucratif", "lucratif", "cj_table"),
    ("retired individual code", "1300", None, None, None, "lucratif", "lucratif", "cj_table"),
    ("works council (CSE) flagged O", "8311", "O", "CSE AIRBUS", None, "prive_non_lucratif_hors_ess", "autre_prive", "cj_table"),
    ("comite central d'entreprise", "8310", None, "CCE", None, "prive_non_lucratif_hors_ess", "autre_prive", "cj_table"),
    ("association non declaree", "9210", None, "X", None, "prive_non_lucratif_hors_ess", "autre_prive", "cj_table"),
    ("other private legal person flagged O", "9900", "O", "X", None, "ess_autre", "ess", "ess_flag_o"),
    ("other private legal person, cooperative name", "9900", None, "AROS COOPERATIVE", None, "ess_cooperative", "ess", "nom_cooperative"),
    ("other private legal person", "9900", None, "X", None, "prive_non_lucratif_hors_ess", "autre_prive", "cj_table"),
    ("no CJ but an RNA number", None, None, "X", "W751234567", "ess_association", "ess", "identifiant_rna"),
    ("no CJ", None, "O", "X", None, "indetermine", "indetermine", "cj_absente"),
    ("blank CJ", "  ", None, "X", None, "indetermine", "indetermine", "cj_absente"),
]


def _frame(rows):
    return pl.DataFrame(
        {
            "siren": [f"{i:09d}" for i in range(len(rows))],
            "categorieJuridiqueUniteLegale": [r[1] for r in rows],
            "economieSocialeSolidaireUniteLegale": [r[2] for r in rows],
            "denominationUniteLegale": [r[3] for r in rows],
            "identifiantAssociationUniteLegale": [r[4] for r in rows],
        },
        schema={
            "siren": pl.String,
            "categorieJuridiqueUniteLegale": pl.String,
            "economieSocialeSolidaireUniteLegale": pl.String,
            "denominationUniteLegale": pl.String,
            "identifiantAssociationUniteLegale": pl.String,
        },
    )


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_case(case):
    out = classify_operators(_frame([case]))
    got = out.select("operator_class", "sector", "rule").row(0)
    assert got == case[5:], case[0]


def test_all_cases_in_one_frame_keep_order_and_columns():
    df = _frame(CASES)
    out = classify_operators(df)
    assert out.columns == df.columns + ["operator_class", "sector", "rule"]
    assert out["siren"].to_list() == df["siren"].to_list()
    assert out.select("operator_class", "sector", "rule").rows() == [c[5:] for c in CASES]


def test_every_class_and_sector_is_covered_by_the_cases():
    rules = load_rules()
    expected = {c[5] for c in CASES}
    assert set(rules.class_names) - {"indetermine"} <= expected
    assert {c[6] for c in CASES} == {"public", "ess", "lucratif", "autre_prive", "indetermine"}


def test_integer_legal_category_as_in_the_stock_parquet():
    df = pl.DataFrame(
        {
            "siren": ["1", "2", "3"],
            "categorieJuridiqueUniteLegale": [9220, 5710, 1000],
            "economieSocialeSolidaireUniteLegale": [None, "O", None],
            "denominationUniteLegale": ["A", "B", None],
        }
    )
    out = classify_operators(df)
    assert out["operator_class"].to_list() == ["ess_association", "ess_societe_commerciale", "lucratif"]
    assert out["categorieJuridiqueUniteLegale"].dtype == pl.Int64  # input columns untouched


def test_unknown_legal_category_warns_and_never_crashes():
    df = _frame([("x", "9999", None, "X", None), ("y", "ABCD", "O", "Y", None), ("z", "9220", None, "Z", None)])
    with pytest.warns(UnknownLegalCategoryWarning, match=r"2 legal unit\(s\).*'9999'"):
        out = classify_operators(df)
    assert out.select("operator_class", "rule").rows() == [
        ("indetermine", "cj_inconnue"),
        ("indetermine", "cj_inconnue"),
        ("ess_association", "cj_statut_ess"),
    ]


def test_unexpected_flag_value_is_read_as_unknown_with_a_warning():
    df = _frame([("x", "5710", "X", "SCIC Z", None)])
    with pytest.warns(UserWarning, match="not O/N"):
        out = classify_operators(df)
    assert out.select("operator_class", "rule").row(0) == ("ess_cooperative", "nom_cooperative")


def test_missing_column_is_named():
    df = _frame(CASES[:1]).drop("economieSocialeSolidaireUniteLegale")
    with pytest.raises(ValueError, match="economieSocialeSolidaireUniteLegale"):
        classify_operators(df)


def _rules_with_overrides(tmp_path, text):
    path = tmp_path / "overrides.csv"
    path.write_text(text, encoding="utf-8")
    return load_rules(overrides_path=path)


def test_override_always_wins_and_says_so(tmp_path):
    rules = _rules_with_overrides(
        tmp_path,
        "siren,operator_class,reason,source\n"
        "000000000,lucratif,association paravent d'un groupe,enquête terrain 2025\n"
        "000000001,ess_cooperative,SCIC agréée,liste CRESS\n",
    )
    df = _frame([("assoc", "9220", "O", "X", None), ("sas", "5710", "N", "X", None), ("other", "5710", None, "X", None)])
    out = classify_operators(df, rules)
    assert out.select("operator_class", "sector", "rule").rows() == [
        ("lucratif", "lucratif", "override"),
        ("ess_cooperative", "ess", "override"),
        ("lucratif", "lucratif", "cj_table"),
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("siren,operator_class,reason,source\n12345,lucratif,r,s\n", r"line 2: siren '12345' is not 9 digits"),
        ("siren,operator_class,reason,source\n123456789,commercial,r,s\n", r"line 2: operator_class 'commercial' not one of"),
        ("siren,operator_class,reason,source\n123456789,lucratif,,s\n", r"line 2: reason is empty"),
        ("siren,operator_class,reason,source\n123456789,lucratif,a,s\n123456789,ess_association,b,s\n", r"listed more than once"),
        ("siren,class,reason,source\n", r"columns \['siren', 'class', 'reason', 'source'\], expected"),
    ],
)
def test_bad_overrides_file_names_file_line_and_column(tmp_path, text, message):
    path = tmp_path / "operator_overrides.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceError, match=message) as err:
        load_overrides(path, load_rules().class_names)
    assert str(path) in str(err.value)


def test_rules_table_refuses_a_public_category_that_could_become_ess(tmp_path):
    ref = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, ref)
    cj = ref / "categories_juridiques_operateurs.csv"
    text = cj.read_text(encoding="utf-8").replace(
        "7210,Commune et commune nouvelle,public_commune,,", "7210,Commune et commune nouvelle,public_commune,ess_autre,"
    )
    cj.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceError, match=r"public categories cannot become ESS: \['7210'\]"):
        load_rules(ref)


def test_rules_version_changes_with_the_tables(tmp_path):
    ref = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, ref)
    before = load_rules(ref).version
    groups = ref / "groupes_lucratifs.csv"
    groups.write_text(groups.read_text(encoding="utf-8") + "Exemple,\\bEXEMPLE SAS\\b,test\n", encoding="utf-8")
    after = load_rules(ref).version
    assert before.split("+")[0] == after.split("+")[0] and before != after


def test_every_legal_category_of_the_insee_nomenclature_has_a_rule():
    codes = {
        r[0]
        for r in duckdb.sql(f"select code_cj from '{REPO}/data/raw/nomenclatures/embedded/categories_juridiques_niv3.parquet'").fetchall()
    }
    ruled = set(load_rules().legal_categories["categorie_juridique"].to_list())
    assert len(codes) == 260
    assert codes - ruled == set()
    # retired codes still found in SIRENE (SCHEMAS §7) are mapped explicitly too
    assert {"1100", "1900", "5498", "5720", "6588", "6412", "6414", "7130", "7510", "7520"} <= ruled


def test_public_categories_are_never_ess_in_the_table():
    rules = load_rules()
    table = rules.legal_categories.join(rules.classes, on="operator_class")
    public = table.filter(pl.col("sector") == "public")
    # every public-law category (levels I 4 and 7) and every social-security body (81xx) is public
    public_law = table.filter(pl.col("categorie_juridique").str.contains(r"^(4|7|81)"))
    assert public_law.height == 79 and set(public_law["sector"].to_list()) == {"public"}
    assert public["classe_si_ess_o"].null_count() == public.height
    # every row cites its legal basis
    assert rules.legal_categories["base_legale"].null_count() == 0


# --- the real SIRENE legal units of tests/fixtures/sirene ----------------------------------------


@pytest.fixture(scope="module")
def real_units():
    df = pl.read_csv(FIXTURE, infer_schema=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unknown code among real units
        return classify_operators(df)


def test_real_units_flagged_ess_by_insee_come_out_ess(real_units):
    flagged = real_units.filter(pl.col("source_file") == "04_ess_flag_insee.csv")
    assert flagged.height == 388
    assert flagged["economieSocialeSolidaireUniteLegale"].unique().to_list() == ["O"]
    not_ess = flagged.filter(pl.col("sector") != "ess")
    # the only exception is a public body (GIP, 7410): public is never ESS
    assert not_ess.select("categorieJuridiqueUniteLegale", "operator_class", "rule").rows() == [("7410", "public_autre", "cj_public")]


@pytest.mark.parametrize("cj", ["5710", "5499", "5306", "5599", "5699", "3120"])
def test_real_commercial_companies_flagged_o_are_ess_companies(real_units, cj):
    rows = real_units.filter((pl.col("source_file") == "04_ess_flag_insee.csv") & (pl.col("categorieJuridiqueUniteLegale") == cj))
    assert rows.height >= 1
    companies = rows.filter(~pl.col("denominationUniteLegale").str.contains(r"(?i)\bCOOP"))
    assert set(companies.select("operator_class", "rule").rows()) == {("ess_societe_commerciale", "ess_flag_o")}


def test_real_cooperatives_in_commercial_form_flagged_o_are_cooperatives(real_units):
    """Two real INSEE-flagged units whose name says cooperative: a SAS (5710) and a 6901 unit. Before
    the name rule ran ahead of the flag they were an ESS company and 'ess_autre'."""
    coops = real_units.filter(pl.col("siren").is_in(["438870578", "923995179"]))
    assert coops.select("categorieJuridiqueUniteLegale", "economieSocialeSolidaireUniteLegale", "operator_class", "rule").sort(
        "categorieJuridiqueUniteLegale"
    ).rows() == [
        ("5710", "O", "ess_cooperative", "nom_cooperative"),
        ("6901", "O", "ess_cooperative", "nom_cooperative"),
    ]


def test_real_units_counts_by_class(real_units):
    flagged = real_units.filter(pl.col("source_file") == "04_ess_flag_insee.csv")
    counts = dict(flagged.group_by("operator_class").len().iter_rows())
    assert counts == {
        "ess_association": 40 + 1 + 6 + 40,  # 9220, 9221, 9230, 9260
        # 5453 5458 5460 5558 5560 5660 6317 6318, + a SAS (5710) and a 6901 unit named cooperative
        "ess_cooperative": 1 + 68 + 108 + 1 + 22 + 4 + 1 + 3 + 2,
        "ess_fondation": 4,
        "ess_societe_commerciale": 1 + 1 + 1 + 40 + 1 + 1 + 1 + 39,  # 3120 5306 5432 5499 5532 5599 5699 5710
        "ess_autre": 1,  # 6585
        "public_autre": 1,  # 7410
    }


def test_real_units_without_flag(real_units):
    unflagged = real_units.filter(pl.col("source_file") == "02_cate_x_naf.csv")
    by_cj = {}
    for cj, cls, rule in unflagged.select("categorieJuridiqueUniteLegale", "operator_class", "rule").rows():
        by_cj.setdefault(cj, set()).add((cls, rule))
    assert by_cj["9220"] == {("ess_association", "cj_statut_ess")}
    assert by_cj["5458"] == {("ess_cooperative", "cj_statut_ess")}
    assert by_cj["5710"] == {("lucratif", "cj_table")}
    assert by_cj["9210"] == {("prive_non_lucratif_hors_ess", "cj_table")}
    aros = unflagged.filter(pl.col("siren") == "819969239").select("categorieJuridiqueUniteLegale", "operator_class", "rule")
    assert aros.row(0) == ("9900", "ess_cooperative", "nom_cooperative")
    assert by_cj["9900"] == {("ess_cooperative", "nom_cooperative"), ("prive_non_lucratif_hors_ess", "cj_table")}
