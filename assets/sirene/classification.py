"""Operator classification: public, ESS or for-profit, from SIRENE legal-unit attributes.

Stable public API (other tools call it)::

    classify_operators(df: pl.DataFrame) -> pl.DataFrame

``df`` holds SIRENE legal-unit columns (``siren``, ``categorieJuridiqueUniteLegale``,
``economieSocialeSolidaireUniteLegale``, ``denominationUniteLegale``, optional
``identifiantAssociationUniteLegale``); the result is ``df`` with ``operator_class``, ``sector`` and
``rule`` added, rows in the same order. :func:`classify_operator_years` is the historised variant
(one row per legal unit and 1 January, from the legal-unit history).

The rules are data, versioned in ``assets/sirene/reference/``:

* ``categories_juridiques_operateurs.csv``: every legal category (CJ) -> default class, the class it
  takes when INSEE's ESS flag is ``O`` (empty when the flag cannot change it), and its legal basis
  (loi 2014-856 du 31 juillet 2014, art. 1);
* ``operator_classes.csv``: class -> sector;
* ``groupes_lucratifs.csv``: name patterns of known for-profit childcare groups (weak evidence);
* ``operator_overrides.csv``: analysts' decisions (siren, operator_class, reason, source), which always win.

Decision order (the ``rule`` column names the step that decided):

1. ``override``: the siren is in the overrides file;
2. ``identifiant_rna`` / ``cj_absente``: no CJ; an RNA association number makes it an association;
3. ``cj_inconnue``: a CJ absent from the table -> ``indetermine`` and a warning, never an error;
4. ``cj_public``: public-law bodies (and CAF 8110, SEM) are public and never ESS, whatever the flag;
5. ``cj_statut_ess``: associations, cooperatives, mutuals, foundations are ESS by status (art. 1 II 1°),
   even if the flag says ``N``;
6. ``nom_cooperative``: a commercial (or other private) form whose name says SCIC / SCOP / coopérative
   is a cooperative (art. 1 II 1°) whatever the flag: SCIC and SCOP in SAS/SARL/SA form carry the
   plain commercial codes, and running this after the flag would file them as II 2° companies (and
   break the cooperative series the year the flag appears);
7. ``ess_flag_o``: a commercial (or other private) form with the ESS flag ``O`` is ESS (art. 1 II 2°);
8. ``nom_groupe_lucratif``: the name matches a known for-profit group (flag not ``O``);
9. ``cj_table``: the CJ's default class.

This module is the one home of the classification; ``observatory.classification`` re-exports its
public names (``__all__``) so that ``observatory.classification.classify_operators`` keeps working.
A new public function (e.g. ``eaje_scope``) is written here and added to ``__all__``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import polars as pl

__all__ = [
    "COOPERATIVE_NAME",
    "REFERENCE_DIR",
    "RULES",
    "RULES_VERSION",
    "SECTORS",
    "ReferenceError",
    "Rules",
    "UnknownLegalCategoryWarning",
    "classify_operator_years",
    "classify_operators",
    "default_rules",
    "load_overrides",
    "load_rules",
    "normalized_name",
    "normalized_name_sql",
    "periods_in_force",
    "NAF_EAJE",
    "SCOPE_COLUMNS",
    "SCOPE_PATTERNS",
    "SCOPE_REASONS",
    "eaje_scope",
]

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
LEGAL_CATEGORIES_CSV = "categories_juridiques_operateurs.csv"
CLASSES_CSV = "operator_classes.csv"
GROUPS_CSV = "groupes_lucratifs.csv"
OVERRIDES_CSV = "operator_overrides.csv"

#: Human version of the rules; the files' digest is appended (see :func:`load_rules`), so a change
#: to a reference table always shows in ``rules_version`` even if nobody bumps this.
RULES_VERSION = "2026.2"  # 2026.2: cooperative names before the ESS flag

SECTORS = ("public", "ess", "lucratif", "autre_prive", "indetermine")
RULES = (
    "override",
    "identifiant_rna",
    "cj_absente",
    "cj_inconnue",
    "cj_public",
    "cj_statut_ess",
    "ess_flag_o",
    "nom_cooperative",
    "nom_groupe_lucratif",
    "cj_table",
    "unite_legale_absente",
)

#: Names revealing a cooperative (SCIC/SCOP in SAS or SARL form carry plain commercial CJ codes).
COOPERATIVE_NAME = r"\b(SCIC|SCOP|COOP|COOPERATIVE|COOPERATIVES|COOPERATIF)\b"

REQUIRED_COLUMNS = (
    "siren",
    "categorieJuridiqueUniteLegale",
    "economieSocialeSolidaireUniteLegale",
    "denominationUniteLegale",
)


class UnknownLegalCategoryWarning(UserWarning):
    """Some legal units carry a CJ absent from the rules table: classified ``indetermine``."""


class ReferenceError(ValueError):
    """A reference table (rules or overrides) is malformed."""


@dataclass(frozen=True)
class Rules:
    legal_categories: pl.DataFrame
    classes: pl.DataFrame
    groups: pl.DataFrame
    overrides: pl.DataFrame
    version: str

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.classes["operator_class"].to_list())


def _read_csv(path: Path, columns: Sequence[str]) -> pl.DataFrame:
    if not path.exists():
        raise ReferenceError(f"{path}: reference table missing")
    df = pl.read_csv(path, infer_schema=False)
    if list(df.columns) != list(columns):
        raise ReferenceError(f"{path}: columns {df.columns}, expected {list(columns)}")
    return df


def load_overrides(path: Path, class_names: Iterable[str]) -> pl.DataFrame:
    """Read and validate the analysts' overrides (siren, operator_class, reason, source)."""
    df = _read_csv(Path(path), ["siren", "operator_class", "reason", "source"]).with_columns(
        pl.col(c).str.strip_chars() for c in ["siren", "operator_class", "reason", "source"]
    )
    known = set(class_names)
    problems = []
    for i, row in enumerate(df.iter_rows(named=True), start=2):  # line 1 is the header
        if not (row["siren"] or "").isdigit() or len(row["siren"] or "") != 9:
            problems.append(f"line {i}: siren {row['siren']!r} is not 9 digits")
        if row["operator_class"] not in known:
            problems.append(f"line {i}: operator_class {row['operator_class']!r} not one of {sorted(known)}")
        if not row["reason"]:
            problems.append(f"line {i}: reason is empty (say why the override is needed)")
    dup = df.filter(pl.col("siren").is_duplicated())["siren"].unique().to_list()
    if dup:
        problems.append(f"siren listed more than once: {sorted(dup)}")
    if problems:
        raise ReferenceError(f"{path}: " + "; ".join(problems))
    return df


def load_rules(reference_dir: Path = REFERENCE_DIR, overrides_path: Path | None = None) -> Rules:
    """Load and validate the versioned rule tables (and the overrides, default: the repo's file)."""
    reference_dir = Path(reference_dir)
    cj_path = reference_dir / LEGAL_CATEGORIES_CSV
    legal = _read_csv(cj_path, ["categorie_juridique", "libelle", "operator_class", "classe_si_ess_o", "base_legale"])
    classes = _read_csv(reference_dir / CLASSES_CSV, ["operator_class", "sector", "libelle"])
    groups = _read_csv(reference_dir / GROUPS_CSV, ["groupe", "motif", "source"])

    bad_sector = classes.filter(~pl.col("sector").is_in(SECTORS))
    if bad_sector.height:
        raise ReferenceError(f"{reference_dir / CLASSES_CSV}: sector must be one of {SECTORS}: {bad_sector.rows()}")
    names = set(classes["operator_class"].to_list())
    for col in ("operator_class", "classe_si_ess_o"):
        bad = legal.filter(pl.col(col).is_not_null() & ~pl.col(col).is_in(names))
        if bad.height:
            raise ReferenceError(f"{cj_path}: column {col} has unknown classes {bad[col].unique().to_list()}")
    bad_code = legal.filter(~pl.col("categorie_juridique").str.contains(r"^[0-9]{4}$") | pl.col("categorie_juridique").is_duplicated())
    if bad_code.height:
        raise ReferenceError(f"{cj_path}: categorie_juridique must be unique 4-digit codes: {bad_code['categorie_juridique'].to_list()}")
    public_ess = legal.join(classes, on="operator_class").filter((pl.col("sector") == "public") & pl.col("classe_si_ess_o").is_not_null())
    if public_ess.height:  # the law excludes public bodies from the ESS: the table must not allow it
        raise ReferenceError(f"{cj_path}: public categories cannot become ESS: {public_ess['categorie_juridique'].to_list()}")

    digest = hashlib.sha256()
    for name in (LEGAL_CATEGORIES_CSV, CLASSES_CSV, GROUPS_CSV):
        digest.update((reference_dir / name).read_bytes())
    overrides = load_overrides(Path(overrides_path) if overrides_path else reference_dir / OVERRIDES_CSV, names)
    return Rules(
        legal_categories=legal,
        classes=classes,
        groups=groups,
        overrides=overrides,
        version=f"{RULES_VERSION}+{digest.hexdigest()[:8]}",
    )


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return load_rules()


def normalized_name(expr: pl.Expr) -> pl.Expr:
    """Upper case, accents and punctuation removed (``&`` kept), single spaces: what name patterns see."""
    return (
        expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_uppercase().str.replace_all(r"[^A-Z0-9&]+", " ").str.strip_chars()
    )


def normalized_name_sql(expr: str) -> str:
    """The DuckDB spelling of :func:`normalized_name` for a SQL expression: where a name pattern must run
    inside a scan (the SIRENE extraction), it sees what the Polars rule sees (tests/unit/test_scope_patterns_sql.py)."""
    return f"trim(regexp_replace(strip_accents(upper({expr})), '[^A-Z0-9&]+', ' ', 'g'))"


def _legal_category_code(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """CJ as a 4-character string whatever its Parquet type (BIGINT in the stock, VARCHAR elsewhere)."""
    if dtype.is_integer():
        return col.cast(pl.String).str.zfill(4)
    if dtype.is_float():
        return col.cast(pl.Int64, strict=False).cast(pl.String).str.zfill(4)
    text = col.cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def classify_operators(df: pl.DataFrame, rules: Rules | None = None) -> pl.DataFrame:
    """Add ``operator_class``, ``sector`` and ``rule`` to a frame of SIRENE legal units."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"classify_operators: missing column(s) {missing}; expected SIRENE legal-unit columns {list(REQUIRED_COLUMNS)}")
    rules = rules or default_rules()
    has_rna = "identifiantAssociationUniteLegale" in df.columns

    groups = rules.groups["motif"].to_list()
    group_re = "|".join(f"(?:{m})" for m in groups) if groups else None
    cats = rules.legal_categories.select(
        pl.col("categorie_juridique").alias("_cj"),
        pl.col("operator_class").alias("_cj_class"),
        pl.col("classe_si_ess_o").alias("_ess_o_class"),
    ).join(
        rules.classes.select(pl.col("operator_class").alias("_cj_class"), pl.col("sector").alias("_cj_sector")),
        on="_cj_class",
        how="left",
    )
    overrides = rules.overrides.select(pl.col("siren").alias("_siren"), pl.col("operator_class").alias("_override"))

    work = df.with_row_index("_row").with_columns(
        _siren=pl.col("siren").cast(pl.String),
        _cj=_legal_category_code(pl.col("categorieJuridiqueUniteLegale"), df.schema["categorieJuridiqueUniteLegale"]),
        _flag=pl.col("economieSocialeSolidaireUniteLegale").cast(pl.String).str.strip_chars().str.to_uppercase(),
        _name=normalized_name(pl.col("denominationUniteLegale").cast(pl.String)),
        _rna=(pl.col("identifiantAssociationUniteLegale").cast(pl.String).str.strip_chars().fill_null("") != "")
        if has_rna
        else pl.lit(False),
    )
    odd_flags = work.filter(pl.col("_flag").is_not_null() & ~pl.col("_flag").is_in(["O", "N"]))["_flag"].unique().to_list()
    if odd_flags:
        warnings.warn(
            f"economieSocialeSolidaireUniteLegale values {odd_flags} are not O/N: read as null (unknown)", UserWarning, stacklevel=2
        )
    work = work.with_columns(pl.when(pl.col("_flag").is_in(["O", "N"])).then(pl.col("_flag")).otherwise(None).alias("_flag"))
    work = work.join(cats, on="_cj", how="left").join(overrides, on="_siren", how="left").sort("_row")

    can_be_ess = pl.col("_ess_o_class").is_not_null()
    coop_name = pl.col("_name").str.contains(COOPERATIVE_NAME).fill_null(False)
    group_name = pl.col("_name").str.contains(group_re).fill_null(False) if group_re else pl.lit(False)
    rule = (
        pl.when(pl.col("_override").is_not_null())
        .then(pl.lit("override"))
        .when(pl.col("_cj").is_null() & pl.col("_rna"))
        .then(pl.lit("identifiant_rna"))
        .when(pl.col("_cj").is_null())
        .then(pl.lit("cj_absente"))
        .when(pl.col("_cj_class").is_null())
        .then(pl.lit("cj_inconnue"))
        .when(pl.col("_cj_sector") == "public")
        .then(pl.lit("cj_public"))
        .when((pl.col("_cj_sector") == "ess") & ~can_be_ess)
        .then(pl.lit("cj_statut_ess"))
        # a cooperative in commercial form (SCIC/SCOP SAS, SARL, SA) is a cooperative (art. 1 II 1°)
        # whatever the flag: checked before the flag, which would make it a II 2° company
        .when(can_be_ess & coop_name)
        .then(pl.lit("nom_cooperative"))
        .when((pl.col("_flag") == "O") & can_be_ess)
        .then(pl.lit("ess_flag_o"))
        .when((pl.col("_flag").fill_null("") != "O") & can_be_ess & group_name)
        .then(pl.lit("nom_groupe_lucratif"))
        .otherwise(pl.lit("cj_table"))
    )
    operator_class = (
        pl.when(pl.col("rule") == "override")
        .then(pl.col("_override"))
        .when(pl.col("rule") == "identifiant_rna")
        .then(pl.lit("ess_association"))
        .when(pl.col("rule").is_in(["cj_absente", "cj_inconnue"]))
        .then(pl.lit("indetermine"))
        .when(pl.col("rule") == "ess_flag_o")
        .then(pl.col("_ess_o_class"))
        .when(pl.col("rule") == "nom_cooperative")
        .then(pl.lit("ess_cooperative"))
        .when(pl.col("rule") == "nom_groupe_lucratif")
        .then(pl.lit("lucratif"))
        .otherwise(pl.col("_cj_class"))
    )
    sector_of = dict(rules.classes.select("operator_class", "sector").iter_rows())
    out = (
        work.with_columns(rule=rule)
        .with_columns(operator_class=operator_class)
        .with_columns(sector=pl.col("operator_class").replace_strict(sector_of, default="indetermine"))
    )

    unknown = out.filter(pl.col("rule") == "cj_inconnue")
    if unknown.height:
        codes = sorted(set(unknown["_cj"].to_list()))
        message = (
            f"{unknown.height} legal unit(s) with a legal category absent from {LEGAL_CATEGORIES_CSV}: "
            f"{codes[:20]} -> operator_class 'indetermine' (add them to the table)"
        )
        warnings.warn(message, UnknownLegalCategoryWarning, stacklevel=2)
    return out.select(*df.columns, "operator_class", "sector", "rule")


# --- historised classification -------------------------------------------------------------

#: Columns of ``stg.sirene_unite_legale_periodes`` the historised classification reads.
PERIOD_COLUMNS = ("siren", "date_debut", "categorie_juridique", "ess_flag", "denomination")


def periods_in_force(periods: pl.DataFrame, sirens: Sequence[str], years: Sequence[int]) -> pl.DataFrame:
    """For each siren and 1 January of each year: the legal-unit period in force on that day.

    The period in force is the last one starting on or before the date (a null ``date_debut``, the
    oldest period in some units, counts as "since ever"). If the date precedes the unit's first
    period, the first period is used and ``periode_en_vigueur`` is false. Units with no period at
    all get null attributes and ``periode_en_vigueur`` null.
    """
    missing = [c for c in PERIOD_COLUMNS if c not in periods.columns]
    if missing:
        raise ValueError(f"periods_in_force: missing column(s) {missing}; expected {list(PERIOD_COLUMNS)}")
    grid = (
        pl.DataFrame({"siren": pl.Series(list(dict.fromkeys(sirens)), dtype=pl.String)})
        .join(pl.DataFrame({"annee": pl.Series(list(years), dtype=pl.Int32)}), how="cross")
        .with_columns(date_reference=pl.date(pl.col("annee"), 1, 1))
        .sort("date_reference")
    )
    p = periods.select(PERIOD_COLUMNS).with_columns(_start=pl.col("date_debut").fill_null(dt.date(1, 1, 1))).sort("_start")
    backward = grid.join_asof(p, left_on="date_reference", right_on="_start", by="siren", strategy="backward", check_sortedness=False)
    forward = grid.join_asof(p, left_on="date_reference", right_on="_start", by="siren", strategy="forward", check_sortedness=False)
    in_force = backward.filter(pl.col("_start").is_not_null()).with_columns(periode_en_vigueur=pl.lit(True))
    before_first = forward.join(in_force.select("siren", "annee"), on=["siren", "annee"], how="anti").with_columns(
        periode_en_vigueur=pl.when(pl.col("_start").is_not_null()).then(False).otherwise(None)
    )
    return (
        pl.concat([in_force, before_first], how="vertical_relaxed")
        .rename({"date_debut": "periode_date_debut"})
        .drop("_start")
        .sort("siren", "annee")
    )


def classify_operator_years(
    periods: pl.DataFrame,
    years: Sequence[int],
    sirens: Sequence[str] | None = None,
    associations: pl.DataFrame | None = None,
    rules: Rules | None = None,
) -> pl.DataFrame:
    """Classify each legal unit as it was on 1 January of each year, from its history.

    ``periods``: ``stg.sirene_unite_legale_periodes`` columns (siren, date_debut, categorie_juridique,
    ess_flag, denomination). ``sirens``: units to classify (default: those with
    periods; a siren without any period is kept: ``indetermine`` / ``unite_legale_absente``).
    ``associations``: optional (siren, identifiant_association) from the stock (not historised).
    """
    rules = rules or default_rules()
    if sirens is None:
        sirens = periods["siren"].unique().sort().to_list()
    chosen = periods_in_force(periods, sirens, years)
    if associations is not None:
        chosen = chosen.join(associations.select("siren", "identifiant_association").unique("siren"), on="siren", how="left")
    else:
        chosen = chosen.with_columns(identifiant_association=pl.lit(None, dtype=pl.String))
    sirene_named = chosen.select(
        "siren",
        "annee",
        "periode_date_debut",
        "periode_en_vigueur",
        pl.col("categorie_juridique").alias("categorieJuridiqueUniteLegale"),
        pl.col("ess_flag").alias("economieSocialeSolidaireUniteLegale"),
        pl.col("denomination").alias("denominationUniteLegale"),
        pl.col("identifiant_association").alias("identifiantAssociationUniteLegale"),
    )
    classified = classify_operators(sirene_named, rules)
    return classified.select(
        "siren",
        pl.col("annee").cast(pl.Int32),
        pl.col("categorieJuridiqueUniteLegale").cast(pl.String).alias("categorie_juridique"),
        pl.col("economieSocialeSolidaireUniteLegale").alias("ess_flag"),
        pl.col("denominationUniteLegale").alias("denomination"),
        "operator_class",
        "sector",
        pl.when(pl.col("periode_en_vigueur").is_null() & (pl.col("rule") != "override"))
        .then(pl.lit("unite_legale_absente"))
        .otherwise(pl.col("rule"))
        .alias("rule"),
        pl.lit(rules.version).alias("rules_version"),
        "periode_date_debut",
        "periode_en_vigueur",
    )


# --- EAJE scope: which establishments are collective childcare facilities ---------------------

NAF_EAJE = "88.91A"

#: Patterns on :func:`normalized_name` of the establishment's enseigne, usual name and legal-unit name.
#: ``eaje``: the name says it is an EAJE; the others are look-alikes (named reasons of exclusion).
#: ``mam``, ``relais_petite_enfance`` and ``lieu_accueil_enfants_parents`` are also the 88.91A
#: exclusions of ``int.facility_years`` (assets/sirene/facility_years.py reads them from here).
SCOPE_PATTERNS = {
    "eaje": r"\bMICRO ?CRECHES?\b|\bCRECHES?\b|\bMULTI ?ACCUEILS?\b|\bHALTES? ?GARDERIES?\b|\bJARDINS? D ENFANTS\b"
    r"|\bEAJE\b|\bETABLISSEMENTS? D ACCUEIL (DU |DE |DES )?JEUNES? ENFANTS?\b",
    "mam": r"\bM A M\b|\bMAM\b|\bMAISON (D|DE|DES|DU) ?(L )?ASSISTANT",
    "relais_petite_enfance": r"\bRPE\b|\bRAM\b|\bRAMPE\b|\bRELAIS (DE LA |DES |D )?(PETITE ENFANCE|ASSISTANT|ASSISTANTES|PARENTS)",
    "lieu_accueil_enfants_parents": r"\bLAEP\b|\bLIEU (D )?ACCUEIL ENFANTS? PARENTS?\b",
    "ecole_maternelle": r"\bECOLES? MATERNELLES?\b|\bGROUPES? SCOLAIRES?\b",
    "accueil_loisirs": r"\bACCUEILS? (COLLECTIFS? )?DE LOISIRS\b|\bALSH\b|\bCLSH\b|\bCENTRES? DE LOISIRS\b",
    "periscolaire": r"\bPERI ?SCOLAIRES?\b|\bGARDERIES? (SCOLAIRES?|DU MATIN|DU SOIR)\b",
    "restauration_scolaire": r"\bRESTAURATION SCOLAIRE\b|\bRESTAURANTS? SCOLAIRES?\b|\bCANTINES?\b",
    "service_administratif": r"\bSERVICES? (ADMINISTRATIFS?|DE LA PETITE ENFANCE|PETITE ENFANCE|ENFANCE)\b"
    r"|\bDIRECTION (DE LA |DES )?(PETITE ENFANCE|ENFANCE|FAMILLES?)\b|\bCOORDINATION PETITE ENFANCE\b"
    r"|\bMAIRIE\b|\bHOTEL DE VILLE\b",
}
#: Look-alikes excluded under 88.91A (the code says childcare: only these names overrule it).
LOOK_ALIKES_88_91A = ("mam", "relais_petite_enfance", "lieu_accueil_enfants_parents")
#: Look-alikes excluded under another code, checked in this order before the EAJE words.
LOOK_ALIKES_OTHER = LOOK_ALIKES_88_91A + (
    "ecole_maternelle",
    "accueil_loisirs",
    "periscolaire",
    "restauration_scolaire",
    "service_administratif",
)
SCOPE_IN = ("naf_88_91A", "nom_eaje")
SCOPE_REASONS = SCOPE_IN + ("entrepreneur_individuel",) + LOOK_ALIKES_OTHER + ("operateur_hors_champ", "sans_nom_eaje")
SCOPE_COLUMNS = (
    "activitePrincipaleEtablissement",
    "categorieJuridiqueUniteLegale",
    "denominationUniteLegale",
    "enseigne1Etablissement",
    "denominationUsuelleEtablissement",
)
#: Operator classes whose establishments under another code are taken in scope when named as an EAJE:
#: public bodies that run crèches in their own name (commune, CCAS/CIAS, EPCI and syndicats,
#: département, hospital...) and associations.
SCOPE_OPERATOR_SECTORS = ("public",)
SCOPE_OPERATOR_CLASSES = ("ess_association",)


def eaje_scope(frame: pl.DataFrame, rules: Rules | None = None) -> pl.DataFrame:
    """Add ``in_scope`` (bool) and ``scope_reason`` to a frame of SIRENE establishments.

    Columns read (:data:`SCOPE_COLUMNS`): ``activitePrincipaleEtablissement``,
    ``categorieJuridiqueUniteLegale``, ``denominationUniteLegale``, ``enseigne1Etablissement``,
    ``denominationUsuelleEtablissement``; rows keep their order and columns. First match wins:

    * 88.91A: ``entrepreneur_individuel`` (CJ 1xxx: childminders, nannies), then ``mam``,
      ``relais_petite_enfance``, ``lieu_accueil_enfants_parents`` by name, else ``naf_88_91A`` (in scope);
    * another code: ``operateur_hors_champ`` unless the legal category is public or an association
      (rules table: sector ``public`` or class ``ess_association``); then the look-alikes
      (:data:`LOOK_ALIKES_OTHER`, in that order: MAM, RPE/RAM, LAEP, école maternelle, accueil de
      loisirs, périscolaire, restauration scolaire, services administratifs) in any of the three
      names; then ``nom_eaje`` (in scope) when the establishment's own enseigne or usual name says crèche, micro-crèche, multi-accueil, halte-garderie, jardin d'enfants
      or EAJE; else ``sans_nom_eaje``.

    Bad input, explicit outcomes: names are compared after :func:`normalized_name` (any case,
    accents, punctuation; an enseigne that is empty or only punctuation counts as absent and the
    other names are read); a name whose accents were mangled by a wrong encoding (``CRÃˆCHE``) does
    not match ``CRECHE``; an establishment with no name at all is in scope under 88.91A and
    ``sans_nom_eaje`` under another code; a missing or blank activity code counts as "another code";
    a missing column raises ``ValueError`` naming it.
    """
    missing = [c for c in SCOPE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"eaje_scope: missing column(s) {missing}; expected SIRENE establishment columns {list(SCOPE_COLUMNS)}")
    rules = rules or default_rules()
    eligible = (
        rules.legal_categories.join(rules.classes.select("operator_class", "sector"), on="operator_class")
        .filter(pl.col("sector").is_in(SCOPE_OPERATOR_SECTORS) | pl.col("operator_class").is_in(SCOPE_OPERATOR_CLASSES))[
            "categorie_juridique"
        ]
        .to_list()
    )
    own, unit = (
        [normalized_name(pl.col(c).cast(pl.String)).fill_null("") for c in cols]
        for cols in (("enseigne1Etablissement", "denominationUsuelleEtablissement"), ("denominationUniteLegale",))
    )
    work = frame.with_columns(
        _naf=pl.col("activitePrincipaleEtablissement").cast(pl.String).str.strip_chars(),
        _cj=_legal_category_code(pl.col("categorieJuridiqueUniteLegale"), frame.schema["categorieJuridiqueUniteLegale"]),
        _own=pl.concat_str(own, separator=" ").str.strip_chars(),
        _all=pl.concat_str(own + unit, separator=" ").str.strip_chars(),
    )
    # look-alikes are read in every name; the EAJE words only in the establishment's own names: the
    # head office (94.99Z) of an association called "Crèche X" is not a second crèche
    found = {k: pl.col("_own" if k == "eaje" else "_all").str.contains(p) for k, p in SCOPE_PATTERNS.items()}
    naf = pl.col("_naf") == NAF_EAJE
    reason = pl.when(naf & pl.col("_cj").str.starts_with("1").fill_null(False)).then(pl.lit("entrepreneur_individuel"))
    for k in LOOK_ALIKES_88_91A:
        reason = reason.when(naf & found[k]).then(pl.lit(k))
    reason = reason.when(naf).then(pl.lit("naf_88_91A"))
    reason = reason.when(~pl.col("_cj").is_in(eligible).fill_null(False)).then(pl.lit("operateur_hors_champ"))
    for k in LOOK_ALIKES_OTHER:
        reason = reason.when(found[k]).then(pl.lit(k))
    reason = reason.when(found["eaje"]).then(pl.lit("nom_eaje")).otherwise(pl.lit("sans_nom_eaje"))
    return (
        work.with_columns(scope_reason=reason)
        .with_columns(in_scope=pl.col("scope_reason").is_in(SCOPE_IN))
        .select(*frame.columns, "in_scope", "scope_reason")
    )
