"""Compare two publications (``data/marts`` directories): every mart's row count and a checksum of its
content, order-independent (the sum of the rows' hashes, i.e. of the sorted content), plus the
GeoParquet layers. Used to show that a refactoring left the published figures unchanged:

    python scripts/compare_publications.py /path/to/before/marts /path/to/after/marts

Two runs of the same code on the same inputs publish the same rows (observatory/publish.py); this script
compares publications of different code. Floating-point columns are compared rounded to 6 decimals (a
refactoring may change the last bits of a float). When a mart's checksum differs, its rows are matched on their
non-float columns and the floats compared with a relative tolerance of 1e-9: "equal within 1e-9"
means the same rows and the same figures to that precision. Exit status 1 if anything differs.
"""

import argparse
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as a plain script, like the other scripts

from observatory.resources import sql_literal  # noqa: E402

#: table -> columns left out of the checksum (they would record the run, not the data): none since
#: marts.sources lost read_at; kept to compare with publications made before.
RUN_COLUMNS = {"sources": ("read_at",)}


def _value(column: str, data_type: str) -> str:
    """The column as compared: floats rounded to 6 decimals (see the module docstring)."""
    name = f'"{column}"'
    return f"{name} := round({name}, 6)" if data_type in ("DOUBLE", "FLOAT", "REAL") else f"{name} := {name}"


def fingerprints(marts_dir: Path) -> dict[str, tuple[int, int, tuple[str, ...]]]:
    """Mart (or geo layer) -> (rows, checksum, columns)."""
    out = {}
    con = duckdb.connect(str(marts_dir / "observatory.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()]
        for t in tables:
            described = con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = 'marts' and table_name = ? order by column_index",
                [t],
            ).fetchall()
            cols = [c for c, _ in described if c not in RUN_COLUMNS.get(t, ())]
            projection = ", ".join(_value(c, ty) for c, ty in described if c in cols)
            rows, checksum = con.execute(f"select count(*), coalesce(sum(hash(struct_pack({projection}))), 0) from marts.{t}").fetchone()
            out[t] = (int(rows), int(checksum), tuple(cols))
    finally:
        con.close()
    mem = duckdb.connect()
    for path in sorted((marts_dir / "geo").glob("*.parquet")):
        rel = f"read_parquet({sql_literal(str(path))})"
        described = [(r[0], r[1]) for r in mem.execute(f"describe select * from {rel}").fetchall()]
        cols = [c for c, _ in described]
        projection = ", ".join(_value(c, ty) for c, ty in described)
        rows, checksum = mem.execute(f"select count(*), coalesce(sum(hash(struct_pack({projection}))), 0) from {rel}").fetchone()
        out[f"geo/{path.name}"] = (int(rows), int(checksum), tuple(cols))
    return out


FLOATS = ("DOUBLE", "FLOAT", "REAL")


def within_tolerance(before: Path, after: Path, table: str, tolerance: float = 1e-9) -> tuple[bool, str]:
    """Same rows on the non-float columns, floats equal to ``tolerance`` (relative)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach {sql_literal(str(before / 'observatory.duckdb'))} as a (read_only)")
        con.execute(f"attach {sql_literal(str(after / 'observatory.duckdb'))} as b (read_only)")
        described = con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = 'a' and schema_name = 'marts' "
            "and table_name = ? order by column_index",
            [table],
        ).fetchall()
        keys = [c for c, ty in described if ty not in FLOATS and c not in RUN_COLUMNS.get(table, ())]
        floats = [c for c, ty in described if ty in FLOATS]
        k = ", ".join(f'"{c}"' for c in keys)
        only = con.execute(f"select count(*) from (select {k} from a.marts.{table} except all select {k} from b.marts.{table})").fetchone()[
            0
        ]
        dup = con.execute(f"select count(*) from (select {k} from a.marts.{table} group by all having count(*) > 1)").fetchone()[0]
        if only or dup or not floats:
            return False, f"{only} rows differ on the non-float columns" + (f", {dup} keys not unique" if dup else "")
        on = " and ".join(f'x."{c}" is not distinct from y."{c}"' for c in keys)
        worst = ", ".join(f'max(abs(x."{c}" - y."{c}") / greatest(abs(x."{c}"), abs(y."{c}"), 1e-300))' for c in floats)
        nulls = " + ".join(f'count(*) filter (where (x."{c}" is null) <> (y."{c}" is null))' for c in floats)
        row = con.execute(f"select {worst}, {nulls} from a.marts.{table} x join b.marts.{table} y on {on}").fetchone()
        rel, mismatched_nulls = max((v or 0.0) for v in row[:-1]), row[-1]
        return rel <= tolerance and not mismatched_nulls, f"largest relative difference {rel:.1e}, {mismatched_nulls} NULL mismatches"
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    a, b = fingerprints(args.before), fingerprints(args.after)
    same = True
    print(f"{'table':<40} {'rows before':>12} {'rows after':>12}  checksum")
    for name in sorted(set(a) | set(b)):
        ra, rb = a.get(name), b.get(name)
        if ra is None or rb is None:
            same = False
            print(f"{name:<40} {'-' if ra is None else ra[0]:>12} {'-' if rb is None else rb[0]:>12}  MISSING on one side")
            continue
        ok = ra == rb
        what = "equal" if ok else ("columns differ" if ra[2] != rb[2] else "DIFFERENT")
        if not ok and ra[2] == rb[2] and not name.startswith("geo/"):
            ok, detail = within_tolerance(args.before, args.after, name)
            what = f"equal within 1e-9 ({detail})" if ok else f"DIFFERENT ({detail})"
        same &= ok
        print(f"{name:<40} {ra[0]:>12} {rb[0]:>12}  {what} ({ra[1] & 0xFFFFFFFF:08x})")
    for t, cols in RUN_COLUMNS.items():
        print(f"(left out of marts.{t}: {', '.join(cols)})")
    print("SAME" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
