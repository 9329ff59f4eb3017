"""Raw -> stg for the DGCL epcicom tables (``stg.dgcl_epci_membership``, a cross-check of the INSEE membership)."""

import polars as pl

from assets.common.validate import harmonise_natures, read_parquet, require_columns
from assets.dgcl_epci.parse import membership
from assets.dgcl_epci.source import SPEC
from observatory.resources import Downloader
from observatory.sources import resolve_one


def load_dgcl(dl: Downloader) -> tuple[pl.DataFrame, dict]:
    """Every year of the plan (embedded in both modes: the DGCL moves its URLs every year)."""
    fixes: dict = {}
    frames, files = [], []
    for f in resolve_one(dl, SPEC, "epci_membership"):
        raw = read_parquet(f.path)
        require_columns(raw, ("annee",), file=f.path)
        files.append(str(f.path))
        for y in f.years:
            part = membership(raw.filter(pl.col("annee") == y), file=f"{f.path} (annee {y})", fixes=fixes)
            frames.append(part.with_columns(pl.lit(int(y), pl.Int32).alias("annee")))
    frame = harmonise_natures(pl.concat(frames)).select(
        "annee", "code_commune", "nom_commune", "epci_siren", "epci_nom", "epci_nature", "population_totale"
    )
    return frame.sort("annee", "code_commune"), {"fixes": fixes, "file": files[0] if len(files) == 1 else files}
