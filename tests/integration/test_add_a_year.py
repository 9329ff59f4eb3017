"""Adding a millésime is a plan entry plus its file (docs/operations.md, "Adding a year").

On the tiny hand-made France (test_territory_graph.py), a fake 2027 is added the documented way: the
2026 Etalab files copied under 2027 names into the (temporary) data directory, with their manifest
entries, and one plan entry per file in ``assets/etalab_epci/source.py``. The project is then loaded in
a fresh process in which those entries are part of the plan before anything is imported - exactly as
if they had been written in ``source.py`` - and the territorial graph is run: no other code changes,
and 2027 is built everywhere (partitions, communes, membership, EPCI, passage step, code map, marts).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from assets.common.validate import read_parquet
from observatory.resources import sha256_of
from test_territory_graph import build_tiny_france

ROOT = Path(__file__).resolve().parents[2]
NEW = 2027
#: The entries a maintainer adds to the Etalab plan for the new year (role, embedded file).
ENTRIES = [
    ("epci_composition", "epci_composition_2027.parquet"),
    ("commune_list", "communes_2027.parquet"),
    ("commune_links", "communes_rattachement_2027.parquet"),
]
ORIGINALS = {
    "epci_composition": "epci_composition_2019_2026.parquet",
    "commune_list": "communes_2019_2026.parquet",
    "commune_links": "communes_rattachement_2024_2026.parquet",
}

RUN = r"""
import json, sys
from pathlib import Path
import assets.etalab_epci.source as etalab
from observatory.sources import PlanFile
# the plan entries of the new millésime, as written in assets/etalab_epci/source.py
etalab.SPEC = etalab.SPEC.with_plan(*(PlanFile(role, (int(sys.argv[2]),), embedded=name) for role, name in json.loads(sys.argv[3])))

import dagster as dg, duckdb
from observatory.__main__ import execute
from observatory.definitions import build_definitions
from observatory.settings import Settings

settings = Settings(data_dir=Path(sys.argv[1]))
full = build_definitions(settings)  # loads: the plans, the years and the partitions derived from them
import assets.cog.defs, assets.contours.defs, assets.dgcl_epci.defs, assets.etalab_epci.defs, assets.insee_epci.defs, assets.territory.defs
from observatory.definitions import resources_for
packages = [assets.insee_epci.defs, assets.etalab_epci.defs, assets.cog.defs, assets.dgcl_epci.defs, assets.contours.defs, assets.territory.defs]
keep = ("stg/communes", "stg/epci_membership")  # the suites that hold on the tiny France (not the national EPCI counts)
checks = [c for m in packages for c in (m.defs.asset_checks or []) if next(iter(c.check_keys)).asset_key.to_user_string() in keep]
defs = dg.Definitions(assets=[a for m in packages for a in m.defs.assets], asset_checks=checks, resources=resources_for(settings))
result = execute(defs, dg.DagsterInstance.ephemeral())
checks = {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}
con = duckdb.connect(str(settings.build_db), read_only=True)
years = lambda t, c="annee": [r[0] for r in con.execute(f"select distinct {c} from {t} order by 1").fetchall()]
out = {
    "success": result.success,
    "failed_steps": [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"],
    "partitions": sorted({e.materialization.partition for e in result.get_asset_materialization_events()
                          if e.asset_key.to_user_string() == "stg/communes"}),
    "checks": checks,
    "communes": years("stg.communes"), "membership": years("stg.epci_membership"), "epci": years("stg.epci"),
    "passage_steps": next(e.materialization.metadata["sources"].value for e in result.get_asset_materialization_events()
                          if e.asset_key.to_user_string() == "stg/commune_passage"),
    "code_map": years("int.commune_code_map"),
    "years_per_code": [r[0] for r in con.execute("select distinct count(*) from int.commune_code_map group by code_commune").fetchall()],
    "commune_epci": years("marts.commune_epci"),
    "epci_2027": con.execute("select epci_siren, n_communes from stg.epci where annee = 2027 order by 1").fetchall(),
    "epci_2026": con.execute("select epci_siren, n_communes from stg.epci where annee = 2026 order by 1").fetchall(),
    "events_2027": con.execute("select count(*) from marts.epci_mergers where annee = 2027").fetchone()[0],
    "paris_2027": con.execute("select epci_siren from marts.commune_epci where code_commune = '75101' and annee = 2027").fetchall(),
}
print("RESULT " + json.dumps(out, default=str))
"""


def _add_year(raw: Path) -> None:
    """The new year's files: the 2026 rows of each Etalab embedded file, as 2027, with their manifest entries."""
    folder = raw / "etalab_epci" / "embedded"
    manifest = json.loads((folder / "manifest.json").read_text())
    for role, name in ENTRIES:
        frame = read_parquet(folder / ORIGINALS[role])
        new = frame.filter(pl.col("annee") == "2026").with_columns(pl.lit(str(NEW)).alias("annee"))
        assert new.height, role
        new.write_parquet(folder / name)
        manifest["files"][name] = {
            "sha256": sha256_of(folder / name),
            "size": (folder / name).stat().st_size,
            "origin": "test: 2026 as 2027",
        }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_new_year_is_a_plan_entry_and_its_files(tmp_path):
    data = tmp_path / "data"
    build_tiny_france(data / "raw")
    _add_year(data / "raw")
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(data), str(NEW), json.dumps(ENTRIES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}, "GX_ANALYTICS_ENABLED": "false"},
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(line[len("RESULT ") :])
    assert out["success"] and out["failed_steps"] == [], out
    every = list(range(2015, NEW + 1))
    assert out["partitions"] == [str(y) for y in every]  # the yearly partitions grew with the plan
    assert out["checks"] == {"stg/communes": True, "stg/epci_membership": True}  # "every year has communes" includes 2027
    assert out["communes"] == out["membership"] == out["epci"] == out["code_map"] == out["commune_epci"] == every
    # every step has its source; 2026 -> 2027 comes from the Etalab links of 2026 and 2027; every code maps to every year
    assert list(out["passage_steps"]) == [f"{y}->{y + 1}" for y in every[:-1]]
    assert out["passage_steps"]["2026->2027"] == "Etalab chefLieu/anciensCodes 2027"
    assert out["years_per_code"] == [len(every)]
    assert out["epci_2027"] == out["epci_2026"] and out["epci_2027"]  # every EPCI of 2026, with its communes
    assert out["events_2027"] == 0  # the same composition as 2026: no EPCI change
    assert out["paris_2027"] == [["200054781"]]  # Paris answers for its arrondissements in the new year too
