"""CAF (CNAF, data.caf.fr): places and coverage rates of childcare by commune.

Four OpenDataSoft datasets, read through the Explore API v2.1 export endpoint: the "current"
datasets (the two latest years) and their ``_hist`` variants (2017-2022). A year present in both
comes from the current dataset (CNAF revises the last historical year).
"""

from observatory.sources import PlanFile, RemoteFile, SourceSpec

API_ROOT = "https://data.caf.fr/api/explore/v2.1/catalog/datasets"

#: (dataset id, kind). ``kind`` selects the column mapping in :mod:`assets.caf.parse`.
DATASETS: tuple[tuple[str, str], ...] = (
    ("nbpla_pe_com", "places"),
    ("nbpla_pe_com_hist", "places"),
    ("txcouv_pe_com", "coverage"),
    ("txcouv_pe_com_hist", "coverage"),
)

#: The export is one request per dataset (the records endpoint stops at offset + limit = 10,000).
#: ``;`` delimiter: commune names contain commas.
EXPORT_QUERY = "exports/csv?delimiter=%3B"

#: Embedded copy (republished CSVs with renamed headers, see data/raw/caf/embedded/PROVENANCE.md).
EMBEDDED = {
    "places": "nbpla_pe_com_2017_2022.parquet",
    "coverage": "txcouv_pe_com_2017_2022.parquet",
}

SPEC = SourceSpec(
    name="caf",
    title="CAF - accueil du jeune enfant: places (nbpla_pe_com) and coverage rates (txcouv_pe_com) by commune",
    publisher="CNAF (data.caf.fr)",
    licence="Licence Ouverte 2.0",
    homepage="https://data.caf.fr/explore/dataset/nbpla_pe_com/",
    cadence="yearly",
    description=(
        "Theoretical childcare supply in December of each year for communes above 10,000 inhabitants "
        "(about 1,040 communes a year): places in PSU-funded EAJE, EAJE outside PSU, pre-schooling, "
        "childminders, home care; and the matching coverage rates (places per 100 children under 3)."
    ),
    # Roles places and coverage (every CAF year in one file); official: the current dataset (part current)
    # and its _hist variant (part hist), current first: a year present in both comes from the current one.
    plan=tuple(
        [PlanFile(kind, embedded=name) for kind, name in EMBEDDED.items()]
        + [
            PlanFile(
                kind,
                part="hist" if dataset.endswith("_hist") else "current",
                official=RemoteFile(millesime="latest", url=f"{API_ROOT}/{dataset}/{EXPORT_QUERY}", filename=f"{dataset}.csv"),
            )
            for dataset, kind in sorted(DATASETS, key=lambda d: d[0].endswith("_hist"))
        ]
    ),
)
