"""The pandas baseline: the extraction written the way a typical analyst writes it.

Read the needed columns of each file with ``pandas.read_parquet`` (column projection, as the
pandas docs recommend), filter in memory with boolean masks and ``isin``. It is written
charitably: each full frame is dropped as soon as it has been filtered, so at most one whole file
(its needed columns) is in memory at a time. It reads exactly the columns the pipeline reads
(``assets.sirene.extract``) and returns the same row counts as the pipeline and the floor, which
``run.py`` checks: establishments ever coded 88.91A or whose own names say EAJE (the names are
normalised only where one is present, as a careful analyst would), their legal units, and the
succession links touching them.

Typical costs it pays: every string becomes a pandas string, every DATE a Python ``datetime.date``
object (pandas keeps Arrow dates as objects by default, which also survives the years 0004 and
2218 found in the real files), and the whole column set of a 96 M-row file sits in memory before
the filter.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pandas as pd

NAF_EAJE = "88.91A"
NAMES = ["enseigne1Etablissement", "enseigne2Etablissement", "enseigne3Etablissement", "denominationUsuelleEtablissement"]


def _columns(key: str) -> list[str]:
    from assets.sirene.extract import COLUMNS

    return [c.source for c in COLUMNS[key]]


def _selected(frame: pd.DataFrame) -> pd.Series:
    """88.91A, or an own name saying EAJE (normalized_name of assets.sirene.classification, in pandas)."""
    from assets.sirene.classification import SCOPE_PATTERNS

    named = frame[NAMES].notna().any(axis=1)
    text = frame.loc[named, NAMES].fillna("").agg(" ".join, axis=1)
    text = text.str.upper().str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    text = text.str.replace(r"[^A-Z0-9&]+", " ", regex=True).str.strip()
    by_name = pd.Series(False, index=frame.index)
    by_name[named] = text.str.contains(SCOPE_PATTERNS["eaje"], regex=True)
    return (frame["activitePrincipaleEtablissement"] == NAF_EAJE) | by_name


def extract(sirene_dir: Path) -> dict[str, int]:
    from benchmarks.stages import input_paths

    p = input_paths(sirene_dir)
    hist = pd.read_parquet(p["etablissement_historique"], columns=_columns("etablissement_historique"))
    sirets = set(hist.loc[_selected(hist), "siret"])
    stock = pd.read_parquet(p["etablissement"], columns=_columns("etablissement"))
    sirets |= set(stock.loc[_selected(stock), "siret"])
    periodes = hist[hist["siret"].isin(sirets)].copy()
    del hist
    gc.collect()
    etablissements = stock[stock["siret"].isin(sirets)].copy()
    del stock
    gc.collect()

    sirens = set(etablissements["siren"]) | set(periodes["siren"])
    ul_hist = pd.read_parquet(p["unite_legale_historique"], columns=_columns("unite_legale_historique"))
    ul_periodes = ul_hist[ul_hist["siren"].isin(sirens)].copy()
    del ul_hist
    gc.collect()
    ul = pd.read_parquet(p["unite_legale"], columns=_columns("unite_legale"))
    unites = ul[ul["siren"].isin(sirens)].copy()
    del ul
    gc.collect()
    links = pd.read_parquet(p["succession"], columns=_columns("succession"))
    links = links[links["siretEtablissementPredecesseur"].isin(sirets) | links["siretEtablissementSuccesseur"].isin(sirets)]
    return {
        "etablissements": len(sirets),
        "etablissement_periodes": len(periodes),
        "etablissement_stock_rows": len(etablissements),
        "sirens": len(sirens),
        "unite_legale_periodes": len(ul_periodes),
        "unites_legales": len(unites),
        "succession_links": len(links),
    }
