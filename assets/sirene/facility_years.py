"""Facility-years: which establishments were childcare facilities (EAJE) on 1 January of each year.

``build_facility_years`` writes two tables with the same columns (key: siret, annee):

* ``int.facility_years``: in-scope EAJE, active (``A``) with activity 88.91A on 1 January;
* ``int.facility_years_hors_champ``: the same facility-years excluded from the EAJE scope, with
  ``scope_reason``. 88.91A also covers what is not a collective childcare facility; nothing is
  dropped silently, every exclusion is counted.

Scope rules (first match wins), evidence in brackets:

* ``etranger``: establishment abroad [no commune code, a foreign country code];
* ``entrepreneur_individuel``: legal unit of category 1xxx on 1 January (childminders, nannies)
  [legal category, from ``int.operator_years``];
* ``mam``: maison d'assistants maternels [name: MAM, M.A.M., "maison d'assistant(e)s maternel(le)s"];
* ``relais_petite_enfance``: relais petite enfance / relais assistants maternels [name: RPE, RAM, RAMPE, "relais ..."];
* ``lieu_accueil_enfants_parents``: LAEP [name].

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

from assets.sirene.classification import SCOPE_PATTERNS
from assets.sirene.extract import NAF_EAJE, latest_stock_year
from observatory.resources import table_exists

#: First year of the facility history (1 January 2010).
FIRST_FACILITY_YEAR = 2010

SQL = Path(__file__).with_name("facility_years.sql")

SCOPE_REASONS = (
    "etranger",
    "entrepreneur_individuel",
    "mam",
    "relais_petite_enfance",
    "lieu_accueil_enfants_parents",
)
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
    # the 88.91A look-alikes: one definition, that of the scope rule (assets/sirene/classification.py)
    "re_mam": SCOPE_PATTERNS["mam"],
    "re_rpe": SCOPE_PATTERNS["relais_petite_enfance"],
    "re_laep": SCOPE_PATTERNS["lieu_accueil_enfants_parents"],
    "re_type_micro": r"\bMICRO ?CRECHES?\b",
    "re_type_parentale": r"\bPARENTALES?\b",
    "re_type_familiale": r"\bCRECHES? FAMILIALES?\b|\bSERVICE D ACCUEIL FAMILIAL\b",
    "re_type_halte": r"\bHALTES? ?GARDERIES?\b|\bHALTE\b",
    "re_type_jardin": r"\bJARDINS? D ENFANTS\b",
    "re_type_multi": r"\bMULTI ?ACCUEILS?\b",
    "re_type_creche": r"\bCRECHES?\b",
}

#: Columns of both tables (the hors-champ one adds scope_reason VARCHAR) and their DuckDB types.
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
}


class MissingInputError(RuntimeError):
    pass


def _require(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    for t in tables:
        if not table_exists(con, t):
            raise MissingInputError(f"{t} is missing: materialize it first (facility-years need it)")


def build_facility_years(
    con: duckdb.DuckDBPyConnection, first_year: int = FIRST_FACILITY_YEAR, last_year: int | None = None
) -> dict[str, Any]:
    """Write ``int.facility_years`` and ``int.facility_years_hors_champ``; return counts for metadata.

    Needs ``stg.sirene_etablissement_periodes``, ``stg.sirene_etablissements``, ``int.operator_years``
    (legal category on 1 January, for the individual-entrepreneur rule) and ``int.commune_code_map``.
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
    con.execute(SQL.read_text(encoding="utf-8"), params)
    cols = ", ".join(COLUMNS)
    con.execute(
        f"create or replace table int.facility_years as select {cols} from _facility_years_all "
        "where scope_reason is null order by annee, siret"
    )
    con.execute(
        f"create or replace table int.facility_years_hors_champ as select {cols}, scope_reason from _facility_years_all "
        "where scope_reason is not null order by annee, siret"
    )
    excluded = dict(con.execute("select scope_reason, count(*) from int.facility_years_hors_champ group by 1 order by 1").fetchall())
    by_methode = dict(con.execute("select code_commune_method, count(*) from int.facility_years group by 1 order by 1").fetchall())
    per_year = dict(con.execute("select annee, count(*) from int.facility_years group by 1 order by 1").fetchall())
    by_type = dict(con.execute("select type_structure, count(*) from int.facility_years group by 1 order by 1").fetchall())
    totals = con.execute(
        "select (select count(*) from int.facility_years), (select count(*) from int.facility_years_hors_champ), "
        "(select count(*) from int.facility_years where code_commune is null)"
    ).fetchone()
    con.execute("drop table if exists _facility_years_all")
    return {
        "first_year": first_year,
        "last_year": last_year,
        "geography_years": [int(geo_first), int(geo_last)],
        "in_scope_rows": totals[0],
        "hors_champ_rows": totals[1],
        "excluded_by_reason": excluded,
        "in_scope_without_commune": totals[2],
        "code_commune_method": by_methode,
        "facilities_per_year": {str(k): v for k, v in per_year.items()},
        "type_structure": by_type,
    }
