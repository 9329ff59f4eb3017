"""Commune code passage: yearly steps and the any-code -> any-year code map.

Shared by the COG package (which stages ``stg.commune_passage``) and the territory package (which builds
``int.commune_code_map`` and brings polygons and memberships across years). Pure functions over plain Python structures (a few tens of thousands of codes, twelve years): no
warehouse, no Dagster, so every rule is tested on hand-made cases.

Vocabulary
* a *step* goes from the commune geography of 1 January ``y`` to that of 1 January ``y + 1``;
* the published passage rows list only what changed (``typemodif`` f = fusion, d = split
  (scission, with a population ``ratio``), c = change of code); every other code of year ``y``
  continues unchanged, and :func:`complete_steps` makes that explicit and checks it.

Reading rules of :func:`code_map` (documented in docs/methodology.md (Territory)):
* a code is read in its *latest* meaning: the commune it designated the last year it existed
  (``annee_reference``), because SIRENE records current codes and keeps the last valid one;
* forward in time (a code looked at after it vanished), fusions and code changes are exact (the old
  territory lies inside the new commune); across a split the code that kept the code, else the
  largest piece, is chosen and the row is flagged ``estimated``;
* backward in time (a commune looked at before a fusion formed it), the predecessor that kept the
  code, else the most populated predecessor, is chosen and flagged ``estimated``; backward across a
  split (a piece looked at before it was split off) is exact: the piece lay inside its origin.
"""

from dataclasses import dataclass
from typing import Iterable, Mapping

from assets.common.identifiers import PLM_ARRONDISSEMENTS


TYPEMODIFS = ("f", "d", "c")

#: Step labels, from the least to the most uncertain; a chain takes the label of its worst step.
EXACT_METHODS = ("identique", "arrondissement", "changement_code", "scission_origine", "fusion")
ESTIMATED_METHODS = ("scission_code_conserve", "retour_code_conserve", "scission_part_majoritaire", "retour_part_majoritaire")
METHODS = EXACT_METHODS + ESTIMATED_METHODS
_RANK = {m: i for i, m in enumerate(METHODS)}


class PassageError(ValueError):
    """The passage rows and the commune lists contradict each other."""


@dataclass(frozen=True)
class PassageRow:
    annee_from: int
    code_from: str
    code_to: str
    typemodif: str
    ratio: float = 1.0


@dataclass(frozen=True)
class Edge:
    code_to: str
    typemodif: str  # f, d, c, or "=" for an unchanged commune
    ratio: float


Steps = dict[int, dict[str, list[Edge]]]


def complete_steps(codes: Mapping[int, set[str]], rows: Iterable[PassageRow], *, source: str = "passage") -> Steps:
    """Every code of year y -> its codes in y + 1, for each pair of consecutive years in ``codes``.

    Raises :class:`PassageError` naming the step and the codes when a row leaves from a code absent
    from year y, lands on a code absent from y + 1, when a code of y vanishes without a row, or
    when a code of y + 1 is reached by nothing.
    """
    years = sorted(codes)
    by_step: dict[int, dict[str, list[Edge]]] = {y: {} for y in years[:-1]}
    for r in rows:
        if r.annee_from not in by_step:
            continue
        if r.typemodif not in TYPEMODIFS:
            raise PassageError(
                f"{source}: step {r.annee_from}->{r.annee_from + 1}, code {r.code_from}: typemodif {r.typemodif!r}, expected one of {TYPEMODIFS}"
            )
        by_step[r.annee_from].setdefault(r.code_from, []).append(Edge(r.code_to, r.typemodif, float(r.ratio)))
    steps: Steps = {}
    for y in years[:-1]:
        before, after = codes[y], codes[y + 1] if (y + 1) in codes else None
        if after is None:
            raise PassageError(f"{source}: years must be consecutive, {y + 1} missing after {y}")
        changed = by_step[y]
        unknown_from = sorted(set(changed) - before)
        if unknown_from:
            raise PassageError(f"{source}: step {y}->{y + 1}: codes {unknown_from[:10]} change but are not communes of {y}")
        step: dict[str, list[Edge]] = {}
        for code in before:
            edges = changed.get(code)
            if edges is None:
                if code not in after:
                    raise PassageError(
                        f"{source}: step {y}->{y + 1}: commune {code} of {y} is absent from {y + 1} and no passage row says where it went"
                    )
                edges = [Edge(code, "=", 1.0)]
            total = sum(e.ratio for e in edges)
            if abs(total - 1.0) > 1e-6:
                raise PassageError(f"{source}: step {y}->{y + 1}: ratios of commune {code} sum to {total:.6f}, expected 1")
            step[code] = sorted(edges, key=lambda e: (-e.ratio, e.code_to))
        reached = {e.code_to for edges in step.values() for e in edges}
        dangling = sorted(reached - after)
        if dangling:
            raise PassageError(f"{source}: step {y}->{y + 1}: passage rows lead to {dangling[:10]}, not communes of {y + 1}")
        orphans = sorted(after - reached)
        if orphans:
            raise PassageError(f"{source}: step {y}->{y + 1}: communes {orphans[:10]} of {y + 1} come from no commune of {y}")
        steps[y] = step
    return steps


def _worst(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


def _forward_step(code: str, edges: list[Edge]) -> tuple[str, str]:
    if len(edges) == 1:
        e = edges[0]
        if e.code_to == code:
            return code, "identique"
        return e.code_to, "changement_code" if e.typemodif == "c" else "fusion"
    # A split: the territory of ``code`` is shared among several communes.
    kept = [e for e in edges if e.code_to == code]
    if kept:
        return code, "scission_code_conserve"
    return edges[0].code_to, "scission_part_majoritaire"  # edges are sorted by decreasing ratio


def _backward_step(code: str, preds: list[tuple[str, Edge]], population: Mapping[str, float | None]) -> tuple[str, str]:
    if len(preds) == 1:
        origin, e = preds[0]
        if origin == code:
            return code, "identique"  # same code; at most it lost pieces since, which lay inside it
        if e.typemodif == "d":
            return origin, "scission_origine"
        return origin, "changement_code"  # c, or an f row with a single predecessor
    origins = sorted({o for o, _ in preds})
    if code in origins:
        return code, "retour_code_conserve"
    # Most populated predecessor; unknown populations rank last, ties go to the smallest code.
    best = min(origins, key=lambda o: (-(population.get(o) or -1.0), o))
    return best, "retour_part_majoritaire"


def code_map(
    codes: Mapping[int, set[str]],
    steps: Steps,
    population: Mapping[int, Mapping[str, float | None]] | None = None,
    arrondissements: Mapping[str, str] = PLM_ARRONDISSEMENTS,
) -> list[tuple[str, int, str, str, bool, int]]:
    """Rows ``(code_commune, annee, code_commune_annee, method, estimated, annee_reference)``.

    One row per code seen in any year of ``codes`` (plus the arrondissements) and per year.
    """
    population = population or {}
    years = sorted(codes)
    last_year: dict[str, int] = {}
    for y in years:
        for c in codes[y]:
            last_year[c] = y
    reverse: dict[int, dict[str, list[tuple[str, Edge]]]] = {}
    for y, step in steps.items():
        rev: dict[str, list[tuple[str, Edge]]] = {}
        for origin, edges in step.items():
            for e in edges:
                rev.setdefault(e.code_to, []).append((origin, e))
        reverse[y] = rev

    out: list[tuple[str, int, str, str, bool, int]] = []
    for code in sorted(last_year):
        ref = last_year[code]
        out.append((code, ref, code, "identique", False, ref))
        current, method = code, "identique"
        for y in range(ref, years[-1]):  # forward: after the code's last year
            current, m = _forward_step(current, steps[y][current])
            method = _worst(method, m)
            out.append((code, y + 1, current, method, method in ESTIMATED_METHODS, ref))
        current, method = code, "identique"
        for y in range(ref - 1, years[0] - 1, -1):  # backward: before it
            current, m = _backward_step(current, reverse[y][current], population.get(y, {}))
            method = _worst(method, m)
            out.append((code, y, current, method, method in ESTIMATED_METHODS, ref))
    for arr, parent in sorted(arrondissements.items()):
        for y in years:
            if parent not in codes[y]:
                raise PassageError(f"arrondissement {arr}: its commune {parent} is missing from the commune list of {y}")
            out.append((arr, y, parent, "arrondissement", False, years[-1]))
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def forward_pieces(steps: Steps, annee_from: int, code: str) -> list[Edge]:
    """The pieces of a commune of ``annee_from`` in the geography of ``annee_from + 1``."""
    return steps[annee_from][code]


def passage_from_links(
    annee_from: int,
    before: set[str],
    after: set[str],
    links: Iterable[tuple[str, str]],
    *,
    source: str,
    links_before: Iterable[tuple[str, str]] = (),
    population_after: Mapping[str, float | None] | None = None,
) -> list[PassageRow]:
    """Passage rows of one step from "old code -> current commune" links (Etalab ``chefLieu`` /
    ``anciensCodes``), for steps no COG passage table covers.

    ``links`` are those of ``annee_from + 1``: a code of ``annee_from`` absent from ``annee_from + 1``
    goes to the commune they name (a fusion, or a change of code when it is the only origin of a code
    that is itself new). ``links_before`` are those of ``annee_from``: a new code that was a commune
    déléguée there was restored out of its chef-lieu (a split, shared by the pieces' population of
    ``annee_from + 1``, equally if unknown). Any other new code is an error.
    """
    population_after = population_after or {}
    parents: dict[str, set[str]] = {}
    for old, parent in links:
        if parent in after:
            parents.setdefault(old, set()).add(parent)
    rows: list[PassageRow] = []
    gone = sorted(before - after)
    targets: dict[str, list[str]] = {}
    for code in gone:
        found = sorted(parents.get(code, ()))
        if len(found) != 1:
            raise PassageError(
                f"{source}: step {annee_from}->{annee_from + 1}: commune {code} vanished and its links give "
                f"{found or 'no'} commune of {annee_from + 1}; expected exactly one"
            )
        targets.setdefault(found[0], []).append(code)
    new = after - before
    for target, origins in sorted(targets.items()):
        if target in new and len(origins) == 1:
            rows.append(PassageRow(annee_from, origins[0], target, "c", 1.0))
            continue
        rows += [PassageRow(annee_from, o, target, "f", 1.0) for o in origins]
        if target in before:
            rows.append(PassageRow(annee_from, target, target, "f", 1.0))
    chef_lieu = {old: parent for old, parent in links_before if parent in before and parent != old}
    restored: dict[str, list[str]] = {}
    for code in sorted(new - set(targets)):
        if code not in chef_lieu:
            raise PassageError(f"{source}: step {annee_from}->{annee_from + 1}: new commune {code} has no origin in the links (a split?)")
        restored.setdefault(chef_lieu[code], []).append(code)
    for origin, pieces in sorted(restored.items()):
        if origin not in after:
            raise PassageError(
                f"{source}: step {annee_from}->{annee_from + 1}: {origin} split into {pieces} and vanished; links cannot say how"
            )
        pieces = [origin] + pieces
        weights = [population_after.get(p) for p in pieces]
        if all(w for w in weights):
            ratios = [w / sum(weights) for w in weights]
        else:
            ratios = [1 / len(pieces)] * len(pieces)
        rows += [PassageRow(annee_from, origin, p, "d", r) for p, r in zip(pieces, ratios, strict=True)]
    return rows


def forward_codes(steps: Steps, annee_from: int, annee_to: int, codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Codes of ``annee_from`` -> (code in ``annee_to``, method), for data coded in ``annee_from``'s
    geography (e.g. polygons of that COG); splits go to the piece that kept the code, else the largest."""
    out = {}
    for code in codes:
        current, method = code, "identique"
        for y in range(annee_from, annee_to):
            current, m = _forward_step(current, steps[y][current])
            method = _worst(method, m)
        out[code] = (current, method)
    return out
