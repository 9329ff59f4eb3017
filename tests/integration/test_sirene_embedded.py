"""The SIRENE graph materialized on the embedded synthetic sample (with the territory assets it
needs), in a private data directory: every blocking check passes and the tables agree with what
the generator wrote into its manifest. Read from the session's one embedded run (``embedded_world``,
tests/conftest.py), which builds the whole graph."""

import json
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "raw" / "sirene" / "embedded"
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def run(embedded_world):
    """The session's one embedded run (tests/conftest.py), as (result, build database)."""
    return embedded_world.result, embedded_world.build


def _materialization(result, key: str) -> dict:
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION" and event.asset_key.to_user_string() == key:
            return {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
    raise AssertionError(f"{key} not materialized")


def test_every_step_and_blocking_check_passes(run):
    result, _ = run
    failures = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures == []
    checks = {
        e.event_specific_data.asset_key.to_user_string(): e.event_specific_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.asset_key.path[1].startswith(("sirene", "facility", "operator"))
        and e.event_specific_data.asset_key.path[0] != "marts"
        and e.event_specific_data.asset_key.path[1] != "facility_territory_years"
    }
    assert checks == {
        "stg/sirene_etablissement_periodes": True,
        "stg/sirene_etablissements": True,
        "stg/sirene_unite_legale_periodes": True,
        "stg/sirene_unites_legales": True,
        "stg/sirene_successions": True,
        "int/operator_years": True,
        "int/facility_years": True,
        "int/facility_years_hors_champ": True,
    }


def test_facility_years_match_the_generator_year_by_year(run):
    """The generator's calibration counts every facility whatever its code: the 88.91A ones and those it
    planted under their operator's code (scope_truth.csv.gz). It also writes crèche enseignes on periods
    under other codes (before a late recoding to 88.91A, after leaving it, and on a few successor
    establishments never coded 88.91A) without counting them; the scope rule takes those of public and
    associative operators in as nom_eaje too. So the calibration is compared with the naf_88_91A rows and
    the planted nom_eaje rows, and every nom_eaje row is checked for what it is."""
    _, con = run
    planted = pl.read_csv(SAMPLE / MANIFEST["planted_scope"]["file"], schema_overrides={"siret": pl.String}).filter("in_scope")
    per_year = dict(
        con.execute(
            """
            select annee, count(*) from int.facility_years
            where scope_reason = 'naf_88_91A' or (scope_reason = 'nom_eaje' and siret in (select unnest(?::varchar[])))
            group by 1
            """,
            [planted["siret"].to_list()],
        ).fetchall()
    )
    assert min(per_year) == 2010 and max(per_year) == 2026
    for year, cal in MANIFEST["calibration"].items():
        assert per_year[int(year)] == cal["in_scope_facilities"], year
    by_name = con.execute(
        """
        select count(*), count(*) filter (where o.sector <> 'public' and o.operator_class <> 'ess_association'),
               count(*) filter (where p.activite_principale = '88.91A')
        from int.facility_years f
        join int.operator_years o using (siren, annee)
        join stg.sirene_etablissement_periodes p
          on p.siret = f.siret and coalesce(p.date_debut, date '0001-01-01') <= make_date(f.annee, 1, 1)
         and (p.date_fin is null or p.date_fin >= make_date(f.annee, 1, 1))
        where f.scope_reason = 'nom_eaje'
        """
    ).fetchall()[0]
    assert by_name[0] > 0 and by_name[1:] == (0, 0), by_name  # only public or associative, never under 88.91A that day


def test_planted_effect_outcome_is_exactly_what_the_generator_says(run):
    """Active associative EAJE per treated 2017 EPCI, as the marts will count them from these tables."""
    _, con = run
    treated = MANIFEST["planted_effect"]["treated_epci_2017"]
    rows = dict(
        con.execute(
            """
            select f.annee, count(*) from int.facility_years f
            join int.operator_years o using (siren, annee)
            join int.commune_code_map c on c.code_commune = f.code_commune_releve and c.annee = 2017
            join stg.epci_membership m on m.annee = 2017 and m.code_commune = c.code_commune_annee
            where o.operator_class = 'ess_association' and m.epci_siren in (select unnest(?::varchar[]))
              and f.scope_reason = 'naf_88_91A'  -- the generator's truth counts 88.91A facilities
            group by 1
            """,
            [treated],
        ).fetchall()
    )
    truth = MANIFEST["planted_effect"]["true_effect_by_year"]
    assert {str(y): n for y, n in rows.items() if str(y) in truth} == {y: v["actual_total"] for y, v in truth.items()}


def test_scope_exclusions_are_counted_in_metadata(run):
    result, con = run
    meta = _materialization(result, "int/facility_years")
    excluded = meta["excluded_by_reason"]
    # operateur_hors_champ: companies' establishments named as crèches under another code (the generator's
    # recodings away from 88.91A keep the enseigne), listed for review; service_administratif: the planted
    # "SERVICE PETITE ENFANCE - CRECHES" (the only planted look-alikes whose name the extraction selects)
    assert set(excluded) == {
        "entrepreneur_individuel",
        "mam",
        "relais_petite_enfance",
        "lieu_accueil_enfants_parents",
        "operateur_hors_champ",
        "service_administratif",
    }
    assert excluded == dict(con.execute("select scope_reason, count(*) from int.facility_years_hors_champ group by 1").fetchall())
    assert all(v > 1000 for k, v in excluded.items() if k not in ("lieu_accueil_enfants_parents", "service_administratif"))
    assert con.execute(
        "select count(*) from int.facility_years_hors_champ where scope_reason = 'service_administratif' and nom not like '%CRECHES%'"
    ).fetchone() == (0,)


def test_operator_classification_on_the_sample(run):
    result, con = run
    planted = MANIFEST["bad_input_planted"]
    # the unknown legal category is indetermine (and reported), the missing legal units too
    assert con.execute(
        "select distinct operator_class, rule from int.operator_years where siren = ?", [planted["unknown_legal_category"]["siren"]]
    ).fetchall() == [("indetermine", "cj_inconnue")]
    missing = con.execute(
        "select distinct siren, rule from int.operator_years where siren in (select unnest(?::varchar[]))",
        [planted["legal_units_missing_from_files"]],
    ).fetchall()
    assert sorted(missing) == sorted((s, "unite_legale_absente") for s in planted["legal_units_missing_from_files"])
    # CCAS wrongly flagged ESS stay public
    assert con.execute(
        "select distinct sector from int.operator_years where siren in (select unnest(?::varchar[])) and annee >= 2016",
        [planted["public_bodies_flagged_ess"]],
    ).fetchall() == [("public",)]
    meta = _materialization(result, "int/operator_years")
    assert meta["unknown_legal_categories"] == ["6999"]
    assert meta["public_with_ess_flag_o"] > 0
    # every known group's facilities are for-profit, and the sectors of 2023 look like the sample's calibration
    share = con.execute(
        """
        select avg(case when o.sector = 'public' then 1.0 else 0 end) from int.facility_years f
        join int.operator_years o using (siren, annee) where f.annee = 2023 and f.type_structure <> 'micro_creche'
        """
    ).fetchone()[0]
    assert abs(share - MANIFEST["calibration"]["2023"]["public_share_of_non_micro_eaje"]) < 0.02
    assert con.execute(
        """
        select count(*) from int.facility_years f join int.operator_years o using (siren, annee)
        where o.rule = 'nom_groupe_lucratif' and o.sector <> 'lucratif'
        """
    ).fetchone() == (0,)


def test_communes_nouvelles_and_pre_merger_codes(run):
    _, con = run
    methods = dict(con.execute("select code_commune_method, count(*) from int.facility_years group by 1").fetchall())
    assert methods.get("absent_du_referentiel", 0) == 0 and methods.get("commune_non_renseignee", 0) == 0
    assert methods["arrondissement"] > 10_000  # Paris, Lyon, Marseille recorded by arrondissement
    assert methods.get("fusion", 0) > 0  # closed establishments recorded with a pre-merger code


def test_successions_are_exactly_the_planted_links_touching_88_91a(run):
    """stg.sirene_successions holds every planted link of an EAJE, none of the town halls' (outside 88.91A); each
    kind told apart by its legal units' categories in StockUniteLegale (an end outside 88.91A has no stg row): an
    association's takeover, a transfer to a 2017 EPCI, to a commune nouvelle; the planted municipalisations (also an
    association's takeover) by their pairs in the manifest."""
    result, con = run
    planted = MANIFEST["planted_successions"]
    ul = f"(select siren, categorieJuridiqueUniteLegale::varchar as cj from read_parquet('{SAMPLE / 'StockUniteLegale_utf8.parquet'}'))"
    kinds = dict(
        con.execute(
            f"""
            select case when list_contains(?::varchar[], l.siret_predecessor || '>' || l.siret_successor) then 'municipalisation_2017'
                        when starts_with(p.cj, '92') then 'takeover_after_closure'
                        when starts_with(s.cj, '734') then 'transfer_epci_2017'
                        else 'transfer_commune_nouvelle' end, count(*)
            from stg.sirene_successions l
            join {ul} p on p.siren = left(l.siret_predecessor, 9)
            join {ul} s on s.siren = left(l.siret_successor, 9)
            group by 1
            """,
            [[f"{p['siret_association']}>{p['siret_public']}" for p in MANIFEST["planted_municipalisations"]["pairs"]]],
        ).fetchall()
    )
    expected = {k: n for k, n in planted["by_kind"].items() if k not in planted["outside_88_91a"]}
    assert kinds == expected
    total = con.execute("select count(*) from stg.sirene_successions").fetchone()[0]
    assert total == sum(expected.values())
    extraction = _materialization(result, "stg/sirene_successions")["extraction"]
    assert (extraction["links_in_file"], extraction["links_kept"]) == (sum(planted["by_kind"].values()), total)
