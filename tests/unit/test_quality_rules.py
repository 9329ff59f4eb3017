"""The reusable rule builders (observatory.quality.rules; French identifiers in assets.common.identifiers), each on a tiny DuckDB table: a passing case and a
failing case with the exact number of failing rows and their ``problem``."""

import random

import duckdb
import pytest

from assets.common.identifiers import (
    commune_code,
    epci_siren,
    luhn_sql,
    siren_valid_sql,
    siret_of_siren,
    siret_valid_sql,
    valid_siren,
    valid_siret,
)
from observatory.quality import referential_integrity, run_suite, share_rules, shares_in_unit_interval, shares_sum_to_one, years_covered


def luhn_reference(digits: str) -> bool:
    """Independent Python Luhn: double every second digit from the right, sum the digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 1 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def table(con, name: str, columns: str, rows: list[tuple]) -> str:
    con.execute("create schema if not exists stg")
    con.execute(f"create or replace table stg.{name}({columns})")
    if rows:
        con.executemany(f"insert into stg.{name} values ({', '.join('?' * len(rows[0]))})", rows)
    return f"stg.{name}"


def outcome(con, table_name, spec):
    (o,) = run_suite(con, table_name, [spec])
    return o


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def test_luhn_sql_agrees_with_an_independent_implementation(con):
    rng = random.Random(7)
    numbers = [str(rng.randrange(10**8, 10**9)) for _ in range(400)] + [str(rng.randrange(10**13, 10**14)) for _ in range(400)]
    got = dict(con.execute(f"select x, {luhn_sql('x')} from unnest(?) t(x)", [numbers]).fetchall())
    assert got == {n: luhn_reference(n) for n in numbers}
    assert sum(got.values()) > 40  # both outcomes are exercised (about 1 in 10 numbers is valid)


def test_siren_and_siret_predicates_on_known_identifiers(con):
    cases = {
        "732829320": True,  # INSEE's documentation example
        "732829321": False,
        "356000000": True,  # La Poste's SIREN itself is Luhn-valid
        "12345678": False,
        "73282932A": False,
    }
    got = dict(con.execute(f"select x, {siren_valid_sql('x')} from unnest(?) t(x)", [list(cases)]).fetchall())
    assert got == cases
    siret_cases = {
        "73282932000074": True,  # Luhn
        "73282932000075": False,
        "35600000000048": True,  # La Poste head office: Luhn
        "35600000000001": True,  # La Poste: not Luhn, digit sum 15 (multiple of 5)
        "35600000000002": False,  # La Poste: neither
        "35600000000075": False,  # digit sum 26
    }
    assert not luhn_reference("35600000000001")
    got = dict(con.execute(f"select x, {siret_valid_sql('x')} from unnest(?) t(x)", [list(siret_cases)]).fetchall())
    assert got == siret_cases


def test_the_sql_predicates_evaluate_in_any_query(con):
    def ask(*values):
        return con.execute("select " + ", ".join(values)).fetchone()

    assert ask(siren_valid_sql("'732829320'"), siret_valid_sql("'35600000000001'")) == (True, True)
    assert ask(siren_valid_sql("null::varchar"), siret_valid_sql("null::varchar")) == (False, False)
    assert ask(siren_valid_sql("'732829321'"), siret_valid_sql("'73282932000075'")) == (False, False)


def test_valid_siren_counts_and_explains_failures(con):
    t = table(con, "ul", "siren varchar", [("732829320",), ("356000000",), (None,)])
    assert outcome(con, t, valid_siren("siren")).success
    t = table(con, "ul_bad", "siren varchar", [("732829320",), ("732829321",), ("7328293",), ("73282932X",), (None,)])
    o = outcome(con, t, valid_siren("siren"))
    assert not o.success and o.unexpected_count == 3
    assert sorted((e["siren"], e["problem"]) for e in o.examples) == [
        ("7328293", "not 9 digits"),
        ("732829321", "invalid Luhn key"),
        ("73282932X", "not 9 digits"),
    ]
    assert outcome(con, t, valid_siren("siren", exceptions=["732829321", "7328293", "73282932X"])).success


def test_valid_siret_accepts_la_poste_digit_sum_rule(con):
    t = table(con, "etab", "siret varchar", [("73282932000074",), ("35600000000048",), ("35600000000001",), (None,)])
    assert outcome(con, t, valid_siret("siret")).success
    t = table(con, "etab_bad", "siret varchar", [("73282932000074",), ("73282932000075",), ("35600000000002",), ("7328293200007",)])
    o = outcome(con, t, valid_siret("siret"))
    assert o.unexpected_count == 3
    assert {e["siret"]: e["problem"] for e in o.examples} == {
        "73282932000075": "invalid Luhn key",
        "35600000000002": "invalid key (neither Luhn nor La Poste digit sum)",
        "7328293200007": "not 14 digits",
    }


def test_siret_of_siren(con):
    t = table(con, "e", "siret varchar, siren varchar", [("73282932000074", "732829320"), ("35600000000001", "732829320"), (None, "1")])
    o = outcome(con, t, siret_of_siren("siret", "siren"))
    assert o.unexpected_count == 1 and o.examples[0]["siret"] == "35600000000001"


def test_commune_code_accepts_corsica_drom_and_arrondissements(con):
    codes = ["01001", "2A004", "2B033", "75056", "75101", "69381", "13216", "97101", "97411", "97608", None]
    t = table(con, "c", "code_commune varchar", [(c,) for c in codes])
    assert outcome(con, t, commune_code("code_commune")).success


def test_commune_code_failures_are_explained(con):
    codes = ["20004", "1001", "2C004", "97501", "97701", "75101", "98735", "00100", "96001", "75056"]
    t = table(con, "c_bad", "code_commune varchar", [(c,) for c in codes])
    o = outcome(con, t, commune_code("code_commune"))
    problems = {e["code_commune"]: e["problem"] for e in run_suite_examples(con, t, commune_code("code_commune"))}
    assert o.unexpected_count == 8  # all but the arrondissement 75101 and 75056
    assert problems == {
        "20004": "20xxx: Corsica codes are 2A/2B since 1976",
        "1001": "fewer than 5 characters (leading zero lost?)",
        "2C004": "not a commune code",
        "97501": "overseas collectivity (COM), not a commune of the COG",
        "97701": "overseas collectivity (COM), not a commune of the COG",
        "98735": "overseas collectivity (COM), not a commune of the COG",
        "00100": "not a commune code",
        "96001": "not a commune code",
    }
    strict = outcome(con, t, commune_code("code_commune", arrondissements=False))
    assert strict.unexpected_count == 9
    lenient = outcome(con, t, commune_code("code_commune", overseas_collectivities=True))
    assert lenient.unexpected_count == 5


def run_suite_examples(con, t, spec):
    """All failing rows of a Sql rule (the outcome keeps only a few)."""
    rel = con.execute(f"select * from ({spec.query.replace('{table}', t)})")
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r)) for r in rel.fetchall()]


def test_epci_siren(con):
    t = table(con, "epci", "epci_siren varchar", [("200046977",), ("245900410",), (None,)])
    assert outcome(con, t, epci_siren("epci_siren")).success
    t = table(con, "epci_bad", "epci_siren varchar", [("200046977",), ("732829320",), ("200046978",), ("20004697",), ("ZZZZZZZZZ",)])
    o = outcome(con, t, epci_siren("epci_siren"))
    assert o.unexpected_count == 4
    assert {e["epci_siren"]: e["problem"] for e in o.examples} == {
        "732829320": "not a public body SIREN (EPCI SIRENs start with 2)",
        "200046978": "invalid Luhn key",
        "20004697": "not 9 digits",
        "ZZZZZZZZZ": "not 9 digits",
    }


def test_shares_in_unit_interval_and_sum_to_one_per_group(con):
    rows = [
        ("200046977", 2017, "ess", 0.25),
        ("200046977", 2017, "public", 0.5),
        ("200046977", 2017, "prive", 0.25),
        ("245900410", 2017, "ess", 1.0),
        ("200000172", 2017, "ess", None),
        ("200000172", 2017, "public", None),  # no facility: undefined, not checked
        ("200046977", 2018, "ess", 0.1),
        ("200046977", 2018, "public", 0.2),
        ("200046977", 2018, "prive", 0.7),
    ]
    t = table(con, "share", "epci_siren varchar, annee integer, sector varchar, share double", rows)
    assert all(o.success for o in run_suite(con, t, share_rules("share", ["epci_siren", "annee"])))

    bad = rows[:-1] + [("200046977", 2018, "prive", 0.6), ("245900410", 2018, "ess", 1.2), ("245900410", 2018, "public", -0.2)]
    t = table(con, "share_bad", "epci_siren varchar, annee integer, sector varchar, share double", bad)
    interval = outcome(con, t, shares_in_unit_interval("share"))
    assert interval.unexpected_count == 2
    assert sorted(e["share"] for e in interval.examples) == [-0.2, 1.2]
    summed = outcome(con, t, shares_sum_to_one("share", ["epci_siren", "annee"]))
    # 200046977/2018 sums to 0.9; 245900410/2018 sums to 1.0 (1.2 - 0.2) but is caught by the interval rule
    assert summed.unexpected_count == 1
    assert summed.examples[0]["epci_siren"] == "200046977" and summed.examples[0]["annee"] == 2018
    assert summed.examples[0]["share_sum"] == pytest.approx(0.9)


def test_shares_sum_to_one_needs_groups():
    with pytest.raises(ValueError, match="group columns"):
        shares_sum_to_one("share", [])


def test_years_covered(con):
    t = table(con, "y", "annee integer", [(y,) for y in (2015, 2016, 2016, 2017)])
    assert outcome(con, t, years_covered("annee", range(2015, 2018))).success
    o = outcome(con, t, years_covered("annee", range(2015, 2020)))
    assert o.unexpected_count == 2 and [e["annee"] for e in o.examples] == [2018, 2019]
    assert {e["problem"] for e in o.examples} == {"missing year"}
    o = outcome(con, t, years_covered("annee", [2016, 2017]))
    assert o.unexpected_count == 1 and o.examples == [{"annee": 2015, "problem": "unexpected year"}]
    assert outcome(con, t, years_covered("annee", [2016, 2017], exact=False)).success


def test_years_covered_accepts_years_stored_as_text(con):
    t = table(con, "y_text", "annee varchar", [("2019",), ("2020",)])
    assert outcome(con, t, years_covered("annee", [2019, 2020])).success


def test_referential_integrity_threshold_and_reasons(con):
    table(
        con,
        "epci_membership",
        "annee integer, code_commune varchar, epci_siren varchar",
        [(2017, f"01{i:03d}", "200000001") for i in range(1, 199)],
    )
    rows = [(2017, f"01{i:03d}", None) for i in range(1, 199)]  # 198 rows found
    rows += [(2017, "99001", "commune inconnue du COG"), (2017, None, "commune manquante")]  # 2 explained
    t = table(con, "facility", "annee integer, code_commune varchar, reason varchar", rows)
    spec = referential_integrity(["annee", "code_commune"], "stg.epci_membership", min_share=0.99, reason_column="reason")
    assert outcome(con, t, spec).success  # 198/200 = 99 %, the rest explained

    # Same share, one row without a reason: only that row fails.
    t = table(con, "facility_noreason", "annee integer, code_commune varchar, reason varchar", rows[:-1] + [(2017, None, None)])
    o = outcome(con, t, spec)
    assert o.unexpected_count == 1
    assert o.examples[0]["problem"] == "not in stg.epci_membership and no reason given"
    assert (o.examples[0]["n_joined"], o.examples[0]["n_rows"]) == (198, 200)

    # Below the threshold: every row not found fails, reason or not.
    strict = referential_integrity(["annee", "code_commune"], "stg.epci_membership", min_share=0.995, reason_column="reason")
    o = outcome(con, t, strict)
    assert o.unexpected_count == 2
    assert all("joined share 0.99 below 0.995" in e["problem"] for e in o.examples)


def test_referential_integrity_with_other_column_names_and_where(con):
    table(con, "epci", "annee integer, epci_siren varchar", [(2017, "200046977"), (2018, "200046977")])
    t = table(con, "mart", "annee integer, siren_epci varchar", [(2016, "245900410"), (2017, "200046977"), (2018, "245900410")])
    spec = referential_integrity(["annee", "siren_epci"], "stg.epci", ["annee", "epci_siren"], where="annee >= 2017")
    o = outcome(con, t, spec)
    assert o.unexpected_count == 1 and (o.examples[0]["annee"], o.examples[0]["siren_epci"]) == (2018, "245900410")


def test_builders_refuse_unsafe_identifiers():
    with pytest.raises(ValueError, match="invalid column name"):
        valid_siren("siren; drop table x")
    with pytest.raises(ValueError, match="invalid table name"):
        referential_integrity(["a"], "stg.x; drop table y")
