"""Commune passage: completing yearly steps, chaining them across years, reading any code in any year."""

import pytest

from assets.common.passage import (
    PLM_ARRONDISSEMENTS,
    PassageError,
    PassageRow,
    code_map,
    complete_steps,
    forward_codes,
    passage_from_links,
)

# A small history, one change a year:
# 2016: B merges into A (A keeps its code);   2017: C changes code to E;
# 2018: A splits, F is carved out (30 %);     2019: D and E merge into a new code G.
CODES = {
    2015: {"01001", "01002", "01003", "01004"},
    2016: {"01001", "01003", "01004"},
    2017: {"01001", "01005", "01004"},
    2018: {"01001", "01006", "01005", "01004"},
    2019: {"01001", "01006", "01007"},
}
A, B, C, D, E, F, G = "01001", "01002", "01003", "01004", "01005", "01006", "01007"
ROWS = [
    PassageRow(2015, A, A, "f"),
    PassageRow(2015, B, A, "f"),
    PassageRow(2016, C, E, "c"),
    PassageRow(2017, A, A, "d", 0.7),
    PassageRow(2017, A, F, "d", 0.3),
    PassageRow(2018, D, G, "f"),
    PassageRow(2018, E, G, "f"),
]
POP = {2018: {D: 900.0, E: 300.0}, 2015: {A: 100.0, B: 50.0}}


def _as_dict(rows):
    return {(code, year): (target, method, est, ref) for code, year, target, method, est, ref in rows}


@pytest.fixture(scope="module")
def mapped():
    steps = complete_steps(CODES, ROWS)
    return _as_dict(code_map(CODES, steps, POP, arrondissements={}))


def test_complete_steps_makes_unchanged_codes_explicit():
    steps = complete_steps(CODES, ROWS)
    assert [(e.code_to, e.typemodif, e.ratio) for e in steps[2015][D]] == [(D, "=", 1.0)]
    assert [(e.code_to, e.typemodif, e.ratio) for e in steps[2017][A]] == [(A, "d", 0.7), (F, "d", 0.3)]


def test_forward_chain_across_several_years_is_exact(mapped):
    # B (last seen 2015) -> A in 2016 (fusion) -> in 2018 A split, A kept its code: estimated from then on.
    assert mapped[(B, 2016)] == (A, "fusion", False, 2015)
    assert mapped[(B, 2017)] == (A, "fusion", False, 2015)
    assert mapped[(B, 2018)] == (A, "scission_code_conserve", True, 2015)
    # C (last seen 2016) -> E (code change) -> G (fusion): exact all the way.
    assert mapped[(C, 2017)] == (E, "changement_code", False, 2016)
    assert mapped[(C, 2019)] == (G, "fusion", False, 2016)


def test_backward_over_a_fusion_is_estimated(mapped):
    # G (2019) before its creation: D had 900 inhabitants, E 300 -> D, the largest predecessor.
    assert mapped[(G, 2018)] == (D, "retour_part_majoritaire", True, 2019)
    assert mapped[(G, 2015)] == (D, "retour_part_majoritaire", True, 2019)
    # A (2019) before B merged into it: A kept the code.
    assert mapped[(A, 2015)] == (A, "retour_code_conserve", True, 2019)
    assert mapped[(A, 2016)] == (A, "identique", False, 2019)


def test_backward_over_a_split_is_exact(mapped):
    # F was carved out of A in 2018: looked at before, it lay inside A.
    assert mapped[(F, 2017)] == (A, "scission_origine", False, 2019)
    # ... and before B merged into A, still inside A (A kept its code): estimated only by the fusion rule.
    assert mapped[(F, 2015)] == (A, "retour_code_conserve", True, 2019)


def test_backward_over_a_code_change_is_exact(mapped):
    # E (last seen 2018) before 2017 was C.
    assert mapped[(E, 2016)] == (C, "changement_code", False, 2018)


def test_every_code_has_every_year_and_is_itself_in_its_reference_year(mapped):
    codes = {c for c, _ in mapped}
    assert codes == {A, B, C, D, E, F, G}
    assert all((c, y) in mapped for c in codes for y in CODES)
    assert mapped[(D, 2018)] == (D, "identique", False, 2018)
    assert mapped[(D, 2019)] == (G, "fusion", False, 2018)


def test_arrondissements_map_to_their_commune_every_year():
    codes = {y: {"75056", "69123", "13055"} for y in (2015, 2016)}
    rows = _as_dict(code_map(codes, complete_steps(codes, [])))
    assert rows[("75112", 2016)] == ("75056", "arrondissement", False, 2016)
    assert rows[("69381", 2015)] == ("69123", "arrondissement", False, 2016)
    assert rows[("13216", 2015)][0] == "13055"
    assert len(PLM_ARRONDISSEMENTS) == 45


def test_forward_codes_for_data_in_an_old_geography():
    steps = complete_steps(CODES, ROWS)
    assert forward_codes(steps, 2015, 2019, [B, C, D]) == {B: (A, "scission_code_conserve"), C: (G, "fusion"), D: (G, "fusion")}


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "commune 01002 of 2015 is absent from 2016 and no passage row"),
        ([PassageRow(2015, "01002", "09999", "f")], "lead to ['09999']"),
        (
            [PassageRow(2015, "01009", "01001", "f"), PassageRow(2015, "01002", "01001", "f")],
            "codes ['01009'] change but are not communes of 2015",
        ),
        ([PassageRow(2015, "01002", "01001", "f", 0.5)], "ratios of commune 01002 sum to 0.500000"),
        ([PassageRow(2015, "01002", "01001", "x")], "typemodif 'x'"),
    ],
)
def test_contradictions_between_rows_and_lists_are_errors(rows, message):
    codes = {2015: {"01001", "01002"}, 2016: {"01001"}}
    with pytest.raises(PassageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        complete_steps(codes, rows, source="test")


def test_a_new_code_reached_by_nothing_is_an_error():
    with pytest.raises(PassageError, match=r"communes \['01009'\] of 2016 come from no commune of 2015"):
        complete_steps({2015: {"01001"}, 2016: {"01001", "01009"}}, [])


def test_passage_from_links_fusion_code_change_and_errors():
    before = {"01001", "01002", "01003", "01004"}
    after = {"01001", "01009"}
    links = [("01002", "01001"), ("01003", "01009"), ("01002", "01001"), ("01077", "01001")]
    rows = passage_from_links(2024, before | {"01004"}, after | {"01004"}, links, source="t")
    assert rows == [
        PassageRow(2024, "01002", "01001", "f"),
        PassageRow(2024, "01001", "01001", "f"),
        PassageRow(2024, "01003", "01009", "c"),
    ]
    with pytest.raises(PassageError, match="commune 01004 vanished and its links give no commune of 2025"):
        passage_from_links(2024, before, after, links, source="t")
    with pytest.raises(PassageError, match=r"new commune 01008 has no origin in the links"):
        passage_from_links(2024, {"01001"}, {"01001", "01008"}, [], source="t")


def test_passage_from_links_restored_communes_split_their_chef_lieu_by_population():
    # 2025: Neussargues en Pinatelle (15141) gave back two of its communes déléguées of 2024.
    rows = passage_from_links(
        2024,
        {"15141"},
        {"15141", "15031", "15171"},
        [],
        source="t",
        links_before=[("15031", "15141"), ("15171", "15141"), ("15141", "15141")],
        population_after={"15141": 600, "15031": 300, "15171": 100},
    )
    assert rows == [
        PassageRow(2024, "15141", "15141", "d", 0.6),
        PassageRow(2024, "15141", "15031", "d", 0.3),
        PassageRow(2024, "15141", "15171", "d", 0.1),
    ]
    equal = passage_from_links(2024, {"15141"}, {"15141", "15031"}, [], source="t", links_before=[("15031", "15141")])
    assert [r.ratio for r in equal] == [0.5, 0.5]
