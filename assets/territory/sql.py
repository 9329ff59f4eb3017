"""SQL files of the territory package, the marts' schemas and their published comments."""

from pathlib import Path

import polars as pl

from observatory.resources import sql_literal

HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    return HERE / f"{name}.sql"


MERGERS_SCHEMA = {
    "annee": pl.Int32, "type_evenement": pl.Utf8, "epci_siren": pl.Utf8, "epci_nom": pl.Utf8,
    "predecessors": pl.List(pl.Utf8), "successors": pl.List(pl.Utf8), "n_predecessors": pl.Int32,
    "communes": pl.List(pl.Utf8), "n_communes": pl.Int32, "population": pl.Int64, "perimetre_identique": pl.Boolean,
}
LINEAGE_SCHEMA = {
    "annee": pl.Int32, "epci_siren_avant": pl.Utf8, "epci_nom_avant": pl.Utf8, "epci_siren_apres": pl.Utf8,
    "epci_nom_apres": pl.Utf8, "n_communes": pl.Int32, "population": pl.Int64, "share_communes_avant": pl.Float64,
    "share_population_avant": pl.Float64, "share_population_apres": pl.Float64, "meme_siren": pl.Boolean,
}

#: table -> (table comment, {column: comment}); published with the marts (publish copies comments).
COMMENTS = {
    "marts.epci_mergers": (
        "EPCI changes on 1 January of annee (2016-2026), derived by comparing the commune -> EPCI membership of annee-1 and "
        "annee on the commune geography of annee (commune mergers and code changes are not EPCI changes). One row per change; "
        "rules and worked examples in docs/methodology.md (territory).",
        {
            "annee": "year of the new composition (change effective 1 January annee, compared with 1 January annee-1)",
            "type_evenement": "fusion | extension | transfert | scission | dissolution | changement_identifiant | creation | retrait",
            "epci_siren": "SIREN of the EPCI the row is about: the successor, or the predecessor for scission, dissolution and retrait",
            "epci_nom": "name of that EPCI (in annee, or in annee-1 for a predecessor)",
            "predecessors": "SIREN of the EPCI of annee-1 involved (for a fusion: the absorbed EPCI)",
            "successors": "SIREN of the EPCI of annee involved",
            "n_predecessors": "number of predecessors",
            "communes": "codes (geography of annee) of the communes concerned by the change",
            "n_communes": "number of communes concerned (geography of annee)",
            "population": "population of the communes concerned, COG of annee-1 (inhabitants); NULL if unknown",
            "perimetre_identique": "fusion / changement_identifiant: true when the new perimeter is exactly the predecessors' (no commune added or lost)",
        },
    ),
    "marts.epci_lineage": (
        "Predecessor -> successor edges between the EPCI of 1 January annee-1 and of annee (every EPCI, changed or not), on the "
        "commune geography of annee. NULL SIREN = no EPCI.",
        {
            "annee": "year of the successor composition (1 January)",
            "epci_siren_avant": "SIREN in annee-1 (NULL: communes that belonged to no EPCI)",
            "epci_nom_avant": "name in annee-1",
            "epci_siren_apres": "SIREN in annee (NULL: communes that belong to no EPCI)",
            "epci_nom_apres": "name in annee",
            "n_communes": "number of communes of annee-1 that moved along this edge",
            "population": "their population, COG of annee-1 (inhabitants)",
            "share_communes_avant": "share of the predecessor's communes (0-1)",
            "share_population_avant": "share of the predecessor's population (0-1)",
            "share_population_apres": "share of the successor's population coming from this predecessor (0-1)",
            "meme_siren": "true when predecessor and successor are the same EPCI (same SIREN)",
        },
    ),
    "marts.commune_epci": (
        "EPCI of a commune on 1 January of each year 2015-2026, for any commune code seen in 2015-2026 (including former codes "
        "and the arrondissements of Paris, Lyon and Marseille). A code is read in its latest meaning and brought to the "
        "geography of annee (see method / estimated).",
        {
            "code_commune": "commune code as given (any code seen 2015-2026, or a PLM arrondissement)",
            "annee": "year (1 January)",
            "code_commune_annee": "the commune in the geography of annee",
            "nom_commune": "its name in annee",
            "method": "how the code was brought to annee: identique, arrondissement, fusion, changement_code, scission_origine (exact); "
                       "scission_code_conserve, scission_part_majoritaire, retour_code_conserve, retour_part_majoritaire (estimated)",
            "estimated": "true when the commune of annee is a choice among several (split, or a commune looked at before a fusion)",
            "epci_siren": "SIREN of its EPCI on 1 January annee (NULL: outside any EPCI)",
            "epci_nom": "name of the EPCI",
            "epci_nature": "CC, CA, CU, ME (métropole), SA (SAN), MET69 (Métropole de Lyon, not an EPCI à fiscalité propre)",
        },
    ),
}



def comment(con, table: str) -> None:
    text, columns = COMMENTS[table]
    con.execute(f"comment on table {table} is {sql_literal(text)}")
    for col, c in columns.items():
        con.execute(f'comment on column {table}."{col}" is {sql_literal(c)}')
