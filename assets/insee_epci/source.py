"""INSEE: communes -> EPCI on 1 January (table d'appartenance, sheet ``Composition_communale``)."""

from observatory.resources import ZIP_MAGIC
from observatory.sources import PlanFile, RemoteFile, SourceSpec, years

_BASE = "https://www.insee.fr/fr/statistiques/fichier/2510634"


def _zip_name(annee: int) -> str:
    if annee >= 2024:
        return f"epci_au_01-01-{annee}.zip"
    return f"Intercommunalite_Metropole_au_01-01-{annee}" + ("_v1" if annee == 2020 else "") + ".zip"


#: Years with an official INSEE file (2015 comes only from the embedded COGugaison copy).
OFFICIAL_YEARS = years((2016, 2026))


def _plan():
    # Roles: epci_membership (commune -> EPCI, by year), epci_names (the EPCI's names, embedded only: the
    # official workbook carries them), commune_list (the communes of the official workbook, without population).
    yield PlanFile("epci_membership", years((2015, 2019)), embedded="appartenance_epci_2015_2019.parquet")
    yield PlanFile("epci_names", years((2015, 2019)), embedded="libelles_epci_2015_2019.parquet")
    for y in OFFICIAL_YEARS:
        remote = RemoteFile(millesime=str(y), url=f"{_BASE}/{_zip_name(y)}", filename=_zip_name(y), magic=(ZIP_MAGIC,))
        yield PlanFile("epci_membership", (y,), official=remote)
        yield PlanFile("commune_list", (y,), official=remote)


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
    plan=tuple(_plan()),
)
