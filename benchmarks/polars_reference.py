"""The Polars reference: the extraction as a skilled analyst would write it with Polars' lazy API.

The same selection as ``assets.sirene.extract`` (establishments ever coded 88.91A or whose own names
say EAJE, all their periods and stock rows, their legal units' periods and stock rows, the
succession links touching them), the same columns, materialised in memory: one
``pl.scan_parquet`` per file, the filters and semi-joins left to the lazy engine (projection and
predicate pushdown, late materialisation of the non-filter columns), ``collect_all`` so that a file
read twice is scanned once where Polars can share it. It does not type-fix, deduplicate or check
anything the pipeline does: it is the speed a hand-written query reaches, the pipeline's budget is
to stay within 1.2 x of it.
"""

from __future__ import annotations

import os
from pathlib import Path

NAF_EAJE = "88.91A"
NAMES = ("enseigne1Etablissement", "enseigne2Etablissement", "enseigne3Etablissement", "denominationUsuelleEtablissement")


def _columns(key: str) -> list[str]:
    from assets.sirene.extract import COLUMNS

    return [c.source for c in COLUMNS[key]]


def extract(sirene_dir: Path, threads: int | None = None) -> dict[str, int]:
    if threads:  # read once, when the thread pool starts: the stage runs in a fresh process
        os.environ.setdefault("POLARS_MAX_THREADS", str(threads))
    import polars as pl

    from assets.sirene.classification import SCOPE_PATTERNS
    from benchmarks.stages import input_paths

    p = input_paths(sirene_dir)
    # normalized_name (assets.sirene.classification) in Polars: upper case, accents dropped, punctuation to spaces
    own_name = (
        pl.concat_str([pl.col(c) for c in NAMES], separator=" ", ignore_nulls=True)
        .str.to_uppercase()
        .str.normalize("NFKD")
        .str.replace_all(r"\p{Mn}", "")
        .str.replace_all(r"[^A-Z0-9&]+", " ")
        .str.strip_chars()
        .str.contains(SCOPE_PATTERNS["eaje"])
    )
    selected = (pl.col("activitePrincipaleEtablissement") == NAF_EAJE) | own_name
    hist = pl.scan_parquet(p["etablissement_historique"])
    stock = pl.scan_parquet(p["etablissement"])
    sirets = pl.concat([hist.filter(selected).select("siret"), stock.filter(selected).select("siret")]).unique()
    sirets_df = sirets.collect()
    periodes, etablissements = pl.collect_all(
        [
            hist.select(_columns("etablissement_historique")).join(sirets_df.lazy(), on="siret", how="semi"),
            stock.select(_columns("etablissement")).join(sirets_df.lazy(), on="siret", how="semi"),
        ]
    )
    sirens = pl.concat([periodes.select("siren"), etablissements.select("siren")]).unique()
    links = pl.scan_parquet(p["succession"]).select(_columns("succession"))
    ul_periodes, unites, successions = pl.collect_all(
        [
            pl.scan_parquet(p["unite_legale_historique"])
            .select(_columns("unite_legale_historique"))
            .join(sirens.lazy(), on="siren", how="semi"),
            pl.scan_parquet(p["unite_legale"]).select(_columns("unite_legale")).join(sirens.lazy(), on="siren", how="semi"),
            links.filter(
                pl.col("siretEtablissementPredecesseur").is_in(sirets_df["siret"].implode())
                | pl.col("siretEtablissementSuccesseur").is_in(sirets_df["siret"].implode())
            ),
        ]
    )
    return {
        "etablissements": sirets_df.height,
        "etablissement_periodes": periodes.height,
        "etablissement_stock_rows": etablissements.height,
        "sirens": sirens.height,
        "unite_legale_periodes": ul_periodes.height,
        "unites_legales": unites.height,
        "succession_links": successions.height,
    }
