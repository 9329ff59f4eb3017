"""Raw -> stg for the commune -> EPCI membership (``stg.epci_membership``), which the INSEE package owns.

A year's membership comes from the first source whose plan covers it: the INSEE table (embedded copy
2015-2019, official workbooks 2016-2026; 2015 from the embedded copy in official mode), then Etalab's
EPCI composition (2020-2026 in embedded mode). Every year both sources cover is reconciled commune by
commune (``meta["reconciliation"]``; the INSEE membership is kept). The membership is then aligned on the
year's commune list: former codes renamed through the COG code changes, listed communes absent from
the source set outside any EPCI.
"""

from typing import Iterable

import polars as pl

from assets.cog.parse import CODE_CHANGE_MODS, read_v_mvt
from assets.cog.source import SPEC as COG
from assets.cog.stage import territory_years
from assets.common.validate import InputError, harmonise_natures, normalize_membership, read_parquet, reconcile, require_columns
from assets.etalab_epci.parse import read_epci_json
from assets.etalab_epci.source import SPEC as ETALAB
from assets.insee_epci.parse import epci_natures_from_zip, membership_from_zip
from assets.insee_epci.source import SPEC as INSEE
from observatory.resources import Downloader
from observatory.sources import EMBEDDED, PlanError, PlannedFile, resolve, resolve_one

MEMBERSHIP_SCHEMA = {
    "annee": pl.Int32,
    "code_commune": pl.Utf8,
    "epci_siren": pl.Utf8,
    "epci_nom": pl.Utf8,
    "epci_nature": pl.Utf8,
    "source": pl.Utf8,
}
#: Where a year's membership comes from, in order of preference.
MEMBERSHIPS = [(INSEE, "epci_membership"), (ETALAB, "epci_composition")]
_ETALAB_COLUMNS = {"code_commune": "commune_code", "epci_siren": "epci_siren", "epci_nom": "epci_nom", "epci_nature": "epci_type"}


def _insee(dl: Downloader, f: PlannedFile, fixes: dict) -> pl.DataFrame:
    if f.variant == EMBEDDED:
        raw = read_parquet(f.path)
        require_columns(raw, ("annee", "CODGEO", "EPCI", "NATURE_EPCI"), file=f.path)
        names = pl.concat(
            [
                read_parquet(n.path).select(
                    pl.col("annee").cast(pl.Int32), pl.col("CODGEO").alias("epci_siren"), pl.col("LIBGEO").alias("epci_nom")
                )
                for n in resolve_one(dl, INSEE, "epci_names", f.years)
            ]
        )
        frames = []
        for y in f.years:
            part = normalize_membership(
                raw.filter(pl.col("annee") == y),
                file=f"{f.path} (annee {y})",
                columns={"code_commune": "CODGEO", "epci_siren": "EPCI", "epci_nature": "NATURE_EPCI"},
                fixes=fixes,
            )
            frames.append(part.with_columns(pl.lit(y, pl.Int32).alias("annee")))
        out = pl.concat(frames).join(names, on=["annee", "epci_siren"], how="left")
        return out.with_columns(pl.lit("insee_appartenance (COGugaison)").alias("source"))
    (y,) = f.years
    m = membership_from_zip(f.path, fixes=fixes)
    natures = epci_natures_from_zip(f.path).select("epci_siren", "epci_nature")
    return m.join(natures, on="epci_siren", how="left").select(
        pl.lit(y, pl.Int32).alias("annee"),
        "code_commune",
        "epci_siren",
        "epci_nom",
        "epci_nature",
        pl.lit("insee_composition_communale").alias("source"),
    )


def _etalab(f: PlannedFile, fixes: dict) -> pl.DataFrame:
    if f.variant == EMBEDDED:
        raw = read_parquet(f.path)
        require_columns(raw, ("annee", "epci_siren", "epci_nom", "epci_type", "commune_code"), file=f.path)
        raw = raw.with_columns(pl.col("annee").cast(pl.Int32))
        parts = [(y, raw.filter(pl.col("annee") == y), f"{f.path} (annee {y})") for y in f.years]
    else:
        parts = [(f.years[0], read_epci_json(f.path), f.path)]
    frames = [
        normalize_membership(df, file=label, columns=_ETALAB_COLUMNS, fixes=fixes).with_columns(pl.lit(y, pl.Int32).alias("annee"))
        for y, df, label in parts
    ]
    return pl.concat(frames).with_columns(pl.lit("etalab_decoupage_administratif").alias("source"))


def _read(dl: Downloader, f: PlannedFile, fixes: dict) -> pl.DataFrame:
    return _insee(dl, f, fixes) if f.spec.name == INSEE.name else _etalab(f, fixes)


def _label(f: PlannedFile) -> str:
    what = "INSEE table d'appartenance" if f.spec.name == INSEE.name else "Etalab epci.json"
    return f"{what} ({'embedded' if f.variant == EMBEDDED else 'official file'})"


def code_aliases(dl: Downloader) -> dict[str, tuple[str, str]]:
    """Obsolete code -> (current code, why) for codes changed without any territorial change.

    A membership source may still use a commune's former code (INSEE 2015 lists L'Oudon as 14697,
    the COG as 14472 after its chef-lieu moved on 2014-01-07). Embedded: INSEE historiq MOD 500/520
    (C_LANC -> C_LOFF); official: the latest v_mvt_commune, MOD 41/50.
    """
    out: dict[str, tuple[str, str]] = {}
    for f in resolve_one(dl, COG, "code_changes"):
        if f.variant == EMBEDDED:
            h = read_parquet(f.path)
            require_columns(h, ("MOD", "EFF", "C_LOFF", "C_LANC"), file=f.path)
            rows = h.filter(pl.col("MOD").is_in(["500", "520"]) & pl.col("C_LOFF").is_not_null() & pl.col("C_LANC").is_not_null())
            out |= {r["C_LANC"]: (r["C_LOFF"], f"INSEE historiq MOD {r['MOD']} effective {r['EFF']}") for r in rows.iter_rows(named=True)}
        else:
            m = read_v_mvt(f.path).filter(
                pl.col("MOD").is_in(list(CODE_CHANGE_MODS)) & (pl.col("TYPECOM_AV") == "COM") & (pl.col("TYPECOM_AP") == "COM")
            )
            out |= {
                r["COM_AV"]: (r["COM_AP"], f"COG v_mvt_commune MOD {r['MOD']} effective {r['DATE_EFF']}") for r in m.iter_rows(named=True)
            }
    return out


def load_membership(dl: Downloader, communes: pl.DataFrame, years: Iterable[int] | None = None) -> tuple[pl.DataFrame, dict]:
    """Commune -> EPCI of ``years`` (default: every year), aligned on ``communes`` of those years.
    ``meta["reconciliation"]``: the INSEE / Etalab comparison of every year both cover (in this mode)."""
    years = territory_years(years)
    fixes: dict = {}
    meta: dict = {"years": {}, "reconciliation": {}}
    frames = []
    for f in resolve(dl, MEMBERSHIPS, years):
        frames.append(_read(dl, f, fixes))
        for y in f.years:
            meta["years"][str(y)] = _label(f)
    chosen = pl.concat(frames, how="diagonal_relaxed")
    # the other source of the years INSEE gives: reconciled, INSEE kept
    insee_years = [y for y in years if meta["years"][str(y)].startswith("INSEE")]
    for y in insee_years:
        try:
            other = resolve(dl, [MEMBERSHIPS[1]], [y], fallback=False)
        except PlanError:
            continue
        b = pl.concat([_read(dl, f, fixes) for f in other]).filter(pl.col("annee") == y)
        rec = reconcile(chosen.filter(pl.col("annee") == y), b, "insee", "etalab")
        meta["reconciliation"][str(y)] = {**rec, "kept": "insee"}
    meta["years"] = dict(sorted(meta["years"].items()))
    communes = communes.filter(pl.col("annee").is_in(years))
    missing = sorted(set(years) - set(communes["annee"].unique().to_list()))
    if missing:
        raise InputError(f"EPCI membership {missing}: stg.communes has no commune for these years; materialize stg/communes for them first")
    chosen = harmonise_natures(chosen)
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
            part = pl.concat(
                [
                    part,
                    pl.DataFrame(
                        {
                            "annee": [y] * len(missing),
                            "code_commune": missing,
                            "source": [f"{part['source'][0]}: absent, so outside any EPCI"] * len(missing),
                        }
                    ),
                ],
                how="diagonal_relaxed",
            )
        frames.append(part)
    return pl.concat(frames, how="diagonal_relaxed"), fixed, absent
