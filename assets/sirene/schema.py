"""The INSEE SIRENE stock Parquet files: names, columns in file order and Parquet types.

The four stock files (``STOCK_FILES``) describe establishments and legal units; the fifth,
``SUCCESSION_FILE`` (StockEtablissementLiensSuccession), links a predecessor establishment to its
successor. It is kept out of ``STOCK_FILES`` because it is read on its own (``stg.sirene_successions``),
not with the four files the establishment / legal-unit extraction validates together.

Source: SCHEMAS.md §1 (format 3.11, types from ``parquet_schema()`` of the June 2026 files; the
succession file's Parquet types are unverified, SCHEMAS.md §1.4b). A
column with no explicit type is VARCHAR. Used by the loader (required columns, type fixes), by the
synthetic-sample generator (every column, in order) and by the tests (tiny files in the real schema).

Format history the loader must accept:
* 3.9 (until 26 March 2024): no address identifier or Lambert coordinates in StockEtablissement;
* 3.11 (from 26 March 2024): adds ``identifiantAdresseEtablissement`` and the two Lambert columns;
* December 2025: adds ``activitePrincipaleNAF25Etablissement`` / ``...UniteLegale`` (last column)
  to the two stock files, not to the Historique files.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence


def _parse(spec: str) -> tuple[tuple[str, str], ...]:
    cols = []
    for item in spec.replace("\n", " ").split(","):
        item = item.strip()
        if not item:
            continue
        name, _, typ = item.partition(":")
        cols.append((name.strip(), typ.strip() or "VARCHAR"))
    return tuple(cols)


UNITE_LEGALE = _parse(
    """siren, statutDiffusionUniteLegale, unitePurgeeUniteLegale:BOOLEAN, dateCreationUniteLegale:DATE,
    sigleUniteLegale, sexeUniteLegale, prenom1UniteLegale, prenom2UniteLegale, prenom3UniteLegale,
    prenom4UniteLegale, prenomUsuelUniteLegale, pseudonymeUniteLegale, identifiantAssociationUniteLegale,
    trancheEffectifsUniteLegale, anneeEffectifsUniteLegale:BIGINT, dateDernierTraitementUniteLegale:TIMESTAMP,
    nombrePeriodesUniteLegale:BIGINT, categorieEntreprise, anneeCategorieEntreprise:BIGINT, dateDebut:DATE,
    etatAdministratifUniteLegale, nomUniteLegale, nomUsageUniteLegale, denominationUniteLegale,
    denominationUsuelle1UniteLegale, denominationUsuelle2UniteLegale, denominationUsuelle3UniteLegale,
    categorieJuridiqueUniteLegale:BIGINT, activitePrincipaleUniteLegale, nomenclatureActivitePrincipaleUniteLegale,
    nicSiegeUniteLegale, economieSocialeSolidaireUniteLegale, societeMissionUniteLegale,
    caractereEmployeurUniteLegale, activitePrincipaleNAF25UniteLegale"""
)

ETABLISSEMENT = _parse(
    """siren, nic, siret, statutDiffusionEtablissement, dateCreationEtablissement:DATE, trancheEffectifsEtablissement,
    anneeEffectifsEtablissement:BIGINT, activitePrincipaleRegistreMetiersEtablissement,
    dateDernierTraitementEtablissement:TIMESTAMP, etablissementSiege:BOOLEAN, nombrePeriodesEtablissement:BIGINT,
    complementAdresseEtablissement, numeroVoieEtablissement, indiceRepetitionEtablissement,
    dernierNumeroVoieEtablissement, indiceRepetitionDernierNumeroVoieEtablissement, typeVoieEtablissement,
    libelleVoieEtablissement, codePostalEtablissement, libelleCommuneEtablissement,
    libelleCommuneEtrangerEtablissement, distributionSpecialeEtablissement, codeCommuneEtablissement,
    codeCedexEtablissement, libelleCedexEtablissement, codePaysEtrangerEtablissement,
    libellePaysEtrangerEtablissement, identifiantAdresseEtablissement, coordonneeLambertAbscisseEtablissement,
    coordonneeLambertOrdonneeEtablissement, complementAdresse2Etablissement, numeroVoie2Etablissement,
    indiceRepetition2Etablissement, typeVoie2Etablissement, libelleVoie2Etablissement, codePostal2Etablissement,
    libelleCommune2Etablissement, libelleCommuneEtranger2Etablissement, distributionSpeciale2Etablissement,
    codeCommune2Etablissement, codeCedex2Etablissement, libelleCedex2Etablissement,
    codePaysEtranger2Etablissement, libellePaysEtranger2Etablissement, dateDebut:DATE,
    etatAdministratifEtablissement, enseigne1Etablissement, enseigne2Etablissement, enseigne3Etablissement,
    denominationUsuelleEtablissement, activitePrincipaleEtablissement, nomenclatureActivitePrincipaleEtablissement,
    caractereEmployeurEtablissement, activitePrincipaleNAF25Etablissement"""
)

UNITE_LEGALE_HISTORIQUE = _parse(
    """siren, dateFin:DATE, dateDebut:DATE, etatAdministratifUniteLegale, changementEtatAdministratifUniteLegale:BOOLEAN,
    nomUniteLegale, changementNomUniteLegale:BOOLEAN, nomUsageUniteLegale, changementNomUsageUniteLegale:BOOLEAN,
    denominationUniteLegale, changementDenominationUniteLegale:BOOLEAN, denominationUsuelle1UniteLegale,
    denominationUsuelle2UniteLegale, denominationUsuelle3UniteLegale, changementDenominationUsuelleUniteLegale:BOOLEAN,
    categorieJuridiqueUniteLegale, changementCategorieJuridiqueUniteLegale:BOOLEAN, activitePrincipaleUniteLegale,
    nomenclatureActivitePrincipaleUniteLegale, changementActivitePrincipaleUniteLegale:BOOLEAN, nicSiegeUniteLegale,
    changementNicSiegeUniteLegale:BOOLEAN, economieSocialeSolidaireUniteLegale,
    changementEconomieSocialeSolidaireUniteLegale:BOOLEAN, societeMissionUniteLegale,
    changementSocieteMissionUniteLegale:BOOLEAN, caractereEmployeurUniteLegale,
    changementCaractereEmployeurUniteLegale:BOOLEAN"""
)

ETABLISSEMENT_HISTORIQUE = _parse(
    """siren, nic, siret, dateFin:DATE, dateDebut:DATE, etatAdministratifEtablissement,
    changementEtatAdministratifEtablissement:BOOLEAN, enseigne1Etablissement, enseigne2Etablissement,
    enseigne3Etablissement, changementEnseigneEtablissement:BOOLEAN, denominationUsuelleEtablissement,
    changementDenominationUsuelleEtablissement:BOOLEAN, activitePrincipaleEtablissement,
    nomenclatureActivitePrincipaleEtablissement, changementActivitePrincipaleEtablissement:BOOLEAN,
    caractereEmployeurEtablissement, changementCaractereEmployeurEtablissement:BOOLEAN"""
)

LIENS_SUCCESSION = _parse(
    """siretEtablissementPredecesseur, siretEtablissementSuccesseur, dateLienSuccession:DATE,
    transfertSiege:BOOLEAN, continuiteEconomique:BOOLEAN, dateDernierTraitementLienSuccession:TIMESTAMP"""
)


@dataclass(frozen=True)
class StockFile:
    """One INSEE stock file: its published name and full schema (columns in file order, DuckDB types)."""

    key: str
    filename: str
    columns: tuple[tuple[str, str], ...]

    @property
    def url(self) -> str:
        return f"https://object.files.data.gouv.fr/data-pipeline-open/siren/stock/{self.filename}"

    def types(self) -> dict[str, str]:
        return dict(self.columns)


ETABLISSEMENT_FILE = StockFile(
    key="etablissement",
    filename="StockEtablissement_utf8.parquet",
    columns=ETABLISSEMENT,
)

ETABLISSEMENT_HISTORIQUE_FILE = StockFile(
    key="etablissement_historique",
    filename="StockEtablissementHistorique_utf8.parquet",
    columns=ETABLISSEMENT_HISTORIQUE,
)

UNITE_LEGALE_FILE = StockFile(
    key="unite_legale",
    filename="StockUniteLegale_utf8.parquet",
    columns=UNITE_LEGALE,
)

UNITE_LEGALE_HISTORIQUE_FILE = StockFile(
    key="unite_legale_historique",
    filename="StockUniteLegaleHistorique_utf8.parquet",
    columns=UNITE_LEGALE_HISTORIQUE,
)

SUCCESSION_FILE = StockFile(
    key="succession",
    filename="StockEtablissementLiensSuccession_utf8.parquet",
    columns=LIENS_SUCCESSION,
)

STOCK_FILES = (ETABLISSEMENT_FILE, ETABLISSEMENT_HISTORIQUE_FILE, UNITE_LEGALE_FILE, UNITE_LEGALE_HISTORIQUE_FILE)
FILE_NAMES = tuple(f.filename for f in STOCK_FILES)


def path_in(directory: Path, stock: StockFile) -> Path:
    return Path(directory) / stock.filename


def arrow_schema(stock: StockFile, drop: Iterable[str] = ()):
    """The file's Arrow schema (all columns, in order), without the ``drop``ped ones."""
    import pyarrow as pa

    arrow = {"VARCHAR": pa.string(), "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_(), "BIGINT": pa.int64()}
    dropped = set(drop)
    return pa.schema([pa.field(name, arrow[typ]) for name, typ in stock.columns if name not in dropped])


def write_stock_parquet(
    path: Path,
    stock: StockFile,
    rows: Sequence[dict[str, Any]] | Any,
    *,
    drop: Iterable[str] = (),
    row_group_size: int | None = None,
) -> Path:
    """Write ``rows`` (dicts or a Polars/Arrow table) as ``stock`` with every column of the INSEE
    schema in order and its Parquet type; columns absent from ``rows`` are null. ``drop`` removes
    columns, to imitate an older format (e.g. the 2024 or December 2025 additions)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(stock, drop)
    if isinstance(rows, (list, tuple)):
        unknown = sorted({k for r in rows for k in r} - set(schema.names) - set(drop))
        if unknown:
            raise ValueError(f"{stock.filename}: unknown column(s) {unknown}")
        data = {name: [r.get(name) for r in rows] for name in schema.names}
        table = pa.table(data, schema=schema)
    else:
        table = rows.to_arrow() if hasattr(rows, "to_arrow") else rows
        unknown = sorted(set(table.column_names) - set(schema.names) - set(drop))
        if unknown:
            raise ValueError(f"{stock.filename}: unknown column(s) {unknown}")
        n = table.num_rows
        table = pa.table(
            {f.name: (table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(n, f.type)) for f in schema},
            schema=schema,
        )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", row_group_size=row_group_size)
    return Path(path)
