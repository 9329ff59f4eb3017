"""Extraction of childcare establishments (NAF 88.91A) and their legal units from the SIRENE stock.

The national files are large (44 M establishments, 96 M establishment periods, 30 M legal units,
71 M legal-unit periods). Each file is read in two passes, neither of which goes through Python row
by row: DuckDB finds the selected sirets (the 88.91A and name filters, reading only the filter and
key columns), then :func:`_read_matching` reads the needed columns of the matching rows only, with
Polars' prefiltered scan (it decodes the key column first and the other columns of the matching
rows only: the rows nobody keeps are never decoded, docs/performance.md), hands them to DuckDB as
Arrow, where they are typed. The only intermediate state is the set of selected sirets/sirens
(tens of thousands of strings) and the matching rows.

Selection: an establishment is selected if its activity was 88.91A in ANY period of its history
(an establishment's code can change, to or from 88.91A) or in the current stock, OR if its own name
(enseigne 1-3 or usual name, in any period or in the stock) says EAJE (``SCOPE_PATTERNS['eaje']``
after name normalisation): municipal, CCAS or associative crèches are often registered under their
operator's code (84.11Z, 88.99B, 94.99Z). This is a prefilter; the EAJE scope rule
(``classification.eaje_scope``, applied by the facility-years step) decides. All periods are kept,
so the facility-years step can tell when it was childcare.

Bad input fails early with the file and column named (:class:`SireneFormatError`): missing file,
truncated or non-Parquet file, missing or renamed column. Type variants with an unambiguous fix
(codes stored as integers, dates stored as text) are converted and the fix is reported.
"""

import datetime as dt
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from assets.sirene.schema import (
    ETABLISSEMENT_FILE,
    ETABLISSEMENT_HISTORIQUE_FILE,
    UNITE_LEGALE_FILE,
    UNITE_LEGALE_HISTORIQUE_FILE,
    SUCCESSION_FILE,
    StockFile,
)
from assets.sirene.classification import NAF_EAJE, SCOPE_PATTERNS, normalized_name_sql
from observatory.resources import DownloadError, sniff_file

#: Share of establishments whose duplicated stock rows conflict (different communes, same processing date) above
#: which the stock is refused: at most 0.1 % are resolved by a fixed tie-break (commune code, nic) and counted.
MAX_CONFLICTING_DUPLICATES = 0.001
#: Placeholders INSEE writes in masked fields of partially diffusible units (statutDiffusion = P).
MASKED = ("[ND]", "")
OWN_NAME_COLUMNS = ("enseigne1Etablissement", "enseigne2Etablissement", "enseigne3Etablissement", "denominationUsuelleEtablissement")
#: A cheap test on each raw name, true for every name whose normalised form can match ``SCOPE_PATTERNS['eaje']``
#: (each alternative of that pattern contains CRECHE, ACCUEIL, GARDERIE, JARDIN or EAJE, whatever the case and
#: the accent on their E: tests/unit/test_scope_patterns_sql.py): normalising 140 M names costs ten times more
#: than this scan, and only the few names it keeps are normalised.
EAJE_WORD_PREFILTER = r"(?i)cr.{0,2}che|accueil|garderie|jardin|aje"
#: The establishment's own names (all three enseignes and the usual name) say EAJE: a superset of what
#: eaje_scope reads for its ``nom_eaje`` reason (enseigne 1 and usual name), so the prefilter loses no
#: establishment the rule would take in; the legal unit's name is not read (no join in the scan).
OWN_NAME_MATCHES = (
    "(("
    + " or ".join(f"regexp_matches(\"{c}\", '{EAJE_WORD_PREFILTER}')" for c in OWN_NAME_COLUMNS)
    + ") and regexp_matches("
    + normalized_name_sql("concat_ws(' ', " + ", ".join(f'"{c}"' for c in OWN_NAME_COLUMNS) + ")")
    + ", $re_eaje))"
)


class SireneFormatError(ValueError):
    """A SIRENE stock file is missing, unreadable or not in the expected format."""


@dataclass(frozen=True)
class Col:
    """One column read from a stock file: source name, stg name, and how to type it."""

    source: str
    target: str
    #: text | code (zero-padded to ``width`` if stored as an integer) | date | timestamp | bool | int
    kind: str = "text"
    width: int = 0
    #: Added by a later format (2024 address/coordinates, December 2025 NAF 2025): null when absent.
    optional: bool = False


ETABLISSEMENT_HISTORIQUE_COLS = (
    Col("siret", "siret", "code", 14),
    Col("siren", "siren", "code", 9),
    Col("nic", "nic", "code", 5),
    Col("dateDebut", "date_debut", "date"),
    Col("dateFin", "date_fin", "date"),
    Col("etatAdministratifEtablissement", "etat_administratif"),
    Col("changementEtatAdministratifEtablissement", "changement_etat_administratif", "bool"),
    Col("activitePrincipaleEtablissement", "activite_principale"),
    Col("nomenclatureActivitePrincipaleEtablissement", "nomenclature_activite"),
    Col("changementActivitePrincipaleEtablissement", "changement_activite", "bool"),
    Col("enseigne1Etablissement", "enseigne1"),
    Col("enseigne2Etablissement", "enseigne2"),
    Col("enseigne3Etablissement", "enseigne3"),
    Col("denominationUsuelleEtablissement", "denomination_usuelle"),
)

ETABLISSEMENT_COLS = (
    Col("siret", "siret", "code", 14),
    Col("siren", "siren", "code", 9),
    Col("nic", "nic", "code", 5),
    Col("statutDiffusionEtablissement", "statut_diffusion"),
    Col("dateCreationEtablissement", "date_creation", "date"),
    Col("trancheEffectifsEtablissement", "tranche_effectifs", "code", 2),
    Col("dateDernierTraitementEtablissement", "date_dernier_traitement", "timestamp"),
    Col("etablissementSiege", "etablissement_siege", "bool"),
    Col("codePostalEtablissement", "code_postal", "code", 5),
    Col("libelleCommuneEtablissement", "libelle_commune"),
    Col("codeCommuneEtablissement", "code_commune", "code", 5),
    Col("codePaysEtrangerEtablissement", "code_pays_etranger", "code", 5),
    Col("dateDebut", "date_debut", "date"),
    Col("etatAdministratifEtablissement", "etat_administratif"),
    Col("enseigne1Etablissement", "enseigne1"),
    Col("enseigne2Etablissement", "enseigne2"),
    Col("enseigne3Etablissement", "enseigne3"),
    Col("denominationUsuelleEtablissement", "denomination_usuelle"),
    Col("activitePrincipaleEtablissement", "activite_principale"),
    Col("nomenclatureActivitePrincipaleEtablissement", "nomenclature_activite"),
    Col("identifiantAdresseEtablissement", "identifiant_adresse", optional=True),
    Col("coordonneeLambertAbscisseEtablissement", "coordonnee_lambert_x", optional=True),
    Col("coordonneeLambertOrdonneeEtablissement", "coordonnee_lambert_y", optional=True),
    Col("activitePrincipaleNAF25Etablissement", "activite_principale_naf25", optional=True),
)

UNITE_LEGALE_HISTORIQUE_COLS = (
    Col("siren", "siren", "code", 9),
    Col("dateDebut", "date_debut", "date"),
    Col("dateFin", "date_fin", "date"),
    Col("etatAdministratifUniteLegale", "etat_administratif"),
    Col("categorieJuridiqueUniteLegale", "categorie_juridique", "code", 4),
    Col("changementCategorieJuridiqueUniteLegale", "changement_categorie_juridique", "bool"),
    Col("economieSocialeSolidaireUniteLegale", "ess_flag"),
    Col("changementEconomieSocialeSolidaireUniteLegale", "changement_ess_flag", "bool"),
    Col("denominationUniteLegale", "denomination"),
    Col("activitePrincipaleUniteLegale", "activite_principale"),
)

# Person names of individual entrepreneurs (nomUniteLegale, prenom*...) are deliberately not read.
UNITE_LEGALE_COLS = (
    Col("siren", "siren", "code", 9),
    Col("statutDiffusionUniteLegale", "statut_diffusion"),
    Col("dateCreationUniteLegale", "date_creation", "date"),
    Col("sigleUniteLegale", "sigle"),
    Col("identifiantAssociationUniteLegale", "identifiant_association"),
    Col("trancheEffectifsUniteLegale", "tranche_effectifs", "code", 2),
    Col("categorieEntreprise", "categorie_entreprise"),
    Col("dateDebut", "date_debut", "date"),
    Col("etatAdministratifUniteLegale", "etat_administratif"),
    Col("denominationUniteLegale", "denomination"),
    Col("categorieJuridiqueUniteLegale", "categorie_juridique", "code", 4),
    Col("activitePrincipaleUniteLegale", "activite_principale"),
    Col("nicSiegeUniteLegale", "nic_siege", "code", 5),
    Col("economieSocialeSolidaireUniteLegale", "ess_flag"),
    Col("societeMissionUniteLegale", "societe_mission", optional=True),
    Col("activitePrincipaleNAF25UniteLegale", "activite_principale_naf25", optional=True),
)

SUCCESSION_COLS = (
    Col("siretEtablissementPredecesseur", "siret_predecessor", "code", 14),
    Col("siretEtablissementSuccesseur", "siret_successor", "code", 14),
    Col("dateLienSuccession", "date_lien", "date"),
    Col("transfertSiege", "transfert_siege", "bool"),
    Col("continuiteEconomique", "continuite_economique", "bool"),
    Col("dateDernierTraitementLienSuccession", "date_dernier_traitement", "timestamp"),
)

COLUMNS: dict[str, tuple[Col, ...]] = {
    ETABLISSEMENT_FILE.key: ETABLISSEMENT_COLS,
    ETABLISSEMENT_HISTORIQUE_FILE.key: ETABLISSEMENT_HISTORIQUE_COLS,
    UNITE_LEGALE_FILE.key: UNITE_LEGALE_COLS,
    UNITE_LEGALE_HISTORIQUE_FILE.key: UNITE_LEGALE_HISTORIQUE_COLS,
    SUCCESSION_FILE.key: SUCCESSION_COLS,
}

_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
_ACCEPTED = {
    "text": ("VARCHAR",),
    "code": ("VARCHAR",) + _INTEGER_TYPES,
    "date": ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE", "VARCHAR"),
    "timestamp": ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE", "DATE", "VARCHAR"),
    "bool": ("BOOLEAN", "VARCHAR"),
    "int": _INTEGER_TYPES + ("VARCHAR",),
}


@dataclass(frozen=True)
class FileInfo:
    """What the loader found in one file: its columns and types, format variant, applied fixes."""

    path: Path
    types: dict[str, str]
    fixes: tuple[str, ...] = ()

    def expr(self, col: Col) -> str:
        """SQL expression reading ``col`` from this file, typed as the stg table expects."""
        q = f'"{col.source}"'
        typ = self.types.get(col.source)
        if typ is None:  # optional column of a later format
            return f"cast(null as {_sql_type(col.kind)}) as {col.target}"
        if col.kind == "text":
            e = f"nullif(nullif(trim({q}), '[ND]'), '')"
        elif col.kind == "code" and typ == "VARCHAR" and col.target == "code_commune":
            # the one leading-zero rule of every source: a commune code of 4 digits lost its zero; padded, counted
            e = (
                f"(case when regexp_full_match(trim({q}), '[0-9]{{{col.width - 1}}}') then lpad(trim({q}), {col.width}, '0') "
                f"else nullif(nullif(trim({q}), '[ND]'), '') end)"
            )
        elif col.kind == "code":
            e = f"nullif(nullif(trim({q}), '[ND]'), '')" if typ == "VARCHAR" else f"lpad(cast({q} as varchar), {col.width}, '0')"
        elif col.kind == "date":
            e = q if typ == "DATE" else (f"try_cast({q} as date)" if typ == "VARCHAR" else f"cast({q} as date)")
        elif col.kind == "timestamp":
            e = f"try_cast({q} as timestamp)" if typ == "VARCHAR" else f"cast({q} as timestamp)"
        elif col.kind == "bool":
            e = q if typ == "BOOLEAN" else f"case lower(trim({q})) when 'true' then true when 'false' then false end"
        else:
            e = f"try_cast({q} as bigint)"
        return f"{e} as {col.target}"

    def key(self, source: str, width: int) -> str:
        """A key column (siret/siren) as a bare column reference when it is text, so DuckDB can push
        the semi-join filter into the scan; zero-padded text when the file stores it as an integer."""
        typ = self.types[source]
        return f'"{source}"' if typ == "VARCHAR" else f"lpad(cast(\"{source}\" as varchar), {width}, '0')"

    @property
    def format_variant(self) -> str:
        if "activitePrincipaleNAF25Etablissement" in self.types or "activitePrincipaleNAF25UniteLegale" in self.types:
            return "3.11 + NAF 2025 (December 2025 onwards)"
        if "identifiantAdresseEtablissement" in self.types:
            return "3.11 (March 2024 onwards)"
        if "siret" in self.types and "codeCommuneEtablissement" in self.types:
            return "3.9 (before March 2024)"
        return "3.9 / 3.11 (no distinguishing column in this file)"


def _sql_type(kind: str) -> str:
    return {"date": "date", "timestamp": "timestamp", "bool": "boolean", "int": "bigint"}.get(kind, "varchar")


def parquet_types(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """Column -> DuckDB type from the Parquet footer (reads no data); clear error if unreadable."""
    path = Path(path)
    if not path.exists():
        raise SireneFormatError(f"{path}: file missing (expected the INSEE stock file {path.name})")
    if path.stat().st_size < 12:
        raise SireneFormatError(f"{path}: {path.stat().st_size} bytes, not a Parquet file (empty or truncated download)")
    try:  # before DuckDB reads it: an HTML page, a CSV or a truncated file is named as such, not "No magic bytes"
        sniff_file(path, fmt="parquet")
    except DownloadError as exc:
        raise SireneFormatError(str(exc)) from None
    try:
        rows = con.execute("describe select * from read_parquet($path)", {"path": str(path)}).fetchall()
    except duckdb.Error as exc:
        raise SireneFormatError(
            f"{path}: not a readable Parquet file (truncated or corrupt download?): {str(exc).splitlines()[0]}"
        ) from exc
    return {r[0]: str(r[1]) for r in rows}


def _corsica_lost(con: duckdb.DuckDBPyConnection, path: Path, column: str, types: dict[str, str]) -> int:
    """Rows with a Corsican postal code but no commune code, in a file whose commune column is an integer."""
    postal = "codePostalEtablissement"
    if postal not in types:
        return 0
    q = '"' + column.replace('"', '""') + '"'
    return int(
        con.execute(
            f"select count(*) from read_parquet($path) where {q} is null and lpad(cast(\"{postal}\" as varchar), 5, '0') like '20%'",
            {"path": str(path)},
        ).fetchall()[0][0]
    )


def _short_codes(con: duckdb.DuckDBPyConnection, path: Path, column: str, width: int) -> int:
    q = '"' + column.replace('"', '""') + '"'
    return int(
        con.execute(
            f"select count(*) from read_parquet($path) where regexp_full_match(trim({q}), '[0-9]{{{width - 1}}}')",
            {"path": str(path)},
        ).fetchall()[0][0]
    )


def _unparseable(con: duckdb.DuckDBPyConnection, path: Path, column: str, kind: str) -> tuple[int, list[str]] | None:
    """Count (and show a few of) the non-empty text values of a date column that do not parse: such values would
    silently become NULL and surface later as an unrelated failure."""
    q = '"' + column.replace('"', '""') + '"'
    n, examples = con.execute(
        f"select count(*), list(v)[1:3] from (select trim({q}) as v from read_parquet($path)) "
        f"where v is not null and v not in ('', '[ND]') and try_cast(v as {'date' if kind == 'date' else 'timestamp'}) is null",
        {"path": str(path)},
    ).fetchall()[0]
    return (int(n), list(examples or [])) if n else None


def inspect_file(con: duckdb.DuckDBPyConnection, path: Path, stock: StockFile) -> FileInfo:
    """Check one file has every required column with a usable type; list the fixes applied."""
    types = parquet_types(con, path)
    problems, fixes = [], []
    for col in COLUMNS[stock.key]:
        typ = types.get(col.source)
        if typ is None:
            if col.optional:
                continue
            # a renamed column shows up as a column the INSEE schema does not have
            unexpected = [c for c in types if c not in stock.types()]
            near = difflib.get_close_matches(col.source, unexpected, n=2, cutoff=0.6)
            problems.append(
                f"column {col.source!r} missing"
                + (f" (renamed? found {near})" if near else "")
                + f"; expected INSEE format 3.11 ({stock.filename}, SCHEMAS §1)"
            )
            continue
        if typ not in _ACCEPTED[col.kind]:
            problems.append(f"column {col.source!r} has type {typ}, expected {stock.types().get(col.source, 'VARCHAR')}")
            continue
        if typ == stock.types().get(col.source) and typ != "VARCHAR":
            continue  # the published type (e.g. the stock's BIGINT legal category): a conversion, not a fix
        if col.kind == "code" and typ != "VARCHAR" and col.target == "code_commune":
            # an integer column cannot hold 2A / 2B: if Corsican establishments (postal code 20xxx) lost their commune,
            # refuse the file rather than publish them as commune_unknown; otherwise zero-padding is unambiguous
            lost = _corsica_lost(con, path, col.source, types)
            if lost:
                problems.append(
                    f"column {col.source!r} has type {typ}: {lost} establishments with a Corsican postal code "
                    "(20xxx) have no commune code (an integer column cannot hold 2A... / 2B...); expected "
                    "VARCHAR: re-export the file with commune codes as text"
                )
                continue
        if col.kind == "code" and typ == "VARCHAR" and col.target == "code_commune":
            short = _short_codes(con, path, col.source, col.width)
            if short:
                fixes.append(f"{col.source}: {short} codes of {col.width - 1} digits (leading zero lost) zero-padded to {col.width}")
        if col.kind in ("date", "timestamp") and typ == "VARCHAR":
            bad = _unparseable(con, path, col.source, col.kind)
            if bad:
                problems.append(
                    f"column {col.source!r}: {bad[0]} values are not {col.kind}s (expected YYYY-MM-DD"
                    f"{' hh:mm:ss' if col.kind == 'timestamp' else ''}), e.g. {bad[1]}"
                )
                continue
        if col.kind == "code" and typ != "VARCHAR":
            fixes.append(f"{col.source}: stored as {typ}, read as text zero-padded to {col.width} characters")
        elif col.kind in ("date", "timestamp") and typ == "VARCHAR":
            fixes.append(f"{col.source}: stored as text, parsed as {col.kind} (unparseable values become null)")
        elif col.kind == "bool" and typ == "VARCHAR":
            fixes.append(f"{col.source}: stored as text, 'true'/'false' read as boolean")
    if problems:
        raise SireneFormatError(f"{path}: " + "; ".join(problems))
    return FileInfo(Path(path), types, tuple(fixes))


@dataclass(frozen=True)
class SireneFiles:
    """The four INSEE stock Parquet files the pipeline reads."""

    etablissement: Path
    etablissement_historique: Path
    unite_legale: Path
    unite_legale_historique: Path
    #: Footer inspection of each file (filled by :meth:`validate`).
    info: dict[str, FileInfo] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def in_dir(cls, directory: Path | str, con: duckdb.DuckDBPyConnection | None = None) -> "SireneFiles":
        """The files under their INSEE names in ``directory``, validated (presence, Parquet, columns)."""
        directory = Path(directory)
        files = cls(
            etablissement=directory / ETABLISSEMENT_FILE.filename,
            etablissement_historique=directory / ETABLISSEMENT_HISTORIQUE_FILE.filename,
            unite_legale=directory / UNITE_LEGALE_FILE.filename,
            unite_legale_historique=directory / UNITE_LEGALE_HISTORIQUE_FILE.filename,
        )
        missing = [p.name for p in files.paths().values() if not p.exists()]
        if missing:
            raise SireneFormatError(
                f"{directory}: missing INSEE stock file(s) {missing}; expected "
                + ", ".join(
                    f.filename for f in (ETABLISSEMENT_FILE, ETABLISSEMENT_HISTORIQUE_FILE, UNITE_LEGALE_FILE, UNITE_LEGALE_HISTORIQUE_FILE)
                )
            )
        return files.validate(con)

    def paths(self) -> dict[str, Path]:
        return {
            ETABLISSEMENT_FILE.key: self.etablissement,
            ETABLISSEMENT_HISTORIQUE_FILE.key: self.etablissement_historique,
            UNITE_LEGALE_FILE.key: self.unite_legale,
            UNITE_LEGALE_HISTORIQUE_FILE.key: self.unite_legale_historique,
        }

    def validate(self, con: duckdb.DuckDBPyConnection | None = None) -> "SireneFiles":
        own = con is None
        con = con or duckdb.connect()
        try:
            stocks = {
                s.key: s for s in (ETABLISSEMENT_FILE, ETABLISSEMENT_HISTORIQUE_FILE, UNITE_LEGALE_FILE, UNITE_LEGALE_HISTORIQUE_FILE)
            }
            for key, path in self.paths().items():
                self.info[key] = inspect_file(con, path, stocks[key])
        finally:
            if own:
                con.close()
        return self

    def file_info(self, key: str, con: duckdb.DuckDBPyConnection) -> FileInfo:
        if key not in self.info:
            self.validate(con)
        return self.info[key]

    def describe(self) -> dict[str, Any]:
        """Metadata: path, size, modification time, format variant and fixes of each file."""
        out = {}
        for key, path in self.paths().items():
            st = path.stat()
            info = self.info.get(key)
            out[path.name] = {
                "path": str(path),
                "size": st.st_size,
                "modified": dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc).isoformat(timespec="seconds"),
                "format": info.format_variant if info else "",
                "fixes": list(info.fixes) if info else [],
            }
        return out


def _select(info: FileInfo, cols: tuple[Col, ...]) -> str:
    return ",\n       ".join(info.expr(c) for c in cols)


def _read_matching(con: duckdb.DuckDBPyConnection, info: FileInfo, cols: tuple[Col, ...], key: Col, keys_sql: str, target: str) -> None:
    """``create temp table target``: the columns ``cols`` of the rows of ``info.path`` whose ``key`` is among
    the values of ``keys_sql`` (a one-column query), typed by :meth:`FileInfo.expr` as a DuckDB scan would.

    Polars' prefiltered scan evaluates the key filter first and decodes the other columns of the matching rows
    only; DuckDB's semi-join decodes every projected column of every row (its join filter prunes row groups,
    not rows). A key stored as an integer is zero-padded before the comparison (no prefiltering then, but the
    same rows)."""
    keys = pl.from_arrow(con.execute(keys_sql).arrow()).to_series()
    column = pl.col(key.source)
    if info.types[key.source] != "VARCHAR":
        column = column.cast(pl.String).str.zfill(key.width)
    present = [c.source for c in cols if c.source in info.types]
    try:
        matching = (
            pl.scan_parquet(info.path, parallel="prefiltered")
            .filter(column.is_in(keys.cast(pl.String).implode()))
            .select(present)
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SireneFormatError(f"reading {info.path} failed (corrupt Parquet data?): {str(exc).splitlines()[0]}") from exc
    con.register("_sirene_matching", matching.to_arrow())
    try:
        con.execute(f"create or replace temp table {target} as select {_select(info, cols)} from _sirene_matching")
    finally:
        con.unregister("_sirene_matching")


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any], *paths: Path) -> None:
    """Run an extraction statement; a read error mid-file is reported with the file(s) involved."""
    try:
        con.execute(sql, params)
    except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException):
        raise  # a bug in the query, not in the data
    except duckdb.Error as exc:
        raise SireneFormatError(
            f"reading {', '.join(str(p) for p in paths)} failed (corrupt Parquet data?): {str(exc).splitlines()[0]}"
        ) from exc


#: A NAF rév. 2 code as INSEE writes it (``88.91A``): a code of that nomenclature in another shape (``8891A``,
#: ``88.91a``) exists in no nomenclature, and its establishment would silently escape the 88.91A selection.
NAF_REV2_RE = r"[0-9]{2}\.[0-9]{2}[A-Z]"
#: Share of the stock's NAFRev2 codes that may be malformed before the stock is refused (counted below it).
MAX_MALFORMED_NAF = 0.001


def _check_naf_codes(con: duckdb.DuckDBPyConnection, path: Path, info: FileInfo) -> int:
    """Count the stock's activity codes labelled NAFRev2 that are not shaped like one; refuse above the threshold.
    Codes of other nomenclatures (NAFRev1, NAP...) and well-shaped codes absent from NAF rév. 2 are left alone."""
    code, nomen = '"activitePrincipaleEtablissement"', '"nomenclatureActivitePrincipaleEtablissement"'
    if "activitePrincipaleEtablissement" not in info.types or "nomenclatureActivitePrincipaleEtablissement" not in info.types:
        return 0
    n, total, examples = con.execute(
        f"""select count(*) filter (where not regexp_full_match(trim({code}), '{NAF_REV2_RE}')),
                   count(*), list(distinct {code}) filter (where not regexp_full_match(trim({code}), '{NAF_REV2_RE}'))[1:5]
            from read_parquet($path) where {nomen} = 'NAFRev2' and nullif(trim({code}), '') is not null""",
        {"path": str(path)},
    ).fetchall()[0]
    if n > MAX_MALFORMED_NAF * max(total, 1):
        raise SireneFormatError(
            f"{path}: column 'activitePrincipaleEtablissement': {n} of {total} codes of nomenclature NAFRev2 exist in no "
            f"nomenclature (expected the NAF rév. 2 form NN.NNL, e.g. 88.91A), e.g. {sorted(examples)}; at most "
            f"{MAX_MALFORMED_NAF:.1%} are tolerated (counted)"
        )
    return int(n)


def extract_establishments(con: duckdb.DuckDBPyConnection, files: SireneFiles) -> dict[str, Any]:
    """Write ``stg.sirene_etablissement_periodes`` and ``stg.sirene_etablissements``.

    Periods: every period of every establishment whose activity was 88.91A, or whose own name said
    EAJE, in any period (or in the stock). Duplicated (siret, date_debut) periods and duplicated stock sirets are reduced to
    one row (the most recently processed) and counted.
    """
    hist = files.file_info(ETABLISSEMENT_HISTORIQUE_FILE.key, con)
    stock = files.file_info(ETABLISSEMENT_FILE.key, con)
    params = {
        "hist": str(files.etablissement_historique),
        "stock": str(files.etablissement),
        "naf": NAF_EAJE,
        "re_eaje": SCOPE_PATTERNS["eaje"],
    }
    siret_h = hist.key("siret", 14)
    siret_s = stock.key("siret", 14)
    con.execute("create schema if not exists stg")
    _check_naf_codes(con, files.etablissement, stock)
    # by_naf tells the 88.91A establishments from those selected by their name alone (metadata)
    _query(
        con,
        f"""
        create or replace temp table _sirene_eaje_sirets as
        select siret, bool_or(by_naf) as by_naf from (
            select {siret_h} as siret, "activitePrincipaleEtablissement" is not distinct from $naf as by_naf
            from read_parquet($hist) where "activitePrincipaleEtablissement" = $naf or {OWN_NAME_MATCHES}
            union all
            select {siret_s} as siret, "activitePrincipaleEtablissement" is not distinct from $naf as by_naf
            from read_parquet($stock) where "activitePrincipaleEtablissement" = $naf or {OWN_NAME_MATCHES}
        )
        group by siret
        """,
        params,
        files.etablissement_historique,
        files.etablissement,
    )
    siret = ETABLISSEMENT_HISTORIQUE_COLS[0]
    _read_matching(con, hist, ETABLISSEMENT_HISTORIQUE_COLS, siret, "select siret from _sirene_eaje_sirets", "_sirene_periodes_raw")
    con.execute(
        """
        create or replace table stg.sirene_etablissement_periodes as
        select * from _sirene_periodes_raw
        qualify row_number() over (partition by siret, date_debut order by date_fin desc nulls first, etat_administratif) = 1
        order by siret, date_debut nulls first
        """
    )
    _read_matching(con, stock, ETABLISSEMENT_COLS, siret, "select siret from _sirene_eaje_sirets", "_sirene_stock_raw")
    con.execute(
        """
        create or replace table stg.sirene_etablissements as
        select * from _sirene_stock_raw
        qualify row_number() over (partition by siret order by date_dernier_traitement desc nulls last, date_debut desc nulls last,
                                   code_commune nulls last, nic) = 1
        order by siret
        """
    )
    # Duplicated stock rows of a siret are resolved by the documented rule: the latest dateDernierTraitement. Rows
    # that tie on it yet place the establishment in different communes cannot be resolved by any rule: counted,
    # and blocking above MAX_CONFLICTING_DUPLICATES of the establishments (the tie-break above is then arbitrary).
    conflicting = con.execute(
        """
        with top as (
            select siret, code_commune from _sirene_stock_raw
            qualify rank() over (partition by siret order by date_dernier_traitement desc nulls last) = 1
        )
        select count(*), list(siret order by siret)[1:5] from (
            select siret from top group by siret having count(distinct coalesce(code_commune, '?')) > 1
        )
        """
    ).fetchall()[0]
    n_stock = con.execute("select count(distinct siret) from _sirene_stock_raw").fetchall()[0][0]
    if conflicting[0] > MAX_CONFLICTING_DUPLICATES * max(n_stock, 1):
        raise SireneFormatError(
            f"{files.etablissement}: column 'codeCommuneEtablissement': {conflicting[0]} sirets appear more than once with "
            f"different communes and the same dateDernierTraitementEtablissement, e.g. {conflicting[1]}; expected at most "
            f"{MAX_CONFLICTING_DUPLICATES:.1%} of the {n_stock} establishments (one row per siret, or the latest processed)"
        )
    counts = con.execute(
        """
        select
          (select count(*) from _sirene_eaje_sirets),
          (select count(*) from _sirene_periodes_raw),
          (select count(*) from stg.sirene_etablissement_periodes),
          (select count(*) from _sirene_stock_raw),
          (select count(*) from stg.sirene_etablissements),
          (select count(*) from _sirene_eaje_sirets s anti join stg.sirene_etablissements e using (siret)),
          (select count(*) from _sirene_eaje_sirets s anti join (select distinct siret from stg.sirene_etablissement_periodes) p using (siret)),
          (select count(*) from stg.sirene_etablissements where activite_principale = $naf and etat_administratif = 'A'),
          (select count(distinct siret) from stg.sirene_etablissement_periodes where activite_principale is distinct from $naf),
          (select count(*) from _sirene_eaje_sirets where not by_naf)
        """,
        {"naf": NAF_EAJE},
    ).fetchone()
    con.execute("drop table if exists _sirene_periodes_raw; drop table if exists _sirene_stock_raw")
    return {
        "establishments_selected": counts[0],
        "selected_by_name_only": counts[9],
        "period_rows": counts[2],
        "duplicate_periods_removed": counts[1] - counts[2],
        "stock_rows": counts[4],
        "duplicate_sirets_removed": counts[3] - counts[4],
        "conflicting_duplicate_sirets": conflicting[0],
        "selected_without_stock_row": counts[5],
        "selected_without_history": counts[6],
        "active_88_91a_in_stock": counts[7],
        "with_a_period_outside_88_91a": counts[8],
        "files": files.describe(),
    }


def extract_legal_units(con: duckdb.DuckDBPyConnection, files: SireneFiles) -> dict[str, Any]:
    """Write ``stg.sirene_unite_legale_periodes`` and ``stg.sirene_unites_legales`` for the sirens of
    the extracted establishments (run :func:`extract_establishments` first)."""
    hist = files.file_info(UNITE_LEGALE_HISTORIQUE_FILE.key, con)
    stock = files.file_info(UNITE_LEGALE_FILE.key, con)
    con.execute(
        """
        create or replace temp table _sirene_eaje_sirens as
        select siren from stg.sirene_etablissements union select siren from stg.sirene_etablissement_periodes
        """
    )
    siren = UNITE_LEGALE_HISTORIQUE_COLS[0]
    _read_matching(con, hist, UNITE_LEGALE_HISTORIQUE_COLS, siren, "select siren from _sirene_eaje_sirens", "_sirene_ul_periodes_raw")
    con.execute(
        """
        create or replace table stg.sirene_unite_legale_periodes as
        select * from _sirene_ul_periodes_raw
        qualify row_number() over (partition by siren, date_debut order by date_fin desc nulls first) = 1
        order by siren, date_debut nulls first
        """
    )
    _read_matching(con, stock, UNITE_LEGALE_COLS, siren, "select siren from _sirene_eaje_sirens", "_sirene_ul_raw")
    con.execute(
        """
        create or replace table stg.sirene_unites_legales as
        select * from _sirene_ul_raw
        qualify row_number() over (partition by siren order by date_debut desc nulls last) = 1
        order by siren
        """
    )
    counts = con.execute(
        """
        select
          (select count(*) from _sirene_eaje_sirens),
          (select count(*) from _sirene_ul_periodes_raw),
          (select count(*) from stg.sirene_unite_legale_periodes),
          (select count(*) from _sirene_ul_raw),
          (select count(*) from stg.sirene_unites_legales),
          (select count(*) from _sirene_eaje_sirens s anti join stg.sirene_unites_legales u using (siren)),
          (select count(*) from _sirene_eaje_sirens s anti join (select distinct siren from stg.sirene_unite_legale_periodes) p using (siren))
        """
    ).fetchone()
    missing = [
        r[0]
        for r in con.execute(
            "select siren from _sirene_eaje_sirens anti join stg.sirene_unites_legales using (siren) order by 1 limit 10"
        ).fetchall()
    ]
    con.execute("drop table if exists _sirene_ul_periodes_raw; drop table if exists _sirene_ul_raw")
    return {
        "legal_units_needed": counts[0],
        "period_rows": counts[2],
        "duplicate_periods_removed": counts[1] - counts[2],
        "stock_rows": counts[4],
        "duplicate_sirens_removed": counts[3] - counts[4],
        "legal_units_missing_from_stock": counts[5],
        "legal_units_missing_examples": missing,
        "legal_units_without_history": counts[6],
        "files": files.describe(),
    }


def extract_successions(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, Any]:
    """Write ``stg.sirene_successions``: the succession links (StockEtablissementLiensSuccession at ``path``)
    whose predecessor or successor is one of the extracted establishments (run :func:`extract_establishments`
    first); key (siret_predecessor, siret_successor, date_lien).

    The national file links establishments of every activity: only links touching an establishment ever in
    88.91A can tell what became of a facility, and keeping only them keeps the table as small as the others.
    The file is inspected like the stock files (missing, not Parquet, column missing or renamed, dates that do
    not parse: :class:`SireneFormatError` naming the file and column). Duplicated links (same key) are reduced
    to the most recently processed and counted."""
    info = inspect_file(con, path, SUCCESSION_FILE)
    pred, succ = info.key("siretEtablissementPredecesseur", 14), info.key("siretEtablissementSuccesseur", 14)
    con.execute(
        """
        create or replace temp table _sirene_eaje_sirets_all as
        select siret from stg.sirene_etablissements union select siret from stg.sirene_etablissement_periodes
        """
    )
    _query(
        con,
        f"""
        create or replace temp table _sirene_successions_raw as
        select {_select(info, SUCCESSION_COLS)}
        from read_parquet($path)
        where {pred} in (select siret from _sirene_eaje_sirets_all) or {succ} in (select siret from _sirene_eaje_sirets_all)
        """,
        {"path": str(path)},
        path,
    )
    con.execute(
        """
        create or replace table stg.sirene_successions as
        select * from _sirene_successions_raw
        qualify row_number() over (partition by siret_predecessor, siret_successor, date_lien
                                   order by date_dernier_traitement desc nulls last, transfert_siege, continuite_economique) = 1
        order by siret_predecessor, siret_successor, date_lien
        """
    )
    raw, kept, both = con.execute(
        """
        select (select count(*) from _sirene_successions_raw), (select count(*) from stg.sirene_successions),
               (select count(*) from stg.sirene_successions
                where siret_predecessor in (select siret from _sirene_eaje_sirets_all)
                  and siret_successor in (select siret from _sirene_eaje_sirets_all))
        """
    ).fetchall()[0]
    total = con.execute("select sum(num_rows) from parquet_file_metadata($path)", {"path": str(path)}).fetchall()[0][0]
    con.execute("drop table if exists _sirene_successions_raw; drop table if exists _sirene_eaje_sirets_all")
    return {
        "links_in_file": int(total or 0),
        "links_kept": kept,
        "duplicate_links_removed": raw - kept,
        "links_between_two_selected_establishments": both,
        "file": {"path": str(path), "size": Path(path).stat().st_size, "fixes": list(info.fixes)},
    }


def latest_stock_year(con: duckdb.DuckDBPyConnection) -> int:
    """Year of the latest 1 January the stock describes: that of its last processing date."""
    last = con.execute(
        "select max(date_dernier_traitement) from stg.sirene_etablissements where date_dernier_traitement <= now()"
    ).fetchone()[0]
    if last is None:
        raise SireneFormatError("stg.sirene_etablissements has no dateDernierTraitementEtablissement: cannot tell the stock's date")
    return last.year
