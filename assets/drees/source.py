"""DREES, "L'offre d'accueil du jeune enfant" (dataset 331): département tables, yearly.

Six tables of the DREES workbook, one indicator each; the embedded copy is the republished CSV
export (``Code région;Code département;Département;<year>...``).
"""

from observatory.sources import PlanFile, RemoteFile, SourceSpec

#: table number -> (indicator, unit)
TABLES: dict[int, tuple[str, str]] = {
    23: ("creches_collectives", "établissements"),
    24: ("creches_familiales", "établissements"),
    27: ("etablissements_gestion_parentale", "établissements"),
    28: ("places_creches_collectives", "places"),
    32: ("places_gestion_parentale", "places"),
    33: ("agrements_assistants_maternels", "assistants maternels agréés"),
}

DATASET_URL = "https://data.drees.solidarites-sante.gouv.fr/explore/dataset/331_l-offre-d-accueil-du-jeune-enfant/"

#: Where official mode expects the tables (``drees_tab<N>.csv``), under data/raw/drees/.
OFFICIAL_DIR = "manual"

SPEC = SourceSpec(
    name="drees",
    title="DREES - L'offre d'accueil du jeune enfant, département tables 23, 24, 27, 28, 32, 33",
    publisher="DREES",
    licence="Licence Ouverte 2.0",
    homepage=DATASET_URL,
    cadence="yearly",
    description=(
        "Crèches collectives and familiales, parental-management establishments and their places, "
        "childminder approvals, by département and year (2010/2015/2016 to 2023)."
    ),
    # Role tables, one part per table number. DREES publishes these tables inside one workbook on its
    # portal; no stable per-table URL is known, so nothing is downloaded: official mode reads the tables
    # saved by hand as CSV (``;``, one column per year) in data/raw/drees/manual/ (see OFFICIAL_DIR).
    plan=tuple(
        PlanFile(
            "tables",
            part=str(n),
            embedded=f"drees_tab{n}.parquet",
            details=(("table", n),),
            official=RemoteFile(millesime=OFFICIAL_DIR, url=DATASET_URL, filename=f"drees_tab{n}.csv", manual=True),
        )
        for n in TABLES
    ),
)
