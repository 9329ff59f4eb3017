"""The merger study end to end (groups, fixed perimeters, panel, estimation) on a generated territory
with a planted effect: 40 EPCIs formed on 1 January 2017 by fusing pairs of 2016 EPCIs, 100 unchanged,
10 that gained a commune (excluded), 5 pairs that merge in 2018 (their 10 EPCIs are excluded from the 2017 controls).
Associative EAJE close with an annual hazard of 5 % everywhere, plus 10 points in the 2017 fusions
during 2017 (first visible in the count of 1 January 2018): the expected effect on the treated stock in
2018 is -10 % of its 2017 level (-15 % against -5 %)."""

import duckdb
import numpy as np
import polars as pl
import pytest

from assets.marts import build, merger

H_BASE, H_EXTRA = 0.05, 0.10
YEARS = range(2015, 2019)


LINEAGE_SQL = """
-- marts.epci_lineage (only what the merger study reads): an edge between an EPCI of annee-1 and one of annee
-- sharing communes; absorbed when the former vanished or is the same SIREN (assets/territory/mergers.py)
create or replace table marts.epci_lineage as
with cur as (select annee, epci_siren, code_commune from stg.epci_membership where epci_siren is not null),
prev as (
    select m.annee + 1 as annee, m.epci_siren, coalesce(map.code_commune_annee, m.code_commune) as code_commune
    from stg.epci_membership m left join int.commune_code_map map on map.code_commune = m.code_commune and map.annee = m.annee + 1
    where m.epci_siren is not null
),
edges as (select distinct c.annee, p.epci_siren as epci_siren_avant, c.epci_siren as epci_siren_apres from cur c join prev p using (annee, code_commune))
select e.*, (e.epci_siren_avant = e.epci_siren_apres or s.epci_siren is null) as absorbed
from edges e left join (select distinct annee, epci_siren from cur) s on s.annee = e.annee and s.epci_siren = e.epci_siren_avant;
"""


def _world(seed: int = 2017) -> duckdb.DuckDBPyConnection:
    rng = np.random.default_rng(seed)
    con = duckdb.connect()
    for s in ("stg", "int", "marts"):
        con.execute(f"create schema {s}")
    membership = []  # annee, code_commune, epci_siren
    communes = [f"01{c:03d}" for c in range(300)]
    # 2016: one commune per EPCI 240000000 + c for c < 280, the last 20 communes outside EPCIs until extensions
    for y in YEARS:
        for c, code in enumerate(communes):
            if c < 80:  # 40 fusions of pairs on 1 January 2017
                epci = f"{240000000 + c}" if y < 2017 else f"{250000000 + c // 2}"
            elif c < 180:  # 100 unchanged
                epci = f"{240000000 + c}"
            elif c < 190:  # 10 extensions in 2017: each gains commune c + 10
                epci = f"{240000000 + c}"
            elif c < 200:  # the communes they gain, outside any EPCI before
                epci = None if y < 2017 else f"{240000000 + c - 10}"
            elif c < 210:  # 5 pairs unchanged in 2017, merged on 1 January 2018
                epci = f"{240000000 + c}" if y < 2018 else f"{260000000 + (c - 200) // 2}"
            else:
                epci = f"{240000000 + c}"
            membership.append((y, code, epci))
    m = pl.DataFrame(membership, schema={"annee": pl.Int32, "code_commune": pl.String, "epci_siren": pl.String}, orient="row")
    con.register("m", m.to_arrow())
    con.execute(
        "create table stg.epci_membership as select annee, code_commune, epci_siren, 'EPCI ' || epci_siren as epci_nom, 'CC' as epci_nature, 'gen' as source from m"
    )
    con.execute(
        "create table stg.communes as select annee, code_commune, 'C' || code_commune as nom_commune, '01' as code_departement, '84' as code_region, 1000::bigint as population, 'gen' as source from m"
    )
    con.execute(
        "create table stg.epci as select annee, epci_siren, any_value(epci_nom) as epci_nom, 'CC' as epci_nature, count(*)::integer as n_communes, 1000::bigint as population, true as epci_a_fiscalite_propre from stg.epci_membership where epci_siren is not null group by all"
    )
    con.execute(
        "create table int.commune_code_map as select distinct code_commune, y.annee::integer as annee, code_commune as code_commune_annee, 'identique' as method, false as estimated from m, range(2015, 2019) y(annee)"
    )
    fusions = [
        (2017, f"{250000000 + k}", [f"{240000000 + 2 * k}", f"{240000000 + 2 * k + 1}"], [communes[2 * k], communes[2 * k + 1]])
        for k in range(40)
    ]
    fusions += [
        (2018, f"{260000000 + k}", [f"{240000200 + 2 * k}", f"{240000200 + 2 * k + 1}"], [communes[200 + 2 * k], communes[201 + 2 * k]])
        for k in range(5)
    ]
    ext = [(2017, f"{240000000 + c}", [f"{240000000 + c}"], [communes[c], communes[c + 10]]) for c in range(180, 190)]
    rows = [(y, "fusion", e, p, cs) for y, e, p, cs in fusions] + [(y, "extension", e, p, cs) for y, e, p, cs in ext]
    ev = pl.DataFrame(
        rows,
        schema={
            "annee": pl.Int32,
            "type_evenement": pl.String,
            "epci_siren": pl.String,
            "predecessors": pl.List(pl.String),
            "communes": pl.List(pl.String),
        },
        orient="row",
    )
    con.register("ev", ev.to_arrow())
    con.execute("create table marts.epci_mergers as select * from ev")
    con.execute(LINEAGE_SQL)  # the predecessor count of the merger study comes from marts.epci_lineage

    # facilities 2012-2018: 2 public per commune (stable), associations closing with the planted hazard
    treated_communes = set(communes[:80])
    facilities, n = [], 0
    for code in communes:
        for _ in range(2):
            n += 1
            facilities += [(f"{20000000000000 + n}", "200000002", y, code) for y in range(2012, 2019)]
        for _ in range(int(rng.integers(4, 12))):
            n += 1
            for y in range(2012, 2019):
                facilities.append((f"{10000000000000 + n}", "100000001", y, code))
                hazard = H_BASE + (
                    H_EXTRA if code in treated_communes and y >= 2017 else 0.0
                )  # closes during y -> absent on 1 January y + 1
                if rng.random() < hazard:
                    break
    fy = pl.DataFrame(
        facilities, schema={"siret": pl.String, "siren": pl.String, "annee": pl.Int32, "code_commune": pl.String}, orient="row"
    )
    con.register("fy", fy.to_arrow())
    con.execute("""create table int.facility_years as select siret, siren, annee, code_commune as code_commune_releve, code_commune,
                   'identique' as code_commune_method, 'EAJE ' || siret as nom, date '2000-01-01' as date_creation,
                   null::date as date_fermeture, 'creche' as type_structure,
                   'naf_88_91A' as scope_reason from fy""")
    con.execute("""create table int.operator_years as select * from (values
        ('100000001', 'ess_association', 'ess'), ('200000002', 'public_commune', 'public')) o(siren, operator_class, sector),
        (select range::integer as annee from range(2010, 2019)) y
        """)
    con.execute(
        "create or replace table int.operator_years as select siren, annee, '9220' as categorie_juridique, null as ess_flag, "
        "siren as denomination, operator_class, sector, 'gen' as rule, 'gen' as rules_version from int.operator_years"
    )
    con.execute("create table stg.caf_places_commune (caf_annee integer, code_commune varchar, places_eaje double)")
    con.execute(
        "create table stg.sirene_successions (siret_predecessor varchar, siret_successor varchar, date_lien date, "
        "transfert_siege boolean, continuite_economique boolean, date_dernier_traitement timestamp)"
    )
    build.build_facility_territory_years(con)
    return con


@pytest.fixture(scope="module")
def study():
    con = _world()
    # This world's treated EPCIs are pairs of communes and every control a single one: their facility counts do not
    # overlap, and one noisy count taken as "size" only adds regression to the mean. The study conditions on
    # population and region here (constant in this world: noted and unused), i.e. the unconditional DiD.
    summary = merger.build_merger_effect(con, seed=99, n_boot=199, covariates=("log_population", "region"))
    return con, summary


def test_groups_treated_control_and_excluded(study):
    con, summary = study
    # controls: 100 unchanged + 90 others never changed (communes 210-299); excluded: 10 extensions + 10 merging again in 2018
    assert summary["cohorts"][2017] == {"fusions": 40, "traite": 40, "controle": 190, "exclu": 20}
    groups = dict(
        con.execute("select groupe, count(distinct epci_siren) from marts.merger_effect_epci where cohort = 2017 group by 1").fetchall()
    )
    assert groups == {"traite": 40, "controle": 190, "exclu": 20}
    reasons = dict(
        con.execute(
            "select exclusion_reason, count(distinct epci_siren) from marts.merger_effect_epci "
            "where cohort = 2017 and groupe = 'exclu' group by 1"
        ).fetchall()
    )
    assert reasons == {"extension": 10, "fusion_ulterieure": 10}


def test_planted_effect_is_recovered_within_the_interval(study):
    con, _ = study
    rows = con.execute(
        "select annee, event_time, estimate, ci_low, ci_high, n_treated, n_control, status from marts.merger_effect "
        "where cohort = 2017 and outcome = 'n_associations' and estimand = 'ecart_relatif_pct' "
        "and weighting = 'facility' and estimator = 'event_study' order by annee"
    ).fetchall()
    assert [(r[0], r[1], r[7]) for r in rows if r[0] >= 2017] == [(2017, 0, "reference"), (2018, 1, "estimated")]
    truth = -100 * H_EXTRA  # -15 % against -5 % of the 2017 stock
    _, _, est, lo, hi, n_t, n_c, _ = rows[-1]
    assert lo < truth < hi and hi < 0, (est, lo, hi)
    assert (n_t, n_c) == (40, 190)
    did = con.execute(
        "select estimate, ci_low, ci_high, period_start, annee from marts.merger_effect where cohort = 2017 "
        "and outcome = 'n_associations' and estimand = 'ecart_relatif_pct' and estimator = 'did'"
    ).fetchone()
    assert did[3:] == (2018, 2018) and did[1] < truth < did[2]  # post years only: 2017 (the merger day) is the reference
    diag = dict(
        con.execute(
            "select estimator, status from marts.merger_effect where cohort = 2017 and outcome = 'n_associations' "
            "and estimand = 'ecart_relatif_pct' and row_kind = 'diagnostic' and estimator <> 'leave_one_out'"
        ).fetchall()
    )
    assert diag == {"pre_test_joint": "pass", "pre_trend_slope": "pass", "placebo": "pass", "max_weight_share": "pass"}
    n_loo = con.execute(
        "select count(*) from marts.merger_effect where cohort = 2017 and estimand = 'ecart_relatif_pct' "
        "and outcome = 'n_associations' and estimator = 'leave_one_out'"
    ).fetchone()[0]
    assert n_loo == 10
    # the unit-weighted estimand (average EPCI) exists beside it and covers the same planted change
    unit = con.execute(
        "select ci_low, ci_high from marts.merger_effect where cohort = 2017 and outcome = 'n_associations' "
        "and estimand = 'ecart_relatif_pct_epci' and weighting = 'unit' and estimator = 'did'"
    ).fetchone()
    assert unit[0] < truth < unit[1]


def test_places_outcome_not_estimable_without_caf_history_and_small_cohort_reported(study):
    con, _ = study
    note = con.execute("select status, note from marts.merger_effect where cohort = 2017 and outcome = 'places_associations'").fetchall()
    assert len(note) == 1 and note[0][0] == "not_estimable" and "0 treated and 0 control units" in note[0][1]
    assert "places are known every year since the cohort year only" in note[0][1]
    small = con.execute("select distinct status, n_treated, note from marts.merger_effect where cohort = 2018").fetchall()
    assert small == [
        (
            "not_estimable",
            5,
            "5 EPCI(s) formed by fusion on 1 January 2018 and 240 control EPCIs: fewer than 10 treated "
            "/ 10 control clusters, too few for a cluster bootstrap",
        )
    ]
