"""Build the static observatory site from ONE publication (``data/marts/``) into an empty folder.

Pages come from the Jinja2 templates beside this file, charts and maps are Vega-Lite specifications
(``charts.py``, Altair) drawn by the Vega JavaScript bundle that vl-convert ships, written into the
site itself: the site opens from ``file://`` with no network (no CDN, no web font, every script and
data file inside the folder; data are ``<script>`` files because browsers refuse ``fetch`` on
``file://``).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from assets.site import charts, data
from assets.site.reader import (
    CAF_STATUSES,
    ESTIMAND_SCALE,
    ESTIMANDS,
    EVENT_TYPES,
    MERGER_GROUPS,
    MERGER_HEADLINE,
    MERGER_SERIES,
    OPERATOR_CLASSES,
    OUTCOMES,
    PAGE_MARTS,
    SMALL_COUNT_THRESHOLD,
    STRUCTURE_TYPES,
    Published,
)

HERE = Path(__file__).parent
STATIC = HERE / "static"
#: Cohort of the headline merger study (the NOTRe wave).
COHORT = 2017
#: National anchors quoted by docs/methodology.md (section 6, the orders of magnitude the sample follows).
ANCHORS = (
    {
        "what": "Micro-crèches en France",
        "value": "environ 7 100",
        "when": "fin 2023",
        "source": "ONAPE / CNAF (ordre de grandeur)",
        "ours": "micro",
    },
    {
        "what": "Part des collectivités parmi les EAJE hors micro-crèches",
        "value": "56 %",
        "when": "2023",
        "source": "ordre de grandeur cité par la méthodologie",
        "ours": "public_non_micro",
    },
)
SYNTHETIC_BANNER = "Chiffres illustratifs issus d'un échantillon synthétique"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fr_number(value: Any, decimals: int = 0) -> str:
    """French number: narrow no-break space between thousands, decimal comma."""
    return "–" if _missing(value) else f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def fr_percent(value: Any, decimals: int = 1) -> str:
    return "–" if _missing(value) else f"{fr_number(100 * value, decimals)}\u00a0%"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=fr_number, pct=fr_percent, tojs=_js)
    return env


def _js(value: Any) -> Markup:
    """JSON for an inline <script>: '</' escaped so that no value can close the script element."""
    return Markup(json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/"))


def _script(path: Path, name: str, value: Any) -> None:
    path.write_text(f"window.{name}={_js(value)};\n", encoding="utf-8")


def _vega_bundle() -> str:
    import vl_convert as vlc

    return vlc.javascript_bundle()


def _locale() -> dict:
    import vl_convert as vlc

    return {"format": vlc.get_format_locale("fr-FR"), "time": vlc.get_time_format_locale("fr-FR")}


class Site:
    """One build: the publication read once, then every page written."""

    def __init__(self, marts_dir: Path, out_dir: Path):
        self.pub = Published(marts_dir)
        self.out = Path(out_dir)
        self.env = environment()
        self.figures: dict[str, Any] = {"pages": 0}
        src = self.pub.sources()
        self.sources = data.records(src.assign(used_by=src["used_by"].map(list)))
        self.facility_source = self.pub.facility_source()
        self.synthetic = "SYNTHETIC" in self.facility_source.upper()
        # The content's digest, not the run's time or id: identical inputs give an identical site (run.json has those).
        self.publication = self.pub.manifest().get("publication", "")[:12]
        self.common = {
            "synthetic": self.synthetic,
            "banner": SYNTHETIC_BANNER,
            "facility_source": self.facility_source,
            "publication": self.publication,
            "small_threshold": SMALL_COUNT_THRESHOLD,
        }

    # ------------------------------------------------------------------ plumbing

    def page_sources(self, kind: str) -> list[dict]:
        marts = PAGE_MARTS[kind]
        return [s for s in self.sources if not marts or set(s["used_by"] or []) & set(marts)]

    def render(self, template: str, relpath: str, kind: str, **context) -> None:
        depth = relpath.count("/")
        html = self.env.get_template(template).render(
            root="../" * depth, page_kind=kind, sources=self.page_sources(kind), **self.common, **context
        )
        target = self.out / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        self.figures["pages"] += 1

    # ------------------------------------------------------------------ build

    def build(self) -> dict[str, Any]:
        start = time.perf_counter()
        (self.out / "assets").mkdir(parents=True, exist_ok=True)
        for f in STATIC.iterdir():
            shutil.copy2(f, self.out / "assets" / f.name)
        (self.out / "assets" / "vega.js").write_text(_vega_bundle(), encoding="utf-8")
        self.load()
        map_meta = {k: {kk: v for kk, v in spec.items() if kk != "sector"} for k, spec in data.MAP_LAYERS.items()}
        _script(self.out / "assets" / "specs.js", "SITE_SPECS", {"specs": charts.all_specs(map_meta), "locale": _locale()})
        self.france_page()
        self.map_page()
        for code in self.epci_names:
            self.epci_page(code)
        for level in ("departement", "region"):
            for code in self.area_names[level]:
                self.area_page(level, code)
        self.merger_page()
        self.data_page()
        self.search_index()
        self.pub.close()
        self.figures["seconds"] = round(time.perf_counter() - start, 2)
        self.figures["bytes"] = sum(p.stat().st_size for p in self.out.rglob("*") if p.is_file())
        return self.figures

    def load(self) -> None:
        pub = self.pub
        self.shares = {lvl: pub.sector_shares(lvl) for lvl in ("france", "region", "departement", "epci")}
        self.by_code = {lvl: data.group(data.records(df), "code") for lvl, df in self.shares.items()}
        epci = pub.territories("epci")
        self.epci_names = dict(zip(epci["code"], epci["name"]))
        self.area_names = {
            lvl: dict(zip(df["code"], df["name"])) for lvl, df in ((lvl, pub.territories(lvl)) for lvl in ("departement", "region"))
        }
        self.facilities = pub.facilities()
        self.operator_counts = {
            col: data.operator_counts(self.facilities, col) for col in ("epci_siren", "code_departement", "code_region")
        }
        self.indicators = {r["code"]: r for r in data.records(pub.epci_indicators())}
        self.supply = pub.supply()
        self.supply_by_code = data.group(data.records(self.supply), "code")
        self.epci_dep = pub.epci_departement()
        self.latest_year = int(self.epci_dep["annee"].max())
        dep_reg = (
            self.facilities.groupby(["code_departement", "code_region"])
            .size()
            .rename("n")
            .reset_index()
            .sort_values("n", ascending=False)
            .drop_duplicates("code_departement")
        )
        self.dep_region = dict(zip(dep_reg["code_departement"], dep_reg["code_region"]))
        self.epci_area = self.epci_dep.assign(region=self.epci_dep["departement"].map(self.dep_region))
        latest_dep = self.epci_area[self.epci_area["annee"] == self.latest_year]
        self.epci_of_area = {
            "departement": dict(tuple(latest_dep.groupby("departement")["code"])),
            "region": dict(tuple(latest_dep.groupby("region")["code"])),
        }
        self.dep_of_epci = dict(zip(latest_dep["code"], latest_dep["departement"]))
        self.nature = pub.epci_nature()
        self.mergers = pub.mergers()
        self.lineage = pub.lineage()
        self.lineage_by_after = data.lineage_index(self.lineage)
        self.successor = data.successor_map(self.lineage, set(self.epci_names))
        names = self.lineage.dropna(subset=["before_name"]).drop_duplicates("before", keep="last")
        self.former_names = dict(zip(names["before"], names["before_name"]))
        self.mergers_by_code = data.group(data.records(self.mergers), "code")
        self.area_supply = {
            lvl: data.group(data.records(data.aggregate_supply(self.supply, self.epci_area[["annee", "code", lvl]], lvl)), lvl)
            for lvl in ("departement", "region")
        }
        groups = pub.merger_groups()
        self.groups = {r["code"]: r for r in data.records(groups[groups["cohort"] == COHORT])}
        self.formers_of: dict[str, list[str]] = {}
        for c, succ in sorted(self.successor.items()):
            if c != succ:
                self.formers_of.setdefault(succ, []).append(c)
        self.area_epci_years = {
            lvl: {k: list(zip(g["annee"], g["code"])) for k, g in self.epci_area.groupby(lvl)} for lvl in ("departement", "region")
        }

    # ------------------------------------------------------------------ blocks shared by territory pages

    def territory_blocks(self, level: str, code: str, operators: list[dict], supply: list[dict]) -> dict[str, Any]:
        shares = self.by_code[level].get(code, [])
        supply = sorted(supply, key=lambda r: r["annee"])
        series = data.series_rows(shares)
        return {
            "latest": data.latest_figures(shares),
            "operators": data.top_operators(operators, OPERATOR_CLASSES),
            "supply": [{**r, "status_label": CAF_STATUSES.get(r["caf_status"], r["caf_status"])} for r in supply],
            "supply_chart": data.supply_rows(supply),
            "page_data": {
                "area": series["area"],
                "shares": series["shares"],
                "places": series["places"],
                "supply": data.supply_rows(supply),
            },
        }

    def _events(self, rows: list[dict]) -> list[dict]:
        rows = sorted(rows, key=lambda r: (-r["annee"], r["code"]))
        return [
            {
                **r,
                "event_label": EVENT_TYPES.get(r["event"], r["event"]),
                "predecessors": r["predecessors"] or [],
                "successors": r["successors"] or [],
            }
            for r in rows
        ]

    def epci_page(self, code: str) -> None:
        blocks = self.territory_blocks("epci", code, self.operator_counts["epci_siren"].get(code, []), self.supply_by_code.get(code, []))
        edges, ancestry = data.ancestry(code, self.lineage_by_after)
        events = self._events([e for c in ancestry for e in self.mergers_by_code.get(c, [])])
        group = self.groups.get(code)
        dep = self.dep_of_epci.get(code)
        formers = [{"code": c, "name": self.former_name(c)} for c in self.formers_of.get(code, [])]
        self.render(
            "territoire.html.j2",
            f"epci/{code}.html",
            "territoire",
            level="epci",
            code=code,
            name=self.epci_names[code],
            nature=self.nature.get(code),
            departement=dep,
            departement_name=self.area_names["departement"].get(dep),
            region=self.dep_region.get(dep),
            region_name=self.area_names["region"].get(self.dep_region.get(dep)),
            lineage=edges,
            events=events,
            formers=formers,
            merger_group=None
            if group is None
            else {
                "label": MERGER_GROUPS.get(group["groupe"], group["groupe"]),
                "reason": group["exclusion_reason"],
                "n_predecessors": group["n_predecessors"],
            },
            members=[],
            **blocks,
        )

    def area_page(self, level: str, code: str) -> None:
        col = "code_departement" if level == "departement" else "code_region"
        blocks = self.territory_blocks(level, code, self.operator_counts[col].get(code, []), self.area_supply[level].get(code, []))
        members = []
        for c in sorted(self.epci_of_area[level].get(code, []), key=lambda c: self.epci_names.get(c) or c):
            ind = self.indicators.get(c, {})
            members.append({"code": c, "name": self.epci_names.get(c, c), "n_total": ind.get("n_total"), "share_ess": ind.get("share_ess")})
        events = self._events(
            [e for (y, c) in self.area_epci_years[level].get(code, []) for e in self.mergers_by_code.get(c, []) if e["annee"] == y]
        )
        region = self.dep_region.get(code) if level == "departement" else None
        self.render(
            "territoire.html.j2",
            f"{level}/{code}.html",
            "territoire",
            level=level,
            code=code,
            name=self.area_names[level][code],
            nature=None,
            departement=None,
            departement_name=None,
            region=region,
            region_name=self.area_names["region"].get(region),
            lineage=[],
            events=events,
            formers=[],
            merger_group=None,
            members=members,
            **blocks,
        )

    # ------------------------------------------------------------------ France

    def france_page(self) -> None:
        shares = self.by_code["france"].get("FR", [])
        series = data.series_rows(shares)
        latest = data.latest_figures(shares)
        fac = self.facilities
        micro = fac[fac["type_structure"] == "micro_creche"]
        non_micro = fac[fac["type_structure"] != "micro_creche"]
        ours = {
            "micro": f"{fr_number(len(micro))} au 1er janvier {self.latest_year}",
            "public_non_micro": f"{fr_percent((non_micro['sector'] == 'public').mean() if len(non_micro) else None)} "
            f"au 1er janvier {self.latest_year}",
        }
        anchors = [{**a, "ours": ours[a["ours"]]} for a in ANCHORS]
        classes = self.pub.class_shares_france()
        classes = classes[classes["annee"] == classes["annee"].max()].sort_values("n", ascending=False)
        ops = self.pub.operators()
        top = ops[ops["is_active"]].sort_values(["n_facilities", "denomination"], ascending=[False, True]).head(15)
        self.render(
            "france.html.j2",
            "index.html",
            "france",
            latest=latest,
            anchors=anchors,
            micro={"n": len(micro), "share_lucratif": (micro["sector"] == "lucratif").mean() if len(micro) else None},
            classes=[{**r, "label": OPERATOR_CLASSES.get(r["category"], r["category"])} for r in data.records(classes) if r["n"]],
            operators=[{**r, "class_label": OPERATOR_CLASSES.get(r["operator_class"], r["operator_class"])} for r in data.records(top)],
            page_data={
                "area": series["area"],
                "shares": series["shares"],
                "places": series["places"],
                "structures": data.structure_rows(fac, STRUCTURE_TYPES),
            },
            n_epci=len(self.epci_names),
        )

    # ------------------------------------------------------------------ map

    def map_page(self) -> None:
        layer = self.pub.map_layer()
        if layer is None:
            features = pd.DataFrame({"code": [], "zone": [], "geometry": []})
        else:
            import shapely

            # d3-geo (Vega) wants exterior rings clockwise, the reverse of RFC 7946: rewind once here.
            geoms = shapely.orient_polygons(layer.geometry.values, exterior_cw=True)
            features = pd.DataFrame(
                {"code": layer["code"].values, "zone": layer["zone"].values, "geometry": [json.loads(shapely.to_geojson(g)) for g in geoms]}
            )
        payload = data.map_data(features, self.epci_names, self.shares["epci"], self.supply)
        _script(self.out / "assets" / "carte-data.js", "MAP_DATA", payload)
        years = sorted(payload["layers"]["ess"])
        self.figures["map_features"] = len(payload["features"])
        self.render(
            "carte.html.j2",
            "carte.html",
            "carte",
            years=years,
            default_year=years[-1] if years else None,
            layers=data.MAP_LAYERS,
            no_polygon=payload["no_polygon"],
            caf_missing=payload["caf_missing_years"],
            has_layer=layer is not None,
        )

    # ------------------------------------------------------------------ merger study

    def merger_page(self) -> None:
        eff = self.pub.merger_effect()
        main = eff[eff["cohort"] == COHORT]
        charts_rows = {}
        for key, (outcome, estimand, scale) in MERGER_SERIES.items():
            es = main[(main["outcome"] == outcome) & (main["estimand"] == estimand) & (main["estimator"] == "event_study")]
            rows = data.records(es, ["annee", "event_time", "estimate", "ci_low", "ci_high", "status"])
            for r in rows:
                for col in ("estimate", "ci_low", "ci_high"):
                    r[col] = None if r[col] is None else r[col] * scale
                r["periode"] = (
                    "année de référence" if r["status"] == "reference" else "avant la fusion" if r["annee"] < COHORT else "après la fusion"
                )
            charts_rows[key] = rows
        summary = data.records(main[main["estimator"].isin(["did", "trend_adjusted"])])
        for r in summary:
            scale = ESTIMAND_SCALE.get(r["estimand"], 1.0)
            for col in ("estimate", "ci_low", "ci_high"):
                r[col] = None if r[col] is None else r[col] * scale
        # other merger years: one line each, from the headline estimand (its status and, when not estimable, why)
        others = data.records(
            eff[
                (eff["cohort"] != COHORT)
                & (eff["estimator"] == "did")
                & (eff["outcome"] == MERGER_HEADLINE[0])
                & (eff["estimand"] == MERGER_HEADLINE[1])
            ]
        )
        headline = [r for r in summary if (r["outcome"], r["estimand"]) == MERGER_HEADLINE]
        did = next((r for r in headline if r["estimator"] == "did"), None)
        adjusted = next((r for r in headline if r["estimator"] == "trend_adjusted"), None)
        checks = data.records(
            main[
                (main["outcome"] == MERGER_HEADLINE[0])
                & (main["estimand"] == MERGER_HEADLINE[1])
                & main["row_kind"].isin(["diagnostic", "sensitivity"])
            ]
        )
        by_name = {r["estimator"]: r for r in checks if r["estimator"] != "leave_one_out"}
        diagnostics = []
        if did and did["status"] in ("estimated", "fragile"):
            diagnostics.append(
                f"Entre {did['period_start']} et {did['annee']}, le stock d'EAJE associatifs des {did['n_treated']} EPCI "
                f"issus d'une fusion en {COHORT} a évolué de {fr_number(did['estimate'], 1)} % de son niveau du 1er janvier {COHORT} "
                f"par rapport aux {did['n_control']} EPCI témoins (intervalle à 95 % : {fr_number(did['ci_low'], 1)} à "
                f"{fr_number(did['ci_high'], 1)} %)."
                + (
                    " L'intervalle exclut zéro."
                    if did["ci_high"] < 0 or did["ci_low"] > 0
                    else " L'intervalle contient zéro : pas d'effet établi."
                )
            )
            if did["status"] == "fragile":
                diagnostics.append(f"Estimation FRAGILE : {did['note']}.")
            if did.get("planted_effect") is not None:
                diagnostics.append(
                    f"Données SYNTHÉTIQUES : l'effet a été planté par le générateur de l'échantillon, "
                    f"{fr_number(did['planted_effect'], 1)} % en moyenne sur la même période."
                )
        if "pre_test_joint" in by_name:
            t = by_name["pre_test_joint"]
            diagnostics.append(
                f"Test joint des coefficients avant la fusion : χ² = {fr_number(t['statistic'], 1)}, p = "
                f"{fr_number(t['p_value'], 3)} ({'rejeté : les groupes divergeaient déjà' if t['status'] == 'fail' else 'non rejeté'})."
            )
        if "pre_trend_slope" in by_name:
            t = by_name["pre_trend_slope"]
            diagnostics.append(
                f"Pente de la pré-tendance : {fr_number(t['estimate'], 2)} par an [{fr_number(t['ci_low'], 2)} ; "
                f"{fr_number(t['ci_high'], 2)}]."
            )
        if "placebo" in by_name:
            t = by_name["placebo"]
            diagnostics.append(
                f"Placebo (fusion fictive {t['period_start']}) : {fr_number(t['estimate'], 1)} "
                f"[{fr_number(t['ci_low'], 1)} ; {fr_number(t['ci_high'], 1)}], {'échoue' if t['status'] == 'fail' else 'passe'}."
            )
        if adjusted:
            diagnostics.append(
                f"Sensibilité (pré-tendance linéaire prolongée) : {fr_number(adjusted['estimate'], 1)} % "
                f"[{fr_number(adjusted['ci_low'], 1)} ; {fr_number(adjusted['ci_high'], 1)}]."
            )
        diag_rows = [
            {k: r[k] for k in ("estimator", "dropped_epci", "period_start", "annee", "estimate", "statistic", "p_value", "status")}
            for r in checks
        ]
        diag_tables = {name: self.pub.optional_table(name) for name in self.pub.merger_diagnostics_tables()}
        if diag_rows:  # the headline's diagnostics from marts.merger_effect, first
            diag_tables = {
                f"merger_effect : diagnostics ({MERGER_HEADLINE[0]}, {MERGER_HEADLINE[1]})": pd.DataFrame(diag_rows),
                **diag_tables,
            }
        transitions = self.pub.optional_table("facility_transitions")
        groups = pd.Series([g["groupe"] for g in self.groups.values()]).value_counts().to_dict()
        self.render(
            "fusions.html.j2",
            "fusions.html",
            "fusions",
            cohort=COHORT,
            summary=summary,
            outcome_labels=OUTCOMES,
            estimand_labels=ESTIMANDS,
            others=others,
            diagnostics=diagnostics,
            groups={MERGER_GROUPS.get(k, k): v for k, v in groups.items()},
            diag_tables={k: {"columns": list(v.columns), "rows": data.records(v.head(200))} for k, v in diag_tables.items()},
            transitions=None
            if transitions is None
            else {"columns": list(transitions.columns), "rows": data.records(transitions.head(200)), "n": len(transitions)},
            page_data=charts_rows,
        )

    # ------------------------------------------------------------------ data page and search

    def data_page(self) -> None:
        manifest = self.pub.manifest()
        dictionary = self.pub.dictionary()
        files = []
        for rel, sha in sorted(manifest.get("files", {}).items()):
            path = self.pub.dir / rel
            stem = Path(rel).stem
            table = stem if stem in dictionary else ("epci_indicators" if stem.startswith("epci_indicators_") else None)
            files.append({"path": rel, "sha256": sha, "size": path.stat().st_size if path.exists() else None, "table": table})
        database = manifest.get("database", {}).get("file")
        if database:  # its bytes vary between writes of the same tables: listed without size or sha256
            files.insert(0, {"path": database, "sha256": None, "size": None, "table": None})
        self.render(
            "donnees.html.j2",
            "donnees.html",
            "donnees",
            files=files,
            dictionary=dictionary,
            row_counts=manifest.get("row_counts", {}),
        )

    def search_index(self) -> None:
        index = [[c, n, f"epci/{c}.html", "EPCI"] for c, n in self.epci_names.items()]
        for c, succ in sorted(self.successor.items()):
            if c not in self.epci_names:
                index.append([c, self.former_name(c), f"epci/{succ}.html", f"ancien EPCI → {self.epci_names.get(succ, succ)}"])
        index += [[c, n, f"departement/{c}.html", "Département"] for c, n in self.area_names["departement"].items()]
        index += [[c, n, f"region/{c}.html", "Région"] for c, n in self.area_names["region"].items()]
        _script(self.out / "assets" / "search-index.js", "SEARCH_INDEX", index)
        self.figures["search_entries"] = len(index)

    def former_name(self, code: str) -> str:
        return self.former_names.get(code, code)


def build_site(marts_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Write the whole site for the publication in ``marts_dir`` into ``out_dir`` (created, must be empty)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=False)
    return Site(marts_dir, out_dir).build()
