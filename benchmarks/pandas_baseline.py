"""The pandas baseline: the extraction written the way a typical analyst writes it.

Read the needed columns of each file with ``pandas.read_parquet`` (column projection, as the
pandas docs recommend), filter in memory with boolean masks and ``isin``. It is written
charitably: each full frame is dropped as soon as it has been filtered, so at most one whole file
(its needed columns) is in memory at a time. It reads exactly the columns the pipeline reads
(``assets.sirene.extract``) and returns the same row counts as the pipeline and the floor, which
``run.py`` checks.

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


def _columns(key: str) -> list[str]:
    from assets.sirene.extract import COLUMNS

    return [c.source for c in COLUMNS[key]]


def extract(sirene_dir: Path) -> dict[str, int]:
    d = Path(sirene_dir)
    hist = pd.read_parquet(d / "StockEtablissementHistorique_utf8.parquet", columns=_columns("etablissement_historique"))
    sirets = set(hist.loc[hist["activitePrincipaleEtablissement"] == NAF_EAJE, "siret"])
    stock = pd.read_parquet(d / "StockEtablissement_utf8.parquet", columns=_columns("etablissement"))
    sirets |= set(stock.loc[stock["activitePrincipaleEtablissement"] == NAF_EAJE, "siret"])
    periodes = hist[hist["siret"].isin(sirets)].copy()
    del hist
    gc.collect()
    etablissements = stock[stock["siret"].isin(sirets)].copy()
    del stock
    gc.collect()

    sirens = set(etablissements["siren"]) | set(periodes["siren"])
    ul_hist = pd.read_parquet(d / "StockUniteLegaleHistorique_utf8.parquet", columns=_columns("unite_legale_historique"))
    ul_periodes = ul_hist[ul_hist["siren"].isin(sirens)].copy()
    del ul_hist
    gc.collect()
    ul = pd.read_parquet(d / "StockUniteLegale_utf8.parquet", columns=_columns("unite_legale"))
    unites = ul[ul["siren"].isin(sirens)].copy()
    del ul
    gc.collect()
    return {
        "etablissements": len(sirets),
        "etablissement_periodes": len(periodes),
        "etablissement_stock_rows": len(etablissements),
        "sirens": len(sirens),
        "unite_legale_periodes": len(ul_periodes),
        "unites_legales": len(unites),
    }
