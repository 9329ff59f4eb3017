"""Etalab ``@etalab/decoupage-administratif``: EPCI composition and communes, one package version a year."""

from observatory.sources import PlanFile, RemoteFile, SourceSpec, years

#: Package version holding the geography of 1 January of each year (the package README's table);
#: 0.8.0 (2020) ships the EPCI file only.
VERSIONS = {2019: "0.7.0", 2020: "0.8.0", 2021: "1.1.1", 2022: "2.3.1", 2023: "3.1.1", 2024: "4.1.0", 2025: "5.3.0", 2026: "6.0.0"}
_URL = "https://unpkg.com/@etalab/decoupage-administratif@{version}/data/{name}"


def _remote(year: int, name: str) -> RemoteFile:
    return RemoteFile(millesime=str(year), url=_URL.format(version=VERSIONS[year], name=name), filename=name, magic=(b"[",))


def _plan():
    # Roles: epci_composition (EPCI and their member communes, by year); commune_list (communes of each
    # year); commune_links (old code -> current commune: communes déléguées' chef-lieu, anciensCodes).
    # Embedded: one file per role holding several years (column annee).
    yield PlanFile("epci_composition", years((2019, 2026)), embedded="epci_composition_2019_2026.parquet")
    yield PlanFile("commune_list", years(2019, (2021, 2026)), embedded="communes_2019_2026.parquet")
    yield PlanFile("commune_links", years((2024, 2026)), embedded="communes_rattachement_2024_2026.parquet")
    for year in VERSIONS:
        yield PlanFile("epci_composition", (year,), official=_remote(year, "epci.json"))
        if year != 2020:  # 0.8.0 ships the EPCI file only
            yield PlanFile("commune_list", (year,), official=_remote(year, "communes.json"))
            yield PlanFile("commune_links", (year,), official=_remote(year, "communes.json"))


SPEC = SourceSpec(
    name="etalab_epci",
    title="Découpage administratif (EPCI, communes)",
    publisher="Etalab (from INSEE COG and the DGCL list of EPCI à fiscalité propre)",
    licence="Licence Ouverte 2.0",
    homepage="https://github.com/etalab/decoupage-administratif",
    cadence="yearly",
    description=(
        "epci.json (EPCI with their member communes) and communes.json (communes, communes déléguées/associées with "
        "their chef-lieu, arrondissements municipaux) of the npm package version matching each 1 January, 2019-2026 "
        "(no communes.json for 2020)."
    ),
    plan=tuple(_plan()),
)
