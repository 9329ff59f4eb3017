"""Reconciliation with the official counts on hand-made compositions, and the reference file's rules."""

import pytest

from assets.territory.mergers import YearInputs, compare_years
from assets.common.passage import complete_steps
from assets.territory.reconciliation import REFERENCE, load_reference, reconcile
from assets.common.validate import InputError

Y0, Y1 = 2016, 2017
A, B, C, D, K, L, M, N, P, S, T = (f"2000000{i:02d}" for i in range(11))

# 2016 -> 2017, one of each case:
#   A + B -> N (new SIREN)                       certain fusion
#   K absorbs D whole, keeps its SIREN            possible fusion (K) / possible dissolution (D)
#   P shared 60/40 between S and T (both kept)    fusion at S in the mart: possible fusion (S), possible dissolution (P)
#   L shared in three equal parts (C, S, T)       the mart's dissolution: certain
#   M: CA -> CU on the same perimeter             certain transformation (plus the extension from L)
#   C: CC -> CA and takes a commune of L          possible transformation
BEFORE = {
    "01001": A,
    "01002": B,
    "01003": D,
    "01004": K,
    "01005": P,
    "01006": P,
    "01007": S,
    "01008": T,
    "01009": L,
    "01010": L,
    "01011": L,
    "01012": M,
    "01013": C,
}
AFTER = {
    "01001": N,
    "01002": N,
    "01003": K,
    "01004": K,
    "01005": S,
    "01006": T,
    "01007": S,
    "01008": T,
    "01009": C,
    "01010": S,
    "01011": T,
    "01012": M,
    "01013": C,
}
POP = {
    "01001": 10,
    "01002": 10,
    "01003": 5,
    "01004": 50,
    "01005": 6,
    "01006": 4,
    "01007": 30,
    "01008": 30,
    "01009": 5,
    "01010": 5,
    "01011": 5,
    "01012": 40,
    "01013": 40,
}
NATURE = {Y0: {M: "CA", C: "CC"}, Y1: {N: "CA", M: "CU", C: "CA"}}


def _world():
    epci = {y: {e: (f"nom {e}", NATURE[y].get(e, "CC")) for e in set(m.values())} for y, m in ((Y0, BEFORE), (Y1, AFTER))}
    steps = complete_steps({Y0: set(BEFORE), Y1: set(AFTER)}, [])
    years = {
        y: YearInputs(m, POP if y == Y0 else {}, {e: v[0] for e, v in epci[y].items()}, {e: v[1] for e, v in epci[y].items()})
        for y, m in ((Y0, BEFORE), (Y1, AFTER))
    }
    events, lineage = compare_years(Y1, years[Y0], years[Y1], steps[Y0])
    return events, lineage, epci


def _ref(annee, kind, item, n, diff=0, note=""):
    return {
        "annee": annee,
        "kind": kind,
        "item": item,
        "n_official": n,
        "documented_difference": diff,
        "source": "hand-made",
        "source_url": "",
        "note": note,
    }


def test_the_composition_gives_the_intended_mart_rows():
    events, _, _ = _world()
    assert sorted((e["type_evenement"], e["epci_siren"]) for e in events) == sorted(
        [
            ("fusion", N),
            ("fusion", K),
            ("fusion", S),
            ("extension", S),
            ("extension", T),
            ("dissolution", L),
            ("extension", C),
            ("transformation", M),
            ("transformation", C),
        ]
    )


def test_operation_counts_their_compatible_range_and_the_epci_behind_it():
    events, lineage, epci = _world()
    official = [
        _ref(Y1, "operation", "fusion", 3),
        _ref(Y1, "operation", "dissolution", 5),
        _ref(Y1, "operation", "transformation", 2, diff=-1, note="why"),
    ]
    summary, detail = reconcile(events, lineage, epci, official)
    ops = {
        r["item"]: (r["n_official"], r["n_observed"], r["n_compatible_min"], r["n_compatible_max"], r["status"])
        for r in summary
        if r["kind"] == "operation"
    }
    assert ops == {
        "fusion": (3, 3, 1, 5, "compatible"),  # N certain; K, S, T and C took in (part of) a vanished EPCI
        "dissolution": (5, 1, 1, 3, "different"),  # L certain; D (absorbed by K), P (shared) possible
        "transformation": (2, 2, 1, 2, "compatible"),  # M certain, C with a change of perimeter
        "total": (None, 6, 3, 10, "no_official_figure"),
    }
    assert sorted((d["item"], d["epci_siren"], d["certain"]) for d in detail) == sorted(
        [
            ("fusion", N, True),
            ("fusion", K, False),
            ("fusion", S, False),
            ("fusion", T, False),
            ("fusion", C, False),
            ("dissolution", L, True),
            ("dissolution", D, False),
            ("dissolution", P, False),
            ("transformation", M, True),
            ("transformation", C, False),
        ]
    )
    by_key = {(d["item"], d["epci_siren"]): d for d in detail}
    assert by_key[("dissolution", P)]["note"].startswith(f"shared between 2 successors, the largest part absorbed by {S}")
    assert by_key[("dissolution", D)]["epci_nom"] == f"nom {D}" and by_key[("dissolution", D)]["type_evenement"] is None
    assert (
        by_key[("transformation", M)]["note"] == "CA -> CU, same perimeter"
        and by_key[("transformation", M)]["type_evenement"] == "transformation"
    )
    assert by_key[("transformation", C)]["note"] == "CC -> CA, with a change of perimeter (counted with its other rows)"


def test_counts_by_nature_equal_documented_different_or_unknown():
    events, lineage, epci = _world()
    official = [
        _ref(Y0, "nature", "CC", 9),
        _ref(Y0, "nature", "CA", 1),
        _ref(Y1, "nature", "CC", 4, diff=-1, note="one CC became a CA after the publication"),
        _ref(Y1, "nature", "CA", 3),
        _ref(Y1, "nature", "SA", 0),
    ]
    summary, _ = reconcile(events, lineage, epci, official)
    natures = {(r["annee"], r["item"]): (r["n_official"], r["n_observed"], r["status"]) for r in summary if r["kind"] == "nature"}
    assert natures == {
        (Y0, "CC"): (9, 9, "equal"),
        (Y0, "CA"): (1, 1, "equal"),
        (Y1, "CC"): (4, 3, "documented_difference"),
        (Y1, "CA"): (3, 2, "different"),
        (Y1, "CU"): (None, 1, "no_official_figure"),
        (Y1, "SA"): (0, 0, "equal"),
    }


def test_an_official_figure_for_a_year_without_data_is_an_error():
    events, lineage, epci = _world()
    with pytest.raises(InputError, match=r"official figures for \[\(2019, 'nature', 'CC'\)\]"):
        reconcile(events, lineage, epci, [_ref(2019, "nature", "CC", 1)])


def test_the_reference_file_has_the_2017_wave_and_a_source_for_every_figure():
    rows = load_reference(years=range(2015, 2027))
    got = {(r["kind"], r["item"]): r["n_official"] for r in rows if r["annee"] == 2017}
    assert got == {
        ("nature", "ME"): 14,
        ("nature", "CU"): 15,
        ("nature", "CA"): 218,
        ("nature", "CC"): 1019,
        ("nature", "SA"): 0,
        ("nature", "MET69"): 1,
        ("operation", "fusion"): 493,
        ("operation", "dissolution"): 76,
        ("operation", "transformation"): 4,
        ("operation", "total"): 573,
    }
    by_year = {}
    for r in rows:
        if r["kind"] == "nature" and r["item"] != "MET69":
            by_year.setdefault(r["annee"], {})[r["item"]] = r["n_official"]
    assert by_year[2018] == {"ME": 21, "CU": 11, "CA": 222, "CC": 1009, "SA": 0}
    assert by_year[2020] == {"ME": 21, "CU": 14, "CA": 222, "CC": 997, "SA": 0}
    official_totals = {
        2016: 2062,
        2017: 1266,
        2018: 1263,
        2019: 1258,
        2020: 1254,
        2021: 1253,
        2022: 1254,
        2023: 1254,
        2024: 1254,
        2025: 1254,
    }
    assert {y: sum(v.values()) for y, v in by_year.items() if y in official_totals} == official_totals
    assert all(r["source"] and r["source_url"].startswith("http") for r in rows)
    assert [r["item"] for r in rows if r["documented_difference"]] == ["CA", "CC", "transformation"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("annee,kind,item,n_official\n", "columns"),
        ("{h}\n2017,nature,XX,1,0,s,u,\n", "column item is 'XX'"),
        ("{h}\n2017,region,CC,1,0,s,u,\n", "column kind is 'region'"),
        ("{h}\n2017,nature,CC,many,0,s,u,\n", "must be integers"),
        ("{h}\n2017,nature,CC,1,0,,u,\n", "column source is empty"),
        ("{h}\n2017,nature,CC,1,2,s,u,\n", "without a note"),
        ("{h}\n2017,nature,CC,1,0,s,u,\n2017,nature,CC,2,0,s,u,\n", "a second row"),
        ("{h}\n2031,nature,CC,1,0,s,u,\n", "column annee is 2031"),
    ],
)
def test_a_bad_reference_file_names_the_file_the_line_and_the_column(tmp_path, text, message):
    path = tmp_path / "official.csv"
    path.write_text(text.format(h=REFERENCE.read_text(encoding="utf-8").splitlines()[0]), encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        load_reference(path, years=range(2015, 2027))
    assert str(path) in str(info.value)
