"""marts.facility_transitions on a hand-made world (the merger study's generated territory, tests/unit/test_marts_merger.py,
plus a few facilities whose fate is known): still open, taken over by a commune (found by the name-and-commune
fallback), closed, moved under the same operator, a successor opened too late, and the 2017 groups on each row.
Then the 2017 cohort's takeover rate through the merger estimator: more municipalisations planted in treated EPCIs
after 2017 are recovered."""

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest

from assets.marts import merger, transitions
from tests.unit.test_marts_merger import _world

ASSOC, COMMUNE = "100000001", "200000002"


def _add(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """Facility-years (siret, siren, nom, commune index, first year, last year, closure date, creation date)."""
    out = []
    for siret, siren, nom, c, y0, y1, closed, created in rows:
        cls, sector = ("ess_association", "ess") if siren == ASSOC else ("public_commune", "public")
        for y in range(y0, y1 + 1):
            out.append((siret, siren, y, nom, created, closed, cls, sector, f"01{c:03d}"))
    df = pl.DataFrame(
        out,
        schema={
            "siret": pl.String,
            "siren": pl.String,
            "annee": pl.Int32,
            "nom": pl.String,
            "date_creation": pl.Date,
            "date_fermeture": pl.Date,
            "operator_class": pl.String,
            "sector": pl.String,
            "code_commune_2017": pl.String,
        },
        orient="row",
    )
    con.register("_extra", df.to_arrow())
    con.execute("""insert into int.facility_territory_years by name
                   select e.*, m.epci_siren as epci_siren_2017 from _extra e
                   left join stg.epci_membership m on m.annee = 2017 and m.code_commune = e.code_commune_2017""")
    con.unregister("_extra")


@pytest.fixture(scope="module")
def world():
    con = _world()
    d = dt.date
    _add(
        con,
        [
            # commune 0 is in a 2017 fusion (treated), commune 100 unchanged (control)
            ("90000000000001", ASSOC, "Crèche Les Lutins", 0, 2012, 2016, d(2016, 9, 30), d(2005, 1, 1)),
            ("90000000000002", COMMUNE, "CRECHE LES LUTINS", 0, 2017, 2018, None, d(2016, 11, 2)),  # municipalised
            ("90000000000003", ASSOC, "Halte des Pitchouns", 100, 2012, 2016, d(2016, 6, 1), d(2001, 1, 1)),  # closed
            ("90000000000004", ASSOC, "Les P'tits Loups", 100, 2012, 2016, d(2016, 3, 1), d(2003, 1, 1)),
            ("90000000000005", ASSOC, "les p tits loups", 100, 2017, 2018, None, d(2016, 2, 20)),  # moved, same operator
            ("90000000000006", ASSOC, "Ribambelle", 100, 2012, 2016, d(2016, 1, 15), d(2004, 1, 1)),
            ("90000000000007", COMMUNE, "Ribambelle", 100, 2018, 2018, None, d(2017, 9, 1)),  # opened too late: no match
        ],
    )
    summary = transitions.build_facility_transitions(con)
    return con, summary


def _fate(con, siret, to_year=2018):
    return con.execute(
        "select transition, method, successor_siret, groupe_2017 from marts.facility_transitions where siret = ? and to_year = ?",
        [siret, to_year],
    ).fetchone()


def test_each_fate_and_its_method(world):
    con, summary = world
    assert _fate(con, "90000000000001") == ("public_takeover", "fallback_name_commune", "90000000000002", "traite")
    assert _fate(con, "90000000000003") == ("closed", "none", None, "controle")
    assert _fate(con, "90000000000004") == ("same_operator", "fallback_name_commune", "90000000000005", "controle")
    assert _fate(con, "90000000000006") == ("closed", "none", None, "controle")  # 7.5 months after closure: too late
    assert _fate(con, "90000000000002") is None  # opened after 1 January 2016: not a facility of origin
    # the world's 2016 facilities run to 2018 (its latest year): targets 2018, 2020 and latest collapse to 2018
    assert con.execute("select distinct to_year from marts.facility_transitions").fetchall() == [(2018,)]
    assert summary["by_method"]["fallback_name_commune"] == 2
    # the yearly table follows every year to the next
    assert _yearly(con, "90000000000001") == [
        (2013, "still_open"),
        (2014, "still_open"),
        (2015, "still_open"),
        (2016, "still_open"),
        (2017, "public_takeover"),
    ]


def _yearly(con, siret):
    return con.execute("select to_year, transition from int.facility_transitions_yearly where siret = ? order by 1", [siret]).fetchall()


def test_planted_municipalisations_are_recovered_by_the_merger_estimator():
    # every associative EAJE of the world: from 2017, treated EPCIs see 8 % of them a year taken over by their commune
    # (a new siret under the commune, same name, opened the day after), controls 1 %; before 2017, 1 % everywhere
    con = _world(seed=5)
    rng = np.random.default_rng(6)
    fy = con.execute(
        "select siret, annee, code_commune_2017, epci_siren_2017, nom, operator_class from int.facility_territory_years "
        "where operator_class = 'ess_association' order by siret, annee"
    ).pl()
    treated = {
        r[0] for r in con.execute("select epci_siren from marts.epci_mergers where annee = 2017 and type_evenement = 'fusion'").fetchall()
    }
    drop, add = [], []
    planted = []  # (epci, year, probability of a takeover during that year)

    for (siret,), g in fy.group_by(["siret"], maintain_order=True):
        years = g["annee"].to_list()
        epci = g["epci_siren_2017"][0]
        for y in years[:-1]:
            p = 0.08 if epci in treated and y >= 2017 else 0.01
            planted.append((epci, y, p))
            if rng.random() < p:
                closed = dt.date(y, 6, 1)
                drop.append((siret, y + 1))
                add.append(
                    (
                        f"8{siret[1:]}",
                        COMMUNE,
                        g["nom"][0],
                        int(g["code_commune_2017"][0][2:]),
                        y + 1,
                        2018,
                        None,
                        closed + dt.timedelta(days=1),
                    )
                )
                con.execute("update int.facility_territory_years set date_fermeture = ? where siret = ?", [closed, siret])
                break
    for siret, y in drop:
        con.execute("delete from int.facility_territory_years where siret = ? and annee >= ?", [siret, y])
    _add(con, add)
    transitions.build_facility_transitions(con)
    merger.build_merger_effect(con, seed=7, n_boot=199, covariates=("log_population", "region"))
    did = con.execute(
        "select estimate, ci_low, ci_high, status from marts.merger_effect where cohort = 2017 and outcome = "
        "'public_takeovers' and estimator = 'did'"
    ).fetchone()
    # the world ends in 2018: one post year (takeovers during 2017) against the base year (during 2016), per 100
    # associative EAJE of 1 January 2017 of each group; the planted probabilities give the expected counts
    group = dict(
        con.execute(
            "select distinct epci_siren, groupe = 'traite' from marts.merger_effect_epci "
            "where cohort = 2017 and groupe in ('traite', 'controle')"
        ).fetchall()
    )
    expected = {g: {y: sum(p for e, yy, p in planted if yy == y and group.get(e) is g) for y in (2016, 2017)} for g in (True, False)}
    n17 = {
        g: con.execute(
            "select count(*) from int.facility_territory_years where annee = 2017 and operator_class = "
            "'ess_association' and epci_siren_2017 in ?",
            [[e for e, t in group.items() if t is g]],
        ).fetchone()[0]
        for g in (True, False)
    }
    truth = sum(sign * 100 * (expected[g][2017] - expected[g][2016]) / n17[g] for g, sign in ((True, 1), (False, -1)))
    assert 4 < truth < 7  # 8 against 1 per 100, less the EAJE that close during 2017 before any takeover
    assert did[1] < truth < did[2] and abs(did[0] - truth) < 0.25 * truth and did[1] > 0, (did, truth)
    pre = con.execute(
        "select estimate, ci_low, ci_high from marts.merger_effect where cohort = 2017 and outcome = "
        "'public_takeovers' and estimator = 'event_study' and annee = 2016"
    ).fetchone()
    assert pre[1] < 0 < pre[2]
