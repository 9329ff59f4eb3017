"""What the territory tables are built from, year by year, in either source mode.

``embedded`` (default) reads the compact copies in ``data/raw/<source>/embedded/``; ``official``
reads the publishers' files in ``data/raw/<source>/<millesime>/``. Both return the same frames.
Each loader returns ``(frame, meta)``: ``meta`` says which file fed which year and lists every
repair and every difference found, for the asset's metadata.

Year plan (docs/methodology.md (Territory) explains the choices):

============  ===========================================  ==============================================
table         embedded                                     official
============  ===========================================  ==============================================
communes      COG 2015-2024 (COGugaison, with population)  INSEE composition file 2016-2018, 2020;
              + Etalab communes 2025-2026                  Etalab communes.json 2019, 2021-2023;
                                                           COG v_commune 2024-2026 (+ Etalab population);
                                                           2015 from the embedded COG copy
membership    INSEE 2015-2019 + Etalab 2020-2026           INSEE composition files 2016-2026;
              (2019: both, reconciled)                     2015 embedded; 2019 reconciled with Etalab
passage       COGugaison 2015->2024 + Etalab links         COG v_mvt_commune (latest) for every step
              2024->2025->2026
============  ===========================================  ==============================================
"""

from pathlib import Path
from typing import Iterable

import polars as pl

from assets.territory.passage import PassageRow, passage_from_links
from assets.territory.validate import InputError, normalize_membership, require_columns
from observatory.resources import Downloader
from observatory.settings import TERRITORY_YEARS
from observatory.sources import embedded_path, official_path

YEARS = TERRITORY_YEARS
#: Départements of France (metropolitan and the five DROM); COM (975, 977, 978, 98x) have no EPCI.
FRANCE_DEPARTEMENT_RE = r"^(?:[0-9]{2}|2A|2B|97[1-46])$"
#: The Métropole de Lyon: a collectivité à statut particulier, listed with the EPCI by every source.
METROPOLE_DE_LYON = "200046977"
#: EPCI nature codes harmonised across sources (Etalab METRO = INSEE ME).
NATURES = {"CC": "CC", "CA": "CA", "CU": "CU", "ME": "ME", "METRO": "ME", "SA": "SA", "SAN": "SA", "MET69": "MET69", "METLYON": "MET69"}

COMMUNE_SCHEMA = {
    "annee": pl.Int32, "code_commune": pl.Utf8, "nom_commune": pl.Utf8, "code_departement": pl.Utf8,
    "code_region": pl.Utf8, "population": pl.Int64, "source": pl.Utf8,
}
MEMBERSHIP_SCHEMA = {
    "annee": pl.Int32, "code_commune": pl.Utf8, "epci_siren": pl.Utf8, "epci_nom": pl.Utf8, "epci_nature": pl.Utf8, "source": pl.Utf8,
}


def _spec(name: str):
    import importlib

    return importlib.import_module(f"assets.{name}.source").SPEC


def _embedded(dl: Downloader, source: str, filename: str) -> Path:
    return embedded_path(dl, _spec(source), filename)


def _official(dl: Downloader, source: str, millesime: int, filename: str | None = None) -> Path:
    spec = _spec(source)
    matches = [r for r in spec.remote_files if r.millesime == str(millesime) and (filename is None or r.filename == filename)]
    if len(matches) != 1:
        raise InputError(f"source {source}: no single official file for {millesime} ({filename or 'any'}) in its spec")
    path = official_path(dl, spec, matches[0])
    if not path.exists():
        raise InputError(f"{path}: missing; materialize raw/{source} in official mode first (or set OBSERVATORY_SOURCE_MODE=embedded)")
    return path


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for a damaged footer
        raise InputError(f"{path}: unreadable Parquet ({type(exc).__name__}: {str(exc).splitlines()[0]}); truncated file?") from exc


def departement_of(code: pl.Expr) -> pl.Expr:
    """Two characters (01-95, 2A, 2B), three overseas (97x DROM, 98x collectivities)."""
    return pl.when(code.str.starts_with("97") | code.str.starts_with("98")).then(code.str.slice(0, 3)).otherwise(code.str.slice(0, 2))


def _france(df: pl.DataFrame, code: str = "code_commune") -> pl.DataFrame:
    return df.filter(departement_of(pl.col(code)).str.contains(FRANCE_DEPARTEMENT_RE))


# --------------------------------------------------------------------------------------- communes


def _regions(pairs: pl.DataFrame) -> pl.DataFrame:
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
    for y in YEARS:
        if y in have:
            continue
        prev, nxt = pairs.filter(pl.col("annee") == y - 1), pairs.filter(pl.col("annee") == y + 1)
        if prev.height and (not nxt.height or prev.drop("annee").sort("code_departement").equals(nxt.drop("annee").sort("code_departement"))):
            frames.append(prev.with_columns(pl.lit(y, pl.Int32).alias("annee")))
    return pl.concat(frames)


def _years(years: Iterable[int] | None) -> list[int]:
    """The years asked for (every reference year by default); a year outside the reference is an error."""
    wanted = sorted({int(y) for y in (YEARS if years is None else years)})
    unknown = [y for y in wanted if y not in YEARS]
    if unknown or not wanted:
        raise InputError(f"territory years {unknown or wanted}: expected years among {YEARS[0]}-{YEARS[-1]}")
    return wanted


def load_communes(dl: Downloader, years: Iterable[int] | None = None) -> tuple[pl.DataFrame, dict]:
    """The communes of ``years`` (default: every year). Official mode reads only those years' files;
    the embedded copies hold every year in one file and are filtered after reading."""
    years = _years(years)
    if dl.source_mode == "embedded":
        frame, meta = _communes_embedded(dl)
        meta["years"] = {k: v for k, v in meta["years"].items() if int(k) in years}
    else:
        frame, meta = _communes_official(dl, years)
    frame = _france(frame).with_columns(departement_of(pl.col("code_commune")).alias("code_departement"))
    frame = frame.filter(pl.col("annee").is_in(years))
    empty = sorted(set(years) - set(frame["annee"].unique().to_list()))
    if empty:
        raise InputError(f"communes: no commune for {empty} in {[meta['years'].get(str(y), '?') for y in empty]}")
    return frame.select([pl.col(c).cast(t) for c, t in COMMUNE_SCHEMA.items()]).sort("annee", "code_commune"), meta


def _communes_embedded(dl: Downloader) -> tuple[pl.DataFrame, dict]:
    cog_path = _embedded(dl, "cog", "communes_pop_2015_2024.parquet")
    cog = _read_parquet(cog_path)
    require_columns(cog, ("CODGEO", "LIBGEO", "POP", "cog_year"), file=cog_path)
    cog = cog.filter(pl.col("cog_year").is_between(YEARS[0], 2024)).select(
        pl.col("cog_year").cast(pl.Int32).alias("annee"), pl.col("CODGEO").alias("code_commune"),
        pl.col("LIBGEO").alias("nom_commune"), pl.col("POP").round(0).cast(pl.Int64).alias("population"),
        pl.lit("insee_cog (COGugaison)").alias("source"),
    )
    et_path = _embedded(dl, "etalab_epci", "communes_2019_2026.parquet")
    et = _read_parquet(et_path)
    require_columns(et, ("annee", "code", "nom", "type", "departement", "region", "population"), file=et_path)
    et = et.with_columns(pl.col("annee").cast(pl.Int32))
    etalab = et.filter((pl.col("type") == "commune-actuelle") & (pl.col("annee") >= 2025)).select(
        "annee", pl.col("code").alias("code_commune"), pl.col("nom").alias("nom_commune"),
        pl.col("population").cast(pl.Int64, strict=False), pl.lit("etalab_decoupage_administratif").alias("source"),
    )
    ins_path = _embedded(dl, "insee_epci", "appartenance_epci_2015_2019.parquet")
    ins = _read_parquet(ins_path)
    pairs = pl.concat([
        ins.select(pl.col("annee").cast(pl.Int32), pl.col("DEP").alias("code_departement"), pl.col("REG").alias("code_region")),
        et.filter(pl.col("type") == "commune-actuelle").select("annee", pl.col("departement").alias("code_departement"), pl.col("region").alias("code_region")),
    ])
    frame = pl.concat([cog, etalab]).with_columns(departement_of(pl.col("code_commune")).alias("code_departement"))
    frame = frame.join(_regions(pairs), on=["annee", "code_departement"], how="left")
    meta = {"years": {str(y): ("COG (COGugaison) " if y <= 2024 else "Etalab communes.json ") + "embedded copy" for y in YEARS},
            "population": "COG population (COGugaison) 2015-2024; Etalab population 2025-2026"}
    return frame, meta


def _communes_official(dl: Downloader, years: list[int]) -> tuple[pl.DataFrame, dict]:
    from assets.cog.parse import read_v_commune
    from assets.etalab_epci.parse import read_communes_json
    from assets.insee_epci.parse import membership_from_zip

    frames, meta, fixes = [], {"years": {}, "fixes": {}}, {}
    etalab_pop: dict[int, pl.DataFrame] = {}
    for y in years:
        if y == YEARS[0]:
            continue  # from the embedded copy, below
        if y in (2019, 2021, 2022, 2023, 2024, 2025, 2026):
            path = _official(dl, "etalab_epci", y, "communes.json")
            communes, _ = read_communes_json(path)
            actual = communes.filter(pl.col("type") == "commune-actuelle")
            etalab_pop[y] = actual.select(pl.col("code").alias("code_commune"), pl.col("population").cast(pl.Int64, strict=False))
            if y < 2024:
                frames.append(actual.select(
                    pl.lit(y, pl.Int32).alias("annee"), pl.col("code").alias("code_commune"), pl.col("nom").alias("nom_commune"),
                    pl.col("region").alias("code_region"), pl.col("population").cast(pl.Int64, strict=False),
                    pl.lit("etalab_decoupage_administratif").alias("source"),
                ))
                meta["years"][str(y)] = str(path)
        if y >= 2024:
            path = _official(dl, "cog", y, f"v_commune_{y}.csv")
            v = read_v_commune(path, fixes=fixes).join(etalab_pop.get(y, pl.DataFrame(schema={"code_commune": pl.Utf8, "population": pl.Int64})), on="code_commune", how="left")
            frames.append(v.select(pl.lit(y, pl.Int32).alias("annee"), "code_commune", "nom_commune", "code_region", "population", pl.lit("insee_cog_v_commune").alias("source")))
            meta["years"][str(y)] = str(path)
        elif y in (2016, 2017, 2018, 2020):
            path = _official(dl, "insee_epci", y)
            m = membership_from_zip(path, fixes=fixes)
            frames.append(m.select(pl.lit(y, pl.Int32).alias("annee"), "code_commune", "nom_commune", "code_region",
                                   pl.lit(None, pl.Int64).alias("population"), pl.lit("insee_epci_composition").alias("source")))
            meta["years"][str(y)] = f"{path} (no population in this file)"
    if YEARS[0] in years:
        embedded, _ = _communes_embedded(dl)
        frames.append(embedded.filter(pl.col("annee") == YEARS[0]).select("annee", "code_commune", "nom_commune", "code_region", "population", "source"))
        meta["years"][str(YEARS[0])] = "embedded COG copy (no official loader for 2015)"
    meta["fixes"] = fixes
    return pl.concat(frames, how="diagonal_relaxed"), meta


# ------------------------------------------------------------------------------------- membership


def _insee_embedded(dl: Downloader, fixes: dict) -> pl.DataFrame:
    path = _embedded(dl, "insee_epci", "appartenance_epci_2015_2019.parquet")
    raw = _read_parquet(path)
    require_columns(raw, ("annee", "CODGEO", "EPCI", "NATURE_EPCI"), file=path)
    lib_path = _embedded(dl, "insee_epci", "libelles_epci_2015_2019.parquet")
    names = _read_parquet(lib_path)
    require_columns(names, ("annee", "CODGEO", "LIBGEO"), file=lib_path)
    frames = []
    for y in sorted(raw["annee"].unique().to_list()):
        part = normalize_membership(raw.filter(pl.col("annee") == y), file=f"{path} (annee {y})",
                                    columns={"code_commune": "CODGEO", "epci_siren": "EPCI", "epci_nature": "NATURE_EPCI"}, fixes=fixes)
        frames.append(part.with_columns(pl.lit(y, pl.Int32).alias("annee")))
    out = pl.concat(frames).join(
        names.select(pl.col("annee").cast(pl.Int32), pl.col("CODGEO").alias("epci_siren"), pl.col("LIBGEO").alias("epci_nom")),
        on=["annee", "epci_siren"], how="left",
    )
    return out.with_columns(pl.lit("insee_appartenance (COGugaison)").alias("source"))


def _etalab_embedded(dl: Downloader, fixes: dict) -> pl.DataFrame:
    path = _embedded(dl, "etalab_epci", "epci_composition_2019_2026.parquet")
    raw = _read_parquet(path)
    require_columns(raw, ("annee", "epci_siren", "epci_nom", "epci_type", "commune_code"), file=path)
    frames = []
    for y in sorted(raw["annee"].unique().to_list()):
        part = normalize_membership(raw.filter(pl.col("annee") == y), file=f"{path} (annee {y})",
                                    columns={"code_commune": "commune_code", "epci_siren": "epci_siren", "epci_nom": "epci_nom", "epci_nature": "epci_type"},
                                    fixes=fixes)
        frames.append(part.with_columns(pl.lit(int(y), pl.Int32).alias("annee")))
    return pl.concat(frames).with_columns(pl.lit("etalab_decoupage_administratif").alias("source"))


def _etalab_official(dl: Downloader, y: int, fixes: dict) -> pl.DataFrame:
    from assets.etalab_epci.parse import read_epci_json

    path = _official(dl, "etalab_epci", y, "epci.json")
    part = normalize_membership(read_epci_json(path), file=path,
                                columns={"code_commune": "commune_code", "epci_siren": "epci_siren", "epci_nom": "epci_nom", "epci_nature": "epci_type"},
                                fixes=fixes)
    return part.with_columns(pl.lit(y, pl.Int32).alias("annee"), pl.lit("etalab_decoupage_administratif").alias("source"))


def _insee_official(dl: Downloader, y: int, fixes: dict) -> pl.DataFrame:
    from assets.insee_epci.parse import epci_natures_from_zip, membership_from_zip

    path = _official(dl, "insee_epci", y)
    m = membership_from_zip(path, fixes=fixes)
    natures = epci_natures_from_zip(path).select("epci_siren", "epci_nature")
    return m.join(natures, on="epci_siren", how="left").select(
        pl.lit(y, pl.Int32).alias("annee"), "code_commune", "epci_siren", "epci_nom", "epci_nature", pl.lit("insee_composition_communale").alias("source")
    )


def _harmonise(m: pl.DataFrame) -> pl.DataFrame:
    nature = pl.col("epci_nature").replace_strict(NATURES, default=pl.col("epci_nature"))
    return m.with_columns(
        pl.when(pl.col("epci_siren").is_null()).then(None)
        .when(pl.col("epci_siren") == METROPOLE_DE_LYON).then(pl.lit("MET69"))
        .otherwise(nature).alias("epci_nature"),
        pl.when(pl.col("epci_siren").is_null()).then(None).otherwise(pl.col("epci_nom")).alias("epci_nom"),
    )


def reconcile(a: pl.DataFrame, b: pl.DataFrame, label_a: str, label_b: str) -> dict:
    """Commune-by-commune comparison of two memberships of the same year (NULL EPCI = none)."""
    ea = dict(a.select("code_commune", "epci_siren").rows())
    eb = dict(b.select("code_commune", "epci_siren").rows())
    both = sorted(set(ea) & set(eb))
    differ = [(c, ea[c], eb[c]) for c in both if ea[c] != eb[c]]
    only_a, only_b = sorted(set(ea) - set(eb)), sorted(set(eb) - set(ea))
    return {
        "communes_compared": len(both),
        "same_epci": len(both) - len(differ),
        "different_epci": len(differ),
        "different_examples": differ[:5],
        f"only_in_{label_a}": len(only_a),
        f"only_in_{label_a}_examples": only_a[:5],
        f"only_in_{label_b}": len(only_b),
        f"only_in_{label_b}_examples": only_b[:5],
    }


def code_aliases(dl: Downloader) -> dict[str, tuple[str, str]]:
    """Obsolete code -> (current code, why) for codes changed without any territorial change.

    A membership source may still use a commune's former code (INSEE 2015 lists L'Oudon as 14697,
    the COG as 14472 after its chef-lieu moved on 2014-01-07). Embedded: INSEE historiq MOD 500/520
    (C_LANC -> C_LOFF); official: v_mvt_commune MOD 41/50.
    """
    if dl.source_mode == "embedded":
        path = _embedded(dl, "cog", "historiq_modifs_communales.parquet")
        h = _read_parquet(path)
        require_columns(h, ("MOD", "EFF", "C_LOFF", "C_LANC"), file=path)
        rows = h.filter(pl.col("MOD").is_in(["500", "520"]) & pl.col("C_LOFF").is_not_null() & pl.col("C_LANC").is_not_null())
        return {r["C_LANC"]: (r["C_LOFF"], f"INSEE historiq MOD {r['MOD']} effective {r['EFF']}") for r in rows.iter_rows(named=True)}
    from assets.cog.parse import CODE_CHANGE_MODS, read_v_mvt

    path = _official(dl, "cog", YEARS[-1], f"v_mvt_commune_{YEARS[-1]}.csv")
    m = read_v_mvt(path).filter(pl.col("MOD").is_in(list(CODE_CHANGE_MODS)) & (pl.col("TYPECOM_AV") == "COM") & (pl.col("TYPECOM_AP") == "COM"))
    return {r["COM_AV"]: (r["COM_AP"], f"COG v_mvt_commune MOD {r['MOD']} effective {r['DATE_EFF']}") for r in m.iter_rows(named=True)}


def load_membership(dl: Downloader, communes: pl.DataFrame, years: Iterable[int] | None = None) -> tuple[pl.DataFrame, dict]:
    """Commune -> EPCI of ``years`` (default: every year), aligned on ``communes`` of those years.
    Official mode reads only those years' files. The 2019 INSEE / Etalab reconciliation is made
    when 2019 is among the years (``meta["reconciliation_2019"]`` is None otherwise)."""
    years = _years(years)
    fixes: dict = {}
    meta: dict = {"years": {}, "reconciliation_2019": None}
    if dl.source_mode == "embedded":
        insee, etalab = _insee_embedded(dl, fixes), _etalab_embedded(dl, fixes)
        chosen = pl.concat([insee.filter(pl.col("annee") <= 2019), etalab.filter(pl.col("annee") >= 2020)], how="diagonal_relaxed")
        chosen = chosen.filter(pl.col("annee").is_in(years))
        if 2019 in years:
            meta["reconciliation_2019"] = reconcile(insee.filter(pl.col("annee") == 2019), etalab.filter(pl.col("annee") == 2019), "insee", "etalab")
        for y in years:
            meta["years"][str(y)] = "INSEE table d'appartenance (embedded)" if y <= 2019 else "Etalab epci.json (embedded)"
    else:
        frames = []
        if YEARS[0] in years:
            frames.append(_insee_embedded(dl, fixes).filter(pl.col("annee") == YEARS[0]))
            meta["years"][str(YEARS[0])] = "INSEE table d'appartenance (embedded: no official loader for 2015)"
        for y in years:
            if y == YEARS[0]:
                continue
            frames.append(_insee_official(dl, y, fixes))
            meta["years"][str(y)] = "INSEE composition communale (official file)"
        chosen = pl.concat(frames, how="diagonal_relaxed")
        if 2019 in years:
            meta["reconciliation_2019"] = reconcile(chosen.filter(pl.col("annee") == 2019), _etalab_official(dl, 2019, fixes), "insee", "etalab")
    if meta["reconciliation_2019"] is not None:
        meta["reconciliation_2019"]["kept"] = "insee"
    communes = communes.filter(pl.col("annee").is_in(years))
    missing = sorted(set(years) - set(communes["annee"].unique().to_list()))
    if missing:
        raise InputError(f"EPCI membership {missing}: stg.communes has no commune for these years; materialize stg/communes for them first")
    chosen = _harmonise(chosen)
    chosen, meta["code_fixes"], meta["outside_any_epci_by_absence"] = _align_with_communes(chosen, communes, code_aliases(dl))
    meta["fixes"] = fixes
    return chosen.select([pl.col(c).cast(t) for c, t in MEMBERSHIP_SCHEMA.items()]).sort("annee", "code_commune"), meta


def _align_with_communes(m: pl.DataFrame, communes: pl.DataFrame, aliases: dict[str, tuple[str, str]]) -> tuple[pl.DataFrame, list, dict]:
    """Make the membership cover exactly each year's commune list.

    * a code absent from the year's list is renamed when a code-change alias leads to a listed
      commune that has no row yet (recorded); otherwise it is an error;
    * a listed commune absent from the membership (sources such as Etalab omit the communes outside
      any EPCI) gets a NULL EPCI (counted per year; the blocking check then insists that they are
      known exceptions).
    """
    fixed, absent = [], {}
    frames = []
    for y in sorted(communes["annee"].unique().to_list()):
        listed = set(communes.filter(pl.col("annee") == y)["code_commune"].to_list())
        part = m.filter(pl.col("annee") == y)
        if not part.height:
            raise InputError(f"EPCI membership: no source row for {y}")
        codes = set(part["code_commune"].to_list())
        rename = {}
        for c in sorted(codes - listed):
            target = aliases.get(c)
            if target and target[0] in listed and target[0] not in codes:
                rename[c] = target[0]
                fixed.append({"annee": y, "code_source": c, "code_commune": target[0], "reason": target[1]})
            else:
                raise InputError(
                    f"EPCI membership {y} ({part['source'][0]}): commune {c} is not in the commune list of {y} and no code change explains it"
                )
        if rename:
            part = part.with_columns(pl.col("code_commune").replace(rename))
        missing = sorted(listed - set(part["code_commune"].to_list()))
        if missing:
            absent[str(y)] = missing
            part = pl.concat([part, pl.DataFrame({"annee": [y] * len(missing), "code_commune": missing,
                                                  "source": [f"{part['source'][0]}: absent, so outside any EPCI"] * len(missing)})],
                             how="diagonal_relaxed")
        frames.append(part)
    return pl.concat(frames, how="diagonal_relaxed"), fixed, absent


# ---------------------------------------------------------------------------------------- passage


def load_passage(dl: Downloader, communes: pl.DataFrame) -> tuple[list[tuple[PassageRow, str]], dict]:
    codes = {y: set(communes.filter(pl.col("annee") == y)["code_commune"].to_list()) for y in YEARS}
    if dl.source_mode == "embedded":
        path = _embedded(dl, "cog", "passage_communes_2015_2024.parquet")
        raw = _read_parquet(path)
        require_columns(raw, ("cog_from", "cod_old", "cod_new", "typemodif", "ratio"), file=path)
        src = "insee_passage (COGugaison)"
        rows = [(PassageRow(int(a), b, c, d, float(e)), src) for a, b, c, d, e in raw.select("cog_from", "cod_old", "cod_new", "typemodif", "ratio").iter_rows()]
        links_path = _embedded(dl, "etalab_epci", "communes_rattachement_2024_2026.parquet")
        links = _read_parquet(links_path)
        require_columns(links, ("annee", "code", "code_parent"), file=links_path)
        last_cog = max(int(a) for a in raw["cog_from"].unique().to_list()) + 1
        population = {y: dict(communes.filter(pl.col("annee") == y).select("code_commune", "population").rows()) for y in YEARS}
        for y in range(last_cog, YEARS[-1]):
            pairs = links.filter(pl.col("annee") == str(y + 1)).select("code", "code_parent").rows()
            pairs_before = links.filter(pl.col("annee") == str(y)).select("code", "code_parent").rows()
            src_l = f"etalab_rattachements {y}/{y + 1}"
            rows += [(r, src_l) for r in passage_from_links(y, codes[y], codes[y + 1], pairs, source=str(links_path),
                                                             links_before=pairs_before, population_after=population[y + 1])]
        meta = {"steps": {f"{y}->{y + 1}": (src if y < last_cog else f"Etalab chefLieu/anciensCodes {y + 1}") for y in YEARS[:-1]}}
    else:
        from assets.cog.parse import passage_from_mvt, read_v_mvt

        path = _official(dl, "cog", YEARS[-1], f"v_mvt_commune_{YEARS[-1]}.csv")
        population = {y: dict(communes.filter(pl.col("annee") == y).select("code_commune", "population").rows()) for y in YEARS}
        rows = [(r, "insee_cog_v_mvt_commune") for r in passage_from_mvt(read_v_mvt(path), codes, population)]
        meta = {"steps": {f"{y}->{y + 1}": str(path) for y in YEARS[:-1]}}
    return rows, meta


# ------------------------------------------------------------------------------------------- DGCL


def load_dgcl(dl: Downloader) -> tuple[pl.DataFrame, dict]:
    """DGCL epcicom 2014-2017 (embedded in both modes: the DGCL moves its URLs every year)."""
    from assets.dgcl_epci.parse import membership

    path = _embedded(dl, "dgcl_epci", "epcicom_2014_2017.parquet")
    raw = _read_parquet(path)
    require_columns(raw, ("annee",), file=path)
    fixes: dict = {}
    frames = []
    for y in sorted(raw["annee"].unique().to_list()):
        part = membership(raw.filter(pl.col("annee") == y), file=f"{path} (annee {y})", fixes=fixes)
        frames.append(part.with_columns(pl.lit(int(y), pl.Int32).alias("annee")))
    frame = _harmonise(pl.concat(frames)).select(
        "annee", "code_commune", "nom_commune", "epci_siren", "epci_nom", "epci_nature", "population_totale"
    )
    return frame.sort("annee", "code_commune"), {"fixes": fixes, "file": str(path)}
