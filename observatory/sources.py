"""Declarative source specs and the one factory that turns a spec into its ``raw`` asset.

A source is a folder ``assets/<source>/`` with a ``source.py`` holding a frozen
:class:`SourceSpec`. The raw asset makes the source's files available and verified:

* ``embedded`` mode: the compact copy committed in ``data/raw/<source>/embedded/`` (checked against
  the sha256 in its ``manifest.json``);
* ``official`` mode: the publisher's files in ``data/raw/<source>/<millesime>/``, downloaded by the
  :class:`~observatory.resources.Downloader` unless already there and unchanged (or offline).

Each source declares a *file plan* (:class:`PlanFile`): every logical file with its embedded, official
and local-directory variants and the years each covers. Staging code asks :func:`resolve` for a
logical file and years; :func:`resolve` (with :func:`preferred_variant`) is the only code that looks at
the mode, and adding next January's millésime is adding its plan entry (and its file).

:func:`read_source` is the one place that decides which files a run reads (a local directory of the
publisher's files, the embedded copy or the official files) and verifies them: the raw asset calls
it (downloading), ``marts.sources`` calls it again (reading what is in place) to publish where every
figure comes from.
"""

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import dagster as dg

from observatory.automation import CADENCE_TAG, cadence, freshness_policy
from observatory.incremental import raw_data_version
from observatory.resources import Downloader, DownloadError, sha256_cached, sha256_of, sniff_file


@dataclass(frozen=True)
class RemoteFile:
    """One file as its publisher distributes it, stored as ``data/raw/<source>/<millesime>/<filename>``."""

    millesime: str
    url: str
    filename: str
    magic: tuple[bytes, ...] = ()
    #: No stable URL: saved by hand there (the raw asset never downloads it; ``url`` is the page to get it from).
    manual: bool = False


#: The variants of a planned file, i.e. where a run finds it (``PlannedFile.variant``).
EMBEDDED, OFFICIAL, LOCAL = "embedded", "official", "local directory"


@dataclass(frozen=True)
class PlanFile:
    """One logical file of a source, for the years it covers, and where each mode finds it.

    ``role`` names the logical file (``epci_composition``, ``commune_list``...), the name the staging
    code asks for. ``years``: the years it covers (empty: not year-specific). Variants: ``embedded``
    (a file name under ``data/raw/<source>/embedded/``, possibly holding several years), ``official``
    (the publisher's file), ``local`` (a file name in the directory of ``SourceSpec.local_dir_field``).
    ``part``: entries of one role and year that complement each other (metropolitan and overseas
    polygons, a current and a historical dataset); among entries of the same part the last one
    covering a year wins (a newer millésime supersedes an older one).
    """

    role: str
    years: tuple[int, ...] = ()
    embedded: str = ""
    official: RemoteFile | None = None
    local: str = ""
    part: str = ""
    #: Facts the reader needs about this file (e.g. the COG year of polygons, the zones taken from them).
    details: tuple[tuple[str, Any], ...] = ()

    def has(self, variant: str) -> bool:
        return bool({EMBEDDED: self.embedded, OFFICIAL: self.official, LOCAL: self.local}[variant])

    def covers(self, year: int | None) -> bool:
        return not self.years or year is None or year in self.years

    def detail(self, name: str, default: Any = None) -> Any:
        return dict(self.details).get(name, default)


def years(*spans: tuple[int, int] | int) -> tuple[int, ...]:
    """``years((2015, 2019), 2021)`` -> (2015, ..., 2019, 2021): spans are inclusive."""
    out: list[int] = []
    for s in spans:
        out += list(range(s[0], s[1] + 1)) if isinstance(s, tuple) else [int(s)]
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class SourceSpec:
    name: str
    title: str
    publisher: str
    licence: str
    homepage: str
    #: ``monthly`` or ``yearly``: drives the schedule and the staleness sensor.
    cadence: str
    description: str
    #: The file plan: every logical file with its variants and years (see :class:`PlanFile`, :func:`resolve`).
    plan: tuple[PlanFile, ...] = ()
    synthetic: bool = False
    #: Name of a ``Downloader`` field holding a directory of the publisher's files (e.g. ``sirene_dir``);
    #: when set at run time, the plan's ``local`` variants are read from there.
    local_dir_field: str = ""
    #: ``(table, SQL expression)`` giving the date the data describe from the build warehouse, for
    #: files whose manifest records none (real files in a local directory, official downloads);
    #: evaluated by ``marts.sources`` (e.g. the latest processing date of the SIRENE stock).
    data_date_from: tuple[str, str] = ()
    owners: tuple[str, ...] = ("team:data",)
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cadence(self.cadence)  # a clear error for an unknown cadence, at import time

    @property
    def raw_key(self) -> dg.AssetKey:
        return dg.AssetKey(["raw", self.name])

    @property
    def embedded_files(self) -> tuple[str, ...]:
        """File names under ``data/raw/<name>/embedded/``, in plan order."""
        return tuple(dict.fromkeys(e.embedded for e in self.plan if e.embedded))

    @property
    def remote_files(self) -> tuple[RemoteFile, ...]:
        """The publisher's files the raw asset downloads in official mode."""
        return tuple(dict.fromkeys(e.official for e in self.plan if e.official and not e.official.manual))

    @property
    def manual_files(self) -> tuple[RemoteFile, ...]:
        """The publisher's files saved by hand (no stable URL), read in official mode."""
        return tuple(dict.fromkeys(e.official for e in self.plan if e.official and e.official.manual))

    @property
    def local_files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.local for e in self.plan if e.local))

    def millesimes(self) -> list[str]:
        return sorted({f.millesime for f in self.remote_files})

    def plan_years(self, role: str, variant: str = EMBEDDED) -> tuple[int, ...]:
        """The years the ``variant`` files of ``role`` cover."""
        return tuple(sorted({y for e in self.plan if e.role == role and e.has(variant) for y in e.years}))

    def with_plan(self, *entries: PlanFile) -> "SourceSpec":
        """This spec with ``entries`` added to its plan (what adding a millésime to ``source.py`` does)."""
        return replace(self, plan=self.plan + tuple(entries))


@dataclass(frozen=True)
class PlannedFile:
    """A file the resolver chose: which source and entry, in which variant, where, for which years."""

    spec: SourceSpec
    entry: PlanFile
    variant: str
    path: Path
    #: The years to take from this file (empty: not year-specific).
    years: tuple[int, ...]

    @property
    def role(self) -> str:
        return self.entry.role

    def describe(self) -> str:
        return f"{self.spec.name} {self.variant} {self.path.name}"


class PlanError(DownloadError):
    """No file of the plan can give what was asked for."""


def preferred_variant(downloader: Downloader, spec: SourceSpec) -> str:
    """The variant a run reads for ``spec``: the local directory when ``spec.local_dir_field`` is set on the
    downloader, else the mode's (``embedded`` / ``official``). With :func:`resolve`, the only place that looks
    at the mode."""
    if spec.local_dir_field and getattr(downloader, spec.local_dir_field, ""):
        return LOCAL
    return OFFICIAL if downloader.source_mode == "official" else EMBEDDED


def _path(downloader: Downloader, spec: SourceSpec, entry: PlanFile, variant: str) -> Path:
    if variant == LOCAL:
        path = Path(getattr(downloader, spec.local_dir_field)) / entry.local
        if not path.exists():
            raise PlanError(f"{path}: missing; {spec.local_dir_field} must hold the publisher's file {entry.local}")
        sniff_file(path)  # before any engine reads it: HTML, text instead of Parquet, truncated... named as such
        return path
    if variant == EMBEDDED:
        return embedded_path(downloader, spec, entry.embedded)
    path = official_path(downloader, spec, entry.official)
    if not path.exists():
        how = (
            f"save it there from {entry.official.url} (it cannot be downloaded)"
            if entry.official.manual
            else (f"materialize raw/{spec.name} in official mode first (it downloads {entry.official.url})")
        )
        raise PlanError(f"{path}: missing; {how}, or set OBSERVATORY_SOURCE_MODE=embedded")
    sniff_file(path, url=entry.official.url, expect_magic=entry.official.magic)  # downloaded or placed by hand
    return path


def resolve(
    downloader: Downloader,
    sources: Sequence[tuple[SourceSpec, str]],
    years: Iterable[int] | None = None,
    *,
    fallback: bool = True,
) -> list[PlannedFile]:
    """The files a run reads for the logical file ``role`` of ``sources`` (``[(spec, role), ...]`` in order
    of preference), for ``years``: the one framework function that turns (plan, mode, years) into paths.

    For each year, the first source with an entry covering it in its preferred variant
    (:func:`preferred_variant`) gives it (every part of it, the last entry of each part); with
    ``fallback``, a year no publisher's file covers is read from the embedded copy (e.g. a year before
    the first official file). ``years=None``: every year the chosen variants cover (a role without
    years: its files). Raises :class:`PlanError` naming the role and the years nothing covers.
    Files come back in plan order, each with the years to take from it.
    """
    variants = [(spec, role, preferred_variant(downloader, spec)) for spec, role in sources]
    passes = [variants] + ([[(s, r, EMBEDDED) for s, r, v in variants if v != EMBEDDED]] if fallback else [])
    if years is None:
        wanted: list[int | None] = sorted({y for p in passes for s, r, v in p for e in s.plan if e.role == r and e.has(v) for y in e.years})
        if not wanted:
            wanted = [None]
    else:
        wanted = sorted({int(y) for y in years})
    chosen: dict[tuple[str, int, str], list[int]] = {}
    order: dict[tuple[str, int, str], tuple[SourceSpec, PlanFile, str]] = {}
    missing = []
    for year in wanted:
        for candidates in passes:
            found = False
            for spec, role, variant in candidates:
                entries = [(i, e) for i, e in enumerate(spec.plan) if e.role == role and e.has(variant) and e.covers(year)]
                if not entries:
                    continue
                by_part: dict[str, tuple[int, PlanFile]] = {}
                for i, e in entries:
                    by_part[e.part] = (i, e)
                for i, e in by_part.values():
                    key = (spec.name, i, variant)
                    order[key] = (spec, e, variant)
                    chosen.setdefault(key, [])
                    if year is not None:
                        chosen[key].append(year)
                found = True
                break
            if found:
                break
        else:
            missing.append(year)
    if missing:
        what = " / ".join(f"{s.name}:{r} ({v})" for s, r, v in variants)
        raise PlanError(f"no planned file of {what} covers {missing}; add the year's entry to the source's plan (source.py)")
    ranked = sorted(order, key=lambda k: ([s.name for s, _ in sources].index(k[0]), k[1]))
    return [
        PlannedFile(*order[k][:1], order[k][1], order[k][2], _path(downloader, order[k][0], order[k][1], order[k][2]), tuple(chosen[k]))
        for k in ranked
    ]


def resolve_one(
    downloader: Downloader, spec: SourceSpec, role: str, years: Iterable[int] | None = None, *, fallback: bool = True
) -> list[PlannedFile]:
    """:func:`resolve` for one source."""
    return resolve(downloader, [(spec, role)], years, fallback=fallback)


def embedded_dir(downloader: Downloader, spec: SourceSpec) -> Path:
    return Path(downloader.raw_dir) / spec.name / "embedded"


def embedded_path(downloader: Downloader, spec: SourceSpec, filename: str) -> Path:
    path = embedded_dir(downloader, spec) / filename
    if not path.exists():
        raise DownloadError(
            f"{path}: embedded file of source '{spec.name}' is missing; "
            f"restore it from git (git checkout -- {path}) or run with OBSERVATORY_SOURCE_MODE=official"
        )
    return path


def official_path(downloader: Downloader, spec: SourceSpec, remote: RemoteFile) -> Path:
    return downloader.target(spec.name, remote.millesime, remote.filename)


def read_manifest(directory: Path) -> dict:
    path = directory / "manifest.json"
    if not path.exists():
        raise DownloadError(f"{path}: manifest missing (expected url, sha256, licence of each file)")
    return json.loads(path.read_text(encoding="utf-8"))


def verify_embedded(downloader: Downloader, spec: SourceSpec, names: Sequence[str] | None = None) -> dict:
    """Check every embedded file (or ``names``) against its manifest; return the manifest."""
    directory = embedded_dir(downloader, spec)
    manifest = read_manifest(directory)
    for filename in spec.embedded_files if names is None else names:
        path = embedded_path(downloader, spec, filename)
        entry = manifest.get("files", {}).get(filename)
        if entry is None:
            raise DownloadError(f"{directory / 'manifest.json'}: no entry for {filename}")
        actual = sha256_of(path)
        if actual != entry["sha256"]:
            raise DownloadError(
                f"{path}: sha256 {actual[:12]}... does not match the manifest ({entry['sha256'][:12]}...); "
                "the embedded file was modified or truncated"
            )
    return manifest


def file_facts(path: Path, preview_rows: int = 0) -> dict[str, Any]:
    """Rows and columns of a Parquet file read from its footer (cheap), plus an optional preview."""
    if path.suffix != ".parquet":
        return {}
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute("select sum(num_rows) from parquet_file_metadata(?)", [str(path)]).fetchone()[0]
        rel = con.read_parquet(str(path))  # `describe` takes no bound parameter
        cols = list(zip(rel.columns, rel.types))
        facts: dict[str, Any] = {"rows": int(rows or 0), "columns": [[c, str(t)] for c, t in cols]}
        if preview_rows:
            df = con.execute(f"select * from read_parquet(?) limit {int(preview_rows)}", [str(path)]).df()
            facts["preview"] = df.iloc[:, :10].to_markdown(index=False) if len(df) else "(empty)"
        return facts
    finally:
        con.close()


#: How a run obtained a source's files (``SourceRead.mode``).
MODES = ("embedded", "official", "local directory")
#: ``SourceRead.data_date_basis`` of a date recorded by the files' manifest.
DATE_FROM_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SourceFile:
    """One file a run reads, verified."""

    #: The file name (``<millesime>/<file name>`` for official files).
    name: str
    path: Path
    sha256: str
    size: int
    #: embedded: the manifest's origin; official: when it was downloaded (or placed by hand);
    #: local directory: the file's path.
    origin: str = ""
    #: The publisher's URL of the file.
    url: str = ""
    #: Further manifest fields shown in the raw asset's metadata (licence, downloaded_at, ...).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRead:
    """Which files of a source a run reads, in which mode, of which date, synthetic or not."""

    spec: SourceSpec
    mode: str
    synthetic: bool
    #: As recorded: a date (``2026-10-31``), the official millesimes, or "" when nothing records it.
    data_date: str
    #: Where data_date comes from (``manifest.json``, ``official millesimes``, ...); "" without one.
    data_date_basis: str
    files: tuple[SourceFile, ...]
    #: When the files were verified (UTC).
    read_at: dt.datetime

    @property
    def mode_label(self) -> str:
        return f"local directory ({self.spec.local_dir_field})" if self.mode == "local directory" else self.mode

    def with_data_date(self, data_date: str, basis: str) -> "SourceRead":
        return replace(self, data_date=data_date, data_date_basis=basis)

    @property
    def label(self) -> str:
        """Short provenance label, e.g. ``SIRENE SYNTHETIC sample (data date 2026-10-31)``."""
        name = self.spec.name.upper().replace("_", " ")
        if self.synthetic:
            what = "SYNTHETIC sample"
        else:
            what = {"embedded": "embedded copy", "official": "official files"}.get(self.mode, "publisher's files from a local directory")
        return f"{name} {what} (data date {self.data_date or 'not recorded'})"


def read_source(downloader: Downloader, spec: SourceSpec, fetch: Callable[[RemoteFile], Path] | None = None) -> SourceRead:
    """The files of ``spec`` this run reads, verified: a local directory of the publisher's files when
    ``spec.local_dir_field`` is set on the downloader; else the embedded copy (``embedded`` mode, or a
    source without official files); else the official files, obtained with ``fetch`` (the raw asset
    downloads) or, without it, required to be in place already."""
    now = dt.datetime.now(dt.timezone.utc)
    variant = preferred_variant(downloader, spec)
    if variant == LOCAL:
        cache = Path(downloader.hash_cache) if downloader.hash_cache else None
        return _read_local(spec, Path(getattr(downloader, spec.local_dir_field)), now, cache)
    if variant == EMBEDDED or not (spec.remote_files or spec.manual_files):
        return _read_embedded(downloader, spec, now)
    return _read_official(downloader, spec, fetch, now)


def embedded_fallback_files(spec: SourceSpec) -> tuple[str, ...]:
    """Embedded files an official run still reads (:func:`resolve` falls back to them): those whose role
    and years no official file of the plan covers (e.g. a year before the first official file)."""
    out = []
    for e in spec.plan:
        if not e.embedded:
            continue
        official = [o for o in spec.plan if o.role == e.role and o.official]
        covered = {y for o in official for y in o.years}
        if not official or (e.years and set(e.years) - covered and all(o.years for o in official)):
            out.append(e.embedded)
    return tuple(dict.fromkeys(out))


def _read_local(spec: SourceSpec, directory: Path, now: dt.datetime, hash_cache: Path | None = None) -> SourceRead:
    # A manifest beside the files (e.g. a copy of the synthetic sample) says what they are; it must
    # describe these very files.
    manifest = read_manifest(directory) if (directory / "manifest.json").exists() else {}
    entries = manifest.get("files", {})
    files = []
    urls = {e.local: e.official.url for e in spec.plan if e.local and e.official}
    for name in spec.local_files:
        path = directory / name
        if not path.exists():
            raise DownloadError(f"{path}: missing; {spec.local_dir_field} must hold the publisher's file {name}")
        sniff_file(path)
        sha = sha256_cached(path, hash_cache)
        entry = entries.get(name, {})
        if entry.get("sha256") and entry["sha256"] != sha:
            raise DownloadError(
                f"{directory / 'manifest.json'}: sha256 of {name} is {entry['sha256'][:12]}..., the file's is "
                f"{sha[:12]}...; the manifest describes other files (remove it or regenerate it)"
            )
        files.append(SourceFile(name, path, sha, path.stat().st_size, origin=str(path), url=entry.get("url") or urls.get(name, "")))
    data_date = str(manifest.get("data_date") or "")
    return SourceRead(
        spec,
        "local directory",
        bool(manifest.get("synthetic", False)),
        data_date,
        DATE_FROM_MANIFEST if data_date else "",
        tuple(files),
        now,
    )


def _embedded_files(downloader: Downloader, spec: SourceSpec, names: Sequence[str]) -> tuple[dict, list["SourceFile"]]:
    manifest = verify_embedded(downloader, spec, names)
    directory = embedded_dir(downloader, spec)
    files = []
    for name in names:
        entry = manifest["files"][name]
        files.append(
            SourceFile(
                name,
                directory / name,
                entry["sha256"],
                int(entry.get("size") or (directory / name).stat().st_size),
                origin=str(entry.get("origin") or ""),
                url=str(entry.get("url") or ""),
                extra={k: entry[k] for k in ("licence", "data_date") if entry.get(k)},
            )
        )
    return manifest, files


def _read_embedded(downloader: Downloader, spec: SourceSpec, now: dt.datetime) -> SourceRead:
    manifest, files = _embedded_files(downloader, spec, spec.embedded_files)
    data_date = str(manifest.get("data_date") or "")
    return SourceRead(
        spec,
        "embedded",
        bool(manifest.get("synthetic", spec.synthetic)),
        data_date,
        DATE_FROM_MANIFEST if data_date else "",
        tuple(files),
        now,
    )


def _read_official(downloader: Downloader, spec: SourceSpec, fetch: Callable[[RemoteFile], Path] | None, now: dt.datetime) -> SourceRead:
    files = []
    for remote in spec.remote_files:
        path = fetch(remote) if fetch else official_path(downloader, spec, remote)
        if not path.exists():
            raise DownloadError(f"{path}: missing; materialize raw/{spec.name} in official mode first (it downloads {remote.url})")
        sniff_file(path, url=remote.url, expect_magic=remote.magic)  # a file placed by hand gets the same test
        local = _manifest_entry(path)
        files.append(
            SourceFile(
                f"{remote.millesime}/{remote.filename}",
                path,
                local.get("sha256") or sha256_of(path),
                path.stat().st_size,
                origin=f"downloaded {local['downloaded_at']}" if local.get("downloaded_at") else "placed by hand (no download manifest)",
                url=remote.url,
                extra={k: local[k] for k in ("downloaded_at", "last-modified") if local.get(k)},
            )
        )
    for manual in spec.manual_files:
        path = official_path(downloader, spec, manual)
        if not path.exists():
            raise DownloadError(f"{path}: missing; save {manual.filename} from {manual.url} there (it cannot be downloaded)")
        sniff_file(path, url=manual.url, expect_magic=manual.magic)
        files.append(
            SourceFile(
                f"{manual.millesime}/{manual.filename}", path, sha256_of(path), path.stat().st_size, origin="saved by hand", url=manual.url
            )
        )
    fallback = embedded_fallback_files(spec)
    if fallback:  # years no publisher's file covers, read from the embedded copy (listed as such)
        files += _embedded_files(downloader, spec, fallback)[1]
    # The publisher's vintage; each file's Last-Modified header is in ``extra``.
    data_date = ("millesime " + ", ".join(spec.millesimes())) if spec.remote_files else ""
    return SourceRead(spec, "official", False, data_date, "official millesimes" if data_date else "", tuple(files), now)


def licence_metadata(*specs: SourceSpec) -> dict[str, Any]:
    """Publisher, licence and page of the sources a table is built from (sha256s are on the raw assets)."""
    value = {s.name: {"publisher": s.publisher, "licence": s.licence, "url": s.homepage} for s in specs}
    return {"source_licences": dg.MetadataValue.json(value)}


def _raw_metadata(files: dict[str, dict[str, Any]], data_date: str) -> dict[str, Any]:
    """The metadata every raw asset shows: per file sha256, size, rows; the data date; and, for a
    source of one file, its row count and schema as Dagster's standard row count / column schema."""
    meta: dict[str, Any] = {
        "files": dg.MetadataValue.json(
            {
                name: {
                    **{k: v for k, v in f.items() if k not in ("preview", "columns")},
                    **({"columns": len(f["columns"])} if "columns" in f else {}),
                }
                for name, f in files.items()
            }
        ),
        "data_date": data_date or "not recorded in manifest.json",
    }
    shas = {name: f["sha256"] for name, f in files.items() if f.get("sha256")}
    if len(shas) == 1:
        meta["sha256"] = next(iter(shas.values()))
    elif shas:
        meta["sha256"] = dg.MetadataValue.json(shas)
    previews = [f"**{name}**\n\n{f['preview']}" for name, f in files.items() if f.get("preview")]
    if previews:
        meta["preview"] = dg.MetadataValue.md("\n\n".join(previews))
    with_rows = [f for f in files.values() if "rows" in f]
    if len(files) == 1 and with_rows:
        meta["dagster/row_count"] = dg.MetadataValue.int(with_rows[0]["rows"])
        meta["dagster/column_schema"] = dg.TableSchema(columns=[dg.TableColumn(name=c, type=t) for c, t in with_rows[0]["columns"]])
    return meta


def raw_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The factory: one raw asset per source, same shape for every source.

    Its freshness policy and its refresh schedule follow ``spec.cadence`` (see
    ``observatory.automation``); its metadata lists every file with sha256, size, rows (Parquet)
    and origin, the data date, the source URL and the licence.
    """

    @dg.asset(
        key=spec.raw_key,
        group_name=spec.name,
        kinds={"file"},
        owners=list(spec.owners),
        tags={CADENCE_TAG: spec.cadence, **spec.tags},
        freshness_policy=freshness_policy(spec.cadence),
        description=(
            f"{spec.title} ({spec.publisher}, {spec.licence}). {spec.description}"
            + (" SYNTHETIC embedded sample: not real data." if spec.synthetic else "")
            + f" Refreshed {spec.cadence}."
        ),
        metadata={"source_url": dg.MetadataValue.url(spec.homepage), "licence": spec.licence, "cadence": spec.cadence},
    )
    def _raw(context: dg.AssetExecutionContext, downloader: Downloader) -> dg.MaterializeResult:
        def fetch(remote: RemoteFile) -> Path:
            return downloader.fetch(
                source=spec.name,
                millesime=remote.millesime,
                url=remote.url,
                filename=remote.filename,
                licence=spec.licence,
                log=context.log,
                expect_magic=remote.magic,
            )

        read = read_source(downloader, spec, fetch=fetch)
        preview = 5 if read.mode == "embedded" else 0
        files = {
            f.name: {
                **{k: v for k, v in (("sha256", f.sha256), ("size", f.size), ("origin", f.origin), ("url", f.url)) if v},
                **f.extra,
                **file_facts(f.path, preview_rows=preview),
            }
            for f in read.files
        }
        meta = {"mode": read.mode_label, "synthetic": read.synthetic, **_raw_metadata(files, read.data_date)}
        return dg.MaterializeResult(
            metadata={**meta, "licence": spec.licence, "source_url": dg.MetadataValue.url(spec.homepage)},
            # what the staleness of everything downstream is measured against (observatory.incremental)
            data_version=raw_data_version((f.name, f.sha256 or f"size:{f.size}") for f in read.files),
        )

    return _raw


def _manifest_entry(path: Path) -> dict[str, Any]:
    """The Downloader's manifest entry of a downloaded file (empty if the file was placed by hand)."""
    manifest = path.parent / "manifest.json"
    if not manifest.exists():
        return {}
    return json.loads(manifest.read_text(encoding="utf-8")).get("files", {}).get(path.name, {})
