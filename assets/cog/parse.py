"""Readers of the COG CSV files as published (UTF-8, comma, quoted, header; all text)."""

import datetime as dt
from pathlib import Path

import polars as pl

from assets.common.passage import PassageRow
from assets.common.validate import InputError, check_file, fix_codes, require_columns, require_rows, require_unique
from assets.common.identifiers import COMMUNE_RE

V_COMMUNE_COLUMNS = ("TYPECOM", "COM", "REG", "DEP", "LIBELLE")
V_MVT_COLUMNS = ("MOD", "DATE_EFF", "TYPECOM_AV", "COM_AV", "TYPECOM_AP", "COM_AP")

#: v_mvt_commune MOD codes, by what they do to commune codes.
FUSION_MODS = {"31", "32", "33", "34"}  # fusion simple, commune nouvelle, fusion-association, association -> fusion
CODE_CHANGE_MODS = {"41", "50"}  # change of département, transfer of chef-lieu
SPLIT_MODS = {"20", "21"}  # création, rétablissement


def _read_csv(path: Path) -> pl.DataFrame:
    check_file(path)
    try:
        return pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise InputError(f"{path}: unreadable CSV ({str(exc).splitlines()[0]}); truncated or not the COG file?") from exc


def read_v_commune(path: Path, *, fixes: dict) -> pl.DataFrame:
    """Communes (TYPECOM = COM): ``code_commune, nom_commune, code_departement, code_region``."""
    df = _read_csv(path)
    require_columns(df, V_COMMUNE_COLUMNS, file=path)
    df = df.filter(pl.col("TYPECOM") == "COM")
    require_rows(df, file=path, what="rows with TYPECOM=COM")
    df = fix_codes(df, "COM", file=path, width=5, pattern=COMMUNE_RE, what="commune codes", fixes=fixes)
    require_unique(df, ["COM"], file=path, what="communes")
    return df.select(
        pl.col("COM").alias("code_commune"),
        pl.col("LIBELLE").alias("nom_commune"),
        pl.col("DEP").alias("code_departement"),
        pl.col("REG").alias("code_region"),
    )


def read_v_mvt(path: Path) -> pl.DataFrame:
    df = _read_csv(path)
    require_columns(df, V_MVT_COLUMNS, file=path)
    require_rows(df, file=path, what="movement rows")
    bad = df.filter(~pl.col("DATE_EFF").str.contains(r"^\d{4}-\d{2}-\d{2}$"))
    if bad.height:
        raise InputError(
            f"{path}: column 'DATE_EFF': {bad.height} values are not YYYY-MM-DD dates, e.g. {bad['DATE_EFF'].head(3).to_list()}"
        )
    return df


def _step_of(date_eff: str) -> int:
    """A movement effective on 1 January y is already in COG y: it belongs to step y-1 -> y."""
    return (dt.date.fromisoformat(date_eff) - dt.timedelta(days=1)).year


def passage_from_mvt(
    mvt: pl.DataFrame,
    codes: dict[int, set[str]],
    population: dict[int, dict[str, float | None]] | None = None,
) -> list[PassageRow]:
    """Yearly passage rows (only what changed) from the movement file, for the years of ``codes``.

    Several movements within one step are composed in date order. A split (MOD 20/21) shares the
    origin among the pieces by their population of the following year (equal shares if unknown).
    """
    population = population or {}
    years = sorted(codes)
    com = mvt.filter((pl.col("TYPECOM_AV") == "COM") & (pl.col("TYPECOM_AP") == "COM"))
    com = com.with_columns(pl.col("DATE_EFF").map_elements(_step_of, return_dtype=pl.Int64).alias("step"))
    rows: list[PassageRow] = []
    for y in years[:-1]:
        events = com.filter(pl.col("step") == y).sort("DATE_EFF", "MOD", "COM_AV", "COM_AP")
        if not events.height:
            continue
        # current[code_y] = {code_now: (share, kind)}, updated event date by event date
        current: dict[str, dict[str, tuple[float, str]]] = {c: {c: (1.0, "=")} for c in codes[y]}
        for (_date, mod), grp in events.group_by(["DATE_EFF", "MOD"], maintain_order=True):
            pairs = list(zip(grp["COM_AV"].to_list(), grp["COM_AP"].to_list(), strict=True))
            if mod in FUSION_MODS or mod in CODE_CHANGE_MODS:
                kind = "f" if mod in FUSION_MODS else "c"
                moves = {av: ap for av, ap in pairs}
                for origin, pieces in current.items():
                    new: dict[str, tuple[float, str]] = {}
                    for code_now, (share, k) in pieces.items():
                        target = moves.get(code_now, code_now)
                        k2 = k if target == code_now else (kind if k in ("=", kind) else "f")
                        s0, _ = new.get(target, (0.0, k2))
                        new[target] = (s0 + share, k2)
                    current[origin] = new
            elif mod in SPLIT_MODS:
                by_origin: dict[str, set[str]] = {}
                for av, ap in pairs:
                    by_origin.setdefault(av, {av}).add(ap)
                pop = population.get(y + 1, {})
                for av, pieces_after in by_origin.items():
                    pieces_after = {p for p in pieces_after if p in codes[y + 1]} or pieces_after
                    weights = {p: pop.get(p) for p in pieces_after}
                    if all(w for w in weights.values()):
                        total = sum(weights.values())
                        ratios = {p: w / total for p, w in weights.items()}
                    else:
                        ratios = {p: 1 / len(pieces_after) for p in pieces_after}
                    for pieces in current.values():
                        if av in pieces:
                            share, _ = pieces.pop(av)
                            for p, r in ratios.items():
                                s0, _ = pieces.get(p, (0.0, "d"))
                                pieces[p] = (s0 + share * r, "d")
        # like the INSEE passage tables, a commune nouvelle that kept its code gets a row onto itself
        fused_into = {code for pieces in current.values() for code, (_, kind) in pieces.items() if kind == "f"}
        for origin, pieces in sorted(current.items()):
            if pieces == {origin: (1.0, "=")}:
                if origin in fused_into:
                    rows.append(PassageRow(y, origin, origin, "f", 1.0))
                continue
            for code_now, (share, kind) in sorted(pieces.items()):
                rows.append(PassageRow(y, origin, code_now, "f" if kind == "=" else kind, share))
    return rows
