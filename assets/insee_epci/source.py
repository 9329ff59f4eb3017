"""INSEE: communes -> EPCI on 1 January (table d'appartenance, sheet ``Composition_communale``)."""

from observatory.resources import ZIP_MAGIC
from observatory.sources import RemoteFile, SourceSpec

_BASE = "https://www.insee.fr/fr/statistiques/fichier/2510634"


def _zip_name(annee: int) -> str:
    if annee >= 2024:
        return f"epci_au_01-01-{annee}.zip"
    return f"Intercommunalite_Metropole_au_01-01-{annee}" + ("_v1" if annee == 2020 else "") + ".zip"


#: Years with an official INSEE file (2015 comes only from the embedded COGugaison copy).
OFFICIAL_YEARS = tuple(range(2016, 2027))

SPEC = SourceSpec(
    name="insee_epci",
    title="Composition communale des EPCI au 1er janvier",
    publisher="INSEE",
    licence="Licence Ouverte 2.0 (INSEE); embedded copy via COGugaison (ODbL)",
    homepage="https://www.insee.fr/fr/information/2510634",
    cadence="yearly",
    description=(
        "One row per commune on 1 January: CODGEO, LIBGEO, EPCI (SIREN, ZZZZZZZZZ = none), LIBEPCI, DEP, REG. "
        "Official files: one zip a year holding one .xls (2016-2019) or .xlsx (2020-2026), sheet Composition_communale, "
        "5 title rows. Embedded: the 2015-2019 tables as republished by antuki/COGugaison."
    ),
    remote_files=tuple(
        RemoteFile(millesime=str(y), url=f"{_BASE}/{_zip_name(y)}", filename=_zip_name(y), magic=(ZIP_MAGIC,))
        for y in OFFICIAL_YEARS
    ),
    embedded_files=("appartenance_epci_2015_2019.parquet", "libelles_epci_2015_2019.parquet"),
)
