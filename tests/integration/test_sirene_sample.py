"""The embedded SYNTHETIC SIRENE sample: exact INSEE format, labelled synthetic, reproducible from
the repository alone, looking like France, and carrying a known planted effect."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl

from assets.sirene.schema import STOCK_FILES, SUCCESSION_FILE
from observatory.classification import NAF_EAJE, eaje_scope

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "raw" / "sirene" / "embedded"
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
#: The five publisher files: the four stock files and the succession links.
PUBLISHER_FILES = (*STOCK_FILES, SUCCESSION_FILE)
#: The planted truth of the scope rule (synthetic, not an INSEE file).
SCOPE_TRUTH = SAMPLE / MANIFEST["planted_scope"]["file"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_exact_insee_file_names_columns_and_types():
    con = duckdb.connect()
    for stock in PUBLISHER_FILES:
        path = SAMPLE / stock.filename
        cols = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
        assert [(c[0], c[1]) for c in cols] == list(stock.columns), stock.filename
    expected = [s.filename for s in PUBLISHER_FILES] + ["manifest.json", "PROVENANCE.md", "scope_truth.csv.gz"]
    assert sorted(p.name for p in SAMPLE.iterdir()) == sorted(expected)


def test_manifest_labels_it_synthetic_and_matches_the_files():
    assert MANIFEST["synthetic"] is True
    assert "SYNTHETIC" in MANIFEST["description"]
    assert MANIFEST["generator"] == "scripts/generate_sirene_sample.py" and isinstance(MANIFEST["seed"], int)
    for stock in PUBLISHER_FILES:
        entry = MANIFEST["files"][stock.filename]
        path = SAMPLE / stock.filename
        assert entry["sha256"] == _sha(path) and entry["size"] == path.stat().st_size
        assert entry["url"] == f"https://object.files.data.gouv.fr/data-pipeline-open/siren/stock/{stock.filename}"
    assert "SYNTHETIC" in (SAMPLE / "PROVENANCE.md").read_text(encoding="utf-8").upper()
    assert "SYNTHETIC" in MANIFEST["planted_scope"]["description"]
    assert MANIFEST["planted_scope"]["sha256"] == _sha(SCOPE_TRUTH)


def test_sample_stays_small():
    total = sum((SAMPLE / s.filename).stat().st_size for s in PUBLISHER_FILES)
    assert total < 6_000_000


def test_keys_are_unique_and_every_key_is_valid():
    con = duckdb.connect()
    etab = str(SAMPLE / "StockEtablissement_utf8.parquet")
    hist = str(SAMPLE / "StockEtablissementHistorique_utf8.parquet")
    ul = str(SAMPLE / "StockUniteLegale_utf8.parquet")
    assert con.execute("select count(*) = count(distinct siret) from read_parquet(?)", [etab]).fetchone() == (True,)
    assert con.execute("select count(*) = count(distinct (siret, dateDebut)) from read_parquet(?)", [hist]).fetchone() == (True,)
    assert con.execute("select count(*) = count(distinct siren) from read_parquet(?)", [ul]).fetchone() == (True,)
    # exactly one current period (dateFin null) per establishment
    assert con.execute(
        "select count(*) from (select siret from read_parquet(?) group by siret having count(*) filter (where dateFin is null) <> 1)",
        [hist],
    ).fetchone() == (0,)


def test_planted_effect_is_documented_and_zero_before_it_starts():
    effect = MANIFEST["planted_effect"]
    start = MANIFEST["parameters"]["effect_from"]
    assert MANIFEST["parameters"]["extra_closure"] > 0
    assert effect["n_treated_epci"] == len(effect["treated_epci_2017"]) > 300
    by_year = effect["true_effect_by_year"]
    for year, v in by_year.items():
        if int(year) <= start:  # closures during `start` first show on 1 January start + 1
            assert v["att_count_per_epci"] == 0 and v["actual_total"] == v["counterfactual_total"]
        else:
            assert v["actual_total"] < v["counterfactual_total"] and v["att_pct_of_2016_level"] < 0
    # the gap widens every year: closures accumulate
    gaps = [by_year[str(y)]["counterfactual_total"] - by_year[str(y)]["actual_total"] for y in range(start, 2027)]
    assert gaps == sorted(gaps)


def test_looks_like_france():
    cal = MANIFEST["calibration"]
    # DREES: about 18,900 EAJE in 2023 (collective, familial, parental); ONAPE: ~7,100 micro-crèches
    assert 17_000 < cal["2023"]["in_scope_facilities"] < 20_000
    assert 6_500 < cal["2023"]["by_segment"]["micro"] < 7_500
    # collectivities run about 55 % of PSU crèches; for-profit places ~6 % around 2015, 15-20 % in 2023
    assert 0.50 < cal["2023"]["public_share_of_non_micro_eaje"] < 0.62
    assert 0.04 < cal["2015"]["lucratif_share_of_places_at_typical_sizes"] < 0.09
    assert 0.15 <= cal["2023"]["lucratif_share_of_places_at_typical_sizes"] <= 0.20


def test_facilities_follow_caf_places_and_rural_communes_mostly_have_none():
    con = duckdb.connect()
    con.execute(
        f"""
        create table active19 as
        select e.codeCommuneEtablissement as code, count(*) as n
        from '{SAMPLE}/StockEtablissementHistorique_utf8.parquet' h join '{SAMPLE}/StockEtablissement_utf8.parquet' e using (siret)
        where h.dateDebut <= date '2019-01-01' and (h.dateFin is null or h.dateFin >= date '2019-01-01')
          and h.etatAdministratifEtablissement = 'A' and h.activitePrincipaleEtablissement = '88.91A'
          and h.enseigne1Etablissement is not null
          and not regexp_matches(h.enseigne1Etablissement, '^(MAM|RELAIS|LIEU|GARDE|\\[ND\\])')
        group by 1
        """
    )
    corr = con.execute(
        f"""
        select corr(coalesce(a.n, 0), try_cast(c.places_EAJE_PSU as double) + try_cast(c.places_hors_EAJE_PSU as double))
        from '{REPO}/data/raw/caf/embedded/nbpla_pe_com_2017_2022.parquet' c left join active19 a on a.code = c.num_commune
        where c.date_reference = '2019'
        """
    ).fetchone()[0]
    assert corr > 0.85
    small_with, small = con.execute(
        f"""
        select count(a.code), count(*) from '{REPO}/data/raw/cog/embedded/communes_pop_2015_2024.parquet' c
        left join active19 a on a.code = c.CODGEO where c.cog_year = 2019 and c.POP < 1000
        """
    ).fetchone()
    assert small > 20_000 and small_with / small < 0.03


def test_history_carries_the_changes_the_pipeline_must_handle():
    con = duckdb.connect()
    hist = f"{SAMPLE}/StockEtablissementHistorique_utf8.parquet"
    ulh = f"{SAMPLE}/StockUniteLegaleHistorique_utf8.parquet"
    to_88, from_88 = con.execute(
        f"""
        with p as (select siret, dateDebut, activitePrincipaleEtablissement a,
                          lag(activitePrincipaleEtablissement) over (partition by siret order by dateDebut) prev
                   from '{hist}')
        select count(*) filter (where a = '88.91A' and prev not in ('88.91A', '85.3K')),
               count(*) filter (where prev = '88.91A' and a <> '88.91A')
        from p
        """
    ).fetchone()
    assert to_88 > 100 and from_88 > 100
    scic = con.execute(
        f"""
        select count(*) from (select siren, categorieJuridiqueUniteLegale cj,
               lag(categorieJuridiqueUniteLegale) over (partition by siren order by dateDebut) prev from '{ulh}')
        where prev in ('9220', '9260') and cj = '5710'
        """
    ).fetchone()[0]
    assert scic >= 10
    planted = MANIFEST["bad_input_planted"]
    ul = f"{SAMPLE}/StockUniteLegale_utf8.parquet"
    assert con.execute(
        f"select count(*) from '{ul}' where siren in (select unnest(?::varchar[]))", [planted["legal_units_missing_from_files"]]
    ).fetchone() == (0,)
    assert con.execute(f"select count(*) from '{ul}' where categorieJuridiqueUniteLegale = 1000").fetchone()[0] > 1000


def test_generator_reproduces_the_committed_files(tmp_path):
    """Seeded and reading only the repository: regenerating gives byte-identical Parquet files."""
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_sirene_sample.py"), "--out", str(tmp_path)],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    for stock in PUBLISHER_FILES:
        assert _sha(tmp_path / stock.filename) == MANIFEST["files"][stock.filename]["sha256"], stock.filename
    regenerated = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert regenerated["planted_effect"] == MANIFEST["planted_effect"]
    assert regenerated["planted_successions"] == MANIFEST["planted_successions"]
    assert regenerated["planted_scope"] == MANIFEST["planted_scope"]
    assert regenerated["planted_municipalisations"] == MANIFEST["planted_municipalisations"]
    assert _sha(tmp_path / SCOPE_TRUTH.name) == MANIFEST["planted_scope"]["sha256"]


def test_succession_links_name_real_establishments_of_the_sample():
    """Every link joins two establishments of StockEtablissement: the predecessor closed (on or before the link
    date; a transfer closes and opens on the same day), the successor opened on the link date; one row per link."""
    con = duckdb.connect()
    links, etab = str(SAMPLE / SUCCESSION_FILE.filename), str(SAMPLE / "StockEtablissement_utf8.parquet")
    n, distinct, bad = con.execute(
        """
        select count(*), count(distinct (l.siretEtablissementPredecesseur, l.siretEtablissementSuccesseur, l.dateLienSuccession)),
               count(*) filter (where p.siret is null or s.siret is null or p.etatAdministratifEtablissement <> 'F'
                                or p.dateDebut > l.dateLienSuccession or s.dateCreationEtablissement <> l.dateLienSuccession)
        from read_parquet(?) l
        left join read_parquet(?) p on p.siret = l.siretEtablissementPredecesseur
        left join read_parquet(?) s on s.siret = l.siretEtablissementSuccesseur
        """,
        [links, etab, etab],
    ).fetchone()
    assert (
        n == distinct == sum(MANIFEST["planted_successions"]["by_kind"].values()) == MANIFEST["counts"]["StockEtablissementLiensSuccession"]
    )
    assert bad == 0


def test_planted_municipalisations_are_linked_public_creches_of_the_same_commune_in_treated_epcis():
    """Each planted municipalisation, read from the files: an associative 88.91A crèche of a treated 2017 EPCI
    closes from 2017, a crèche of the commune or the EPCI (88.91A, active on the stock date) opens in the same
    commune 0-92 days later and before 31 December, with a link of economic continuity from one to the other."""
    planted = MANIFEST["planted_municipalisations"]
    pairs = pl.DataFrame(planted["pairs"]).select("siret_association", "siret_public")
    con = duckdb.connect()
    con.register("pairs", pairs.to_arrow())
    etab, units = str(SAMPLE / "StockEtablissement_utf8.parquet"), str(SAMPLE / "StockUniteLegale_utf8.parquet")
    epci = str(REPO / "data" / "raw" / "insee_epci" / "embedded" / "appartenance_epci_2015_2019.parquet")
    rows = con.execute(
        """
        select year(a.dateDebut) + 1 as to_year, count(*) as n,
               count(*) filter (where
                   a.etatAdministratifEtablissement = 'F' and a.activitePrincipaleEtablissement = '88.91A'
                   and ua.categorieJuridiqueUniteLegale in (9220, 9260) and year(a.dateDebut) >= 2017
                   and m.EPCI in (select unnest(?::varchar[]))
                   and b.codeCommuneEtablissement = a.codeCommuneEtablissement
                   and b.dateCreationEtablissement between a.dateDebut and a.dateDebut + interval 92 day
                   and year(b.dateCreationEtablissement) = year(a.dateDebut)
                   and b.etatAdministratifEtablissement = 'A' and b.activitePrincipaleEtablissement = '88.91A'
                   and b.enseigne1Etablissement like 'CRECHE %'
                   and (ub.categorieJuridiqueUniteLegale = 7210 or ub.categorieJuridiqueUniteLegale between 7343 and 7349)
                   and l.continuiteEconomique and l.dateLienSuccession = b.dateCreationEtablissement) as n_ok
        from pairs p
        join read_parquet(?) a on a.siret = p.siret_association
        join read_parquet(?) b on b.siret = p.siret_public
        join read_parquet(?) ua on ua.siren = a.siren
        join read_parquet(?) ub on ub.siren = b.siren
        left join read_parquet(?) m on m.annee = 2017 and m.CODGEO = a.codeCommuneEtablissement
        left join read_parquet(?) l
          on l.siretEtablissementPredecesseur = p.siret_association and l.siretEtablissementSuccesseur = p.siret_public
        group by 1 order by 1
        """,
        [MANIFEST["planted_effect"]["treated_epci_2017"], etab, etab, units, units, epci, str(SAMPLE / SUCCESSION_FILE.filename)],
    ).fetchall()
    assert all(n == n_ok for _, n, n_ok in rows), rows
    assert {str(y): n for y, n, _ in rows} == {y: n for y, n in planted["count_by_to_year"].items() if n}
    assert len(pairs) == pairs.n_unique() == MANIFEST["planted_successions"]["by_kind"]["municipalisation_2017"] > 50
    # the truth is on the merger study's scale: takeovers per 100 associative EAJE of the treated EPCIs in 2017
    base = planted["associative_eaje_treated_2017"]
    assert base == MANIFEST["planted_effect"]["true_effect_by_year"]["2017"]["actual_total"]
    rate = planted["true_effect_pour_100_2017_by_year"]
    assert rate == {y: round(100.0 * n / base, 4) for y, n in planted["count_by_to_year"].items()}
    assert planted["true_effect_pour_100_2017_pooled"] == round(sum(rate.values()) / len(rate), 4) > 0


def _scope_of_planted_sirets() -> pl.DataFrame:
    """The planted truth beside what eaje_scope says of every period of those sirets (legal unit: its
    current period, as the rule's own unit tests feed it)."""
    truth = pl.read_csv(SCOPE_TRUTH, schema_overrides={"siret": pl.String})
    periods = pl.read_parquet(SAMPLE / "StockEtablissementHistorique_utf8.parquet").join(truth.select("siret"), on="siret")
    units = (
        pl.read_parquet(SAMPLE / "StockUniteLegaleHistorique_utf8.parquet")
        .filter(pl.col("dateFin").is_null())
        .select("siren", "categorieJuridiqueUniteLegale", "denominationUniteLegale")
    )
    scoped = (
        eaje_scope(periods.join(units, on="siren", how="left"))
        .group_by("siret")
        .agg(
            predicted=pl.col("in_scope").any(),
            reasons=pl.col("scope_reason").unique(),
            coded_88_91a=(pl.col("activitePrincipaleEtablissement") == NAF_EAJE).any(),
        )
    )
    return truth.join(scoped, on="siret", how="left")


def test_scope_rule_precision_and_recall_against_the_planted_truth():
    planted = MANIFEST["planted_scope"]
    j = _scope_of_planted_sirets()
    assert j.height == planted["in_scope"] + planted["out_of_scope"] and j["predicted"].null_count() == 0
    tp = j.filter(pl.col("predicted") & pl.col("in_scope")).height
    fp = j.filter(pl.col("predicted") & ~pl.col("in_scope")).height
    fn = j.filter(~pl.col("predicted") & pl.col("in_scope")).height
    # the one false positive is the nativity scene the manifest names: the rule cannot tell it from a crèche
    assert (tp, fp, fn) == (planted["in_scope"], len(planted["known_false_positives"]), 0)
    assert j.filter(pl.col("predicted") & ~pl.col("in_scope"))["siret"].to_list() == planted["known_false_positives"]
    assert tp / (tp + fp) >= 0.98 and tp / (tp + fn) >= 0.98
    # every siret for the reason its kind was planted for (each look-alike is excluded by its own pattern)
    assert j.filter((pl.col("reasons").list.len() != 1) | (pl.col("reasons").list.first() != pl.col("expected_scope_reason"))).height == 0
    # what an 88.91A-only selection misses: every planted crèche, which is never coded 88.91A
    assert j.filter(pl.col("in_scope") & pl.col("coded_88_91a")).height == 0
    assert dict(j.group_by("kind").len().iter_rows()) == planted["by_kind"]
