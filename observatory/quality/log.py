"""The quality log of the build database (``main.quality_log``): every check records its outcome, and
publication refuses the tables whose latest check failed."""

import json
from typing import Any

def record_outcome(con: Any, table: str, check_name: str, passed: bool, *, run_id: str = "", failures: Any = None) -> None:
    """Log the outcome in the build database: publication refuses tables whose latest check failed."""
    con.execute(
        "create table if not exists main.quality_log(table_name varchar, check_name varchar, passed boolean, checked_at timestamp)"
    )
    # Added after the first release: older build databases get the columns on the fly.
    con.execute("alter table main.quality_log add column if not exists run_id varchar")
    con.execute("alter table main.quality_log add column if not exists failures varchar")
    con.execute(
        "insert into main.quality_log by name select ? as table_name, ? as check_name, ? as passed, now()::timestamp as checked_at, "
        "? as run_id, ? as failures",
        [table, check_name, passed, run_id, json.dumps(failures, ensure_ascii=False) if failures else None],
    )


def retire_checks(con: Any, table: str, current: list[str]) -> None:
    """Forget the outcomes of checks of ``table`` that no longer exist (a renamed or split check), so that
    an old failure under a retired name cannot refuse publication forever; current names keep their history."""
    con.execute(
        "delete from main.quality_log where table_name = ? and not list_contains(?::varchar[], check_name)", [table, current]
    )


def failed_checks(con: Any) -> list[tuple[str, str]]:
    """Tables of the build database attached as ``build`` whose latest recorded check failed."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name='build' and schema_name='main' and table_name='quality_log'"
    ).fetchone()[0]
    if not exists:
        return []
    return con.execute(
        """
        select table_name, check_name from (
            select *, row_number() over (partition by table_name, check_name order by checked_at desc) as rn
            from build.main.quality_log
        ) where rn = 1 and not passed order by 1, 2
        """
    ).fetchall()
