"""The SIRENE loader, operator-years and facility-years on tiny Parquet files in the real INSEE
schema (every column, in order, with its Parquet type), with hand-checked expected rows."""

import datetime as dt

import duckdb
import polars as pl
import pytest

from assets.sirene import checks
from assets.sirene.extract import SireneFiles, extract_establishments, extract_legal_units, latest_stock_year
from assets.sirene.facility_years import build_facility_years
from assets.sirene.identifiers import siren, siret
from assets.sirene.operators import build_operator_years
from assets.sirene.schema import (
    ETABLISSEMENT_FILE,
    ETABLISSEMENT_HISTORIQUE_FILE,
    UNITE_LEGALE_FILE,
    UNITE_LEGALE_HISTORIQUE_FILE,
    write_stock_parquet,
)
from observatory.quality import run_suite

D = dt.date
TS = dt.datetime(2022, 11, 30, 8, 0)

# Legal units
PARIS = siren("21750001")  # commune (7210)
ASSO = siren("30000001")  # association (9220), flag O from 2016
SAS = siren("40000001")  # SAS (5710)
SARL = siren("40000002")  # SARL (5499)
EI = siren("80000001")  # individual entrepreneur (1000)
MAM = siren("30000002")  # association running a MAM
REUNION = siren("21974110")  # commune (7210)
GHOST = siren("50000001")  # legal unit missing from the UL files
ASSO_X = siren("30000003")  # association (9220), commune code unknown to the map
ASSO_R = siren("30000004")  # association RUP (9230), closed then reopened
SHOP = siren("60000001")  # a shop, never childcare
CCAS = siren("26000001")  # centre communal d'action sociale (7361)
ASSO_H = siren("30000005")  # association (9220) registered under its own code 94.99Z
SAS_C = siren("40000003")  # SAS (5710) whose establishment is named crèche

# Establishments
E1 = siret(PARIS, 1)  # municipal crèche, always 88.91A, Paris 12e (arrondissement code)
MAIRIE = siret(PARIS, 2)  # the town hall: 84.11Z, never selected
E2 = siret(ASSO, 1)  # activity changed TO 88.91A on 2013-07-01
E3 = siret(SAS, 1)  # activity changed FROM 88.91A on 2017-01-01
E4 = siret(SARL, 1)  # closed on 2018-04-01, recorded with its pre-merger commune code
E5 = siret(EI, 1)  # childminder
E6 = siret(MAM, 1)  # MAM
E7 = siret(REUNION, 1)  # relais petite enfance
E9 = siret(GHOST, 1)  # legal unit missing
E10 = siret(ASSO_X, 1)  # commune code absent from the map
E12 = siret(ASSO_R, 1)  # closed 2013-2014, reopened 2015
E8 = siret(SHOP, 1)  # never 88.91A
# EAJE registered under another code (issue 9): selected by their own name, scoped by eaje_scope
E13 = siret(PARIS, 3)  # municipal crèche registered under the commune's 84.11Z: in, nom_eaje
E14 = siret(CCAS, 1)  # CCAS multi-accueil under 88.99B: in, nom_eaje
E15 = siret(ASSO_H, 1)  # association halte-garderie under 94.99Z: in, nom_eaje
E16 = siret(PARIS, 4)  # relais petite enfance under 84.11Z: no EAJE name, never selected
E17 = siret(SAS_C, 1)  # a company's crèche under 70.10Z: out, operateur_hors_champ


def _period(s, start, end, etat, naf, *, enseigne=None, change_etat=False, change_naf=False, nomenclature="NAFRev2"):
    return {
        "siren": s[:9],
        "nic": s[9:],
        "siret": s,
        "dateDebut": start,
        "dateFin": end,
        "etatAdministratifEtablissement": etat,
        "changementEtatAdministratifEtablissement": change_etat,
        "enseigne1Etablissement": enseigne,
        "changementEnseigneEtablissement": False,
        "activitePrincipaleEtablissement": naf,
        "nomenclatureActivitePrincipaleEtablissement": nomenclature,
        "changementActivitePrincipaleEtablissement": change_naf,
    }


ETAB_HISTORY = [
    _period(E1, D(2005, 3, 1), None, "A", "88.91A", enseigne="CRECHE COLLECTIVE DIDEROT"),
    _period(MAIRIE, D(1983, 1, 1), None, "A", "84.11Z"),
    _period(E2, D(2009, 1, 1), D(2013, 6, 30), "A", "88.99B", enseigne="LES PETITS LOUPS"),
    _period(E2, D(2013, 7, 1), None, "A", "88.91A", enseigne="LES PETITS LOUPS", change_naf=True),
    _period(E3, D(2012, 2, 1), D(2016, 12, 31), "A", "88.91A", enseigne="MICRO-CRECHE LES LUTINS"),
    _period(E3, D(2017, 1, 1), None, "A", "85.59B", enseigne="MICRO-CRECHE LES LUTINS", change_naf=True),
    _period(E4, D(2010, 5, 1), D(2018, 3, 31), "A", "88.91A", enseigne="HALTE-GARDERIE DU BOURG"),
    _period(E4, D(2018, 4, 1), None, "F", "88.91A", enseigne="HALTE-GARDERIE DU BOURG", change_etat=True),
    _period(E5, D(2015, 1, 1), None, "A", "88.91A"),
    _period(E6, D(2014, 9, 1), None, "A", "88.91A", enseigne="MAM LES PITCHOUNS"),
    _period(E7, D(2011, 1, 1), None, "A", "88.91A", enseigne="RELAIS PETITE ENFANCE DU SUD"),
    _period(E9, D(2019, 6, 1), None, "A", "88.91A", enseigne="JARDIN D'ENFANTS ARC EN CIEL"),
    _period(E10, D(2016, 1, 1), None, "A", "88.91A", enseigne="MULTI-ACCUEIL LES GALOPINS"),
    _period(E12, D(2008, 1, 1), D(2012, 12, 31), "A", "88.91A", enseigne="CRECHE PARENTALE LES MOUSSES"),
    _period(E12, D(2013, 1, 1), D(2014, 12, 31), "F", "88.91A", enseigne="CRECHE PARENTALE LES MOUSSES", change_etat=True),
    _period(E12, D(2015, 1, 1), None, "A", "88.91A", enseigne="CRECHE PARENTALE LES MOUSSES", change_etat=True),
    _period(E8, D(2000, 1, 1), None, "A", "47.11A"),
    _period(E13, D(2012, 1, 1), None, "A", "84.11Z", enseigne="CRECHE MUNICIPALE LES LUTINS"),
    _period(E14, D(2015, 3, 1), None, "A", "88.99B", enseigne="Multi-accueil Les Dauphins"),
    _period(E15, D(2009, 9, 1), None, "A", "94.99Z", enseigne="HALTE-GARDERIE LES COLOMBES"),
    _period(E16, D(2014, 1, 1), None, "A", "84.11Z", enseigne="RELAIS PETITE ENFANCE"),
    _period(E17, D(2018, 6, 1), None, "A", "70.10Z", enseigne="CRECHE LES PETITS PAS"),
]
# an exact duplicate of a period, as a bad input the loader must reduce and count
ETAB_HISTORY.append(dict(ETAB_HISTORY[3]))


def _stock(s, commune, etat, naf, start, *, enseigne=None, created=None, processed=TS, naf25=None):
    return {
        "siren": s[:9],
        "nic": s[9:],
        "siret": s,
        "statutDiffusionEtablissement": "O",
        "dateCreationEtablissement": created or start,
        "trancheEffectifsEtablissement": "11",
        "dateDernierTraitementEtablissement": processed,
        "etablissementSiege": False,
        "codeCommuneEtablissement": commune,
        "codePostalEtablissement": None,
        "dateDebut": start,
        "etatAdministratifEtablissement": etat,
        "enseigne1Etablissement": enseigne,
        "activitePrincipaleEtablissement": naf,
        "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
        "activitePrincipaleNAF25Etablissement": naf25,
    }


ETAB_STOCK = [
    _stock(E1, "75112", "A", "88.91A", D(2005, 3, 1), enseigne="CRECHE COLLECTIVE DIDEROT", naf25="88.91Y"),
    _stock(MAIRIE, "75056", "A", "84.11Z", D(1983, 1, 1)),
    _stock(E2, "33063", "A", "88.91A", D(2013, 7, 1), created=D(2009, 1, 1), enseigne="LES PETITS LOUPS"),
    _stock(E3, "31555", "A", "85.59B", D(2017, 1, 1), created=D(2012, 2, 1)),
    _stock(E4, "14100", "F", "88.91A", D(2018, 4, 1), created=D(2010, 5, 1)),
    _stock(E5, "59350", "A", "88.91A", D(2015, 1, 1)),
    _stock(E6, "2A004", "A", "88.91A", D(2014, 9, 1)),
    _stock(E7, "97411", "A", "88.91A", D(2011, 1, 1)),
    _stock(E9, "69123", "A", "88.91A", D(2019, 6, 1)),
    _stock(E10, "01999", "A", "88.91A", D(2016, 1, 1)),
    _stock(E12, "35238", "A", "88.91A", D(2015, 1, 1), created=D(2008, 1, 1)),
    _stock(E8, "75056", "A", "47.11A", D(2000, 1, 1)),
    _stock(E13, "75056", "A", "84.11Z", D(2012, 1, 1), enseigne="CRECHE MUNICIPALE LES LUTINS"),
    _stock(E14, "33063", "A", "88.99B", D(2015, 3, 1), enseigne="Multi-accueil Les Dauphins"),
    _stock(E15, "35238", "A", "94.99Z", D(2009, 9, 1), enseigne="HALTE-GARDERIE LES COLOMBES"),
    _stock(E16, "75056", "A", "84.11Z", D(2014, 1, 1), enseigne="RELAIS PETITE ENFANCE"),
    _stock(E17, "31555", "A", "70.10Z", D(2018, 6, 1), enseigne="CRECHE LES PETITS PAS"),
]
# a stale duplicate of E2's stock row (older processing date): reduced to the newest and counted
ETAB_STOCK.append(_stock(E2, "33063", "A", "88.99B", D(2009, 1, 1), processed=dt.datetime(2013, 1, 1)))


def _ul_period(s, start, end, cj, *, ess=None, name=None, etat="A"):
    return {
        "siren": s,
        "dateDebut": start,
        "dateFin": end,
        "etatAdministratifUniteLegale": etat,
        "denominationUniteLegale": name,
        "categorieJuridiqueUniteLegale": cj,
        "changementCategorieJuridiqueUniteLegale": False,
        "economieSocialeSolidaireUniteLegale": ess,
        "changementEconomieSocialeSolidaireUniteLegale": False,
        "activitePrincipaleUniteLegale": "88.91A",
    }


UL_HISTORY = [
    _ul_period(PARIS, None, None, "7210", name="COMMUNE DE PARIS"),
    _ul_period(ASSO, D(2008, 12, 1), D(2015, 12, 31), "9220", name="ASSOCIATION LES PETITS LOUPS"),
    _ul_period(ASSO, D(2016, 1, 1), None, "9220", ess="O", name="ASSOCIATION LES PETITS LOUPS"),
    _ul_period(SAS, D(2012, 1, 15), None, "5710", name="LES LUTINS SAS"),
    _ul_period(SARL, D(2010, 4, 1), D(2018, 3, 31), "5499", name="SARL DU BOURG"),
    _ul_period(SARL, D(2018, 4, 1), None, "5499", name="SARL DU BOURG", etat="C"),
    _ul_period(EI, D(2015, 1, 1), None, "1000"),
    _ul_period(MAM, D(2014, 8, 1), None, "9220", ess="O", name="MAM LES PITCHOUNS"),
    _ul_period(REUNION, None, None, "7210", name="COMMUNE DE SAINT-PIERRE"),
    _ul_period(ASSO_X, D(2015, 11, 1), None, "9220", ess="O", name="LES GALOPINS"),
    _ul_period(ASSO_R, D(2007, 11, 1), None, "9230", ess="O", name="LES MOUSSES"),
    _ul_period(SHOP, D(2000, 1, 1), None, "5499", name="EPICERIE"),
    _ul_period(CCAS, None, None, "7361", name="CCAS DE BORDEAUX"),
    _ul_period(ASSO_H, D(2009, 6, 1), None, "9220", name="LES COLOMBES"),
    _ul_period(SAS_C, D(2018, 5, 1), None, "5710", name="PETITS PAS SAS"),
]


def _ul(s, cj, *, ess=None, name=None, start=D(2000, 1, 1), rna=None, person=None):
    return {
        "siren": s,
        "statutDiffusionUniteLegale": "O",
        "dateCreationUniteLegale": start,
        "identifiantAssociationUniteLegale": rna,
        "dateDebut": start,
        "etatAdministratifUniteLegale": "A",
        "denominationUniteLegale": name,
        "nomUniteLegale": person,
        "prenom1UniteLegale": "MARIE" if person else None,
        "categorieJuridiqueUniteLegale": int(cj),
        "economieSocialeSolidaireUniteLegale": ess,
        "nicSiegeUniteLegale": "00012",
    }


UL_STOCK = [
    _ul(PARIS, "7210", name="COMMUNE DE PARIS"),
    _ul(ASSO, "9220", ess="O", name="ASSOCIATION LES PETITS LOUPS", rna="W751000001"),
    _ul(SAS, "5710", name="LES LUTINS SAS"),
    _ul(SARL, "5499", name="SARL DU BOURG"),
    _ul(EI, "1000", person="DUPONT"),
    _ul(MAM, "9220", ess="O", name="MAM LES PITCHOUNS"),
    _ul(REUNION, "7210", name="COMMUNE DE SAINT-PIERRE"),
    _ul(ASSO_X, "9220", ess="O", name="LES GALOPINS"),
    _ul(ASSO_R, "9230", ess="O", name="LES MOUSSES"),
    _ul(SHOP, "5499", name="EPICERIE"),
    _ul(CCAS, "7361", name="CCAS DE BORDEAUX"),
    _ul(ASSO_H, "9220", name="LES COLOMBES", start=D(2009, 6, 1)),
    _ul(SAS_C, "5710", name="PETITS PAS SAS", start=D(2018, 5, 1)),
]

# int.commune_code_map (territory helper's table), 2015-2022: identity for every code used, the
# Paris arrondissement to Paris, Lyon to itself, and 14100 merged into 14200 on 1 January 2017.
MAP_CODES = ["75056", "33063", "31555", "14200", "59350", "2A004", "97411", "69123", "35238"]


def _commune_map(con):
    rows = []
    for annee in range(2015, 2023):
        rows += [(c, annee, c, "identique", False) for c in MAP_CODES]
        rows.append(("75112", annee, "75056", "arrondissement", False))
        rows.append(("14100", annee, "14100" if annee < 2017 else "14200", "identique" if annee < 2017 else "fusion", False))
    con.execute("create schema if not exists int")
    con.execute(
        "create table int.commune_code_map(code_commune varchar, annee integer, code_commune_annee varchar, method varchar, estimated boolean)"
    )
    con.executemany("insert into int.commune_code_map values (?, ?, ?, ?, ?)", rows)


@pytest.fixture(scope="module")
def stock_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("sirene")
    write_stock_parquet(d / ETABLISSEMENT_FILE.filename, ETABLISSEMENT_FILE, ETAB_STOCK)
    write_stock_parquet(d / ETABLISSEMENT_HISTORIQUE_FILE.filename, ETABLISSEMENT_HISTORIQUE_FILE, ETAB_HISTORY)
    write_stock_parquet(d / UNITE_LEGALE_FILE.filename, UNITE_LEGALE_FILE, UL_STOCK)
    write_stock_parquet(d / UNITE_LEGALE_HISTORIQUE_FILE.filename, UNITE_LEGALE_HISTORIQUE_FILE, UL_HISTORY)
    return d


@pytest.fixture(scope="module")
def built(stock_dir):
    con = duckdb.connect()
    con.execute("create schema stg; create schema int")
    files = SireneFiles.in_dir(stock_dir, con)
    etab = extract_establishments(con, files)
    ul = extract_legal_units(con, files)
    ops = build_operator_years(con)
    _commune_map(con)
    fy = build_facility_years(con)
    yield con, {"etab": etab, "ul": ul, "ops": ops, "fy": fy}
    con.close()


def test_the_tiny_files_have_the_real_schema(stock_dir):
    for stock in (ETABLISSEMENT_FILE, ETABLISSEMENT_HISTORIQUE_FILE, UNITE_LEGALE_FILE, UNITE_LEGALE_HISTORIQUE_FILE):
        cols = duckdb.sql(f"describe select * from '{stock_dir / stock.filename}'").fetchall()
        assert [(c[0], c[1]) for c in cols] == list(stock.columns)
    assert [
        len(s.columns) for s in (UNITE_LEGALE_FILE, ETABLISSEMENT_FILE, UNITE_LEGALE_HISTORIQUE_FILE, ETABLISSEMENT_HISTORIQUE_FILE)
    ] == [35, 54, 28, 18]


def test_selects_every_establishment_ever_in_88_91a_or_named_eaje(built):
    con, s = built
    selected = {r[0] for r in con.execute("select distinct siret from stg.sirene_etablissement_periodes").fetchall()}
    # the town hall, the shop and the relais under 84.11Z (no EAJE word in their names) are not
    assert selected == {E1, E2, E3, E4, E5, E6, E7, E9, E10, E12} | {E13, E14, E15, E17}
    assert s["etab"]["establishments_selected"] == 14
    assert s["etab"]["selected_by_name_only"] == 4
    # all periods are kept, including those outside 88.91A (E2 before, E3 after)
    assert con.execute(
        "select activite_principale from stg.sirene_etablissement_periodes where siret = ? order by date_debut", [E2]
    ).fetchall() == [("88.99B",), ("88.91A",)]
    assert con.execute(
        "select activite_principale from stg.sirene_etablissement_periodes where siret = ? order by date_debut", [E3]
    ).fetchall() == [("88.91A",), ("85.59B",)]
    assert s["etab"]["period_rows"] == 15 + 4
    assert s["etab"]["with_a_period_outside_88_91a"] == 2 + 4


def test_duplicates_are_reduced_and_counted(built):
    con, s = built
    assert s["etab"]["duplicate_periods_removed"] == 1
    assert s["etab"]["duplicate_sirets_removed"] == 1
    # the newest stock row of E2 was kept
    assert con.execute("select activite_principale from stg.sirene_etablissements where siret = ?", [E2]).fetchone() == ("88.91A",)


def test_stock_columns_and_types(built):
    con, s = built
    row = con.execute(
        "select code_commune, date_creation, date_dernier_traitement, activite_principale_naf25 from stg.sirene_etablissements where siret = ?",
        [E1],
    ).fetchone()
    assert row == ("75112", D(2005, 3, 1), TS, "88.91Y")
    assert s["etab"]["files"]["StockEtablissement_utf8.parquet"]["format"] == "3.11 + NAF 2025 (December 2025 onwards)"
    assert latest_stock_year(con) == 2022


def test_legal_units_of_the_selected_establishments_only(built):
    con, s = built
    sirens = {r[0] for r in con.execute("select siren from stg.sirene_unites_legales").fetchall()}
    assert sirens == {PARIS, ASSO, SAS, SARL, EI, MAM, REUNION, ASSO_X, ASSO_R, CCAS, ASSO_H, SAS_C}
    assert s["ul"]["legal_units_missing_from_stock"] == 1
    assert s["ul"]["legal_units_missing_examples"] == [GHOST]
    # categorieJuridiqueUniteLegale is BIGINT in the stock: read as a 4-character code
    assert con.execute("select categorie_juridique from stg.sirene_unites_legales where siren = ?", [EI]).fetchone() == ("1000",)
    # person names of individual entrepreneurs are not copied into the warehouse
    columns = {r[0] for r in con.execute("describe stg.sirene_unites_legales").fetchall()}
    assert not {"nom", "nom_unite_legale", "prenom1", "nomUniteLegale"} & columns
    assert con.execute("select count(*) from stg.sirene_unites_legales where denomination = 'DUPONT'").fetchone() == (0,)


def test_operator_years_cover_every_siren_and_year(built):
    con, s = built
    assert s["ops"]["rows"] == 13 * 13  # 13 sirens (GHOST included) x 2010..2022
    rows = dict(
        con.execute(
            "select annee, operator_class || '/' || rule from int.operator_years where siren = ? and annee in (2015, 2016)", [ASSO]
        ).fetchall()
    )
    assert rows == {2015: "ess_association/cj_statut_ess", 2016: "ess_association/cj_statut_ess"}
    assert con.execute("select distinct operator_class, rule from int.operator_years where siren = ?", [GHOST]).fetchall() == [
        ("indetermine", "unite_legale_absente")
    ]


def _years(con, table, siret_):
    return [r[0] for r in con.execute(f"select annee from {table} where siret = ? order by annee", [siret_]).fetchall()]


def test_facility_years_follow_activity_state_and_dates(built):
    con, _ = built
    fy = "int.facility_years"
    assert _years(con, fy, E1) == list(range(2010, 2023))
    assert _years(con, fy, E2) == list(range(2014, 2023))  # 88.91A from 2013-07-01
    assert _years(con, fy, E3) == list(range(2013, 2017))  # left 88.91A on 2017-01-01
    assert _years(con, fy, E4) == list(range(2011, 2019))  # closed 2018-04-01
    assert _years(con, fy, E12) == [2010, 2011, 2012] + list(range(2015, 2023))  # closed 2013-2014
    assert _years(con, fy, E9) == [2020, 2021, 2022]
    assert _years(con, fy, E10) == list(range(2016, 2023))  # started on 1 January 2016 itself
    assert _years(con, fy, MAIRIE) == [] and _years(con, fy, E8) == []


def test_scope_exclusions_are_kept_with_their_reason(built):
    con, s = built
    hc = "int.facility_years_hors_champ"
    reasons = dict(con.execute(f"select siret, any_value(scope_reason) from {hc} group by siret").fetchall())
    # E3, the SAS micro-crèche that left 88.91A in 2017, still says crèche: from then on a company's
    # establishment under another code, listed for review rather than silently forgotten (as E17)
    assert reasons == {
        E5: "entrepreneur_individuel",
        E6: "mam",
        E7: "relais_petite_enfance",
        E3: "operateur_hors_champ",
        E17: "operateur_hors_champ",
    }
    assert _years(con, hc, E5) == list(range(2015, 2023))
    assert _years(con, hc, E6) == list(range(2015, 2023))
    assert _years(con, hc, E7) == list(range(2011, 2023))
    assert _years(con, hc, E3) == list(range(2017, 2023))
    assert _years(con, hc, E17) == list(range(2019, 2023))
    assert s["fy"]["excluded_by_reason"] == {
        "entrepreneur_individuel": 8,
        "mam": 8,
        "relais_petite_enfance": 12,
        "operateur_hors_champ": 6 + 4,
    }
    assert s["fy"]["in_scope_rows"] == 13 + 9 + 4 + 8 + 11 + 3 + 7 + 11 + 7 + 13  # E1 E2 E3 E4 E12 E9 E10 E13 E14 E15
    assert s["fy"]["included_by_reason"] == {"naf_88_91A": 13 + 9 + 4 + 8 + 11 + 3 + 7, "nom_eaje": 11 + 7 + 13}
    for e in (E5, E6, E7, E16, E17):
        assert _years(con, "int.facility_years", e) == []


def test_eaje_registered_under_another_code_are_found(built):
    con, _ = built
    in_scope = dict(con.execute("select siret, string_agg(distinct scope_reason) from int.facility_years group by siret").fetchall())
    assert {e: in_scope.get(e) for e in (E13, E14, E15, E16, E17, E6)} == {
        E13: "nom_eaje",  # CRECHE MUNICIPALE LES LUTINS, commune, 84.11Z
        E14: "nom_eaje",  # CCAS multi-accueil, 88.99B
        E15: "nom_eaje",  # association halte-garderie, 94.99Z
        E16: None,  # RELAIS PETITE ENFANCE, 84.11Z
        E17: None,  # SAS crèche, 70.10Z (hors champ: operateur_hors_champ)
        E6: None,  # MAM under 88.91A (hors champ: mam)
    }
    assert _years(con, "int.facility_years", E13) == list(range(2012, 2023))
    assert _years(con, "int.facility_years", E14) == list(range(2016, 2023))
    assert _years(con, "int.facility_years", E15) == list(range(2010, 2023))
    assert set(in_scope.values()) == {"naf_88_91A", "nom_eaje"}
    assert con.execute("select type_structure from int.facility_years where siret = ? and annee = 2020", [E15]).fetchall() == [
        ("halte_garderie",)
    ]


def test_commune_brought_to_the_geography_of_each_year(built):
    con, _ = built

    def geo(siret_, annee):
        return con.execute(
            "select code_commune_releve, code_commune, code_commune_method, geography_year from int.facility_years where siret = ? and annee = ?",
            [siret_, annee],
        ).fetchone()

    assert geo(E1, 2012) == ("75112", "75056", "arrondissement", 2015)  # before 2015: 2015 geography
    assert geo(E4, 2016) == ("14100", "14100", "identique", 2016)
    assert geo(E4, 2017) == ("14100", "14200", "fusion", 2017)
    assert geo(E10, 2020) == ("01999", None, "absent_du_referentiel", 2020)  # kept, with the reason


def test_names_dates_and_structure_types(built):
    con, _ = built
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select siret, nom, date_creation, date_fermeture, type_structure from int.facility_years where annee = 2016"
        ).fetchall()
    }
    assert rows[E4] == ("HALTE-GARDERIE DU BOURG", D(2010, 5, 1), D(2018, 4, 1), "halte_garderie")
    assert rows[E3][3] == "micro_creche"
    assert rows[E12][2:] == (None, "creche_parentale")  # reopened: no closure date
    assert rows[E1][3] == "creche_collective"
    assert rows[E10][3] == "multi_accueil"
    assert con.execute("select type_structure from int.facility_years where siret = ? limit 1", [E9]).fetchone() == ("jardin_enfants",)


def test_quality_suites_pass_on_the_tiny_build(built):
    con, _ = built
    suites = {
        "stg.sirene_etablissement_periodes": checks.ETABLISSEMENT_PERIODES,
        "stg.sirene_etablissements": checks.ETABLISSEMENTS,
        "stg.sirene_unite_legale_periodes": checks.UNITE_LEGALE_PERIODES,
        "stg.sirene_unites_legales": checks.UNITES_LEGALES,
        "int.operator_years": checks.operator_years(),
        "int.facility_years": checks.facility_years(),
        "int.facility_years_hors_champ": checks.facility_years_hors_champ(),
    }
    failed = {
        table: [(o.name, o.unexpected_count, o.examples, o.error) for o in run_suite(con, table, specs) if not o.success]
        for table, specs in suites.items()
    }
    assert failed == {t: [] for t in suites}


def test_quality_suite_catches_a_duplicated_facility_year(built):
    con, _ = built
    con.execute(
        "create table int.facility_years_bad as select * from int.facility_years union all (select * from int.facility_years limit 1)"
    )
    outcomes = {o.name: o for o in run_suite(con, "int.facility_years_bad", checks.facility_years())}
    dup = outcomes["unique (siret, annee) (nulls compared equal)"]
    assert not dup.success and dup.unexpected_count == 1
    con.execute("drop table int.facility_years_bad")


def test_selection_check_names_an_establishment_with_neither_code_nor_name(built):
    con, _ = built
    con.execute("create table stg.periodes_bad as select * from stg.sirene_etablissement_periodes")
    # the shop (47.11A, no enseigne) and the relais (84.11Z, no EAJE word) slipped in; the crèche under 84.11Z did not
    con.execute(
        "insert into stg.periodes_bad (siret, siren, nic, date_debut, etat_administratif, activite_principale, enseigne1) values "
        f"('{E8}', '{SHOP}', '{E8[9:]}', date '2000-01-01', 'A', '47.11A', null), "
        f"('{E16}', '{PARIS}', '{E16[9:]}', date '2014-01-01', 'A', '84.11Z', 'RELAIS PETITE ENFANCE')"
    )
    name = "every selected establishment had 88.91A or an EAJE name in a period or in the stock"
    outcome = {o.name: o for o in run_suite(con, "stg.periodes_bad", checks.ETABLISSEMENT_PERIODES)}[name]
    con.execute("drop table stg.periodes_bad")
    assert not outcome.success and outcome.unexpected_count == 2


def test_operator_polars_frame_roundtrip_types(built):
    con, _ = built
    types = dict((r[0], r[1]) for r in con.execute("describe int.operator_years").fetchall())
    assert types["annee"] == "INTEGER" and types["periode_date_debut"] == "DATE" and types["periode_en_vigueur"] == "BOOLEAN"
    df = con.sql("select * from int.facility_years").pl()
    assert df.schema["annee"] == pl.Int32 and df.schema["date_fermeture"] == pl.Date


def test_overrides_win_for_every_year_and_are_listed(stock_dir, tmp_path):
    from observatory.classification import load_rules

    path = tmp_path / "operator_overrides.csv"
    path.write_text(
        f"siren,operator_class,reason,source\n{SAS},ess_cooperative,SCIC agréée non signalée dans SIRENE,liste CRESS 2024\n",
        encoding="utf-8",
    )
    con = duckdb.connect()
    con.execute("create schema stg; create schema int")
    files = SireneFiles.in_dir(stock_dir, con)
    extract_establishments(con, files)
    extract_legal_units(con, files)
    summary = build_operator_years(con, rules=load_rules(overrides_path=path))
    assert con.execute("select distinct operator_class, sector, rule from int.operator_years where siren = ?", [SAS]).fetchall() == [
        ("ess_cooperative", "ess", "override")
    ]
    assert summary["overrides_applied"] == [
        {
            "siren": SAS,
            "operator_class": "ess_cooperative",
            "years": 13,
            "reason": "SCIC agréée non signalée dans SIRENE",
            "source": "liste CRESS 2024",
        }
    ]
    assert summary["overrides_unused"] == []


def test_operator_checks_fail_on_a_public_body_counted_as_ess(built):
    con, _ = built
    con.execute("create table int.operator_years_bad as select * from int.operator_years")
    con.execute("update int.operator_years_bad set sector = 'ess' where siren = ? and annee = 2020", [PARIS])
    failed = {o.name: o.unexpected_count for o in run_suite(con, "int.operator_years_bad", checks.operator_years()) if not o.success}
    con.execute("drop table int.operator_years_bad")
    assert failed == {
        "sector is the sector of operator_class (operator_classes.csv)": 1,
        "public bodies are never ESS (loi 2014-856 art. 1)": 1,
    }
