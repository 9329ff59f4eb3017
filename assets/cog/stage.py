"""Raw -> stg for the commune geography: ``stg.communes`` and ``stg.commune_passage``.

Both tables are cross-source; the COG package owns them (the COG is the official commune geography):
a year's commune list comes from the first source whose plan covers it, COG first, then Etalab, then
the INSEE composition file (``observatory.sources.resolve``: embedded mode reads the COG copy 2015-2024
and Etalab 2025-2026; official mode the COG v_commune files 2024-2026, Etalab 2019 and 2021-2023, the
INSEE workbooks 2016-2018 and 2020, and the embedded COG copy for 2015). Steps y -> y + 1 of the passage
come from the COG (its passage table, or the latest movement file) where its plan covers them, else
from the Etalab links of y and y + 1. Which file fed which year is in the returned ``meta``.
"""

from typing import Iterable

import polars as pl

from assets.cog.parse import passage_from_mvt, read_v_commune, read_v_mvt
from assets.cog.source import SPEC as COG
from assets.common.identifiers import FRANCE_DEPARTEMENT_RE, departement_of
from assets.common.passage import PassageRow, passage_from_links
from assets.common.validate import InputError, read_parquet, require_columns
from assets.common.years import TERRITORY_YEARS
from assets.etalab_epci.parse import read_communes_json
from assets.etalab_epci.source import SPEC as ETALAB
from assets.insee_epci.parse import membership_from_zip
from assets.insee_epci.source import SPEC as INSEE
from observatory.resources import Downloader
from observatory.sources import EMBEDDED, PlanError, PlannedFile, resolve, resolve_one

COMMUNE_SCHEMA = {
    "annee": pl.Int32,
    "code_commune": pl.Utf8,
    "nom_commune": pl.Utf8,
    "code_departement": pl.Utf8,
    "code_region": pl.Utf8,
    "population": pl.Int64,
    "source": pl.Utf8,
}
#: Where a year's commune list comes from, in order of preference.
COMMUNE_LISTS = [(COG, "commune_list"), (ETALAB, "commune_list"), (INSEE, "commune_list")]
#: Where the département -> région pairs come from (the COG copy has no région column).
REGION_PAIRS = [(INSEE, "epci_membership"), (ETALAB, "commune_list")]


def territory_years(years: Iterable[int] | None) -> list[int]:
    """The years asked for (every reference year by default); a year outside the reference is an error."""
    wanted = sorted({int(y) for y in (TERRITORY_YEARS if years is None else years)})
    unknown = [y for y in wanted if y not in TERRITORY_YEARS]
    if unknown or not wanted:
        raise InputError(f"territory years {unknown or wanted}: expected years among {TERRITORY_YEARS[0]}-{TERRITORY_YEARS[-1]}")
    return wanted


def _france(df: pl.DataFrame, code: str = "code_commune") -> pl.DataFrame:
    return df.filter(departement_of(pl.col(code)).str.contains(FRANCE_DEPARTEMENT_RE))


def _in(years: Iterable[int], column: str = "annee") -> pl.Expr:
    return pl.col(column).cast(pl.Int32).is_in(list(years))


# ------------------------------------------------------------------------------------- commune lists


def _etalab_embedded(f: PlannedFile) -> pl.DataFrame:
    et = read_parquet(f.path)
    require_columns(et, ("annee", "code", "nom", "type", "departement", "region", "population"), file=f.path)
    return et.with_columns(pl.col("annee").cast(pl.Int32)).filter(pl.col("annee").is_in(list(f.years)))


def _etalab_official(f: PlannedFile) -> pl.DataFrame:
    communes, _ = read_communes_json(f.path)
    return communes.with_columns(pl.lit(f.years[0], pl.Int32).alias("annee"))


def _etalab_population(dl: Downloader, year: int) -> pl.DataFrame:
    """Population of the communes of ``year`` from Etalab (the COG v_commune file has none)."""
    try:
        files = resolve_one(dl, ETALAB, "commune_list", [year], fallback=False)
    except PlanError:
        return pl.DataFrame(schema={"code_commune": pl.Utf8, "population": pl.Int64})
    frame = pl.concat([_etalab_official(f) if f.variant != EMBEDDED else _etalab_embedded(f) for f in files], how="diagonal_relaxed")
    return frame.filter(pl.col("type") == "commune-actuelle").select(
        pl.col("code").alias("code_commune"), pl.col("population").cast(pl.Int64, strict=False)
    )


def _commune_list(dl: Downloader, f: PlannedFile, fixes: dict) -> tuple[pl.DataFrame, str]:
    """One planned commune list -> (annee, code_commune, nom_commune, code_region, population, source), and its label."""
    name, variant = f.spec.name, f.variant
    if name == COG.name and variant == EMBEDDED:
        cog = read_parquet(f.path)
        require_columns(cog, ("CODGEO", "LIBGEO", "POP", "cog_year"), file=f.path)
        return cog.filter(_in(f.years, "cog_year")).select(
            pl.col("cog_year").cast(pl.Int32).alias("annee"),
            pl.col("CODGEO").alias("code_commune"),
            pl.col("LIBGEO").alias("nom_commune"),
            pl.lit(None, pl.Utf8).alias("code_region"),
            pl.col("POP").round(0).cast(pl.Int64).alias("population"),
            pl.lit("insee_cog (COGugaison)").alias("source"),
        ), "COG (COGugaison) embedded copy"
    if name == COG.name:
        (y,) = f.years
        v = read_v_commune(f.path, fixes=fixes).join(_etalab_population(dl, y), on="code_commune", how="left")
        return v.select(
            pl.lit(y, pl.Int32).alias("annee"),
            "code_commune",
            "nom_commune",
            "code_region",
            "population",
            pl.lit("insee_cog_v_commune").alias("source"),
        ), str(f.path)
    if name == ETALAB.name:
        et = _etalab_embedded(f) if variant == EMBEDDED else _etalab_official(f)
        return et.filter(pl.col("type") == "commune-actuelle").select(
            "annee",
            pl.col("code").alias("code_commune"),
            pl.col("nom").alias("nom_commune"),
            pl.col("region").alias("code_region"),
            pl.col("population").cast(pl.Int64, strict=False),
            pl.lit("etalab_decoupage_administratif").alias("source"),
        ), ("Etalab communes.json embedded copy" if variant == EMBEDDED else str(f.path))
    (y,) = f.years
    m = membership_from_zip(f.path, fixes=fixes)
    return m.select(
        pl.lit(y, pl.Int32).alias("annee"),
        "code_commune",
        "nom_commune",
        "code_region",
        pl.lit(None, pl.Int64).alias("population"),
        pl.lit("insee_epci_composition").alias("source"),
    ), f"{f.path} (no population in this file)"


def _region_pairs(dl: Downloader, years: list[int]) -> pl.DataFrame:
    frames = []
    covered = _covered(dl, REGION_PAIRS, years)
    for f in resolve(dl, REGION_PAIRS, covered) if covered else []:
        if f.spec.name == INSEE.name and f.variant == EMBEDDED:
            ins = read_parquet(f.path)
            frames.append(
                ins.filter(_in(f.years)).select(
                    pl.col("annee").cast(pl.Int32), pl.col("DEP").alias("code_departement"), pl.col("REG").alias("code_region")
                )
            )
        elif f.spec.name == INSEE.name:
            m = membership_from_zip(f.path, fixes={})
            frames.append(m.select(pl.lit(f.years[0], pl.Int32).alias("annee"), "code_departement", "code_region"))
        else:
            et = _etalab_embedded(f) if f.variant == EMBEDDED else _etalab_official(f)
            frames.append(
                et.filter(pl.col("type") == "commune-actuelle").select(
                    "annee", pl.col("departement").alias("code_departement"), pl.col("region").alias("code_region")
                )
            )
    return pl.concat(frames) if frames else pl.DataFrame(schema={"annee": pl.Int32, "code_departement": pl.Utf8, "code_region": pl.Utf8})


def _covered(dl: Downloader, sources, years: list[int]) -> list[int]:
    """The years of ``years`` some planned file of ``sources`` covers (in this mode, or embedded)."""
    out = []
    for y in years:
        try:
            resolve(dl, sources, [y])
            out.append(y)
        except PlanError:
            pass
    return out


def _regions(pairs: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    """(annee, code_departement) -> code_region, one region per département and year.

    Years without a source of their own (2020 in embedded mode) take the previous year's mapping,
    which must equal the next year's: regions have not changed since 2016.
    """
    pairs = pairs.drop_nulls().unique()
    dup = pairs.group_by("annee", "code_departement").len().filter(pl.col("len") > 1)
    if dup.height:
        raise InputError(f"département -> région: several régions for {dup.select('annee', 'code_departement').rows()[:5]}")
    frames = [pairs]
    have = set(pairs["annee"].to_list())
    for y in years:
        if y in have:
            continue
        prev, nxt = pairs.filter(pl.col("annee") == y - 1), pairs.filter(pl.col("annee") == y + 1)
        if prev.height and (
            not nxt.height or prev.drop("annee").sort("code_departement").equals(nxt.drop("annee").sort("code_departement"))
        ):
            frames.append(prev.with_columns(pl.lit(y, pl.Int32).alias("annee")))
    return pl.concat(frames)


def load_communes(dl: Downloader, years: Iterable[int] | None = None) -> tuple[pl.DataFrame, dict]:
    """The communes of ``years`` (default: every year), from the files the plan resolves for them."""
    years = territory_years(years)
    fixes: dict = {}
    frames, meta = [], {"years": {}, "fixes": fixes}
    for f in resolve(dl, COMMUNE_LISTS, years):
        frame, label = _commune_list(dl, f, fixes)
        frames.append(frame)
        for y in f.years:
            meta["years"][str(y)] = label
    frame = pl.concat(frames, how="diagonal_relaxed")
    # régions where the list has none (the COG copy), from the year's département -> région pairs
    around = sorted(set(years) | {y - 1 for y in years} | {y + 1 for y in years})
    regions = _regions(_region_pairs(dl, [y for y in around if y in TERRITORY_YEARS]), years)
    frame = frame.with_columns(departement_of(pl.col("code_commune")).alias("code_departement"))
    frame = (
        frame.join(regions.rename({"code_region": "_region"}), on=["annee", "code_departement"], how="left")
        .with_columns(pl.coalesce("code_region", "_region").alias("code_region"))
        .drop("_region")
    )
    frame = _france(frame).filter(pl.col("annee").is_in(years))
    empty = sorted(set(years) - set(frame["annee"].unique().to_list()))
    if empty:
        raise InputError(f"communes: no commune for {empty} in {[meta['years'].get(str(y), '?') for y in empty]}")
    meta["years"] = dict(sorted(meta["years"].items()))
    return frame.select([pl.col(c).cast(t) for c, t in COMMUNE_SCHEMA.items()]).sort("annee", "code_commune"), meta


# ------------------------------------------------------------------------------------------ passage


def load_passage(dl: Downloader, communes: pl.DataFrame) -> tuple[list[tuple[PassageRow, str]], dict]:
    """Passage rows of every step between consecutive years of ``communes`` (what changed, with its source)."""
    years = sorted(communes["annee"].unique().to_list())
    codes = {y: set(communes.filter(pl.col("annee") == y)["code_commune"].to_list()) for y in years}
    population = {y: dict(communes.filter(pl.col("annee") == y).select("code_commune", "population").rows()) for y in years}
    steps = years[:-1]
    rows: list[tuple[PassageRow, str]] = []
    meta: dict = {"steps": {}}
    for f in resolve(dl, [(COG, "passage"), (ETALAB, "commune_links")], steps):
        if f.spec.name == COG.name and f.variant == EMBEDDED:
            raw = read_parquet(f.path)
            require_columns(raw, ("cog_from", "cod_old", "cod_new", "typemodif", "ratio"), file=f.path)
            src = "insee_passage (COGugaison)"
            raw = raw.filter(_in(f.years, "cog_from"))
            rows += [
                (PassageRow(int(a), b, c, d, float(e)), src)
                for a, b, c, d, e in raw.select("cog_from", "cod_old", "cod_new", "typemodif", "ratio").iter_rows()
            ]
            label = src
        elif f.spec.name == COG.name:
            sub = {y: codes[y] for y in years if y in f.years or y - 1 in f.years}
            rows += [(r, "insee_cog_v_mvt_commune") for r in passage_from_mvt(read_v_mvt(f.path), sub, population)]
            label = str(f.path)
        else:
            for y in f.years:
                links = _links(dl, [y, y + 1])
                pairs = links.filter(pl.col("annee") == y + 1).select("code", "code_parent").rows()
                before = links.filter(pl.col("annee") == y).select("code", "code_parent").rows()
                rows += [
                    (r, f"etalab_rattachements {y}/{y + 1}")
                    for r in passage_from_links(
                        y, codes[y], codes[y + 1], pairs, source=str(f.path), links_before=before, population_after=population[y + 1]
                    )
                ]
            label = None
        for y in f.years:
            meta["steps"][f"{y}->{y + 1}"] = label or f"Etalab chefLieu/anciensCodes {y + 1}"
    meta["steps"] = dict(sorted(meta["steps"].items()))
    return rows, meta


def _links(dl: Downloader, years: list[int]) -> pl.DataFrame:
    """Etalab old code -> current commune links of ``years`` (annee, code, code_parent)."""
    frames = []
    for f in resolve_one(dl, ETALAB, "commune_links", years):
        if f.variant == EMBEDDED:
            links = read_parquet(f.path)
            require_columns(links, ("annee", "code", "code_parent"), file=f.path)
            frames.append(
                links.with_columns(pl.col("annee").cast(pl.Int32))
                .filter(pl.col("annee").is_in(list(f.years)))
                .select("annee", "code", "code_parent")
            )
        else:
            _, links = read_communes_json(f.path)
            frames.append(links.select(pl.lit(f.years[0], pl.Int32).alias("annee"), "code", "code_parent"))
    return pl.concat(frames)
