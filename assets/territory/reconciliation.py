"""The EPCI changes of the mart set against the DGCL's own counts (docs/methodology.md, Territory).

The DGCL counts *procedures* (a fusion, a dissolution, a transformation is an arrêté); the mart compares
*compositions* (:mod:`assets.territory.mergers`). Compositions cannot always tell which procedure made
them: an EPCI absorbed whole by a neighbour that keeps its SIREN may have been fused with it, or
dissolved and its communes added to the neighbour; an EPCI shared between two successors may have been
fused into the larger one after some communes withdrew, or dissolved. So each operation type gets the
mart's own count (``n_observed``) and the range of DGCL-style counts the compositions are compatible with
(``n_compatible_min`` .. ``n_compatible_max``); every EPCI in or at the edge of that range is listed.

Official figures and their sources: ``reference/official_epci_counts.csv`` (one row per year, kind and
item). A row's ``documented_difference`` is the difference between the data and the official figure that
its ``note`` explains (e.g. 2017: BIS n°113 predates the transformation of the CA de Longwy).
"""

import csv
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Mapping

from assets.common.validate import InputError

REFERENCE = Path(__file__).resolve().parent / "reference" / "official_epci_counts.csv"
REFERENCE_COLUMNS = ("annee", "kind", "item", "n_official", "documented_difference", "source", "source_url", "note")
#: EPCI natures as staged (stg.epci.epci_nature); MET69, the Métropole de Lyon, is counted apart.
NATURES = ("ME", "CU", "CA", "CC", "SA", "MET69")
OPERATIONS = ("fusion", "dissolution", "transformation", "total")
STATUSES = ("equal", "compatible", "documented_difference", "different", "no_official_figure")

MAPPING = {
    "fusion": "n_observed: rows typed fusion. Range: from the fusion rows with a new SIREN up to those plus every EPCI that took in "
    "a vanished EPCI, or part of one, under a SIREN that existed before (its own, or for a changement_identifiant its "
    "predecessor's): a fusion in law, or a dissolution followed by an extension",
    "dissolution": "n_observed: rows typed dissolution (vanished, absorbed by no successor). Range: up to those plus every vanished EPCI "
    "absorbed whole by an EPCI keeping its SIREN, or shared between several successors (a dissolution, or a fusion into "
    "the largest after the other communes withdrew)",
    "transformation": "n_observed: rows typed transformation (same SIREN, new nature). Range: from those on an unchanged perimeter "
    "up to every transformation row plus any changement_identifiant whose nature differs from its predecessor's",
    "total": "sum of the fusion, dissolution and transformation rows",
    "nature": "n_observed: EPCI of that nature in stg.epci on 1 January annee (the Métropole de Lyon is MET69)",
}


def load_reference(path: Path = REFERENCE, years: Iterable[int] | None = None) -> list[dict]:
    """The official counts, validated: a bad file fails with its name, the row and the column."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != REFERENCE_COLUMNS:
            raise InputError(f"{path}: columns {reader.fieldnames}, expected {list(REFERENCE_COLUMNS)}")
        rows, seen = [], set()
        for line, r in enumerate(reader, start=2):
            where = f"{path}, line {line}"
            try:
                row = {
                    **r,
                    "annee": int(r["annee"]),
                    "n_official": int(r["n_official"]),
                    "documented_difference": int(r["documented_difference"] or 0),
                }
            except ValueError as exc:
                raise InputError(f"{where}: annee, n_official and documented_difference must be integers ({exc})") from None
            items = NATURES if row["kind"] == "nature" else OPERATIONS if row["kind"] == "operation" else None
            if items is None:
                raise InputError(f"{where}: column kind is {row['kind']!r}, expected 'nature' or 'operation'")
            if row["item"] not in items:
                raise InputError(f"{where}: column item is {row['item']!r}, expected one of {list(items)} for kind {row['kind']!r}")
            if years is not None and row["annee"] not in years:
                raise InputError(f"{where}: column annee is {row['annee']}, outside the years of the territory ({min(years)}-{max(years)})")
            if not r["source"].strip():
                raise InputError(f"{where}: column source is empty: every official figure needs its source")
            if row["documented_difference"] and not r["note"].strip():
                raise InputError(f"{where}: documented_difference {row['documented_difference']} without a note explaining it")
            key = (row["annee"], row["kind"], row["item"])
            if key in seen:
                raise InputError(f"{where}: a second row for {key}")
            seen.add(key)
            rows.append(row)
    return rows


def _status(official: int | None, documented: int, low: int, high: int) -> str:
    if official is None:
        return "no_official_figure"
    if low <= official <= high:
        return "equal" if low == high else "compatible"
    if documented and low <= official + documented <= high:
        return "documented_difference"
    return "different"


def reconcile(
    events: list[dict],
    lineage: list[dict],
    epci: Mapping[int, Mapping[str, tuple[str, str]]],
    official: list[dict],
) -> tuple[list[dict], list[dict]]:
    """Summary rows (annee, kind, item) and the EPCI behind each operation count (annee, item, epci_siren).

    ``events``/``lineage``: rows of marts.epci_mergers / marts.epci_lineage; ``epci``: year -> SIREN ->
    (name, nature) as in stg.epci; ``official``: :func:`load_reference` rows.
    """
    ref = {(r["annee"], r["kind"], r["item"]): r for r in official}
    by_year_events: dict[int, list[dict]] = defaultdict(list)
    for ev in events:
        by_year_events[ev["annee"]].append(ev)
    edges: dict[int, list[dict]] = defaultdict(list)
    for edge in lineage:
        edges[edge["annee"]].append(edge)

    summary, detail = [], []

    def line(annee: int, kind: str, item: str, observed: int, low: int, high: int) -> None:
        r = ref.get((annee, kind, item))
        official_n = r["n_official"] if r else None
        documented = r["documented_difference"] if r else 0
        summary.append(
            {
                "annee": annee,
                "kind": kind,
                "item": item,
                "n_official": official_n,
                "n_observed": observed,
                "n_compatible_min": low,
                "n_compatible_max": high,
                "documented_difference": documented,
                "status": _status(official_n, documented, low, high),
                "mapping": MAPPING["nature" if kind == "nature" else item],
                "note": (r["note"] or None) if r else None,
                "source": r["source"] if r else None,
                "source_url": r["source_url"] if r else None,
            }
        )

    for annee in sorted(epci):
        counts: dict[str, int] = defaultdict(int)
        for _, nature in epci[annee].values():
            counts[nature] += 1
        for nature in NATURES:
            n = counts.get(nature, 0)
            if n or (annee, "nature", nature) in ref:
                line(annee, "nature", nature, n, n, n)
        if annee - 1 not in epci:
            continue
        before, after = epci[annee - 1], epci[annee]
        evs = by_year_events[annee]
        types_of: dict[str, set[str]] = defaultdict(set)
        for ev in evs:
            types_of[ev["epci_siren"]].add(ev["type_evenement"])

        def listed(item: str, siren: str, certain: bool, note: str, predecessor_side: bool = False) -> None:
            name, nature = (before if predecessor_side else after).get(siren, (None, None))
            detail.append(
                {
                    "annee": annee,
                    "item": item,
                    "epci_siren": siren,
                    "epci_nom": name,
                    "epci_nature": nature,
                    "certain": certain,
                    "type_evenement": "+".join(sorted(types_of.get(siren, ()))) or None,
                    "note": note,
                }
            )

        out_of: dict[str, list[dict]] = defaultdict(list)
        into: dict[str, list[dict]] = defaultdict(list)
        for edge in edges[annee]:
            if edge["epci_siren_avant"]:
                out_of[edge["epci_siren_avant"]].append(edge)
            if edge["epci_siren_apres"]:
                into[edge["epci_siren_apres"]].append(edge)
        vanished = {e for e in before if e not in after}
        kept = set(after) & set(before)

        # fusion: certain = a new SIREN absorbing at least two EPCI; possible = an EPCI taking in (part of) a vanished EPCI
        # under a SIREN that existed before (its own, or its one predecessor's for a changement_identifiant)
        fusion_rows = [ev for ev in evs if ev["type_evenement"] == "fusion"]
        fusion_certain = sorted(ev["epci_siren"] for ev in fusion_rows if ev["epci_siren"] not in before)
        took_vanished = {s for s, xs in into.items() if any(x["epci_siren_avant"] in vanished and not x["absorbed"] for x in xs)}
        renamed_taking = {ev["epci_siren"] for ev in evs if ev["type_evenement"] == "changement_identifiant"} & took_vanished
        fusion_possible = sorted({s for s in kept if any(x["epci_siren_avant"] in vanished for x in into[s])} | renamed_taking)
        for s in fusion_certain:
            listed("fusion", s, True, "new SIREN absorbing at least two EPCI of annee-1")
        for s in fusion_possible:
            listed(
                "fusion", s, False, "took in (part of) a vanished EPCI under an existing SIREN: a fusion, or a dissolution and an extension"
            )
        line(annee, "operation", "fusion", len(fusion_rows), len(fusion_certain), len(fusion_certain) + len(fusion_possible))

        # dissolution: certain = the mart's dissolutions; possible = absorbed by a kept SIREN, or shared out
        dissolved = sorted(ev["epci_siren"] for ev in evs if ev["type_evenement"] == "dissolution")
        dissolution_possible = []
        for e in sorted(vanished - set(dissolved)):
            successors = {x["epci_siren_apres"] for x in out_of[e] if x["epci_siren_apres"]}
            main = next((x["epci_siren_apres"] for x in out_of[e] if x["absorbed"]), None)
            if len(successors) >= 2:
                dissolution_possible.append((e, f"shared between {len(successors)} successors, the largest part absorbed by {main}"))
            elif main in kept:
                dissolution_possible.append((e, f"absorbed whole by {main}, which keeps its SIREN"))
        for e in dissolved:
            listed("dissolution", e, True, "vanished, no successor took more than half of it", predecessor_side=True)
        for e, why in dissolution_possible:
            listed("dissolution", e, False, why + ": a dissolution, or part of a fusion", predecessor_side=True)
        line(annee, "operation", "dissolution", len(dissolved), len(dissolved), len(dissolved) + len(dissolution_possible))

        # transformation: certain = same SIREN, new nature, same perimeter
        transformations = [ev for ev in evs if ev["type_evenement"] == "transformation"]
        renamed = [
            ev
            for ev in evs
            if ev["type_evenement"] == "changement_identifiant"
            and before.get(ev["predecessors"][0], (None, None))[1] not in (None, after.get(ev["epci_siren"], (None, None))[1])
        ]
        t_certain = [ev for ev in transformations if ev["perimetre_identique"]]
        for ev in transformations:
            change = f"{ev['epci_nature_avant']} -> {ev['epci_nature']}"
            listed(
                "transformation",
                ev["epci_siren"],
                bool(ev["perimetre_identique"]),
                change
                + (", same perimeter" if ev["perimetre_identique"] else ", with a change of perimeter (counted with its other rows)"),
            )
        for ev in renamed:
            listed("transformation", ev["epci_siren"], False, f"new SIREN taking over {ev['predecessors'][0]} with another nature")
        line(annee, "operation", "transformation", len(transformations), len(t_certain), len(transformations) + len(renamed))

        parts = [r for r in summary if r["annee"] == annee and r["kind"] == "operation"]
        line(
            annee,
            "operation",
            "total",
            sum(r["n_observed"] for r in parts),
            sum(r["n_compatible_min"] for r in parts),
            sum(r["n_compatible_max"] for r in parts),
        )

    missing = sorted(set(ref) - {(r["annee"], r["kind"], r["item"]) for r in summary})
    if missing:
        raise InputError(f"{REFERENCE}: official figures for {missing}, which the territory tables do not cover")
    return summary, detail
