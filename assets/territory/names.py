"""EPCI names a source damaged: characters (a dash, an apostrophe, an en dash) replaced by ``?``.

The INSEE composition files of 2016, 2017 and 2021 carry names such as "CC du Val d'Arly ? Com'Arly".
:func:`repair_question_marks` rebuilds such a name from another name of the same EPCI (another year,
or the DGCL file) that has the right characters: each ``?`` becomes what that name has at the same
place, the rest of the damaged name is kept as it is. A name no other source spells right gets the
usual substitution (" ? " -> " - ", any other "?" -> "'") and says so. Every repair is recorded
(``name_repair``: the source it came from) and the marts' blocking checks fail on any ``?`` left.
"""

from __future__ import annotations

import re
import unicodedata

import duckdb
import polars as pl

#: What a repaired row's ``name_repair`` says when no other name could be used.
SUBSTITUTION = "substitution"

# names of the same EPCI, best first: the same year in another file, then the other years
CANDIDATES_SQL = """
select annee, epci_siren, epci_nom, 'stg.epci' as source from stg.epci where epci_nom is not null
union all
select distinct annee, epci_siren, epci_nom, 'stg.dgcl_epci_membership' from stg.dgcl_epci_membership
where epci_siren is not null and epci_nom is not null
"""


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _pattern(damaged: str) -> re.Pattern[str]:
    parts = []
    for ch in _plain(damaged):
        if ch == "?":
            parts.append(r"(.{1,3}?)")
        elif ch in " -'":
            parts.append(r"[\s\-'’]?")  # the other file may spell spaces, dashes and apostrophes differently
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.IGNORECASE)


def repair_one(damaged: str, candidates: list[str]) -> tuple[str, int | None]:
    """The damaged name with each ``?`` replaced from the first candidate that matches it, and that
    candidate's index; the substitution and ``None`` when none matches."""
    pattern = _pattern(damaged)
    for i, cand in enumerate(candidates):
        if "?" in cand:
            continue
        m = pattern.fullmatch(_plain(cand))
        if m:
            pieces = damaged.split("?")
            fills = [g.strip() or g for g in m.groups()] + [""]
            return "".join(p + f for p, f in zip(pieces, fills)), i
    return re.sub(r"\?", "'", re.sub(r" \? ", " - ", damaged)), None


def repair_question_marks(names: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """``names`` (annee, epci_siren, epci_nom) with ``epci_nom`` repaired, ``epci_nom_source`` (as
    published) and ``name_repair`` (NULL when the name was fine, else the source and year used or
    ``substitution``). ``candidates``: (annee, epci_siren, epci_nom, source) of every file."""
    by_siren: dict[str, list[tuple[int, str, str]]] = {}
    for annee, siren, nom, source in candidates.select("annee", "epci_siren", "epci_nom", "source").iter_rows():
        by_siren.setdefault(siren, []).append((annee, nom, source))
    out = []
    for annee, siren, nom in names.select("annee", "epci_siren", "epci_nom").iter_rows():
        if nom is None or "?" not in nom:
            out.append((annee, siren, nom, nom, None))
            continue
        cands = sorted(by_siren.get(siren, []), key=lambda c: (abs(c[0] - annee), c[2] != "stg.dgcl_epci_membership", c[0]))
        fixed, i = repair_one(nom, [c[1] for c in cands])
        out.append((annee, siren, fixed, nom, SUBSTITUTION if i is None else f"{cands[i][2]} {cands[i][0]}: {cands[i][1]}"))
    return pl.DataFrame(
        out,
        orient="row",
        schema={"annee": pl.Int32, "epci_siren": pl.String, "epci_nom": pl.String, "epci_nom_source": pl.String, "name_repair": pl.String},
    )


def register_epci_names(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Create the temp table ``_epci_names`` (annee, epci_siren, epci_nom repaired, epci_nom_source,
    name_repair) for every EPCI-year of ``stg.epci``; return the repairs (for the asset metadata)."""
    names = con.sql("select annee, epci_siren, epci_nom from stg.epci").pl()
    fixed = repair_question_marks(names, con.sql(CANDIDATES_SQL).pl())
    con.register("_epci_names_arrow", fixed.to_arrow())
    try:
        con.execute("create or replace temp table _epci_names as select * from _epci_names_arrow")
    finally:
        con.unregister("_epci_names_arrow")
    return fixed.filter(pl.col("name_repair").is_not_null()).sort("annee", "epci_siren").to_dicts()
