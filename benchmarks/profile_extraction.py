"""Where the extraction's time goes, file by file, and what the alternatives would gain.

    python -m benchmarks.profile_extraction --sirene-dir benchmarks/out/sirene_1 --repeat 3

For the two establishment files (the extraction's cost), times with the production DuckDB settings:

* ``duckdb_semi_join``: what ``assets.sirene.extract`` does, the file's needed columns semi-joined
  with the selected sirets and written to a table;
* ``duckdb_keys_only``: the same selection reading the siret column only (the key-only floor);
* ``duckdb_dynamic_or``: the semi-join with ``dynamic_or_filter_threshold`` raised so that DuckDB
  pushes the real list of sirets (not only min/max) into the Parquet scan;
* ``polars_prefilter``: Polars' ``scan_parquet().filter(is_in).select()``, which decodes the filter
  column first and the other columns of the matching rows only.

Prints the median wall and CPU seconds of each; used for ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Callable
from observatory.resources import sql_literal

NAF_EAJE = "88.91A"


def _timed(fn: Callable[[], int], repeat: int) -> dict:
    walls, cpus, rows = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        rows = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {
        "median_s": round(statistics.median(walls), 2),
        "median_cpu_s": round(statistics.median(cpus), 2),
        "all_s": [round(w, 2) for w in walls],
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sirene-dir", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    os.environ.setdefault("POLARS_MAX_THREADS", "2")  # the same two cores as DuckDB's warehouse
    import polars as pl

    from assets.sirene.extract import COLUMNS, SireneFiles, _select
    from observatory.resources import Warehouse

    wh = Warehouse(path=":memory:")
    files = {
        "etablissement_historique": a.sirene_dir / "StockEtablissementHistorique_utf8.parquet",
        "etablissement": a.sirene_dir / "StockEtablissement_utf8.parquet",
    }
    out: dict = {"settings": {"threads": wh.threads, "memory_limit": wh.memory_limit}}
    with wh.connect() as con:
        info = SireneFiles.in_dir(a.sirene_dir, con).info
        con.execute(
            "create temp table s as select siret from read_parquet($eh) where activitePrincipaleEtablissement = $naf "
            "union select siret from read_parquet($e) where activitePrincipaleEtablissement = $naf",
            {"eh": str(files["etablissement_historique"]), "e": str(files["etablissement"]), "naf": NAF_EAJE},
        )
        sirets = [r[0] for r in con.execute("select siret from s").fetchall()]
        for key, path in files.items():
            cols = COLUMNS[key]
            select = _select(info[key], cols)

            def semi(setting: str = "") -> int:
                if setting:
                    con.execute(setting)
                con.execute(
                    f"create or replace temp table x as select {select} from read_parquet({sql_literal(str(path))}) "
                    "where siret in (select siret from s)"
                )
                if setting:
                    con.execute("reset dynamic_or_filter_threshold")
                return con.execute("select count(*) from x").fetchone()[0]

            out[key] = {
                "duckdb_semi_join": _timed(semi, a.repeat),
                "duckdb_keys_only": _timed(
                    lambda: con.execute(
                        f"select count(*) from read_parquet({sql_literal(str(path))}) where siret in (select siret from s)"
                    ).fetchone()[0],
                    a.repeat,
                ),
                "duckdb_dynamic_or": _timed(lambda: semi("set dynamic_or_filter_threshold = 100000"), a.repeat),
                "polars_prefilter": _timed(
                    lambda: pl.scan_parquet(path).select([c.source for c in cols]).filter(pl.col("siret").is_in(sirets)).collect().height,
                    a.repeat,
                ),
            }
            print(key, json.dumps(out[key]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
