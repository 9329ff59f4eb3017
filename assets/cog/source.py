"""INSEE Code officiel géographique: commune lists, movements, yearly passage tables."""

from observatory.sources import PlanFile, RemoteFile, SourceSpec, years

#: insee.fr folder of each COG edition published with v_commune / v_mvt_commune CSVs: a new edition is a
#: line here (its files follow in the plan).
FOLDERS = {2024: "7766585", 2025: "8377162", 2026: "8740222"}
_BASE = "https://www.insee.fr/fr/statistiques/fichier/{folder}/{name}"
#: First step (1 January y -> y + 1) the movement files are read for.
FIRST_STEP = 2015


def _remote(year: int, kind: str) -> RemoteFile:
    return RemoteFile(millesime=str(year), url=_BASE.format(folder=FOLDERS[year], name=f"{kind}_{year}.csv"), filename=f"{kind}_{year}.csv")


def _plan():
    # Roles: commune_list (communes on 1 January, by year); passage (what changed between 1 January y and
    # y + 1, by step y); code_changes (codes changed without territorial change). A v_mvt_commune file holds
    # every movement up to its edition: the latest edition wins each step.
    yield PlanFile("commune_list", years((2015, 2024)), embedded="communes_pop_2015_2024.parquet")
    yield PlanFile("passage", years((2015, 2023)), embedded="passage_communes_2015_2024.parquet")
    yield PlanFile("code_changes", embedded="historiq_modifs_communales.parquet")
    for y in FOLDERS:
        yield PlanFile("commune_list", (y,), official=_remote(y, "v_commune"))
        steps = years((FIRST_STEP, y - 1))
        yield PlanFile("passage", steps, official=_remote(y, "v_mvt_commune"))
        yield PlanFile("code_changes", steps, official=_remote(y, "v_mvt_commune"))


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
    plan=tuple(_plan()),
)
