"""Column specifications of the SIRENE tables (``observatory.columns``). Names and types come from the
structures the code already reads and writes with (``extract.*_COLS``, ``facility_years.COLUMNS``,
``operators.COLUMNS``); this module adds what each column means, so each table still has one spec."""

import polars as pl

from assets.sirene import extract, facility_years, operators
from assets.sirene.classification import SECTORS
from observatory.columns import spec_from_types

#: extract.Col.kind -> DuckDB type of the stg column.
DUCKDB_TYPE = {"text": "VARCHAR", "code": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP", "bool": "BOOLEAN", "int": "BIGINT"}
_POLARS_TYPE = {pl.String: "VARCHAR", pl.Int32: "INTEGER", pl.Date: "DATE", pl.Boolean: "BOOLEAN"}

_SIRENE = "(SIRENE {}; see the INSEE documentation of the stock files)"
#: Meaning of a stg column, shared by the tables that read the same SIRENE variable.
_STG = {
    "siret": "Establishment SIRET (14 digits)",
    "siren": "Legal unit SIREN (9 digits)",
    "nic": "Establishment NIC: the last 5 digits of the SIRET",
    "statut_diffusion": "Diffusion status: O public, P partially hidden (statutDiffusion)",
    "date_creation": ("Creation date", "date"),
    "tranche_effectifs": "Headcount band code (trancheEffectifs; NN or NULL: not known)",
    "date_dernier_traitement": ("Date INSEE last processed the row", "timestamp"),
    "etablissement_siege": "True for the head office of the legal unit",
    "code_postal": "Postal code of the address",
    "libelle_commune": "Commune name of the address",
    "code_commune": "Commune code of the address as recorded (current geography if open, of the closure if closed; may be an arrondissement)",
    "code_pays_etranger": "Country code when the establishment is abroad; NULL in France",
    "date_debut": ("Start date of the period", "date"),
    "date_fin": ("End date of the period; NULL for the current one", "date"),
    "etat_administratif": "Administrative state during the period: A active, F closed (C ceased for a legal unit)",
    "changement_etat_administratif": "True when the state changed at date_debut",
    "activite_principale": "Main activity code (APE / NAF rév. 2), e.g. 88.91A for an EAJE",
    "nomenclature_activite": "Nomenclature of activite_principale (NAFv2 ...)",
    "changement_activite": "True when the activity changed at date_debut",
    "enseigne1": "First sign (enseigne) of the establishment",
    "enseigne2": "Second sign of the establishment",
    "enseigne3": "Third sign of the establishment",
    "denomination_usuelle": "Usual name of the establishment",
    "identifiant_adresse": "Address identifier (BAN); NULL in files older than format 3.11",
    "coordonnee_lambert_x": "Lambert abscissa of the address as published (text); NULL in older files",
    "coordonnee_lambert_y": "Lambert ordinate of the address as published (text); NULL in older files",
    "activite_principale_naf25": "Main activity in NAF 2025; NULL in files before December 2025",
    "sigle": "Acronym of the legal unit",
    "identifiant_association": "RNA number of an association (W...); NULL otherwise",
    "categorie_entreprise": "Company size category (PME, ETI, GE)",
    "denomination": "Name of the legal unit (legal person)",
    "categorie_juridique": "Legal category code (4 digits, INSEE nomenclature), e.g. 9220 declared association, 7210 commune",
    "changement_categorie_juridique": "True when the legal category changed at date_debut",
    "nic_siege": "NIC of the head office",
    "ess_flag": "Social and solidarity economy flag: O yes, N no, NULL unknown (not 'no')",
    "changement_ess_flag": "True when the ESS flag changed at date_debut",
    "societe_mission": "Société à mission flag: O yes, N no; NULL in older files",
}


def _stg(table: str, description: str, key: tuple[str, ...], cols: tuple[extract.Col, ...], **overrides):
    types = {c.target: DUCKDB_TYPE[c.kind] for c in cols}
    return spec_from_types(table, description, key, types, {n: overrides[n] if n in overrides else _STG[n] for n in types})


ETABLISSEMENT_PERIODES = _stg(
    "stg.sirene_etablissement_periodes",
    "History periods (StockEtablissementHistorique) of the establishments ever in activity 88.91A.",
    ("siret", "date_debut"),
    extract.ETABLISSEMENT_HISTORIQUE_COLS,
)
ETABLISSEMENTS = _stg(
    "stg.sirene_etablissements",
    "Current stock row (StockEtablissement) of the same establishments.",
    ("siret",),
    extract.ETABLISSEMENT_COLS,
    date_debut=("Start date of the current period", "date"),
    etat_administratif="Current administrative state: A active, F closed",
)
UNITE_LEGALE_PERIODES = _stg(
    "stg.sirene_unite_legale_periodes",
    "History periods (StockUniteLegaleHistorique) of the legal units of those establishments.",
    ("siren", "date_debut"),
    extract.UNITE_LEGALE_HISTORIQUE_COLS,
)
UNITES_LEGALES = _stg(
    "stg.sirene_unites_legales",
    "Current stock row (StockUniteLegale) of those legal units (person names of individual entrepreneurs are not read).",
    ("siren",),
    extract.UNITE_LEGALE_COLS,
    date_debut=("Start date of the current period", "date"),
    etat_administratif="Current administrative state: A active, C ceased",
)

SUCCESSIONS = _stg(
    "stg.sirene_successions",
    "Succession links (StockEtablissementLiensSuccession) whose predecessor or successor was ever a selected "
    "establishment: a transfer or a declared takeover links the closing siret to the one that carries on.",
    ("siret_predecessor", "siret_successor", "date_lien"),
    extract.SUCCESSION_COLS,
    siret_predecessor="SIRET of the establishment that ends (predecessor, 14 digits)",
    siret_successor="SIRET of the establishment that carries on (successor, 14 digits)",
    date_lien=("Date of the succession link", "date"),
    transfert_siege="True when the link transfers the head office of the legal unit",
    continuite_economique="True when INSEE records economic continuity between the two establishments",
    date_dernier_traitement=("Date INSEE last processed the link", "timestamp"),
)

OPERATOR_YEARS = spec_from_types(
    "int.operator_years",
    "Every legal unit of an extracted establishment, every year: its legal category and ESS flag on 1 January and the "
    "operator class and sector the classification gives them.",
    ("siren", "annee"),
    {n: _POLARS_TYPE[t] for n, t in operators.COLUMNS.items()},
    {
        "siren": "Legal unit SIREN (9 digits)",
        "annee": ("Year; the unit as it was on 1 January of this year", "year"),
        "categorie_juridique": "Legal category on 1 January of annee; NULL when the unit is missing from SIRENE",
        "ess_flag": "ESS flag on 1 January of annee: O yes, N no, NULL unknown",
        "denomination": "Name on 1 January of annee",
        "operator_class": "Fine operator class (assets/sirene/reference/operator_classes.csv); 'indetermine' when undecidable",
        "sector": "Sector of the class: " + ", ".join(SECTORS),
        "rule": "Classification rule that decided the class ('unite_legale_absente' when the unit is missing)",
        "rules_version": "Version of the classification rules used",
        "periode_date_debut": ("Start date of the SIRENE period read for 1 January of annee", "date"),
        "periode_en_vigueur": "False when annee is before the unit's first period (that first period is used instead)",
    },
)

_FACILITY = {
    "siret": "Establishment SIRET (14 digits)",
    "siren": "Operator (legal unit) SIREN (9 digits)",
    "annee": ("Year; the facility as it was on 1 January of this year", "year"),
    "code_commune_releve": "Commune code as recorded in SIRENE (may be an arrondissement or an old code)",
    "code_commune": "Commune code in the geography of geography_year (int.commune_code_map); NULL when unknown",
    "code_commune_method": "How code_commune was obtained (the int.commune_code_map method, or why it is NULL)",
    "code_commune_estimated": "True when code_commune is a choice among several (split commune)",
    "geography_year": ("Year whose geography code_commune is in (annee clamped to the territorial reference)", "year"),
    "nom": "Establishment name or sign",
    "date_creation": ("Establishment creation date", "date"),
    "date_fermeture": ("Establishment closure date; NULL if open", "date"),
    "type_structure": "Kind of structure derived from the name: " + ", ".join(facility_years.TYPES_STRUCTURE),
}
_FACILITY_TYPES = dict(facility_years.COLUMNS)

FACILITY_YEARS = spec_from_types(
    "int.facility_years",
    "In-scope EAJE and year (active on 1 January and taken in by the scope rule eaje_scope), with their commune in the year's geography.",
    ("siret", "annee"),
    _FACILITY_TYPES,
    {
        **_FACILITY,
        "scope_reason": "Why the facility is in scope: naf_88_91A (activity 88.91A) or nom_eaje (another activity code, a "
        "public or associative operator, and an establishment name saying crèche, multi-accueil, halte-garderie...)",
    },
)
FACILITY_YEARS_HORS_CHAMP = spec_from_types(
    "int.facility_years_hors_champ",
    "Candidate establishments excluded from the scope (abroad, or an exclusion of eaje_scope: individual entrepreneurs, "
    "MAM, RPE, LAEP, other look-alikes, operators out of the field), per year.",
    ("siret", "annee"),
    _FACILITY_TYPES,
    {**_FACILITY, "scope_reason": "Why the facility is out of scope: " + ", ".join(facility_years.SCOPE_REASONS)},
)

SPECS = {
    s.table: s
    for s in (
        ETABLISSEMENT_PERIODES,
        ETABLISSEMENTS,
        UNITE_LEGALE_PERIODES,
        UNITES_LEGALES,
        SUCCESSIONS,
        OPERATOR_YEARS,
        FACILITY_YEARS,
        FACILITY_YEARS_HORS_CHAMP,
    )
}
