"""Etalab ``@etalab/decoupage-administratif``: EPCI composition and communes, one package version a year."""

from observatory.sources import RemoteFile, SourceSpec

#: Package version holding the geography of 1 January of each year (the package README's table);
#: 0.8.0 (2020) ships the EPCI file only.
VERSIONS = {2019: "0.7.0", 2020: "0.8.0", 2021: "1.1.1", 2022: "2.3.1", 2023: "3.1.1", 2024: "4.1.0", 2025: "5.3.0", 2026: "6.0.0"}
_URL = "https://unpkg.com/@etalab/decoupage-administratif@{version}/data/{name}"


def _files():
    for year, version in VERSIONS.items():
        yield RemoteFile(millesime=str(year), url=_URL.format(version=version, name="epci.json"), filename="epci.json", magic=(b"[",))
        if year != 2020:
            yield RemoteFile(millesime=str(year), url=_URL.format(version=version, name="communes.json"), filename="communes.json", magic=(b"[",))


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
    remote_files=tuple(_files()),
    embedded_files=("epci_composition_2019_2026.parquet", "communes_2019_2026.parquet", "communes_rattachement_2024_2026.parquet"),
)
