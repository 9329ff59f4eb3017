"""marts.facility_transitions on a hand-made world (the merger study's generated territory, tests/unit/test_marts_merger.py,
plus a few facilities whose fate is known): still open, taken over by a commune (found by the name-and-commune
fallback), closed, moved under the same operator, a successor opened too late, and the 2017 groups on each row;
SIRENE succession links that beat the fallback, and bad ones (to an unknown siret, cycles, two links, too late).
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


#: (predecessor, successor, date_lien, continuite_economique)
LINKS = [
    ("91000000000001", "91000000000002", dt.date(2016, 9, 1), False),  # the link beats the name fallback (-> 3)
    ("91000000000004", "99999999999999", dt.date(2016, 6, 1), True),  # a siret that is no EAJE
    ("91000000000005", "91000000000006", dt.date(2016, 5, 1), True),
    ("91000000000006", "91000000000005", dt.date(2016, 5, 1), True),
    ("91000000000007", "91000000000008", dt.date(2016, 5, 1), True),
    ("91000000000008", "91000000000007", dt.date(2016, 5, 1), True),
    ("91000000000009", "91000000000010", dt.date(2016, 7, 1), True),
    ("91000000000009", "91000000000011", dt.date(2016, 6, 15), True),  # the earlier link wins
    ("91000000000009", "91000000000010", dt.date(2016, 8, 1), True),  # the same pair again later: still one row
    ("91000000000012", "91000000000013", dt.date(2018, 1, 1), True),  # not before 1 January 2018
]


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
            # succession links (LINKS below), all in commune 100
            ("91000000000001", ASSOC, "Crèche Arc-en-ciel", 100, 2012, 2016, d(2016, 8, 31), d(2002, 1, 1)),
            ("91000000000002", COMMUNE, "Maison de la petite enfance", 100, 2017, 2018, None, d(2016, 9, 1)),  # linked
            ("91000000000003", ASSOC, "Creche Arc en Ciel", 100, 2017, 2018, None, d(2016, 10, 1)),  # the name's pick
            ("91000000000004", ASSOC, "Les Mômes", 100, 2012, 2016, d(2016, 5, 31), d(2002, 1, 1)),  # link to nowhere
            ("91000000000005", ASSOC, "Cycle Un", 100, 2012, 2016, d(2016, 4, 30), d(2002, 1, 1)),  # 5 <-> 6, both closed
            ("91000000000006", ASSOC, "Cycle Deux", 100, 2012, 2016, d(2016, 4, 30), d(2002, 1, 1)),
            ("91000000000007", ASSOC, "Cycle Trois", 100, 2012, 2018, None, d(2002, 1, 1)),  # 7 <-> 8, 7 still open
            ("91000000000008", COMMUNE, "Cycle Quatre", 100, 2012, 2016, d(2016, 4, 30), d(2002, 1, 1)),
            ("91000000000009", ASSOC, "Deux Liens", 100, 2012, 2016, d(2016, 6, 30), d(2002, 1, 1)),  # two links
            ("91000000000010", COMMUNE, "Lien Tardif Cible", 100, 2017, 2018, None, d(2016, 7, 1)),
            ("91000000000011", ASSOC, "Lien Precoce Cible", 100, 2017, 2018, None, d(2016, 7, 1)),
            ("91000000000012", ASSOC, "Lien Daté 2018", 100, 2012, 2016, d(2016, 6, 30), d(2002, 1, 1)),  # link too late
            ("91000000000013", COMMUNE, "Cible 2018", 100, 2017, 2018, None, d(2016, 7, 1)),
        ],
    )
    con.executemany("insert into stg.sirene_successions values (?, ?, ?, false, ?, null)", LINKS)
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


def test_succession_links_first_then_the_fallback_bad_links_ignored(world):
    con, summary = world
    rows = con.execute(
        "select siret, transition, method, successor_siret, date_lien, continuite_economique from marts.facility_transitions "
        "where siret like '91%' order by siret"
    ).fetchall()
    d = dt.date
    assert rows == [
        ("91000000000001", "public_takeover", "succession_link", "91000000000002", d(2016, 9, 1), False),
        ("91000000000004", "closed", "none", None, None, None),
        ("91000000000005", "closed", "none", None, None, None),
        ("91000000000006", "closed", "none", None, None, None),
        ("91000000000007", "still_open", "same_siret", "91000000000007", None, None),
        ("91000000000008", "other_ess_takeover", "succession_link", "91000000000007", d(2016, 5, 1), True),
        ("91000000000009", "same_operator", "succession_link", "91000000000011", d(2016, 6, 15), True),
        ("91000000000012", "closed", "none", None, None, None),
    ]
    assert summary["by_method"]["succession_link"] == 3
    # without the link, the renamed crèche 1 would have gone to the same-name one (the fallback still finds it)
    con.execute("create temp table _keep as select * from stg.sirene_successions")
    con.execute("delete from stg.sirene_successions")
    transitions.build_facility_transitions(con)
    assert _fate(con, "91000000000001")[:3] == ("same_operator", "fallback_name_commune", "91000000000003")
    con.execute("insert into stg.sirene_successions select * from _keep")
    transitions.build_facility_transitions(con)
    assert _fate(con, "91000000000001")[:3] == ("public_takeover", "succession_link", "91000000000002")


def test_one_row_per_facility_and_target_year_whatever_the_links(world):
    con, _ = world
    for t in ("marts.facility_transitions", "int.facility_transitions_yearly"):
        n, distinct = con.execute(f"select count(*), count(distinct (from_year, to_year, siret)) from {t}").fetchone()
        assert n == distinct > 0, t
    # the yearly table applies the same date bound: 12's link (1 January 2018) is not before 1 January 2017 either
    assert _yearly(con, "91000000000012")[-1] == (2017, "closed")
    assert con.execute(
        "select transition, method, successor_siret from int.facility_transitions_yearly where siret = ? and to_year = 2017",
        ["91000000000009"],
    ).fetchone() == ("same_operator", "succession_link", "91000000000011")


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
