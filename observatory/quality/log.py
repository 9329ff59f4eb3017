"""The quality log of the build database (``main.quality_log``): every check records its outcome together
with a fingerprint of the content it checked, and publication refuses a table unless each of its checks
passed on exactly the content being published (:func:`refusals`)."""

import json
from typing import Any, Mapping, Sequence


def table_fingerprint(con: Any, table: str, database: str | None = None) -> str | None:
    """A fingerprint of ``table``'s content: its column names and types, its row count and an order-independent
    hash of its rows (the sum of DuckDB's row hashes, so duplicates count). None if the table does not exist. Any change of a value,
    a row or the schema changes it; identical content gives the same fingerprint in any process."""
    schema, name = table.split(".")
    db = database or con.execute("select current_database()").fetchone()[0]
    cols = con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ? "
        "order by column_index",
        [db, schema, name],
    ).fetchall()
    if not cols:
        return None
    ref = f'"{db}"."{schema}"."{name}"'
    n, h = con.execute(f"select count(*), coalesce(sum(hash(t)::hugeint), 0) % 18446744073709551616 from {ref} as t").fetchone()
    shape = ",".join(f"{c}:{t}" for c, t in cols)
    return f"{n}:{int(h):016x}:{abs(hash_text(shape)):016x}"


def hash_text(text: str) -> int:
    """A stable (process-independent) 64-bit hash of a string; Python's ``hash`` is salted per process."""
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _ensure_log(con: Any) -> None:
    con.execute("create table if not exists main.quality_log(table_name varchar, check_name varchar, passed boolean, checked_at timestamp)")
    # Added after the first release: older build databases get the columns on the fly.
    con.execute("alter table main.quality_log add column if not exists run_id varchar")
    con.execute("alter table main.quality_log add column if not exists failures varchar")
    con.execute("alter table main.quality_log add column if not exists fingerprint varchar")


def record_outcome(
    con: Any, table: str, check_name: str, passed: bool, *, run_id: str = "", failures: Any = None, fingerprint: str | None = None
) -> None:
    """Log the outcome in the build database, with the fingerprint of the content checked (publication compares
    it with the content it is about to publish). ``fingerprint``: :func:`table_fingerprint` of ``table`` if the
    caller computed it already (a step recording several checks of one table hashes it once)."""
    _ensure_log(con)
    con.execute(
        "insert into main.quality_log by name select ? as table_name, ? as check_name, ? as passed, now()::timestamp as checked_at, "
        "? as run_id, ? as failures, ? as fingerprint",
        [
            table,
            check_name,
            passed,
            run_id,
            json.dumps(failures, ensure_ascii=False) if failures else None,
            fingerprint or table_fingerprint(con, table),
        ],
    )


def _has_log(con: Any) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name='build' and schema_name='main' and table_name='quality_log'"
        ).fetchone()[0]
    )


def _latest(con: Any) -> dict[tuple[str, str], tuple[bool, str | None]]:
    if not _has_log(con):
        return {}
    has_fp = con.execute(
        "select count(*) from duckdb_columns() where database_name='build' and schema_name='main' and table_name='quality_log' "
        "and column_name='fingerprint'"
    ).fetchone()[0]
    fp = "fingerprint" if has_fp else "null::varchar"
    rows = con.execute(
        f"""
        select table_name, check_name, passed, {fp} from (
            select *, row_number() over (partition by table_name, check_name order by checked_at desc) as rn
            from build.main.quality_log
        ) where rn = 1 order by 1, 2
        """
    ).fetchall()
    return {(t, c): (p, f) for t, c, p, f in rows}


def retire_checks(con: Any, table: str, current: list[str]) -> None:
    """Forget the outcomes of checks of ``table`` that no longer exist (a renamed or split check), so that
    an old failure under a retired name cannot refuse publication forever; current names keep their history."""
    con.execute("delete from main.quality_log where table_name = ? and not list_contains(?::varchar[], check_name)", [table, current])


def failed_checks(con: Any) -> list[tuple[str, str]]:
    """Tables of the build database attached as ``build`` whose latest recorded check failed."""
    return sorted(k for k, (passed, _) in _latest(con).items() if not passed)


def refusals(con: Any, tables: Sequence[str], checks: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Why ``tables`` of the build database (attached as ``build``) may not be published; empty: they may.

    ``checks``: table -> the checks declared on it (the definitions'); without it, the checks recorded for it.
    Refused: a table whose latest recorded check failed anywhere in the log; a declared check never recorded; a
    check whose recorded fingerprint differs from the table's content now (rebuilt after its check, e.g. by a
    killed or partial run)."""
    latest = _latest(con)
    failed = [f"{t} ({c})" for (t, c), (passed, _) in sorted(latest.items()) if not passed]
    never, changed = [], []
    for table in tables:
        names = list(checks.get(table, ())) if checks is not None else sorted(c for t, c in latest if t == table)
        current = None
        for name in names:
            record = latest.get((table, name))
            if record is None:
                never.append(f"{table} ({name})")
                continue
            passed, fingerprint = record
            if not passed:
                continue
            current = current or table_fingerprint(con, table, "build")
            if fingerprint != current:
                changed.append(f"{table} ({name})")
    out = []
    if failed:
        out.append("the latest check failed for " + ", ".join(failed))
    if never:
        out.append("never checked: " + ", ".join(never) + " (materialize the asset: its checks run after it)")
    if changed:
        out.append(
            "content changed since its check for "
            + ", ".join(changed)
            + " (the table was rebuilt after its check passed: re-run the asset or its check)"
        )
    return out
