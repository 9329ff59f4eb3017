"""The site's only reader of the published marts: every table, column and category value the site
uses is named here, and renamed to the site's own short names on the way out.

A rename in the marts (``part_ess`` -> ``share_ess``, ``nb_*`` -> ``n_*``...) is therefore a change
of this file alone. Tables or columns another part of the pipeline may not publish yet
(``small_count``, ``marts.facility_transitions``, merger diagnostics) are optional: the reader says
whether they exist and the pages render what does.

Everything is read from the PUBLISHED files (``data/marts/observatory.duckdb``, ``geo/``), never
from the build database, so the site only shows figures that passed the blocking checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

#: Marts' small-count rule: a share resting on fewer facilities than this is flagged (``small_count``).
#: The market-share rows of facilities no territory holds (hors_epci, non_localise): counted in the
#: marts so that levels add up to France, never a territory page of their own.
NOT_A_GAP = "territory_code not in ('hors_epci', 'non_localise')"
SMALL_COUNT_THRESHOLD = 5
#: The national map layer in EPSG:4326 written by the map-layer step (``assets/marts/geo.py``).
NATIONAL_LAYER = "geo/epci_indicators_france.parquet"

SECTORS = {"public": "Public", "ess": "ESS", "lucratif": "Lucratif", "autre_prive": "Autre privé", "indetermine": "Indéterminé"}
OPERATOR_CLASSES = {
    "public_commune": "Commune",
    "public_intercommunal": "Intercommunalité",
    "public_ccas": "CCAS / CIAS",
    "public_hopital": "Hôpital public",
    "public_hospital": "Hôpital public",
    "public_autre": "Autre public",
    "public_other": "Autre public",
    "ess_association": "Association",
    "ess_cooperative": "Coopérative (SCIC, SCOP…)",
    "ess_mutuelle": "Mutuelle",
    "ess_fondation": "Fondation",
    "ess_societe_commerciale": "Société commerciale de l'ESS",
    "ess_autre": "Autre ESS",
    "lucratif": "Entreprise lucrative",
    "prive_non_lucratif_hors_ess": "Privé non lucratif hors ESS",
    "indetermine": "Indéterminé",
}
STRUCTURE_TYPES = {
    "micro_creche": "Micro-crèche",
    "creche_collective": "Crèche collective",
    "multi_accueil": "Multi-accueil",
    "halte_garderie": "Halte-garderie",
    "creche_familiale": "Crèche familiale",
    "creche_parentale": "Crèche parentale",
    "jardin_enfants": "Jardin d'enfants",
    "non_determine": "Non déterminé",
}
EVENT_TYPES = {
    "fusion": "Fusion",
    "extension": "Extension",
    "transfert": "Transfert de communes",
    "scission": "Scission",
    "dissolution": "Dissolution",
    "retrait": "Retrait",
    "changement_identifiant": "Changement d'identifiant",
    "creation": "Création",
    "transformation": "Transformation (changement de nature)",
}
CAF_STATUSES = {
    "published": "publié",
    "no_commune_published": "aucune commune publiée par la CAF (communes de moins de 10 000 habitants)",
    "caf_year_missing": "pas de données CAF cette année",
}
MERGER_GROUPS = {"traite": "traité (formé par fusion)", "controle": "témoin (périmètre inchangé)", "exclu": "exclu"}
#: The merger study's outcomes and estimands (values of marts.merger_effect) that the charts show, with the factor that
#: turns an estimate into the unit the page prints (ecart_share is on the 0-1 scale: x 100 = percentage points).
MERGER_SERIES = {
    "pct": ("n_associations", "ecart_relatif_pct", 1.0),
    "epci": ("n_associations", "ecart_par_epci", 1.0),
    "points": ("share_ess", "ecart_share", 100.0),
}
MERGER_HEADLINE = ("n_associations", "ecart_relatif_pct")
OUTCOMES = {
    "n_associations": "EAJE gérés par une association",
    "share_ess": "part ESS des EAJE",
    "places_associations": "places des EAJE associatifs",
    "public_takeovers": "reprises par une collectivité (par an, pour 100 EAJE associatifs de 2017)",
    "closures": "fermetures sans successeur (par an, pour 100 EAJE associatifs de 2017)",
}
ESTIMANDS = {
    "ecart_relatif_pct": "effet sur le stock, en % du niveau de l'année de fusion (pondéré par établissement)",
    "ecart_relatif_pct_epci": "effet pour l'EPCI moyen, en % (pondéré par EPCI)",
    "ecart_par_epci": "écart par EPCI (établissements)",
    "taux_pour_100_2017": "écart de taux annuel (pour 100 EAJE associatifs de 2017)",
    "ecart_share": "écart de part (points de %)",
}
ESTIMAND_SCALE = {"ecart_share": 100.0}


def departement_of(code_commune: str | None) -> str | None:
    """Département of a commune code (three characters for the DROM, 2A / 2B for Corsica)."""
    if not code_commune:
        return None
    return code_commune[:3] if code_commune.startswith("97") else code_commune[:2]


class Published:
    """Read-only view of one publication (``marts_dir``), in the site's names."""

    def __init__(self, marts_dir: Path):
        self.dir = Path(marts_dir)
        db = self.dir / "observatory.duckdb"
        if not db.exists():
            raise FileNotFoundError(f"{db}: no published database; run the pipeline (make run) before building the site")
        self.con = duckdb.connect(str(db), read_only=True)
        self._columns = {
            (t, c)
            for t, c in self.con.execute("select table_name, column_name from duckdb_columns() where schema_name = 'marts'").fetchall()
        }
        self.tables = {t for t, _ in self._columns}

    def close(self) -> None:
        self.con.close()

    def has(self, table: str, column: str | None = None) -> bool:
        return (table, column) in self._columns if column else table in self.tables

    def df(self, query: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(query, params or []).df()

    # ------------------------------------------------------------------ provenance

    def sources(self) -> pd.DataFrame:
        return self.df(
            "select source, title, publisher, licence, homepage, mode, synthetic, data_date, label, used_by "
            "from marts.sources order by source"
        )

    def facility_source(self) -> str:
        """The facility_source label of the facility marts (says SYNTHETIC on the embedded sample)."""
        rows = self.con.execute("select distinct facility_source from marts.ess_market_share").fetchall()
        return " / ".join(sorted(r[0] for r in rows if r[0]))

    def manifest(self) -> dict:
        path = self.dir / "manifest.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def dictionary(self) -> dict[str, dict]:
        """Table and column comments of the published database (written from the marts' column specs)."""
        tables = {
            name: {"description": comment or "", "columns": []}
            for name, comment in self.con.execute(
                "select table_name, comment from duckdb_tables() where schema_name = 'marts' order by table_name"
            ).fetchall()
        }
        for t, col, typ, comment in self.con.execute(
            "select table_name, column_name, data_type, comment from duckdb_columns() where schema_name = 'marts' "
            "order by table_name, column_index"
        ).fetchall():
            if t in tables:
                tables[t]["columns"].append({"name": col, "type": typ, "comment": comment or ""})
        return tables

    # ------------------------------------------------------------------ market shares

    def _small(self, alias: str = "") -> str:
        p = f"{alias}." if alias else ""
        rule = f"{p}n_facilities_total < {SMALL_COUNT_THRESHOLD}"
        return f"coalesce({p}small_count, {rule})" if self.has("ess_market_share", "small_count") else rule

    def sector_shares(self, level: str, code: str | None = None) -> pd.DataFrame:
        """Facilities by sector and year on the latest perimeters: annee, code, name, category, n, n_total, share,
        places, places_total, share_places, places_coverage, small."""
        where = f"geography = 'latest' and breakdown = 'sector' and territory_level = ? and {NOT_A_GAP}"
        params: list = [level]
        if code is not None:
            where += " and territory_code = ?"
            params.append(code)
        return self.df(
            f"""select annee, territory_code as code, territory_name as name, category, n_facilities as n,
                       n_facilities_total as n_total, share_facilities as share, places, places_total, share_places,
                       places_coverage, {self._small()} as small
                from marts.ess_market_share where {where} order by code, annee, category""",
            params,
        )

    def class_shares_france(self) -> pd.DataFrame:
        return self.df(
            """select annee, category, n_facilities as n, share_facilities as share from marts.ess_market_share
               where geography = 'latest' and breakdown = 'operator_class' and territory_level = 'france'
               order by annee, category"""
        )

    def territories(self, level: str) -> pd.DataFrame:
        """Territories of the latest perimeters at ``level`` (epci, departement, region): code, name."""
        return self.df(
            """select territory_code as code, any_value(territory_name) as name from marts.ess_market_share
               where geography = 'latest' and territory_level = ? and """
            + NOT_A_GAP
            + """ group by 1 order by 1""",
            [level],
        )

    def former_epci(self) -> pd.DataFrame:
        """EPCIs of earlier years (geography of each year) that are not on the latest perimeters: code, name, last_year."""
        return self.df(
            """select territory_code as code, arg_max(territory_name, annee) as name, max(annee) as last_year
               from marts.ess_market_share where geography = 'year' and territory_level = 'epci' and """
            + NOT_A_GAP
            + """
                 and territory_code not in (select territory_code from marts.ess_market_share
                                            where geography = 'latest' and territory_level = 'epci')
               group by 1 order by 1"""
        )

    # ------------------------------------------------------------------ facilities and operators (current stock)

    def facilities(self) -> pd.DataFrame:
        return self.df(
            """select siret, siren, nom, denomination, operator_class, sector, type_structure, first_year, annee,
                      code_commune, nom_commune, epci_siren, code_departement, code_region
               from marts.facilities"""
        )

    def operators(self) -> pd.DataFrame:
        return self.df(
            """select siren, denomination, operator_class, sector, rule, n_facilities, n_epci, n_departements, is_active
               from marts.operators"""
        )

    # ------------------------------------------------------------------ EPCI indicators and the map layer

    def epci_indicators(self) -> pd.DataFrame:
        return self.df(
            """select epci_siren as code, epci_nom as name, annee, n_facilities as n_total, share_public, share_ess,
                      share_lucratif, n_associations, caf_annee, places_eaje_caf, taux_couverture_eaje,
                      caf_population_coverage, has_geometry
               from marts.epci_indicators order by code"""
        )

    def map_layer(self):
        """The national map layer (EPSG:4326): code, zone, geometry; None when the publication has none."""
        import geopandas as gpd

        path = self.dir / NATIONAL_LAYER
        if not path.exists():
            return None
        gdf = gpd.read_parquet(path, columns=["epci_siren", "zone", "geometry"])
        return gdf.rename(columns={"epci_siren": "code"})

    # ------------------------------------------------------------------ CAF supply

    def supply(self) -> pd.DataFrame:
        """CAF supply by EPCI and year (geography of that year)."""
        return self.df(
            """select annee, caf_annee, epci_siren as code, epci_nom as name, caf_status, n_communes, n_communes_caf,
                      caf_population_coverage, places_psu, places_hors_psu, places_eaje, enfants_moins_3_ans,
                      taux_couverture_eaje, n_facilities
               from marts.childcare_supply order by code, annee"""
        )

    def epci_departement(self) -> pd.DataFrame:
        """Each EPCI of each year with the département holding most of its communes: annee, code, departement."""
        rows = self.df(
            """select annee, epci_siren as code, code_commune_annee as commune from marts.commune_epci
               where code_commune = code_commune_annee and epci_siren is not null"""
        )
        rows["departement"] = rows["commune"].map(departement_of)
        counts = rows.groupby(["annee", "code", "departement"]).size().rename("n").reset_index()
        counts = counts.sort_values(["annee", "code", "n", "departement"], ascending=[True, True, False, True])
        return counts.drop_duplicates(["annee", "code"])[["annee", "code", "departement"]]

    def epci_nature(self) -> dict[str, str]:
        rows = self.con.execute(
            "select epci_siren, arg_max(epci_nature, annee) from marts.commune_epci where epci_siren is not null group by 1"
        ).fetchall()
        return {s: n for s, n in rows if n}

    # ------------------------------------------------------------------ EPCI history

    def mergers(self) -> pd.DataFrame:
        return self.df(
            """select annee, type_evenement as event, epci_siren as code, epci_nom as name, predecessors, successors, n_communes,
                      population
               from marts.epci_mergers order by annee, code"""
        )

    def lineage(self) -> pd.DataFrame:
        return self.df(
            """select annee, epci_siren_avant as before, epci_nom_avant as before_name, epci_siren_apres as after,
                      epci_nom_apres as after_name, n_communes, population,
                      share_population_avant as share_population_before, share_population_apres as share_population_after,
                      meme_siren as same_siren
               from marts.epci_lineage order by annee, after, before"""
        )

    # ------------------------------------------------------------------ merger study

    def merger_effect(self) -> pd.DataFrame:
        return self.df(
            """select cohort, outcome, estimand, weighting, row_kind, estimator, annee, event_time, period_start, dropped_epci,
                      estimate, ci_low, ci_high, statistic, p_value, n_treated, n_control, n_bootstrap, base_year, status, note,
                      planted_effect
               from marts.merger_effect order by cohort, outcome, estimand, weighting, row_kind, estimator, annee, dropped_epci"""
        )

    def merger_groups(self) -> pd.DataFrame:
        return self.df(
            """select cohort, epci_siren as code, any_value(epci_nom) as name, any_value(groupe) as groupe,
                      any_value(exclusion_reason) as exclusion_reason, any_value(n_predecessors) as n_predecessors
               from marts.merger_effect_epci group by 1, 2"""
        )

    def optional_table(self, name: str) -> pd.DataFrame | None:
        """A mart built by another part of the pipeline that may not be published yet (read whole, as it is)."""
        return self.df(f'select * from marts."{name}"') if self.has(name) else None

    def merger_diagnostics_tables(self) -> list[str]:
        """Published tables holding diagnostics of the merger study (any ``merger_*diagnostic*`` mart)."""
        return sorted(t for t in self.tables if t.startswith("merger") and "diagnostic" in t)


#: Mart used by each page, for its list of sources (marts.sources.used_by).
PAGE_MARTS = {
    "france": ("marts.ess_market_share", "marts.facilities"),
    "carte": ("marts.ess_market_share", "marts.epci_indicators", "marts.childcare_supply"),
    "territoire": ("marts.ess_market_share", "marts.facilities", "marts.childcare_supply", "marts.epci_mergers", "marts.epci_lineage"),
    "fusions": ("marts.merger_effect", "marts.merger_effect_epci", "marts.epci_mergers"),
    "donnees": (),
}
