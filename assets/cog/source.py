"""INSEE Code officiel géographique: commune lists, movements, yearly passage tables."""

from observatory.sources import RemoteFile, SourceSpec

#: insee.fr folder of each COG edition published with v_commune / v_mvt_commune CSVs.
FOLDERS = {2024: "7766585", 2025: "8377162", 2026: "8740222"}
_BASE = "https://www.insee.fr/fr/statistiques/fichier/{folder}/{name}"

SPEC = SourceSpec(
    name="cog",
    title="Code officiel géographique (communes, mouvements, tables de passage)",
    publisher="INSEE",
    licence="Licence Ouverte 2.0 (INSEE); embedded copies via COGugaison (ODbL)",
    homepage="https://www.insee.fr/fr/information/2560452",
    cadence="yearly",
    description=(
        "Official: v_commune_YYYY.csv (communes on 1 January, TYPECOM=COM) and v_mvt_commune_YYYY.csv (every commune "
        "movement since 1943) for 2024-2026. Embedded: COGugaison's commune lists with population 2015-2024, its yearly "
        "passage tables 2015->2024 and the INSEE historiq file (to 2018)."
    ),
    remote_files=tuple(
        RemoteFile(millesime=str(y), url=_BASE.format(folder=f, name=f"{kind}_{y}.csv"), filename=f"{kind}_{y}.csv")
        for y, f in FOLDERS.items()
        for kind in ("v_commune", "v_mvt_commune")
    ),
    embedded_files=("communes_pop_2015_2024.parquet", "passage_communes_2015_2024.parquet", "historiq_modifs_communales.parquet"),
)
