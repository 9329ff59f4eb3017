"""EPCI merger typology on tiny hand-made compositions: every event type with its exact rows."""

import pytest

from assets.territory.mergers import YearInputs, compare_years
from assets.common.passage import PassageRow, complete_steps

Y0, Y1 = 2016, 2017


def _run(before: dict, after: dict, pop: dict, rows=(), names=None, natures=None):
    """``before``/``after``: commune -> EPCI (None = none); ``pop``: commune (before) -> population;
    ``natures``: (year, EPCI) -> nature, CC by default."""
    steps = complete_steps({Y0: set(before), Y1: set(after)}, list(rows))
    names, natures = names or {}, natures or {}

    def year(y, membership, population):
        epcis = {e for e in membership.values() if e}
        return YearInputs(
            membership, population, {e: names.get(e, f"nom {e}") for e in epcis}, {e: natures.get((y, e), "CC") for e in epcis}
        )

    ev, li = compare_years(Y1, year(Y0, before, pop), year(Y1, after, {}), steps[Y0])
    return ev, li


def _short(events):
    return [(e["type_evenement"], e["epci_siren"], e["predecessors"], e["successors"], e["communes"], e["population"]) for e in events]


A, B, C, N, S, T, X, Yy = "200000001", "200000002", "200000003", "200000009", "200000010", "200000011", "200000021", "200000022"
D, U = "200000004", "200000012"


def test_fusion_of_two_epci_into_a_new_one():
    ev, li = _run(
        {"01001": A, "01002": A, "01003": B, "01004": C},
        {"01001": N, "01002": N, "01003": N, "01004": C},
        {"01001": 100, "01002": 50, "01003": 250, "01004": 10},
    )
    assert _short(ev) == [("fusion", N, [A, B], [N], ["01001", "01002", "01003"], 400)]
    assert ev[0]["perimetre_identique"] is True and ev[0]["n_predecessors"] == 2 and ev[0]["epci_nom"] == f"nom {N}"
    edges = {
        (r["epci_siren_avant"], r["epci_siren_apres"]): (
            r["n_communes"],
            r["population"],
            r["share_population_avant"],
            r["share_population_apres"],
        )
        for r in li
    }
    assert edges == {(A, N): (2, 150, 1.0, 150 / 400), (B, N): (1, 250, 1.0, 250 / 400), (C, C): (1, 10, 1.0, 1.0)}


def test_fusion_keeping_one_predecessor_siren_and_taking_an_isolated_commune():
    ev, _ = _run({"01001": A, "01002": B, "01003": None}, {"01001": A, "01002": A, "01003": A}, {"01001": 10, "01002": 5, "01003": 1})
    assert _short(ev) == [
        ("extension", A, [], [A], ["01003"], 1),
        ("fusion", A, [A, B], [A], ["01001", "01002"], 15),
    ]
    assert {e["type_evenement"]: e["epci_nature_avant"] for e in ev} == {"extension": "CC", "fusion": "CC"}  # A's SIREN existed
    assert next(e for e in ev if e["type_evenement"] == "fusion")["perimetre_identique"] is False


def test_extension_from_no_epci():
    ev, li = _run({"01001": S, "01002": None}, {"01001": S, "01002": S}, {"01001": 10, "01002": 3})
    assert _short(ev) == [("extension", S, [], [S], ["01002"], 3)]
    assert {(r["epci_siren_avant"], r["epci_siren_apres"]) for r in li} == {(None, S), (S, S)}


def test_transfert_between_two_surviving_epci():
    ev, li = _run({"01001": S, "01002": S, "01003": T}, {"01001": S, "01002": T, "01003": T}, {"01001": 10, "01002": 4, "01003": 6})
    assert _short(ev) == [("transfert", T, [S], [T], ["01002"], 4)]
    edge = next(r for r in li if (r["epci_siren_avant"], r["epci_siren_apres"]) == (S, T))
    assert (edge["share_population_avant"], edge["share_communes_avant"], edge["share_population_apres"]) == (4 / 14, 0.5, 0.4)


def test_scission_into_two_new_epci():
    ev, _ = _run(
        {"01001": A, "01002": A, "01003": A, "01004": A},
        {"01001": X, "01002": X, "01003": Yy, "01004": Yy},
        {"01001": 1, "01002": 1, "01003": 1, "01004": 2},
    )
    assert _short(ev) == [("scission", A, [A], [X, Yy], ["01001", "01002", "01003", "01004"], 5)]
    assert ev[0]["epci_nom"] == f"nom {A}"  # named as it was before


def test_dissolution_shared_between_neighbours():
    ev, _ = _run(
        {"01001": A, "01002": A, "01003": S, "01004": T},
        {"01001": S, "01002": T, "01003": S, "01004": T},
        {"01001": 5, "01002": 5, "01003": 20, "01004": 20},
    )
    assert _short(ev) == [
        ("dissolution", A, [A], [S, T], ["01001", "01002"], 10),
        ("extension", S, [A], [S], ["01001"], 5),
        ("extension", T, [A], [T], ["01002"], 5),
    ]


def test_changement_identifiant_same_perimeter():
    ev, _ = _run({"01001": A, "01002": A}, {"01001": N, "01002": N}, {"01001": 7, "01002": 8})
    assert _short(ev) == [("changement_identifiant", N, [A], [N], ["01001", "01002"], 15)]
    assert ev[0]["perimetre_identique"] is True


def test_creation_from_communes_in_no_epci():
    ev, _ = _run({"01001": None, "01002": None, "01003": S}, {"01001": N, "01002": N, "01003": S}, {"01001": 2, "01002": 3, "01003": 1})
    assert _short(ev) == [("creation", N, [], [N], ["01001", "01002"], 5)]


def test_retrait_of_a_commune_leaving_every_epci():
    ev, li = _run({"01001": S, "01002": S}, {"01001": S, "01002": None}, {"01001": 9, "01002": 1})
    assert _short(ev) == [("retrait", S, [S], [], ["01002"], 1)]
    assert {(r["epci_siren_avant"], r["epci_siren_apres"]) for r in li} == {(S, S), (S, None)}


def test_commune_code_changes_and_mergers_inside_an_epci_are_not_epci_changes():
    before = {"01001": S, "01002": S, "01003": T}
    after = {"01001": S, "01009": T}
    rows = [PassageRow(Y0, "01001", "01001", "f"), PassageRow(Y0, "01002", "01001", "f"), PassageRow(Y0, "01003", "01009", "c")]
    ev, li = _run(before, after, {"01001": 1, "01002": 1, "01003": 1}, rows)
    assert ev == []
    assert {(r["epci_siren_avant"], r["epci_siren_apres"], r["n_communes"], r["meme_siren"], r["share_population_avant"]) for r in li} == {
        (S, S, 2, True, 1.0),
        (T, T, 1, True, 1.0),
    }


def test_commune_nouvelle_across_two_epci_moves_one_side():
    # 01003 (in T) merges into 01001 (in S): its territory changes EPCI, a real perimeter change.
    before = {"01001": S, "01002": S, "01003": T, "01004": T}
    after = {"01001": S, "01002": S, "01004": T}
    rows = [PassageRow(Y0, "01001", "01001", "f"), PassageRow(Y0, "01003", "01001", "f")]
    ev, _ = _run(before, after, {"01001": 10, "01002": 10, "01003": 2, "01004": 10}, rows)
    assert _short(ev) == [("transfert", S, [T], [S], ["01001"], 2)]


def test_split_commune_pieces_follow_their_own_epci():
    # 01001 (in S) splits: 01005 (40 %) is carved out and joins T.
    before = {"01001": S, "01002": T}
    after = {"01001": S, "01005": T, "01002": T}
    rows = [PassageRow(Y0, "01001", "01001", "d", 0.6), PassageRow(Y0, "01001", "01005", "d", 0.4)]
    ev, li = _run(before, after, {"01001": 100, "01002": 50}, rows)
    assert _short(ev) == [("transfert", T, [S], [T], ["01005"], 40)]
    edge = next(r for r in li if (r["epci_siren_avant"], r["epci_siren_apres"]) == (S, T))
    assert edge["share_communes_avant"] == 0.4 and edge["share_population_avant"] == 0.4


def test_unknown_populations_fall_back_to_commune_counts():
    ev, li = _run({"01001": A, "01002": A, "01003": B}, {"01001": N, "01002": N, "01003": N}, {})
    assert _short(ev) == [("fusion", N, [A, B], [N], ["01001", "01002", "01003"], None)]
    assert all(r["share_population_avant"] is None for r in li)


def test_an_epci_with_a_commune_of_unknown_population_is_weighed_by_commune_count():
    # B's communes: 01003 (unknown population), 01004, 01005. By commune count, 2 of 3 go to S.
    ev, li = _run(
        {"01001": S, "01002": S, "01003": B, "01004": B, "01005": B},
        {"01001": S, "01002": S, "01003": S, "01004": S, "01005": T},
        {"01001": 5, "01002": 5, "01004": 1, "01005": 1000},
    )
    # (by population B would go to T, its 1000-inhabitant commune; by count, to S)
    assert _short(ev) == [
        ("creation", T, [B], [T], ["01005"], 1000),
        ("fusion", S, [B, S], [S], ["01001", "01002", "01003", "01004"], None),
    ]
    edge = next(r for r in li if (r["epci_siren_avant"], r["epci_siren_apres"]) == (B, S))
    assert edge["share_population_avant"] is None and edge["population"] is None
    assert next(r for r in li if (r["epci_siren_avant"], r["epci_siren_apres"]) == (S, S))["share_population_avant"] == 1.0


# One hand-made composition per operation type the DGCL counts, with every column of every event and
# lineage edge (docs/methodology.md, Territory, reconciliation).


def _event(kind, siren, preds, succs, communes, population, perimetre=None, nature="CC", nature_avant=None, year_name=None):
    return {
        "annee": Y1,
        "type_evenement": kind,
        "epci_siren": siren,
        "epci_nom": f"nom {siren}",
        "epci_nature": nature,
        "epci_nature_avant": nature_avant,
        "predecessors": preds,
        "successors": succs,
        "n_predecessors": len(preds),
        "communes": communes,
        "n_communes": len(communes),
        "population": population,
        "perimetre_identique": perimetre,
    }


def _edges(lineage):
    """(avant, apres) -> (n_communes, population, share_communes_avant, share_population_avant, share_population_apres, meme_siren, absorbed)"""
    return {
        (r["epci_siren_avant"], r["epci_siren_apres"]): (
            r["n_communes"],
            r["population"],
            r["share_communes_avant"],
            r["share_population_avant"],
            r["share_population_apres"],
            r["meme_siren"],
            r["absorbed"],
        )
        for r in lineage
    }


def test_operation_fusion_two_cc_into_a_new_ca():
    ev, li = _run(
        {"01001": A, "01002": A, "01003": B, "01004": C},
        {"01001": N, "01002": N, "01003": N, "01004": C},
        {"01001": 100, "01002": 50, "01003": 250, "01004": 10},
        natures={(Y1, N): "CA"},
    )
    assert ev == [_event("fusion", N, [A, B], [N], ["01001", "01002", "01003"], 400, perimetre=True, nature="CA")]
    assert _edges(li) == {
        (A, N): (2, 150, 1.0, 1.0, 150 / 400, False, True),
        (B, N): (1, 250, 1.0, 1.0, 250 / 400, False, True),
        (C, C): (1, 10, 1.0, 1.0, 1.0, True, True),
    }


def test_operation_fusion_extension_with_a_commune_of_a_surviving_epci_and_an_isolated_one():
    # A + B fuse into N, which also takes 01004 from D (D survives) and the isolated commune 01007.
    before = {"01001": A, "01002": A, "01003": B, "01004": C, "01005": C, "01006": C, "01007": None}
    after = {"01001": N, "01002": N, "01003": N, "01004": N, "01005": C, "01006": C, "01007": N}
    pop = {"01001": 100, "01002": 50, "01003": 250, "01004": 10, "01005": 200, "01006": 100, "01007": 40}
    ev, li = _run(before, after, pop)
    assert ev == [
        _event("extension", N, [], [N], ["01007"], 40),
        _event("fusion", N, [A, B], [N], ["01001", "01002", "01003"], 400, perimetre=False),
        _event("transfert", N, [C], [N], ["01004"], 10),
    ]
    assert _edges(li) == {
        (A, N): (2, 150, 1.0, 1.0, 150 / 450, False, True),
        (B, N): (1, 250, 1.0, 1.0, 250 / 450, False, True),
        (C, N): (1, 10, 1 / 3, 10 / 310, 10 / 450, False, False),
        (None, N): (1, 40, 1.0, 1.0, 40 / 450, False, False),
        (C, C): (2, 300, 2 / 3, 300 / 310, 1.0, True, True),
    }


def test_operation_dissolution_communes_spread_over_three_epci():
    # D vanishes, each of its three communes joins another EPCI: no successor takes more than half of it.
    before = {"01001": D, "01002": D, "01003": D, "01004": S, "01005": T, "01006": U}
    after = {"01001": S, "01002": T, "01003": U, "01004": S, "01005": T, "01006": U}
    pop = {"01001": 5, "01002": 5, "01003": 5, "01004": 20, "01005": 20, "01006": 20}
    ev, li = _run(before, after, pop)
    assert ev == [
        _event("dissolution", D, [D], [S, T, U], ["01001", "01002", "01003"], 15),
        _event("extension", S, [D], [S], ["01001"], 5, nature_avant="CC"),
        _event("extension", T, [D], [T], ["01002"], 5, nature_avant="CC"),
        _event("extension", U, [D], [U], ["01003"], 5, nature_avant="CC"),
    ]
    third = pytest.approx(1 / 3)
    assert _edges(li) == {
        **{(D, x): (1, 5, third, third, 0.2, False, False) for x in (S, T, U)},
        **{(x, x): (1, 20, 1.0, 1.0, 0.8, True, True) for x in (S, T, U)},
    }


def test_operation_dissolution_with_a_majority_successor_is_typed_as_absorbed():
    # D vanishes, 60 % of it joins S (which keeps its SIREN), 40 % joins T: the mart reads a fusion at S
    # (D absorbed) and an extension at T; in law it may be a dissolution (the reconciliation lists it).
    before = {"01001": D, "01002": D, "01004": S, "01005": T}
    after = {"01001": S, "01002": T, "01004": S, "01005": T}
    ev, li = _run(before, after, {"01001": 6, "01002": 4, "01004": 20, "01005": 20})
    assert ev == [
        _event("extension", T, [D], [T], ["01002"], 4, nature_avant="CC"),
        _event("fusion", S, [D, S], [S], ["01001", "01004"], 26, perimetre=False, nature_avant="CC"),
    ]
    assert {k: v[-1] for k, v in _edges(li).items()} == {(D, S): True, (D, T): False, (S, S): True, (T, T): True}


def test_operation_transformation_same_perimeter_new_nature():
    ev, li = _run(
        {"01001": A, "01002": A, "01003": C},
        {"01001": A, "01002": A, "01003": C},
        {"01001": 70, "01002": 30, "01003": 5},
        natures={(Y0, A): "CA", (Y1, A): "CU"},
    )
    assert ev == [_event("transformation", A, [A], [A], ["01001", "01002"], 100, perimetre=True, nature="CU", nature_avant="CA")]
    assert _edges(li) == {(A, A): (2, 100, 1.0, 1.0, 1.0, True, True), (C, C): (1, 5, 1.0, 1.0, 1.0, True, True)}


def test_operation_transformation_with_a_change_of_perimeter():
    # CC A becomes a CA and takes a commune of C: a transformation (perimeter changed) and a transfer.
    ev, _ = _run(
        {"01001": A, "01002": C, "01003": C},
        {"01001": A, "01002": A, "01003": C},
        {"01001": 70, "01002": 10, "01003": 20},
        natures={(Y1, A): "CA"},
    )
    assert ev == [
        _event("transfert", A, [C], [A], ["01002"], 10, nature="CA", nature_avant="CC"),
        _event("transformation", A, [A], [A], ["01001"], 70, perimetre=False, nature="CA", nature_avant="CC"),
    ]


def test_operation_withdrawal_of_a_commune_to_another_epci_or_to_none():
    # 01002 leaves S for T (a transfer, from T's side); 01003 leaves S for no EPCI (a retrait).
    ev, li = _run(
        {"01001": S, "01002": S, "01003": S, "01004": T},
        {"01001": S, "01002": T, "01003": None, "01004": T},
        {"01001": 50, "01002": 10, "01003": 5, "01004": 30},
    )
    assert ev == [
        _event("retrait", S, [S], [], ["01003"], 5),
        _event("transfert", T, [S], [T], ["01002"], 10, nature_avant="CC"),
    ]
    assert _edges(li) == {
        (S, S): (1, 50, 1 / 3, 50 / 65, 1.0, True, True),
        (S, T): (1, 10, 1 / 3, 10 / 65, 0.25, False, False),
        (S, None): (1, 5, 1 / 3, 5 / 65, 1.0, False, False),
        (T, T): (1, 30, 1.0, 1.0, 0.75, True, True),
    }


def test_transfers_from_several_donors_make_one_row_per_receiving_epci():
    ev, _ = _run(
        {"01001": S, "01002": S, "01003": T, "01004": T, "01005": U},
        {"01001": S, "01002": U, "01003": T, "01004": U, "01005": U},
        {"01001": 10, "01002": 1, "01003": 10, "01004": 2, "01005": 10},
    )
    assert _short(ev) == [("transfert", U, [S, T], [U], ["01002", "01004"], 3)]
    assert ev[0]["n_predecessors"] == 2
