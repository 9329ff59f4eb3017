"""Facility-years: which establishments were childcare facilities (EAJE) on 1 January of each year.

``build_facility_years`` writes two tables with the same columns (key: siret, annee):

* ``int.facility_years``: in-scope EAJE, active (``A``) on 1 January and taken in by the EAJE scope
  rule with ``scope_reason`` ``naf_88_91A`` (activity 88.91A) or ``nom_eaje`` (another code, a public
  or associative operator, and the establishment's own name says crèche, multi-accueil...);
* ``int.facility_years_hors_champ``: the candidate facility-years the rule excludes, with
  ``scope_reason``. Nothing is dropped silently, every exclusion is counted.

Candidates: active establishment-years whose activity on 1 January was 88.91A or whose own name
(enseigne 1 or usual name, of the period or else of the stock) says EAJE; other years of the selected
establishments (a code that is neither, with no EAJE name) are simply not childcare and are not listed.

Scope: ``etranger`` first (establishment abroad: no commune code, a foreign country code), then the
one rule :func:`assets.sirene.classification.eaje_scope` on the activity of 1 January, the legal
category and name of the legal unit on 1 January (``int.operator_years``) and the establishment's
names: under 88.91A it excludes individual entrepreneurs (CJ 1xxx), MAM, relais petite enfance and
LAEP; under another code it keeps only public and associative operators whose establishment is named
as an EAJE and not as a look-alike (école maternelle, accueil de loisirs...).

Name patterns are weak evidence: a crèche named "Les Mamours" is not a MAM (word boundaries), but an
association running both a crèche and a MAM under one name would be excluded; the hors-champ table
is there to review such cases.

Commune: ``code_commune_releve`` is the code recorded in the stock (current geography for open
establishments, the geography of the closure for closed ones; PLM arrondissement codes).
``code_commune`` is that code in the geography of ``annee`` through ``int.commune_code_map`` (the
territory reference, 2015-2026); years before its first year use its first year (2015), years after
its last use its last, and ``geography_year`` says which geography was used. A code the map does
not know keeps the row with ``code_commune`` null and ``code_commune_method`` saying why.
"""

from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from assets.sirene.classification import NAF_EAJE, SCOPE_IN, SCOPE_PATTERNS, Rules, eaje_scope, normalized_name_sql
from assets.sirene.classification import SCOPE_REASONS as RULE_REASONS
from assets.sirene.extract import latest_stock_year
from observatory.resources import table_exists

#: First year of the facility history (1 January 2010).
FIRST_FACILITY_YEAR = 2010

SQL = Path(__file__).with_name("facility_years.sql")

#: Reasons of int.facility_years_hors_champ: abroad, then the rule's exclusions.
SCOPE_REASONS = ("etranger",) + tuple(r for r in RULE_REASONS if r not in SCOPE_IN)
TYPES_STRUCTURE = (
    "micro_creche",
    "creche_parentale",
    "creche_familiale",
    "halte_garderie",
    "jardin_enfants",
    "multi_accueil",
    "creche_collective",
    "non_determine",
)

# Patterns run on the normalized names (upper case, no accents, punctuation -> single spaces).
PATTERNS = {
    # the rule's own EAJE words, for the candidates' prefilter only (the rule decides)
    "re_eaje": SCOPE_PATTERNS["eaje"],
    "re_type_micro": r"\bMICRO ?CRECHES?\b",
    "re_type_parentale": r"\bPARENTALES?\b",
    "re_type_familiale": r"\bCRECHES? FAMILIALES?\b|\bSERVICE D ACCUEIL FAMILIAL\b",
    "re_type_halte": r"\bHALTES? ?GARDERIES?\b|\bHALTE\b",
    "re_type_jardin": r"\bJARDINS? D ENFANTS\b",
    "re_type_multi": r"\bMULTI ?ACCUEILS?\b",
    "re_type_creche": r"\bCRECHES?\b",
}

#: Columns of both tables and their DuckDB types.
COLUMNS = {
    "siret": "VARCHAR",
    "siren": "VARCHAR",
    "annee": "INTEGER",
    "code_commune_releve": "VARCHAR",
    "code_commune": "VARCHAR",
    "code_commune_method": "VARCHAR",
    "code_commune_estimated": "BOOLEAN",
    "geography_year": "INTEGER",
    "nom": "VARCHAR",
    "date_creation": "DATE",
    "date_fermeture": "DATE",
    "type_structure": "VARCHAR",
    "scope_reason": "VARCHAR",
}
#: What eaje_scope reads, as the candidates table names it (classification.SCOPE_COLUMNS).
_SCOPE_INPUT = {
    "activite_principale": "activitePrincipaleEtablissement",
    "categorie_juridique": "categorieJuridiqueUniteLegale",
    "denomination_unite_legale": "denominationUniteLegale",
    "enseigne1": "enseigne1Etablissement",
    "denomination_usuelle": "denominationUsuelleEtablissement",
}
_DTYPES = {"VARCHAR": pl.String, "INTEGER": pl.Int32, "BOOLEAN": pl.Boolean, "DATE": pl.Date}


class MissingInputError(RuntimeError):
    pass


def _require(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    for t in tables:
        if not table_exists(con, t):
            raise MissingInputError(f"{t} is missing: materialize it first (facility-years need it)")


def build_facility_years(
    con: duckdb.DuckDBPyConnection,
    first_year: int = FIRST_FACILITY_YEAR,
    last_year: int | None = None,
    rules: Rules | None = None,
) -> dict[str, Any]:
    """Write ``int.facility_years`` and ``int.facility_years_hors_champ``; return counts for metadata.

    Needs ``stg.sirene_etablissement_periodes``, ``stg.sirene_etablissements``, ``int.operator_years``
    (legal category and name on 1 January, read by the scope rule) and ``int.commune_code_map``.
    ``rules``: the classification tables the scope rule reads for its public / associative operators
    (default: the repository's).
    """
    _require(con, "stg.sirene_etablissement_periodes", "stg.sirene_etablissements", "int.operator_years", "int.commune_code_map")
    last_year = last_year or latest_stock_year(con)
    if last_year < first_year:
        raise ValueError(f"build_facility_years: last_year {last_year} < first_year {first_year}")
    geo_first, geo_last = con.execute("select min(annee), max(annee) from int.commune_code_map").fetchone()
    if geo_first is None:
        raise MissingInputError("int.commune_code_map is empty: the territory reference must be built first")
    params = {
        "first_year": first_year,
        "last_year": last_year,
        "geo_first": int(geo_first),
        "geo_last": int(geo_last),
        "naf": NAF_EAJE,
        **PATTERNS,
    }
    own_name = normalized_name_sql("concat_ws(' ', n.enseigne1, n.denomination_usuelle)")
    con.execute(SQL.read_text(encoding="utf-8").replace("{own_name}", own_name), params)
    candidates = con.sql("select * from _facility_candidates").pl()
    con.execute("drop table if exists _facility_candidates")
    scoped = eaje_scope(candidates.rename(_SCOPE_INPUT), rules).with_columns(
        scope_reason=pl.when(pl.col("etranger")).then(pl.lit("etranger")).otherwise(pl.col("scope_reason")),
        in_scope=pl.col("in_scope") & ~pl.col("etranger"),
    )
    # explicit types: a column that happens to be all null must not come out as DuckDB's NULL type
    typed = [pl.col(c).cast(_DTYPES[t]) for c, t in COLUMNS.items()]
    con.execute("create schema if not exists int")
    for table, rows in (
        ("int.facility_years", scoped.filter("in_scope")),
        ("int.facility_years_hors_champ", scoped.filter(~pl.col("in_scope"))),
    ):
        con.register("_facility_years_arrow", rows.select(typed).to_arrow())
        try:
            con.execute(f"create or replace table {table} as select * from _facility_years_arrow order by annee, siret")
        finally:
            con.unregister("_facility_years_arrow")
    excluded = dict(con.execute("select scope_reason, count(*) from int.facility_years_hors_champ group by 1 order by 1").fetchall())
    by_methode = dict(con.execute("select code_commune_method, count(*) from int.facility_years group by 1 order by 1").fetchall())
    per_year = dict(con.execute("select annee, count(*) from int.facility_years group by 1 order by 1").fetchall())
    by_type = dict(con.execute("select type_structure, count(*) from int.facility_years group by 1 order by 1").fetchall())
    included = dict(con.execute("select scope_reason, count(*) from int.facility_years group by 1 order by 1").fetchall())
    totals = con.execute(
        "select (select count(*) from int.facility_years), (select count(*) from int.facility_years_hors_champ), "
        "(select count(*) from int.facility_years where code_commune is null)"
    ).fetchone()
    return {
        "first_year": first_year,
        "last_year": last_year,
        "geography_years": [int(geo_first), int(geo_last)],
        "in_scope_rows": totals[0],
        "hors_champ_rows": totals[1],
        "excluded_by_reason": excluded,
        "included_by_reason": included,
        "in_scope_without_commune": totals[2],
        "code_commune_method": by_methode,
        "facilities_per_year": {str(k): v for k, v in per_year.items()},
        "type_structure": by_type,
    }
