"""Asset dependencies come from the SQL each asset runs (observatory.sql), so they cannot drift from it."""

from pathlib import Path

import dagster as dg

from observatory.definitions import build_definitions
from observatory.settings import Settings
from observatory.sql import sql_deps, tables_read, tables_written

ASSETS = Path(__file__).resolve().parents[2] / "assets"
K = dg.AssetKey

#: SQL files run by assets outside the marts package (whose deps are derived by assets/marts/defs.py):
#: asset key -> the SQL files it runs. A new SQL file must be listed here or derived.
SQL_OF = {
    "stg/epci": ["insee_epci/stg_epci"],
    "marts/commune_epci": ["territory/marts_commune_epci"],
    "int/facility_years": ["sirene/facility_years"],
    "stg/caf_places_commune": ["caf/caf_places_commune"],
    "stg/caf_coverage_commune": ["caf/caf_coverage_commune"],
}
#: The marts assets and the SQL files their builders run (assets/marts/build.py, merger.py).
MARTS_SQL = {
    "int/facility_territory_years": ["placed_in", "facility_territory_years"],
    "marts/ess_market_share": ["ess_market_share"],
    "marts/childcare_supply": ["childcare_supply"],
    "marts/merger_effect": ["placed_in", "merger_groups", "merger_panel", "merger_covariates"],
    "marts/merger_effect_epci": ["placed_in", "merger_groups", "merger_panel", "merger_covariates"],
    "marts/facility_transitions": ["merger_groups", "facility_transitions"],
    "marts/operators": ["operators"],
    "marts/facilities": ["facilities"],
    "marts/epci_indicators": ["epci_indicators"],
}


def test_tables_read_ignores_comments_ctes_temp_tables_and_its_own_tables():
    sql = """
    -- from stg.commented_out
    create or replace temp table _t as select * from stg.communes c join int.commune_code_map m using (annee);
    create or replace table marts.x as
    with recent as (select * from stg.epci where annee > 2020)
    select * from recent r left join _t using (annee) join marts.x_previous p on true
    where exists (select 1 from marts.x)
    """
    assert tables_read(sql) == {"stg.communes", "int.commune_code_map", "stg.epci", "marts.x_previous"}
    assert tables_written(sql) == {"marts.x"}
    assert tables_read("SELECT * FROM STG.Communes") == {"stg.communes"}


def _deps() -> dict[str, set[str]]:
    graph = build_definitions(Settings()).resolve_asset_graph()
    return {k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys} for k in graph.get_all_asset_keys()}


def test_every_table_a_sql_file_reads_is_a_declared_dependency():
    deps = _deps()
    problems = []
    for key, files in {**SQL_OF, **{k: [f"marts/{f}" for f in v] for k, v in MARTS_SQL.items()}}.items():
        for f in files:
            source, name = f.split("/")
            read = {k.to_user_string() for k in sql_deps(ASSETS / source, [name])}
            if not read <= deps[key]:
                problems.append(f"{key} runs {f}.sql, which reads {sorted(read - deps[key])} not among its deps")
    assert not problems, "\n".join(problems)


def test_marts_depend_on_exactly_what_their_sql_reads_and_the_documented_extras():
    deps = _deps()
    # stg/epci and stg/dgcl_epci_membership: the EPCI name repair (assets/territory/names.py) the builders run;
    # marts/facility_transitions: the merger study's Python reads int.facility_transitions_yearly, which that asset writes
    extras = {
        "marts/sources",
        "stg/epci_membership",
        "int/facility_territory_years",
        "int/epci_polygons",
        "stg/epci",
        "stg/dgcl_epci_membership",
        "marts/facility_transitions",
    }
    for key, files in MARTS_SQL.items():
        read = {k.to_user_string() for k in sql_deps(ASSETS / "marts", files)}
        assert read <= deps[key] and deps[key] - read <= extras, (key, sorted(deps[key] - read))
    # the wrong hand-written dependency of the first build is gone: operators never read marts.facilities
    assert "marts/facilities" not in deps["marts/operators"]


def test_every_sql_file_is_accounted_for():
    listed = {f for files in SQL_OF.values() for f in files} | {f"marts/{f}" for files in MARTS_SQL.values() for f in files}
    found = {f"{p.parent.name}/{p.stem}" for p in ASSETS.glob("*/*.sql")}
    assert found == listed, (sorted(found - listed), sorted(listed - found))
