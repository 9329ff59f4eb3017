"""``int.operator_years``: each legal unit classified as it was on 1 January of each year.

The rules live in :mod:`assets.sirene.classification` (versioned reference tables); this module reads
the staged legal-unit history from the warehouse, classifies it in Polars (a few hundred thousand
rows at national scale) and writes the table back.
"""

from typing import Any

import duckdb
import polars as pl

from assets.sirene.extract import latest_stock_year
from assets.sirene.classification import Rules, classify_operator_years, default_rules
from assets.sirene.facility_years import FIRST_FACILITY_YEAR

#: Column -> type of ``int.operator_years`` (Polars types; DuckDB: VARCHAR, INTEGER, DATE, BOOLEAN).
COLUMNS = {
    "siren": pl.String,
    "annee": pl.Int32,
    "categorie_juridique": pl.String,
    "ess_flag": pl.String,
    "denomination": pl.String,
    "operator_class": pl.String,
    "sector": pl.String,
    "rule": pl.String,
    "rules_version": pl.String,
    "periode_date_debut": pl.Date,
    "periode_en_vigueur": pl.Boolean,
}

# Units whose history is missing but which have a stock row: the stock row is their only period.
PERIODS_SQL = """
select siren, date_debut, categorie_juridique, ess_flag, denomination
from stg.sirene_unite_legale_periodes
union all
select u.siren, u.date_debut, u.categorie_juridique, u.ess_flag, u.denomination
from stg.sirene_unites_legales u
anti join (select distinct siren from stg.sirene_unite_legale_periodes) p using (siren)
"""

SIRENS_SQL = """
select siren from stg.sirene_etablissements
union select siren from stg.sirene_etablissement_periodes
union select siren from stg.sirene_unites_legales
order by 1
"""


def build_operator_years(
    con: duckdb.DuckDBPyConnection,
    first_year: int = FIRST_FACILITY_YEAR,
    last_year: int | None = None,
    rules: Rules | None = None,
) -> dict[str, Any]:
    """Write ``int.operator_years`` (siren x annee, first_year..last_year) and return counts.

    Every siren referenced by an extracted establishment gets a row for every year, so facility-
    years always find their operator: a unit missing from SIRENE is ``indetermine`` with rule
    ``unite_legale_absente``; a year before the unit's first period uses that first period and
    says so (``periode_en_vigueur`` false).
    """
    rules = rules or default_rules()
    last_year = last_year or latest_stock_year(con)
    periods = con.sql(PERIODS_SQL).pl()
    sirens = con.sql(SIRENS_SQL).pl()["siren"].to_list()
    associations = con.sql("select siren, identifiant_association from stg.sirene_unites_legales").pl()
    years = list(range(first_year, last_year + 1))
    result = classify_operator_years(periods, years, sirens=sirens, associations=associations, rules=rules)
    # explicit types: a column that happens to be all null must not come out as DuckDB's NULL type
    table = result.select(pl.col(c).cast(t) for c, t in COLUMNS.items()).to_arrow()
    con.register("_operator_years_arrow", table)
    try:
        con.execute("create schema if not exists int")
        con.execute("create or replace table int.operator_years as select * from _operator_years_arrow order by siren, annee")
    finally:
        con.unregister("_operator_years_arrow")

    def counts(col: str) -> dict[str, int]:
        return dict(sorted(result.group_by(col).len().iter_rows()))

    overrides = (
        result.filter(pl.col("rule") == "override")
        .group_by("siren", "operator_class")
        .agg(pl.len().alias("years"))
        .join(rules.overrides.select("siren", "reason", "source"), on="siren", how="left")
        .sort("siren")
    )
    unknown = result.filter(pl.col("rule") == "cj_inconnue")["categorie_juridique"].unique().sort().to_list()
    return {
        "rows": result.height,
        "legal_units": len(sirens),
        "years": [first_year, last_year],
        "rules_version": rules.version,
        "by_rule": counts("rule"),
        "by_sector": counts("sector"),
        "by_operator_class": counts("operator_class"),
        "unknown_legal_categories": unknown,
        "overrides_applied": overrides.to_dicts(),
        "overrides_unused": sorted(set(rules.overrides["siren"].to_list()) - set(sirens)),
        "public_with_ess_flag_o": result.filter((pl.col("sector") == "public") & (pl.col("ess_flag") == "O")).height,
        "ess_status_with_flag_n": result.filter((pl.col("rule") == "cj_statut_ess") & (pl.col("ess_flag") == "N")).height,
    }
