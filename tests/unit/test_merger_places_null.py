"""The merger study's places outcome never pretends: unknown places of associations are NULL, not 0, and
an EPCI whose associations' places are unknown in any year is left out of the places estimate."""

import polars as pl

from assets.marts.merger import _panel_frame


def test_places_of_associations_unknown_when_associations_have_no_known_place():
    rows = []
    # A: 1 of 2 associations with places; B: no association; C: associations, none with places in 2018; D: nothing known
    for annee, places_a, c_with in ((2017, 20.0, 1), (2018, 30.0, 0)):
        rows += [
            ("A", annee, "traite", 2, 5, 2, places_a, 3, 1),
            ("B", annee, "controle", 0, 4, 0, None, 2, 0),
            ("C", annee, "controle", 3, 6, 3, 10.0 if c_with else None, 4, c_with),
            ("D", annee, "traite", 1, 2, 1, None, 0, 0),
        ]
    panel = pl.DataFrame(
        rows,
        orient="row",
        schema=[
            "epci_siren",
            "annee",
            "groupe",
            "n_associations",
            "n_facilities",
            "n_ess",
            "places_associations_raw",
            "n_with_places",
            "n_associations_with_places",
        ],
    )
    covariates = pl.DataFrame({"epci_siren": ["A", "B", "C", "D"], "population": [1e4, 2e4, 3e4, 4e4], "code_region": ["11"] * 4})
    frame, note = _panel_frame(panel, covariates, 2017, "places_associations", "facility_weighted")
    assert sorted(frame.get_column("unit").unique().to_list()) == ["A", "B"]
    y = {(u, a): v for u, a, v in frame.select("unit", "annee", "y").iter_rows()}
    assert y[("A", 2018)] == 50.0  # 30 places against 20 on the cohort year: +50 %
    assert "known every year" in note
