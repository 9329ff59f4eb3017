"""SQL files of the territory package, the marts' schemas and their published comments."""

from pathlib import Path

import polars as pl

from observatory.resources import sql_literal

HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    return HERE / f"{name}.sql"


MERGERS_SCHEMA = {
    "annee": pl.Int32,
    "type_evenement": pl.Utf8,
    "epci_siren": pl.Utf8,
    "epci_nom": pl.Utf8,
    "epci_nature": pl.Utf8,
    "epci_nature_avant": pl.Utf8,
    "predecessors": pl.List(pl.Utf8),
    "successors": pl.List(pl.Utf8),
    "n_predecessors": pl.Int32,
    "communes": pl.List(pl.Utf8),
    "n_communes": pl.Int32,
    "population": pl.Int64,
    "perimetre_identique": pl.Boolean,
}
LINEAGE_SCHEMA = {
    "annee": pl.Int32,
    "epci_siren_avant": pl.Utf8,
    "epci_nom_avant": pl.Utf8,
    "epci_siren_apres": pl.Utf8,
    "epci_nom_apres": pl.Utf8,
    "n_communes": pl.Int32,
    "population": pl.Int64,
    "share_communes_avant": pl.Float64,
    "share_population_avant": pl.Float64,
    "share_population_apres": pl.Float64,
    "meme_siren": pl.Boolean,
    "absorbed": pl.Boolean,
}
RECONCILIATION_SCHEMA = {
    "annee": pl.Int32,
    "kind": pl.Utf8,
    "item": pl.Utf8,
    "n_official": pl.Int64,
    "n_observed": pl.Int64,
    "n_compatible_min": pl.Int64,
    "n_compatible_max": pl.Int64,
    "documented_difference": pl.Int32,
    "status": pl.Utf8,
    "mapping": pl.Utf8,
    "note": pl.Utf8,
    "source": pl.Utf8,
    "source_url": pl.Utf8,
}
RECONCILIATION_EPCI_SCHEMA = {
    "annee": pl.Int32,
    "item": pl.Utf8,
    "epci_siren": pl.Utf8,
    "epci_nom": pl.Utf8,
    "epci_nature": pl.Utf8,
    "certain": pl.Boolean,
    "type_evenement": pl.Utf8,
    "note": pl.Utf8,
}

#: Natural key of each territory mart: written at the end of its table comment (so in the data dictionary)
#: and checked unique by its blocking check (checks.py).
KEYS = {
    "marts.epci_mergers": ("annee", "type_evenement", "epci_siren"),
    "marts.epci_lineage": ("annee", "epci_siren_avant", "epci_siren_apres"),
    "marts.commune_epci": ("code_commune", "annee"),
    "marts.epci_mergers_reconciliation": ("annee", "kind", "item"),
    "marts.epci_mergers_reconciliation_epci": ("annee", "item", "epci_siren"),
}
_NATURE = "CC, CA, CU, ME (métropole), SA (SAN), MET69 (Métropole de Lyon, not an EPCI à fiscalité propre)"

#: table -> (table comment, {column: comment}); published with the marts (publish copies comments).
COMMENTS = {
    "marts.epci_mergers": (
        "EPCI changes on 1 January of annee (2016-2026), derived by comparing the commune -> EPCI membership of annee-1 and "
        "annee on the commune geography of annee (commune mergers and code changes are not EPCI changes). One row per change "
        "type and EPCI; rules and worked examples in docs/methodology.md (territory).",
        {
            "annee": "year of the new composition (change effective 1 January annee, compared with 1 January annee-1)",
            "type_evenement": "fusion | extension | transfert | scission | dissolution | changement_identifiant | creation | retrait | transformation",
            "epci_siren": "SIREN of the EPCI the row is about: the successor, or the predecessor for scission, dissolution and retrait",
            "epci_nom": "name of that EPCI (in annee, or in annee-1 for a predecessor)",
            "epci_nature": f"nature of that EPCI (in annee, or in annee-1 for a predecessor): {_NATURE}",
            "epci_nature_avant": "successor rows: nature of the same SIREN in annee-1 (differs from epci_nature on a transformation row); "
            "NULL for a new SIREN and on predecessor rows",
            "predecessors": "SIREN of the EPCI of annee-1 involved: for a fusion or changement_identifiant, the absorbed EPCI (the "
            "predecessors, marts.epci_lineage.absorbed); for extension, transfert and creation, the donors",
            "successors": "SIREN of the EPCI of annee involved",
            "n_predecessors": "number of EPCI in predecessors; on a fusion or changement_identifiant row, the EPCI's predecessor count "
            "(n_predecessors: the EPCI it absorbed)",
            "communes": "codes (geography of annee) of the communes concerned by the change",
            "n_communes": "number of communes concerned (geography of annee)",
            "population": "population of the communes concerned, COG of annee-1 (inhabitants); NULL if unknown",
            "perimetre_identique": "fusion / changement_identifiant / transformation: true when the new perimeter is exactly the predecessors' "
            "(no commune added or lost)",
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
            "absorbed": "true when the successor absorbed the predecessor: it received more than half of the predecessor's mass "
            "(population, or communes when a population is unknown) and the predecessor vanished or is the successor. "
            "An EPCI's predecessors (n_predecessors) are its absorbed edges; a donor of a few communes is not one",
        },
    ),
    "marts.epci_mergers_reconciliation": (
        "The EPCI changes and natures set against the official counts (DGCL), per year: counts by nature on 1 January "
        "2015-2026, and the DGCL's operations (fusion, dissolution, transformation) against the mart's own typology, with the "
        "range of counts the compositions are compatible with. Official figures and sources: "
        "assets/territory/reference/official_epci_counts.csv; the EPCI behind each range: marts.epci_mergers_reconciliation_epci; "
        "explanations in docs/methodology.md (territory, reconciliation).",
        {
            "annee": "year (1 January); for operations, those that took effect on 1 January annee or during annee-1",
            "kind": "nature (EPCI counted by nature) or operation (DGCL operation type)",
            "item": f"nature: {_NATURE}; operation: fusion, dissolution, transformation, total",
            "n_official": "official count (see source); NULL where none is known [unit: EPCI or operations]",
            "n_observed": "count in the observatory's tables: EPCI of that nature in stg.epci, or rows of that type in marts.epci_mergers "
            "[unit: EPCI or rows]",
            "n_compatible_min": "operations: fewest operations of that type the compositions are compatible with (see mapping); "
            "natures: n_observed [unit: EPCI or operations]",
            "n_compatible_max": "operations: most operations of that type the compositions are compatible with; natures: n_observed "
            "[unit: EPCI or operations]",
            "documented_difference": "difference between the data and the official figure that note explains (0: none expected) "
            "[unit: EPCI or operations]",
            "status": "equal (official = observed), compatible (official within the compatible range), documented_difference "
            "(official + documented_difference within it), different (fails the blocking check), no_official_figure",
            "mapping": "how n_observed and the compatible range are counted from the marts",
            "note": "why the official figure and the data differ, or how the official figure was derived",
            "source": "publication the official figure comes from",
            "source_url": "address of that publication (or of a page quoting it)",
        },
    ),
    "marts.epci_mergers_reconciliation_epci": (
        "The EPCI behind each operation count of marts.epci_mergers_reconciliation, one row per year, operation type and EPCI: "
        "certain rows make n_compatible_min, the others the rest of the range (which procedure the DGCL recorded cannot be read "
        "from the compositions).",
        {
            "annee": "year (1 January) of the change",
            "item": "fusion, dissolution or transformation",
            "epci_siren": "the EPCI: the successor (fusion, transformation) or the vanished predecessor (dissolution)",
            "epci_nom": "its name (in annee, or in annee-1 for a predecessor)",
            "epci_nature": f"its nature (in annee, or in annee-1 for a predecessor): {_NATURE}",
            "certain": "true when the compositions leave no doubt that this EPCI counts as this operation type",
            "type_evenement": "the types of its rows in marts.epci_mergers that year, joined by '+'",
            "note": "why it counts, or may count, as this operation type",
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
    if table in KEYS:
        text += f" Key: ({', '.join(KEYS[table])})."
    con.execute(f"comment on table {table} is {sql_literal(text)}")
    for col, c in columns.items():
        con.execute(f'comment on column {table}."{col}" is {sql_literal(c)}')
