"""EPCI changes between two consecutive 1 January compositions: events and lineage edges.

Mergers are derived, not published: year ``y - 1``'s communes are first brought to the commune
geography of year ``y`` (:mod:`assets.common.passage` steps), so a commune nouvelle or a code
change is never mistaken for an EPCI change. Each commune of ``y - 1`` (a *piece*; a split commune
gives one piece per part, weighted by its ratio) then links its EPCI of ``y - 1`` to the EPCI of its
code in ``y``. ``None`` stands for "no EPCI".

Typing rules, applied in this order (worked examples in docs/methodology.md (Territory)). *Mass* is
the population of ``y - 1`` (or the commune count, for a year whose populations are unknown).
``main_succ(E)``: the successor receiving more than half of E's mass; ``main_src(S)``: the
predecessor giving more than half of S's mass. (A few communes have no population, e.g. Mayotte in
the COG copy: an EPCI with any such commune is weighed by commune counts, and a population total
that includes one is NULL.) ``survives(E)``: E's SIREN still exists in ``y``;
``new(S)``: S's SIREN did not exist in ``y - 1``. E is *absorbed* by S when ``main_succ(E) = S`` and
E vanished or is S itself: the absorbed EPCI are S's **predecessors** (``n_predecessors(S)``, the
one definition used everywhere; ``absorbed`` on the lineage edges).

1. ``scission`` (subject: the predecessor E): at least two successors S with ``main_src(S) = E``
   that are new or E itself.
2. ``fusion`` (subject: the successor S): at least two absorbed predecessors.
3. ``changement_identifiant`` (S): S new, exactly one absorbed predecessor E != S;
   ``perimetre_identique`` says whether the perimeter is unchanged.
4. ``creation`` (S): S new and none of the above; its predecessors are the donors, if any.
5. ``dissolution`` (E): E vanished and was absorbed by no fusion / identifier change / scission.
6. For every successor not created in rule 4, inflows not explained above:
   ``transfert`` (one row per receiving S, listing every donor) from donors that survive;
   ``extension`` (one row per S) from no EPCI or from the minority part of a vanished EPCI.
7. ``retrait`` (E): communes of E that belong to no EPCI in ``y`` (unless E's dissolution row
   already lists them).
8. ``transformation`` (S): S keeps its SIREN and changes nature (e.g. CA -> CU); its perimeter may
   also change (``perimetre_identique``), in which case the other rows of S say how.

So (``annee``, ``type_evenement``, ``epci_siren``) identifies a row.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Mapping

from assets.common.passage import Steps

EVENT_TYPES = (
    "fusion",
    "extension",
    "transfert",
    "scission",
    "dissolution",
    "changement_identifiant",
    "creation",
    "retrait",
    "transformation",
)
#: Events whose subject is the predecessor (named as in year - 1); the others name the successor.
_PREDECESSOR_SIDE = ("scission", "dissolution", "retrait")


@dataclass
class _Flow:
    weight: float = 0.0  # communes of y-1 (a split commune counts by its ratio)
    population: float = 0.0
    unknown: int = 0  # pieces without a population
    communes_from: set[str] = field(default_factory=set)
    communes_to: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class YearInputs:
    """One 1 January: commune -> EPCI (None = none), populations, EPCI names and natures (CC, CA, CU, ME...)."""

    membership: Mapping[str, str | None]
    population: Mapping[str, float | None]
    names: Mapping[str, str]
    natures: Mapping[str, str] = field(default_factory=dict)


def _flows(before: YearInputs, after: YearInputs, step: Mapping[str, list]) -> dict[tuple[str | None, str | None], _Flow]:
    flows: dict[tuple[str | None, str | None], _Flow] = defaultdict(_Flow)
    for code, epci_before in before.membership.items():
        pop = before.population.get(code)
        for edge in step[code]:
            if edge.code_to not in after.membership:
                raise KeyError(f"commune {edge.code_to} (from {code}) has no EPCI membership row in the following year")
            f = flows[(epci_before, after.membership[edge.code_to])]
            f.weight += edge.ratio
            f.population += (pop or 0.0) * edge.ratio
            f.unknown += pop is None
            f.communes_from.add(code)
            f.communes_to.add(edge.code_to)
    return flows


def compare_years(annee: int, before: YearInputs, after: YearInputs, step: Mapping[str, list]) -> tuple[list[dict], list[dict]]:
    """Events and lineage edges of 1 January ``annee`` (``before`` is ``annee - 1``)."""
    flows = _flows(before, after, step)

    epci_before = {e for e in before.membership.values() if e}
    epci_after = {e for e in after.membership.values() if e}
    out_of: dict[str | None, dict[str | None, _Flow]] = defaultdict(dict)
    into: dict[str | None, dict[str | None, _Flow]] = defaultdict(dict)
    for (e, s), f in flows.items():
        out_of[e][s] = f
        into[s][e] = f

    def by_population(d: dict[str | None, _Flow]) -> bool:
        return not any(f.unknown for f in d.values()) and sum(f.population for f in d.values()) > 0

    def majority(d: dict[str | None, _Flow]) -> tuple[bool, str | None]:
        mass = (lambda f: f.population) if by_population(d) else (lambda f: f.weight)
        total = sum(mass(f) for f in d.values())
        if total <= 0:
            return False, None
        key, f = max(d.items(), key=lambda kv: (mass(kv[1]), kv[0] or ""))
        return (mass(f) > total / 2, key)

    main_succ = {e: majority(out_of[e]) for e in epci_before}
    main_src = {s: majority(into[s]) for s in epci_after}
    survives = {e: e in epci_after for e in epci_before}
    is_new = {s: s not in epci_before for s in epci_after}

    events: list[dict] = []
    covered_in: dict[str, set[str | None]] = defaultdict(set)  # successor -> donors already explained
    explained_out: set[str] = set()  # predecessors whose fate is explained
    scission_products: set[str] = set()
    created: set[str] = set()
    dissolved: set[str] = set()

    def communes_of(pairs: list[tuple[str | None, str | None]]) -> tuple[list[str], int | None]:
        codes: set[str] = set()
        pop, unknown = 0.0, 0
        for p in pairs:
            codes |= flows[p].communes_to
            pop += flows[p].population
            unknown += flows[p].unknown
        return sorted(codes), None if unknown else round(pop)

    def event(kind: str, subject: str, preds: list[str], succs: list[str], pairs, perimetre=None) -> None:
        codes, pop = communes_of(pairs)
        year = before if kind in _PREDECESSOR_SIDE else after
        events.append(
            {
                "annee": annee,
                "type_evenement": kind,
                "epci_siren": subject,
                "epci_nom": year.names.get(subject),
                "epci_nature": year.natures.get(subject),
                # the successor's nature a year earlier, when its SIREN already existed
                "epci_nature_avant": None if kind in _PREDECESSOR_SIDE else before.natures.get(subject),
                "predecessors": sorted(preds),
                "successors": sorted(succs),
                "n_predecessors": len(preds),
                "communes": codes,
                "n_communes": len(codes),
                "population": pop,
                "perimetre_identique": perimetre,
            }
        )

    # 1. scission
    for e in sorted(epci_before):
        products = sorted(s for s in out_of[e] if s and main_src[s] == (True, e) and (is_new[s] or s == e))
        if len(products) >= 2:
            event("scission", e, [e], products, [(e, s) for s in products])
            explained_out.add(e)
            for s in products:
                covered_in[s].add(e)
                if s != e:
                    scission_products.add(s)

    # 2-4. successor side
    for s in sorted(epci_after):
        absorbed = sorted(e for e in into[s] if e and main_succ[e] == (True, s) and (not survives[e] or e == s))
        whole = all(set(out_of[e]) == {s} for e in absorbed) and set(into[s]) <= set(absorbed)
        if s in scission_products:
            continue
        if len(absorbed) >= 2:
            event("fusion", s, absorbed, [s], [(e, s) for e in absorbed], perimetre=whole)
        elif is_new[s] and len(absorbed) == 1 and absorbed[0] != s:
            event("changement_identifiant", s, absorbed, [s], [(absorbed[0], s)], perimetre=whole)
        elif is_new[s]:
            donors = sorted(e for e in into[s] if e)
            event("creation", s, donors, [s], [(e, s) for e in into[s]])
            created.add(s)
            continue
        else:
            absorbed = [s] if s in into[s] else []
        covered_in[s] |= set(absorbed)
        explained_out |= {e for e in absorbed if e != s}

    # 5. dissolution
    for e in sorted(epci_before):
        if survives[e] or e in explained_out:
            continue
        dests = sorted(s for s in out_of[e] if s)
        event("dissolution", e, [e], dests, [(e, s) for s in out_of[e]])
        explained_out.add(e)
        dissolved.add(e)

    # 6. inflows not yet explained (one row per successor and type, whatever the number of donors)
    for s in sorted(epci_after):
        if s in created:
            continue
        moves: dict[str, tuple[list, list]] = {"transfert": ([], []), "extension": ([], [])}
        for e in sorted(into[s], key=lambda x: x or ""):
            if e in covered_in[s]:
                continue
            pairs, preds = moves["transfert" if e is not None and survives[e] and e != s else "extension"]
            pairs.append((e, s))
            if e is not None:
                preds.append(e)
        for kind, (pairs, preds) in moves.items():
            if pairs:
                event(kind, s, preds, [s], pairs)

    # 7. communes leaving every EPCI
    for e in sorted(epci_before):
        if None in out_of[e] and e not in dissolved:
            event("retrait", e, [e], [], [(e, None)])

    # 8. change of nature under the same SIREN (the DGCL's "transformation")
    for s in sorted(epci_after & epci_before):
        nature_before, nature_after = before.natures.get(s), after.natures.get(s)
        if nature_before and nature_after and nature_before != nature_after and (s, s) in flows:
            event("transformation", s, [s], [s], [(s, s)], perimetre=set(into[s]) == {s} and set(out_of[s]) == {s})

    def absorbed(e: str | None, s: str | None) -> bool:
        return e is not None and s is not None and main_succ[e] == (True, s) and (not survives[e] or e == s)

    lineage = []

    def share(f: _Flow, d: dict[str | None, _Flow]) -> float | None:
        return f.population / sum(g.population for g in d.values()) if by_population(d) else None

    for (e, s), f in sorted(flows.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
        lineage.append(
            {
                "annee": annee,
                "epci_siren_avant": e,
                "epci_nom_avant": before.names.get(e) if e else None,
                "epci_siren_apres": s,
                "epci_nom_apres": after.names.get(s) if s else None,
                "n_communes": len(f.communes_from),
                "population": None if f.unknown else round(f.population),
                "share_communes_avant": f.weight / sum(g.weight for g in out_of[e].values()),
                "share_population_avant": share(f, out_of[e]),
                "share_population_apres": share(f, into[s]),
                "meme_siren": e is not None and e == s,
                "absorbed": absorbed(e, s),
            }
        )
    events.sort(key=lambda r: (r["annee"], r["type_evenement"], r["epci_siren"], r["predecessors"]))
    return events, lineage


def compare_all(years: Mapping[int, YearInputs], steps: Steps) -> tuple[list[dict], list[dict]]:
    """Events and lineage for every pair of consecutive years of ``years``."""
    events, lineage = [], []
    ordered = sorted(years)
    for y in ordered[1:]:
        ev, li = compare_years(y, years[y - 1], years[y], steps[y - 1])
        events += ev
        lineage += li
    return events, lineage
