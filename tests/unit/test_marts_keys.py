"""Every mart declares its natural key (column spec, data dictionary) and checks it unique, blocking;
every share is on the 0-1 scale and says so."""

from assets.marts import columns as C
from assets.marts import suites
from assets.territory import checks as territory_checks
from assets.territory.sql import KEYS as TERRITORY_KEYS
from observatory.quality import Between, Unique

SUITES = {
    C.FACILITY_TERRITORY_YEARS.table: suites.FACILITY_TERRITORY_YEARS,
    C.ESS_MARKET_SHARE.table: suites.ESS_MARKET_SHARE,
    C.CHILDCARE_SUPPLY.table: suites.CHILDCARE_SUPPLY,
    C.MERGER_EFFECT.table: suites.MERGER_EFFECT,
    C.MERGER_EFFECT_EPCI.table: suites.MERGER_EFFECT_EPCI,
    C.OPERATORS.table: suites.OPERATORS,
    C.FACILITIES.table: suites.FACILITIES,
    C.EPCI_INDICATORS.table: suites.EPCI_INDICATORS,
    C.SOURCES.table: suites.SOURCES,
    C.FACILITY_TRANSITIONS.table: suites.FACILITY_TRANSITIONS,
}


def _unique_keys(suite) -> set[tuple[str, ...]]:
    return {tuple(s.columns) for s in suite if isinstance(s, Unique)}


def test_every_mart_checks_its_declared_key_unique():
    assert set(SUITES) == set(C.SPECS)
    for table, spec in C.SPECS.items():
        assert spec.key and set(spec.key) <= set(spec.names), table
        assert spec.key in _unique_keys(SUITES[table]), table
        assert f"Key: ({', '.join(spec.key)})" in C.markdown([spec])


def test_territory_marts_epci_mergers_included_check_their_key():
    assert TERRITORY_KEYS["marts.epci_mergers"] == ("annee", "type_evenement", "epci_siren")
    by_table = {
        "marts.epci_mergers": territory_checks.MERGERS_SUITE,
        "marts.epci_lineage": territory_checks.LINEAGE_SUITE,
        "marts.commune_epci": territory_checks.COMMUNE_EPCI_SUITE,
    }
    for table, suite in by_table.items():
        assert TERRITORY_KEYS[table] in _unique_keys(suite), table


def test_every_share_is_a_0_1_share_and_checked_so():
    for table, spec in C.SPECS.items():
        checked = {s.column for s in SUITES[table] if isinstance(s, Between) and (s.min_value, s.max_value) == (0, 1)}
        for col in spec.columns:
            if col.name.startswith("share_") and col.type == "DOUBLE":
                assert col.unit == "share (0-1)", (table, col.name)
                if table != C.MERGER_EFFECT.table:  # estimates of share changes may be negative
                    assert col.name in checked, (table, col.name)
