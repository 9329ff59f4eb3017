"""What became of each EAJE (``marts.facility_transitions``) and the year-on-year transitions behind the merger
study's takeover and closure rates (``int.facility_transitions_yearly``).

Both come from the ``facility_transitions(y0, y1)`` macro of ``facility_transitions.sql``: every facility active on
1 January y0, classified on 1 January y1 as still open, taken over (same operator, public body, for-profit, other
ESS operator), closed without successor, or out of scope, with the matching ``method`` on each row. The 2017
merger groups come from ``merger_groups.sql`` (cohort 2017), so the table says treated or control.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from assets.marts import columns as C
from assets.marts.provenance import stamp_facility_source
from observatory.resources import run_sql_script

HERE = Path(__file__).parent
YEARLY = C.FACILITY_TRANSITIONS_YEARLY.table


def _sql(name: str) -> str:
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def build_facility_transitions(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    first, latest = con.execute("select min(annee), max(annee) from int.facility_territory_years").fetchone()
    run_sql_script(con, _sql("merger_groups"), {"cohort": 2017, "base_year": 2016})
    run_sql_script(con, _sql("facility_transitions"), {"latest_year": int(latest)})
    con.execute(f"create or replace table {YEARLY} as select * from facility_transitions({int(first)}, {int(first) + 1})")
    for y in range(int(first) + 2, int(latest) + 1):
        con.execute(f"insert into {YEARLY} select * from facility_transitions({y - 1}, {y})")
    con.execute("drop table if exists _mg_groups")
    C.apply_comments(con, C.FACILITY_TRANSITIONS_YEARLY)
    stamp_facility_source(con, C.FACILITY_TRANSITIONS.table)
    C.apply_comments(con, C.FACILITY_TRANSITIONS)
    t = C.FACILITY_TRANSITIONS.table
    return {
        "rows": con.execute(f"select count(*) from {t}").fetchall()[0][0],
        "associations_2016_to_latest": dict(
            con.execute(
                f"select transition, count(*) from {t} where to_year = (select max(to_year) from {t}) "
                "and operator_class_from = 'ess_association' group by 1 order by 1"
            ).fetchall()
        ),
        "by_method": dict(con.execute(f"select method, count(*) from {t} group by 1 order by 1").fetchall()),
    }
