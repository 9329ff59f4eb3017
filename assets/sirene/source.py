"""INSEE SIRENE stock files (Parquet): the source spec and where the pipeline reads them from."""

from pathlib import Path

from assets.sirene.schema import STOCK_FILES, SUCCESSION_FILE, StockFile
from observatory.resources import PARQUET_MAGIC, Downloader
from observatory.sources import EMBEDDED, LOCAL, PlanError, PlanFile, RemoteFile, SourceSpec, resolve_one

#: The stock is replaced each month; the Downloader keeps one copy and re-downloads when the
#: server's ETag / Last-Modified change.
MILLESIME = "stock"


def _plan_file(role: str, f: StockFile) -> PlanFile:
    return PlanFile(
        role,
        part=f.filename,
        embedded=f.filename,
        local=f.filename,
        official=RemoteFile(millesime=MILLESIME, url=f.url, filename=f.filename, magic=(PARQUET_MAGIC,)),
    )


SPEC = SourceSpec(
    name="sirene",
    title="Base Sirene des entreprises et de leurs établissements (stock Parquet)",
    publisher="INSEE",
    licence="Licence Ouverte 2.0",
    homepage="https://www.data.gouv.fr/datasets/base-sirene-des-entreprises-et-de-leurs-etablissements-siren-siret/",
    cadence="monthly",
    description=(
        "Four stock files in INSEE format 3.11: StockEtablissement, StockEtablissementHistorique, StockUniteLegale, "
        "StockUniteLegaleHistorique (about 4.6 GB; published monthly, describing the register at the end of the "
        "previous month), and the establishments' succession links (StockEtablissementLiensSuccession). The embedded copy is a seeded synthetic national sample with the exact file names, columns "
        "and types (scripts/generate_sirene_sample.py); set OBSERVATORY_SIRENE_DIR to a directory holding the real "
        "files to run on them."
    ),
    # Role stock, one part per file: the same INSEE file names in the embedded sample, the download
    # directory and a local directory (OBSERVATORY_SIRENE_DIR). The succession links are their own role
    # (read by their own asset), last so that the four stock files keep their places; like them, the file
    # is required in every mode: a run without it fails naming it, rather than reading "no succession".
    plan=tuple(_plan_file("stock", f) for f in STOCK_FILES) + (_plan_file("successions", SUCCESSION_FILE),),
    synthetic=True,
    local_dir_field="sirene_dir",
    # Real files carry no manifest: their date is that of the stock's latest processing date (the
    # date the facility marts take their latest year from, see extract.latest_stock_year).
    data_date_from=(
        "stg.sirene_etablissements",
        "max(date_dernier_traitement) filter (where date_dernier_traitement <= now())",
    ),
)


def sirene_directory(downloader: Downloader) -> tuple[Path, str]:
    """Directory of the four files (as the file plan resolves them: the local directory when
    ``OBSERVATORY_SIRENE_DIR`` is set, else the embedded sample or the downloaded official files) and
    which variant it is, for the metadata."""
    files = resolve_one(downloader, SPEC, "stock")
    directories = {f.path.parent for f in files}
    if len(directories) != 1:
        raise PlanError(f"SIRENE stock files resolved to several directories {sorted(map(str, directories))}: expected one")
    label = {EMBEDDED: "embedded SYNTHETIC sample", LOCAL: "OBSERVATORY_SIRENE_DIR (real INSEE files)"}.get(
        files[0].variant, "official INSEE files (downloaded)"
    )
    return directories.pop(), label


def succession_file(downloader: Downloader) -> Path:
    """Path of StockEtablissementLiensSuccession, resolved like the four stock files (same directory)."""
    (planned,) = resolve_one(downloader, SPEC, "successions")
    return planned.path
