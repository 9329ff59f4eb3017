"""The merger study's places outcome never pretends: unknown places of associations are NULL, not 0."""

import polars as pl

from assets.marts.merger import _outcome_values


def test_places_of_associations_null_when_unknown_zero_only_when_there_is_none():
    panel = pl.DataFrame({
        "epci_siren": ["A", "B", "C", "D"], "annee": [2019] * 4, "groupe": ["traite"] * 4,
        "n_associations": [2, 0, 3, 1], "n_facilities": [5, 4, 6, 2], "n_ess": [2, 0, 3, 1],
        # A: 1 of 2 associations with places; B: no association; C: associations, none with places; D: nothing known
        "places_associations_raw": [20.0, None, None, None], "n_with_places": [3, 2, 4, 0],
        "n_associations_with_places": [1, 0, 0, 0],
    })
    y = dict(_outcome_values(panel, "places_associations").select("epci_siren", "y").iter_rows())
    assert y == {"A": 20.0, "B": 0.0, "C": None, "D": None}
