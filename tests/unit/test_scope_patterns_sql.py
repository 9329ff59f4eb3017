"""The scope patterns (SCOPE_PATTERNS) read the same in DuckDB (RE2) as in Polars (Rust regex).

Groundwork for issue 9 item 1: the extraction will select the name-matched candidates in SQL from
these very patterns (one rule, not a second spelling); that is only sound if both engines agree on
every pattern, which this test pins on names built to hit and to miss each alternative."""

import duckdb
import polars as pl
import pytest

from observatory.classification import SCOPE_PATTERNS, normalized_name, normalized_name_sql

NAMES = [
    "CRÈCHE MUNICIPALE LES PETITS",
    "Micro-crèche Les Lutins",
    "MICROCRECHES DU SUD",
    "Multi-accueil Les Dauphins",
    "HALTE-GARDERIE",
    "Haltes garderies",
    "JARDIN D'ENFANTS LES PETITS",
    "EAJE LES COLOMBES",
    "Établissement d'accueil du jeune enfant",
    "ETABLISSEMENTS D ACCUEIL DE JEUNES ENFANTS",
    "CRECHEVILLE",  # a word that starts with CRECHE is not one
    "M.A.M. les câlins",
    "Maison d'assistants maternels",
    "MAISON DES ASSISTANTES",
    "RAM DES PETITS",
    "RAMPE",
    "Relais Petite Enfance",
    "RELAIS D ASSISTANTES",
    "LAEP LA BULLE",
    "Lieu d'accueil enfants-parents",
    "ECOLE MATERNELLE JEAN JAURES",
    "GROUPE SCOLAIRE",
    "Accueil collectif de loisirs",
    "ALSH",
    "Centre de loisirs",
    "Péri-scolaire",
    "GARDERIE DU SOIR",
    "Restauration scolaire",
    "CANTINE",
    "SERVICE PETITE ENFANCE",
    "Direction de la petite enfance",
    "COORDINATION PETITE ENFANCE",
    "MAIRIE",
    "HOTEL DE VILLE",
    "BOULANGERIE DU CENTRE",
    "",
]


@pytest.mark.parametrize("reason", sorted(SCOPE_PATTERNS))
def test_duckdb_and_polars_agree_on_each_pattern(reason: str) -> None:
    pattern = SCOPE_PATTERNS[reason]
    names = pl.DataFrame({"name": NAMES}).with_columns(norm=normalized_name(pl.col("name")))
    in_polars = names.with_columns(hit=pl.col("norm").str.contains(pattern))
    con = duckdb.connect()
    con.register("names", names)
    in_duckdb = con.execute("select name, regexp_matches(norm, $p) as hit from names", {"p": pattern}).pl()
    disagree = in_polars.join(in_duckdb, on="name", suffix="_duckdb").filter(pl.col("hit") != pl.col("hit_duckdb"))
    assert disagree.is_empty(), f"SCOPE_PATTERNS[{reason!r}]: DuckDB and Polars disagree on {disagree['name'].to_list()}"
    # the names must exercise the pattern both ways, or agreement would prove nothing
    assert 0 < in_polars["hit"].sum() < len(NAMES), f"SCOPE_PATTERNS[{reason!r}] hits {in_polars['hit'].sum()} of {len(NAMES)} names"


def test_eaje_words_hit_exactly_the_crèche_names() -> None:
    hits = pl.Series(NAMES).to_frame("name").filter(normalized_name(pl.col("name")).str.contains(SCOPE_PATTERNS["eaje"]))
    assert hits["name"].to_list() == NAMES[:10]  # the ten crèche names, not CRECHEVILLE nor the look-alikes


def test_duckdb_normalisation_matches_normalized_name() -> None:
    # the extraction prefilter normalises names in SQL (normalized_name_sql); it must see what eaje_scope sees
    names = pl.DataFrame({"name": NAMES}).with_columns(norm=normalized_name(pl.col("name")))
    con = duckdb.connect()
    con.register("names", names)
    in_duckdb = con.execute(f"select name, {normalized_name_sql('name')} as norm_duckdb from names").pl()
    disagree = names.join(in_duckdb, on="name").filter(pl.col("norm") != pl.col("norm_duckdb"))
    assert disagree.is_empty(), f"SQL and Polars name normalisation differ on {disagree.rows()}"


def test_the_cheap_word_prefilter_keeps_every_name_the_rule_matches() -> None:
    # OWN_NAME_MATCHES tests each raw name against EAJE_WORD_PREFILTER before normalising the four of them:
    # it must be true wherever the normalised pattern is, whatever the accents, case and column split
    from assets.sirene.extract import EAJE_WORD_PREFILTER, OWN_NAME_COLUMNS, OWN_NAME_MATCHES

    variants = ["crêche", "CRÉCHES", "Cre\u0301che", "micro-CRÈCHE", "É.A.J.E.", "ÉAJE", "multi-Accueils", "HALTES-GARDERIES"]
    rows = [(n, None, None, None) for n in NAMES + variants]
    rows += [("HALTE", "GARDERIE", None, None), (None, None, "JARDIN", "D'ENFANTS"), ("MICRO", None, None, "CRECHE")]
    rows += [("BOULANGERIE", "ACCUEIL PAYSAN", None, None), ("JARDINERIE", None, None, None)]  # prefilter only
    con = duckdb.connect()
    con.execute(
        "create table n as select * from (values " + ", ".join(["(?, ?, ?, ?)"] * len(rows)) + ") t(" + ", ".join(OWN_NAME_COLUMNS) + ")",
        [v for r in rows for v in r],
    )
    full = normalized_name_sql("concat_ws(' ', " + ", ".join(OWN_NAME_COLUMNS) + ")")
    pre = " or ".join(f"regexp_matches({c}, '{EAJE_WORD_PREFILTER}')" for c in OWN_NAME_COLUMNS)
    result = con.execute(
        f"select count(*) filter (where regexp_matches({full}, $re_eaje)), count(*) filter (where ({pre})), "
        f"count(*) filter (where regexp_matches({full}, $re_eaje) and not coalesce({pre}, false)), "
        f"count(*) filter (where {OWN_NAME_MATCHES}) from n",
        {"re_eaje": SCOPE_PATTERNS["eaje"]},
    ).fetchone()
    # 10 crèche names of NAMES, 7 of the variants (not É.A.J.E.), the 3 split names; the prefilter also keeps 4
    # look-alikes of NAMES (CRECHEVILLE, two accueils, a garderie) and the 2 last rows, for the full test to drop
    assert result == (20, 26, 0, 20), result
