"""Generate the embedded SIRENE sample: a seeded, SYNTHETIC national sample of childcare
establishments in the exact INSEE stock format (four Parquet files, every column in order, with
the Parquet types of the real files), their succession links (StockEtablissementLiensSuccession),
plus its manifest.

    .venv/bin/python scripts/generate_sirene_sample.py            # writes data/raw/sirene/embedded/
    .venv/bin/python scripts/generate_sirene_sample.py --extra-closure 0 --out /tmp/x   # no planted effect

Nothing here is real: establishments, legal units, names and dates are drawn at random. What is
real is the frame they are drawn in, read only from files embedded in this repository (so the
sample is reproducible from the repository alone):

* communes, populations and code changes (COG 2015-2024, ``data/raw/cog/embedded``);
* EPCI membership on 1 January 2016 and 2017 (``data/raw/insee_epci/embedded``), which gives the
  2017 EPCIs formed by the fusion of several 2016 EPCIs, and real EPCI SIRENs and names;
* CAF places in EAJE (PSU and outside PSU) by commune 2017-2022 (``data/raw/caf/embedded``): the
  number of facilities drawn in each large commune follows them;
* DREES counts by département (``data/raw/drees/embedded``): collective crèches (tab. 23),
  crèches familiales (tab. 24) and parental crèches (tab. 27), 2010/2015-2023, extrapolated to
  2010-2026; national orders of magnitude for the rest (micro-crèches, operator mix).

The sample is a stock-and-flow simulation from 1 January 2010 to the stock date: every year, each
facility closes with a hazard that depends on its segment and operator, and new facilities open
so that each département follows its targets. It carries the noise the pipeline must handle:
activity codes changing to and from 88.91A, association -> SCIC legal-form changes, communes
nouvelles (municipal facilities transferred to the new commune's SIREN; closed establishments keep
their pre-merger commune code), intercommunal facilities transferred to the EPCI formed in 2017,
individual entrepreneurs (CJ 1000), MAM, relais petite enfance, LAEP, partially diffusible units
([ND]), a few legal units missing from the legal-unit files, one unknown legal category, public
bodies wrongly flagged ESS.

Planted effect (the merger study's known truth): from ``--effect-from`` (2017), an associative
EAJE located in a 2017 EPCI formed by a fusion closes each year with an extra probability
``--extra-closure`` (0.04) on top of the base hazard. The same random draws are replayed without
the extra hazard (the counterfactual), so the true effect on the number of active associative EAJE
per EPCI and year is known exactly; it is written to the manifest.

Planted for the scope rule (``eaje_scope``), on a stream of its own (``[seed, 2]``): a share of the
public and associative EAJE registered their whole life under their operator's code (84.11Z, 88.99B,
94.99Z, 85.10Z) with an EAJE name, and look-alikes under other codes (relais, LAEP, école maternelle,
accueil de loisirs, périscolaire, cantine, petite-enfance services, the town halls of La Crèche and
Crêches-sur-Saône, a nativity scene); their truth is in ``scope_truth.csv.gz``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import sys
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assets.sirene.identifiers import siren as make_siren  # noqa: E402
from assets.sirene.identifiers import siret as make_siret  # noqa: E402
from assets.sirene.schema import (  # noqa: E402
    ETABLISSEMENT_FILE,
    ETABLISSEMENT_HISTORIQUE_FILE,
    UNITE_LEGALE_FILE,
    UNITE_LEGALE_HISTORIQUE_FILE,
    SUCCESSION_FILE,
    write_stock_parquet,
)
from observatory.resources import sha256_of  # noqa: E402

D = dt.date
RAW = REPO / "data" / "raw"
DEFAULT_OUT = RAW / "sirene" / "embedded"
#: The planted truth of the scope rule, beside the sample (not an INSEE file).
SCOPE_TRUTH_FILE = "scope_truth.csv.gz"
FIRST_YEAR = 2010
LAST_YEAR = 2026  # latest 1 January described by the stock
YEARS = list(range(FIRST_YEAR, LAST_YEAR + 1))
LAST_COG = 2024  # last geography of the embedded passage tables

# ---------------------------------------------------------------------------------------------
# Parameters (all written to the manifest)
# ---------------------------------------------------------------------------------------------

#: National number of micro-crèches on 1 January (ONAPE / CNAF orders of magnitude: about 7,100 at
#: the end of 2023). Interpolated for the missing years.
MICRO_NATIONAL = {2010: 350, 2012: 800, 2014: 1450, 2015: 1850, 2017: 2800, 2019: 4000, 2021: 5450, 2023: 7100, 2024: 7700, 2026: 8600}
#: Noise segments (out of the EAJE scope), national counts on 1 January.
NOISE_NATIONAL = {
    "ei": {2010: 600, 2015: 1800, 2020: 3600, 2026: 5500},
    "mam": {2010: 30, 2012: 300, 2015: 1200, 2018: 2400, 2021: 3400, 2023: 3900, 2026: 4300},
    "rpe": {2010: 1500, 2026: 1800},
    "laep": {2010: 150, 2026: 250},
}
#: Base annual closure hazard by (segment, operator family).
HAZARD = {
    ("psu", "public"): 0.014,
    ("psu", "association"): 0.022,
    ("psu", "lucratif"): 0.030,
    ("psu", "other"): 0.020,
    ("micro", "lucratif"): 0.045,
    ("micro", "association"): 0.030,
    ("micro", "public"): 0.015,
    ("micro", "other"): 0.030,
    ("familiale", "public"): 0.020,
    ("familiale", "association"): 0.030,
    ("parentale", "association"): 0.030,
    ("ei", "lucratif"): 0.120,
    ("mam", "association"): 0.070,
    ("mam", "lucratif"): 0.090,
    ("rpe", "public"): 0.015,
    ("laep", "association"): 0.030,
    ("laep", "public"): 0.020,
}
IN_SCOPE = ("psu", "micro", "familiale", "parentale")
SEGMENTS = IN_SCOPE + ("ei", "mam", "rpe", "laep")

GROUPS = {  # name of the legal unit, share among group openings, legal category
    "PEOPLE & BABY": (0.20, "5710"),
    "EVANCIA": (0.25, "5710"),  # Babilou
    "LA MAISON BLEUE": (0.20, "5710"),
    "LES PETITS CHAPERONS ROUGES": (0.20, "5710"),
    "CRECHE ATTITUDE": (0.10, "5710"),
    "GRANDIR FRANCE": (0.05, "5710"),
}

PETNAMES = [
    "LES PETITS LOUPS",
    "LES LUTINS",
    "LA RIBAMBELLE",
    "LES COCCINELLES",
    "PIROUETTE",
    "LES P'TITS BOUTS",
    "LES CALINOUS",
    "LES BOUT'CHOUX",
    "L'ILE AUX ENFANTS",
    "LES PETITS PAS",
    "LA MAISON DES PETITS",
    "LES GALOPINS",
    "LES OURSONS",
    "LES CANAILLOUS",
    "LES DIABLOTINS",
    "ARC EN CIEL",
    "LES PITCHOUNS",
    "LES MOUSSAILLONS",
    "LES FARFADETS",
    "LES PETITES FRIMOUSSES",
    "LES LOUPIOTS",
    "LES BAMBINS",
    "LES CHERUBINS",
    "POM'POTES",
    "LES MINIPOUSSES",
    "L'ENVOL",
    "LES PAPILLONS",
    "LES ECUREUILS",
    "LES TROTTINETTES",
    "LA COMPTINE",
    "LE PETIT PRINCE",
    "LES GRIBOUILLES",
    "LES DOUDOUS",
    "LES POUSSINS",
    "LES CAPUCINES",
    "LES HIRONDELLES",
    "PETIT POUCE",
    "LES ZEBULONS",
    "LA FARANDOLE",
    "LES TOURNESOLS",
    "LES LUCIOLES",
    "LES MARMOTTES",
    "LES PETITS MOUSSES",
    "CROQUE LUNE",
    "LES FRIPOUILLES",
    "1 2 3 SOLEIL",
    "LES ANGELOTS",
    "LES PETITS CAILLOUX",
    "LA CABANE",
    "LES PETITS POIS",
    "BULLE D'EVEIL",
    "LES BERLINGOTS",
]
STREETS = [
    "DE LA REPUBLIQUE",
    "VICTOR HUGO",
    "JEAN JAURES",
    "DES ECOLES",
    "DU GENERAL DE GAULLE",
    "PASTEUR",
    "DE LA GARE",
    "DES TILLEULS",
    "DU MOULIN",
    "DE LA MAIRIE",
    "JULES FERRY",
    "DES LILAS",
]
STREET_TYPES = ["RUE", "AV", "BD", "PL", "ALL", "CHE"]
SURNAMES = [
    "MARTIN",
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DURAND",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFEBVRE",
    "LEROY",
    "ROUX",
    "DAVID",
    "BERTRAND",
    "MOREL",
    "FOURNIER",
    "GIRARD",
]
FIRSTNAMES = ["MARIE", "NATHALIE", "ISABELLE", "SYLVIE", "CATHERINE", "SANDRINE", "CELINE", "AURELIE", "JULIE", "SOPHIE"]
PSU_TYPES = [("MULTI-ACCUEIL", 0.50), ("CRECHE COLLECTIVE", 0.28), ("HALTE-GARDERIE", 0.12), ("JARDIN D'ENFANTS", 0.03), ("", 0.07)]
ALSACE_MOSELLE = ("57", "67", "68")

# Planted for the scope rule (eaje_scope), drawn from their own stream: crèches never coded 88.91A and
# their look-alikes. The shares are assumptions, argued with a range in docs/methodology.md.
#: Share of the public EAJE (commune, CCAS/CIAS, EPCI) and of the associative ones registered their whole
#: life under the operator's own code instead of 88.91A.
OWN_CODE_SHARE = {"public": 0.15, "association": 0.03}
#: Codes of an association's crèche registered under its own activity (social action, club, school).
ASSOCIATION_CODES = (("88.99B", 0.5), ("94.99Z", 0.3), ("85.10Z", 0.2))
#: Share of those whose name is in denominationUsuelleEtablissement (the rest: in the enseigne).
USUAL_NAME_SHARE = 0.3
#: Look-alikes under another code (kind = the scope_reason expected): activity code and names.
LOOK_ALIKES = {
    "relais_petite_enfance": ("88.99B", ("RELAIS PETITE ENFANCE", "RAM", "RELAIS ASSISTANTES MATERNELLES")),
    "lieu_accueil_enfants_parents": ("88.99B", ("LAEP", "LIEU D'ACCUEIL ENFANTS PARENTS")),
    "ecole_maternelle": ("85.10Z", ("ECOLE MATERNELLE", "GROUPE SCOLAIRE")),
    "accueil_loisirs": ("88.99B", ("ACCUEIL DE LOISIRS", "CENTRE DE LOISIRS", "ALSH")),
    "periscolaire": ("88.99B", ("ACCUEIL PERISCOLAIRE", "GARDERIE PERISCOLAIRE")),
    "restauration_scolaire": ("56.29B", ("RESTAURATION SCOLAIRE", "CANTINE")),
    # "- CRECHES": the service that runs the crèches is not one (the rule reads service_administratif first)
    "service_administratif": ("84.11Z", ("SERVICE PETITE ENFANCE", "SERVICE PETITE ENFANCE - CRECHES", "DIRECTION DE LA PETITE ENFANCE")),
}
LOOK_ALIKES_PER_KIND = 20
#: Share of the look-alikes held by an association (the rest by a commune, CCAS or EPCI).
LOOK_ALIKE_ASSOCIATION_SHARE = 0.3
#: Communes whose name holds "crèche": their town halls (enseigne MAIRIE) must stay out of scope.
CRECHE_COMMUNES = ("79048", "71150")  # La Crèche (Deux-Sèvres), Crêches-sur-Saône (Saône-et-Loire)
# Planted municipalisations (issue 10), drawn from their own stream [seed, 3]: the merger study's public-takeover
# outcome must have a known effect to recover. The shares are assumptions of the sample, not estimates.
#: Share of the associative EAJE closed by the planted extra hazard that a public body takes over.
MUNICIPALISATION_SHARE = 0.4
#: Share of those taken over by the 2017 EPCI (the rest: by the commune).
MUNICIPALISATION_EPCI_SHARE = 0.3
#: The public crèche opens 0 to this many days after the closure, and before 31 December of the closure year, so that
#: it is active on the next 1 January, where the yearly transitions look for the successor.
MUNICIPALISATION_MAX_DAYS = 92
EPCI_CJ = {"CC": "7346", "CA": "7348", "CU": "7343", "ME": "7344", "SA": "7349"}


def ascii_upper(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def interpolate(points: dict[int, float], year: int) -> float:
    keys = sorted(points)
    if year <= keys[0]:
        return points[keys[0]]
    if year >= keys[-1]:
        return points[keys[-1]]
    for a, b in zip(keys, keys[1:]):
        if a <= year <= b:
            return points[a] + (points[b] - points[a]) * (year - a) / (b - a)
    raise AssertionError


def parse_date(text: str) -> D:
    if "/" in text:
        d, m, y = text.split("/")
        return D(int(y), int(m), int(d))
    return D.fromisoformat(text)


def departement(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


# ---------------------------------------------------------------------------------------------
# The real frame: communes, code changes, EPCI, CAF places, DREES counts
# ---------------------------------------------------------------------------------------------

PLM = {
    "75056": [f"751{i:02d}" for i in range(1, 21)],
    "69123": [f"6938{i}" for i in range(1, 10)],
    "13055": [f"132{i:02d}" for i in range(1, 17)],
}
PARENT_OF = {arr: parent for parent, arrs in PLM.items() for arr in arrs}


@dataclass
class Frame:
    pop: dict[str, float]  # location (2015 code or PLM arrondissement) -> population
    pop_year: dict[tuple[str, int], float]  # (commune code, cog year) -> population
    names: dict[tuple[str, int], str]  # (code, cog year) -> name
    steps: dict[int, dict[str, list[tuple[str, float, D, str]]]]  # cog_to -> old code -> [(new, ratio, date, type)]
    fusion_groups: dict[int, set[str]]  # cog_to -> new codes of communes nouvelles created that year
    epci: dict[int, dict[str, tuple[str, str]]]  # year -> commune code -> (epci siren, nature)
    epci_names: dict[tuple[int, str], str]
    caf_psu: dict[str, float]  # location -> mean PSU places 2017-2022
    caf_hors_psu: dict[str, float]
    drees: dict[str, dict[str, dict[int, float]]]  # table -> dept -> year -> count
    drees_places: dict[str, dict[int, float]]  # tab28 places in collective crèches

    def code_at(self, loc: str, year: int) -> str:
        """The location's commune code in the geography of 1 January ``year`` (2015-2024)."""
        if loc in PARENT_OF:
            return loc
        code = loc
        for to in range(2016, min(year, LAST_COG) + 1):
            moves = self.steps.get(to, {}).get(code)
            if moves:
                code = max(moves, key=lambda m: (m[1], m[0]))[0]
        return code

    def commune_of(self, loc: str, year: int) -> str:
        """As code_at, with PLM arrondissements brought to their commune (for EPCI lookups)."""
        return PARENT_OF.get(loc, self.code_at(loc, year))

    def fusions(self, loc: str) -> list[tuple[D, int, str]]:
        """Communes nouvelles the location's commune took part in: (effective date, cog year, new code)."""
        if loc in PARENT_OF:
            return []
        out, code = [], loc
        for to in range(2016, LAST_COG + 1):
            moves = self.steps.get(to, {}).get(code)
            if not moves:
                continue
            new, _, when, kind = max(moves, key=lambda m: (m[1], m[0]))
            if kind == "f" and new in self.fusion_groups.get(to, set()):
                out.append((when, to, new))
            code = new
        return out

    def name(self, code: str, year: int) -> str:
        for y in range(min(max(year, 2015), LAST_COG), 2014, -1):
            if (code, y) in self.names:
                return self.names[(code, y)]
        for y in range(2015, LAST_COG + 1):
            if (code, y) in self.names:
                return self.names[(code, y)]
        return code


def _num(text) -> float | None:
    if text is None:
        return None
    digits = "".join(ch for ch in str(text) if ch.isdigit())
    return float(digits) if digits else None


def load_frame() -> Frame:
    con = duckdb.connect()
    cog = RAW / "cog" / "embedded"
    names, pop, pop_year = {}, {}, {}
    for code, name, p, year in con.execute(f"select CODGEO, LIBGEO, POP, cog_year from '{cog}/communes_pop_2015_2024.parquet'").fetchall():
        names[(code, year)] = name
        pop_year[(code, year)] = p if p is not None else 5000.0
        if year == 2015:
            pop[code] = p if p is not None else 5000.0  # Mayotte has no population in this table
    # PLM: arrondissements replace their commune as locations (SIRENE records arrondissement codes)
    for parent, arrs in PLM.items():
        total = pop.pop(parent)
        for arr in arrs:
            pop[arr] = total / len(arrs)
            city = {"75056": "PARIS", "69123": "LYON", "13055": "MARSEILLE"}[parent]
            n = int(arr[-2:])
            names[(arr, 2015)] = f"{city} {n}E ARRONDISSEMENT" if n > 1 else f"{city} 1ER ARRONDISSEMENT"

    steps: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    new_counts: dict[tuple[int, str], int] = defaultdict(int)
    for cog_to, old, new, when, kind, ratio in con.execute(
        f"select cog_to, cod_old, cod_new, annee, typemodif, ratio from '{cog}/passage_communes_2015_2024.parquet'"
    ).fetchall():
        to = int(cog_to)
        steps[to][old].append((new, float(ratio), parse_date(when), kind))
        if kind == "f":
            new_counts[(to, new)] += 1
    fusion_groups: dict[int, set[str]] = defaultdict(set)
    for (to, new), n in new_counts.items():
        if n >= 2:
            fusion_groups[to].add(new)

    ep = RAW / "insee_epci" / "embedded"
    epci: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
    for year, code, siren, nature in con.execute(
        f"select annee, CODGEO, EPCI, NATURE_EPCI from '{ep}/appartenance_epci_2015_2019.parquet' where annee in (2016, 2017)"
    ).fetchall():
        if siren and not siren.startswith("Z"):
            epci[year][code] = (siren, nature)
    epci_names = {
        (year, code): name
        for year, code, name in con.execute(f"select annee, CODGEO, LIBGEO from '{ep}/libelles_epci_2015_2019.parquet'").fetchall()
    }

    caf_psu, caf_hors = defaultdict(list), defaultdict(list)
    for code, psu, hors in con.execute(
        f"select num_commune, places_EAJE_PSU, places_hors_EAJE_PSU from '{RAW}/caf/embedded/nbpla_pe_com_2017_2022.parquet'"
    ).fetchall():
        if code in pop:
            caf_psu[code].append(_num(psu) or 0.0)
            caf_hors[code].append(_num(hors) or 0.0)

    drees: dict[str, dict[str, dict[int, float]]] = {}
    for tab in ("23", "24", "27", "28"):
        rows = con.execute(f"select * from '{RAW}/drees/embedded/drees_tab{tab}.parquet'").fetchall()
        cols = [c[0] for c in con.execute(f"describe select * from '{RAW}/drees/embedded/drees_tab{tab}.parquet'").fetchall()]
        years = [int(c) for c in cols[3:]]
        table: dict[str, dict[int, float]] = {}
        for r in rows:
            table[r[1]] = {y: _num(v) for y, v in zip(years, r[3:])}
        # Corsica: 2A/2B until 2017, the Collectivité de Corse (20) after; split 20 by the 2015-2017 ratio
        share_2a = sum(table["2A"][y] or 0 for y in years[:3] if table["2A"].get(y) is not None)
        share_2b = sum(table["2B"][y] or 0 for y in years[:3] if table["2B"].get(y) is not None)
        ratio = share_2a / (share_2a + share_2b) if share_2a + share_2b else 0.5
        for y in years:
            if table["2A"].get(y) is None and table.get("20", {}).get(y) is not None:
                table["2A"][y] = table["20"][y] * ratio
                table["2B"][y] = table["20"][y] * (1 - ratio)
        # keep the départements only (drop the aggregates 20, 6AE, 69D, 69M)
        drees[tab] = {d: v for d, v in table.items() if d not in ("20", "6AE", "69D", "69M")}
    return Frame(
        pop=pop,
        pop_year=pop_year,
        names=names,
        steps=steps,
        fusion_groups=fusion_groups,
        epci=epci,
        epci_names=epci_names,
        caf_psu={k: float(np.mean(v)) for k, v in caf_psu.items()},
        caf_hors_psu={k: float(np.mean(v)) for k, v in caf_hors.items()},
        drees={k: v for k, v in drees.items() if k != "28"},
        drees_places=drees["28"],
    )


def fusion_epci_2017(frame: Frame) -> set[str]:
    """2017 EPCIs formed by a fusion: at least two 2016 EPCIs absorbed, i.e. more than half of their
    2016 population went to this EPCI and their SIREN vanished (or is the successor's own)."""
    pop16 = defaultdict(float)
    flows: dict[tuple[str, str], float] = defaultdict(float)
    after = frame.epci[2017]
    for code, (e16, _) in frame.epci[2016].items():
        p = frame.pop_year.get((code, 2016), 1.0)
        moves = frame.steps.get(2017, {}).get(code) or [(code, 1.0, None, "")]
        for new, ratio, _, _ in moves:
            if new in after:
                flows[(e16, after[new][0])] += p * ratio
                pop16[e16] += p * ratio
    sirens_2017 = {s for s, _ in after.values()}
    absorbed = defaultdict(set)
    by_pred = defaultdict(dict)
    for (e16, e17), p in flows.items():
        by_pred[e16][e17] = p
    for e16, succ in by_pred.items():
        e17, p = max(succ.items(), key=lambda kv: (kv[1], kv[0]))
        if p > pop16[e16] / 2 and (e16 not in sirens_2017 or e16 == e17):
            absorbed[e17].add(e16)
    return {e17 for e17, preds in absorbed.items() if len(preds) >= 2}


# ---------------------------------------------------------------------------------------------
# Targets: facilities per département, segment and 1 January
# ---------------------------------------------------------------------------------------------


def targets(frame: Frame) -> dict[tuple[str, str], dict[int, float]]:
    depts = sorted({departement(loc) for loc in frame.pop})
    t23, t24, t27 = frame.drees["23"], frame.drees["24"], frame.drees["27"]
    nat23 = {y: sum((t23[d].get(y) or 0) for d in t23) for y in range(2015, 2024)}
    micro_share = {y: interpolate(MICRO_NATIONAL, y) / nat23[y] for y in nat23}
    pop_dept = defaultdict(float)
    for loc, p in frame.pop.items():
        pop_dept[departement(loc)] += p
    total_pop = sum(pop_dept.values())
    out: dict[tuple[str, str], dict[int, float]] = {}
    for d in depts:
        if d in t23:
            base = {y: t23[d].get(y) or 0.0 for y in range(2015, 2024)}
        else:  # Mayotte: absent from DREES
            base = {y: 4.0 + 1.5 * (y - 2015) for y in range(2015, 2024)}
        micro = {y: base[y] * micro_share[y] for y in base}
        nonmicro = {y: base[y] - micro[y] for y in base}
        psu, mic = {}, {}
        for y in range(FIRST_YEAR, LAST_YEAR + 2):
            if y < 2015:
                psu[y] = nonmicro[2015] * 0.985 ** (2015 - y)
                mic[y] = micro[2015] * interpolate(MICRO_NATIONAL, y) / MICRO_NATIONAL[2015]
            elif y > 2023:
                psu[y] = nonmicro[2023] * 1.01 ** (y - 2023)
                mic[y] = micro[2023] * interpolate(MICRO_NATIONAL, y) / MICRO_NATIONAL[2023]
            else:
                psu[y], mic[y] = nonmicro[y], micro[y]
        out[(d, "psu")], out[(d, "micro")] = psu, mic
        fam = t24.get(d, {})
        out[(d, "familiale")] = {y: (fam.get(min(y, 2023)) or 0.0) * (0.97 ** max(0, y - 2023)) for y in range(FIRST_YEAR, LAST_YEAR + 2)}
        par = t27.get(d, {})
        out[(d, "parentale")] = {
            y: (par.get(min(max(y, 2015), 2023)) or 0.0) * (1.03 ** max(0, 2015 - y)) * (0.97 ** max(0, y - 2023))
            for y in range(FIRST_YEAR, LAST_YEAR + 2)
        }
        for seg, path in NOISE_NATIONAL.items():
            out[(d, seg)] = {y: interpolate(path, y) * pop_dept[d] / total_pop for y in range(FIRST_YEAR, LAST_YEAR + 2)}
    return out


def location_weights(frame: Frame) -> dict[tuple[str, str], tuple[list[str], np.ndarray]]:
    """Where facilities of each département and segment open: CAF communes in proportion to their
    places, other communes by population (rural communes rarely)."""
    by_dept = defaultdict(list)
    for loc in frame.pop:
        by_dept[departement(loc)].append(loc)
    places28 = frame.drees_places
    out = {}
    for d, locs in by_dept.items():
        locs = sorted(locs)
        pop = np.array([frame.pop[l] for l in locs])
        caf_psu = np.array([frame.caf_psu.get(l, 0.0) for l in locs])
        caf_hors = np.array([frame.caf_hors_psu.get(l, 0.0) for l in locs])
        is_caf = np.array([l in frame.caf_psu for l in locs])
        dept_places = (places28.get(d, {}).get(2019) or 0.0) * 0.92
        rest_psu = min(0.9, max(0.05, 1 - caf_psu.sum() / dept_places)) if dept_places > 0 else 0.9
        rest_micro = 0.55 if caf_hors.sum() > 0 else 1.0

        def blend(caf_w: np.ndarray, pop_w: np.ndarray, rest: float) -> np.ndarray:
            pop_w = np.where(is_caf, 0.0, pop_w)
            w = np.zeros(len(locs))
            if caf_w.sum() > 0:
                w += (1 - rest) * caf_w / caf_w.sum()
            else:
                rest = 1.0
            if pop_w.sum() > 0:
                w += rest * pop_w / pop_w.sum()
            return w / w.sum()

        psu_pop = np.where(pop >= 600, pop**1.4, 0.0)
        micro_pop = np.where(pop >= 1000, pop**1.1, 0.0)
        out[(d, "psu")] = (locs, blend(caf_psu, psu_pop, rest_psu))
        out[(d, "familiale")] = out[(d, "psu")]
        out[(d, "parentale")] = (locs, blend(caf_psu, psu_pop, 0.3))
        out[(d, "laep")] = out[(d, "psu")]
        out[(d, "micro")] = (locs, blend(caf_hors + 0.05 * caf_psu, micro_pop, rest_micro))
        all_pop = np.where(pop >= 300, pop, 0.0)
        out[(d, "ei")] = (locs, all_pop / all_pop.sum() if all_pop.sum() else np.ones(len(locs)) / len(locs))
        mam = np.where((pop >= 800) & (pop <= 30000), pop**0.9, 0.02 * pop**0.9)
        out[(d, "mam")] = (locs, mam / mam.sum())
        rpe = np.where(pop >= 2000, pop**0.8, 0.0)
        out[(d, "rpe")] = (locs, rpe / rpe.sum() if rpe.sum() else np.ones(len(locs)) / len(locs))
    return out


# ---------------------------------------------------------------------------------------------
# Legal units and facilities
# ---------------------------------------------------------------------------------------------


@dataclass
class LegalUnit:
    siren: str
    kind: str
    cj: str
    name: str | None
    created: D
    ape: str
    rna: str | None = None
    person: tuple[str, str, str] | None = None  # nom, prenom, sexe
    partial: bool = False  # statutDiffusion P
    ess_from_2016: str | None = None  # flag set on 2016-01-01 (the flag's first appearance here)
    ess_change: tuple[D, str] | None = None  # (date, flag) later change
    cj_change: tuple[D, str, str, str] | None = None  # (date, new cj, new flag, new name)
    ceased: D | None = None
    nics: int = 0
    establishments: list = field(default_factory=list)
    missing: bool = False  # left out of the legal-unit files (bad input planted on purpose)


@dataclass
class Facility:
    fid: int
    loc: str
    dept: str
    segment: str
    family: str  # public / association / lucratif / other
    kind: str  # operator kind
    label: str  # structure word in the name
    petname: str
    created: D
    u: np.ndarray
    treated: bool = False
    closed_cf: D | None = None
    closed: D | None = None
    scic_date: D | None = None  # its association becomes a SCIC (same SIREN) on this date
    recode_from: tuple[str, D] | None = None  # (previous code, date it became 88.91A)
    leave_to: tuple[str, D] | None = None  # (new code, date it left 88.91A)
    own_code: str | None = None  # registered its whole life under this code, not 88.91A (planted: scope rule)
    usual_name: bool = False  # its name is in denominationUsuelleEtablissement, not in the enseigne
    successor_of: int | None = None  # planted municipalisation: the fid of the associative EAJE it takes over
    units: list = field(default_factory=list)  # [(start, LegalUnit)]


class Generator:
    def __init__(self, frame: Frame, seed: int, extra_closure: float, effect_from: int, stock_date: D):
        self.frame = frame
        self.rng = np.random.default_rng(seed)
        self.extra = extra_closure
        self.effect_from = effect_from
        self.stock_date = stock_date
        self.treated_epci = fusion_epci_2017(frame)
        self.weights = location_weights(frame)
        self.targets = targets(frame)
        self.units: dict[tuple, LegalUnit] = {}
        # real EPCI SIRENs are reserved first: a random SIREN must never take one
        self.sirens: set[str] = {s for year in frame.epci.values() for s, _ in year.values()}
        self.facilities: list[Facility] = []
        # filled by rows(): the siret of each (facility, operator) segment and of each town hall, which the
        # succession links name
        self.segment_sirets: dict[tuple[int, int], str] = {}
        self.town_halls: dict[str, str] = {}

    # --- identifiers and legal units ---------------------------------------------------------

    def new_siren(self, prefix: str = "") -> str:
        while True:
            body = prefix + "".join(str(d) for d in self.rng.integers(0, 10, 8 - len(prefix)))
            s = make_siren(body)
            if s not in self.sirens and not body.startswith("356"):
                self.sirens.add(s)
                return s

    def fixed_siren(self, body: str) -> str:
        s = make_siren(body)
        if s in self.sirens:  # collision of two deterministic bodies: fall back to a random one
            return self.new_siren(body[:2])
        self.sirens.add(s)
        return s

    def distinct_units(self) -> list[LegalUnit]:
        """Every legal unit once (a unit can be registered under two keys)."""
        return list({id(u): u for u in self.units.values()}.values())

    def unit(self, key: tuple, make) -> LegalUnit:
        if key not in self.units:
            self.units[key] = make()
        return self.units[key]

    def commune_unit(self, loc: str, when: D, ccas: bool = False) -> LegalUnit:
        """The commune (or its CCAS) operating at ``when``: a commune nouvelle is a new legal unit."""
        events = [e for e in self.frame.fusions(loc) if e[0] <= when]
        if PARENT_OF.get(loc):
            code, since, created = PARENT_OF[loc], 0, D(1970, 1, 1)
        elif events:
            when_f, cog, code = events[-1]
            since, created = cog, when_f
        else:
            code, since, created = loc, 0, D(1970, 1, 1)
        name = ascii_upper(self.frame.name(code, since or 2015))
        digits = code.replace("2A", "20").replace("2B", "20")
        flag = "1" if code.startswith("2B") else "0"
        key = ("ccas" if ccas else "commune", code, since)

        def make() -> LegalUnit:
            if since:  # commune nouvelle: new SIREN (real ones are 200xxxxxx)
                s = self.new_siren("200")
            else:
                s = self.fixed_siren(("26" if ccas else "21") + digits + flag)
            if ccas:
                return LegalUnit(s, "ccas", "7361", f"CENTRE COMMUNAL D'ACTION SOCIALE DE {name}", created, "88.99B")
            return LegalUnit(s, "commune", "7210", f"COMMUNE DE {name}", created, "84.11Z")

        u = self.unit(key, make)
        later = [e for e in self.frame.fusions(loc) if e[0] > when]
        if later and u.ceased is None:
            u.ceased = later[0][0]
        return u

    def epci_unit(self, loc: str, year: int) -> LegalUnit:
        y = 2016 if year < 2017 else 2017
        code = self.frame.commune_of(loc, y)
        siren, nature = self.frame.epci[y].get(code, (None, None))
        if siren is None:  # commune outside any EPCI: the commune runs it
            return self.commune_unit(loc, D(year, 6, 1))
        existed_2016 = siren in {s for s, _ in self.frame.epci[2016].values()}

        def make() -> LegalUnit:
            created = D(1993, 1, 1) if existed_2016 else D(2017, 1, 1)
            name = ascii_upper(self.frame.epci_names.get((y, siren), f"EPCI {siren}"))
            return LegalUnit(siren, "epci", EPCI_CJ.get(nature, "7346"), name, created, "84.11Z")

        u = self.unit(("epci", siren), make)
        if y == 2016 and siren not in {s for s, _ in self.frame.epci[2017].values()}:
            u.ceased = D(2017, 1, 1)
        return u

    def simple_unit(self, kind: str, cj: str, name: str | None, created: D, ape: str, **kw) -> LegalUnit:
        s = self.new_siren(kw.pop("prefix", ""))
        u = LegalUnit(s, kind, cj, name, created, ape, **kw)
        self.units[(kind, s)] = u
        return u

    # --- operators -----------------------------------------------------------------------------

    def choose_kind(self, segment: str, year: int, loc: str) -> tuple[str, str]:
        r = self.rng.random()
        w = min(1.0, max(0.0, (year - 2004) / (2026 - 2004)))  # 2004 (initial stock) .. 2026
        if segment == "psu":
            probs = {
                "public": 0.58 - 0.24 * w,
                "association": 0.33 - 0.09 * w,
                "lucratif": 0.02 + 0.30 * w,
                "other": 0.04 + 0.02 * w,
                "cse": 0.03,
            }
        elif segment == "micro":
            v = min(1.0, max(0.0, (year - 2010) / 16))  # PAJE micro-crèches became ever more for-profit
            probs = {"lucratif": 0.68 + 0.18 * v, "association": 0.17 - 0.09 * v, "public": 0.12 - 0.08 * v, "other": 0.03 - 0.01 * v}
        elif segment == "familiale":
            probs = {"public": 0.75, "association": 0.25}
        elif segment == "parentale":
            probs = {"association": 1.0}
        elif segment == "ei":
            return "lucratif", "ei"
        elif segment == "mam":
            return ("association", "mam_assoc") if r < 0.7 else ("lucratif", "mam_ei")
        elif segment == "rpe":
            return "public", ("commune" if r < 0.65 or year < 1995 else "epci")
        else:  # laep
            return ("association", "association") if r < 0.6 else ("public", "caf" if r < 0.8 else "commune")
        total = sum(probs.values())
        acc, family = 0.0, None
        for fam, p in probs.items():
            acc += p / total
            if r < acc:
                family = fam
                break
        family = family or list(probs)[-1]
        r2 = self.rng.random()
        dept = departement(loc)
        if family == "public":
            if segment == "micro":
                return "public", "commune"
            if dept in ("92", "93", "94") and r2 < 0.15:
                return "public", "departement"
            small = self.frame.pop.get(loc, 0) < 5000
            # intercommunalities run crèches since the 1990s only
            cuts = [("hospital", 0.05), ("caf", 0.01), ("ccas", 0.10), ("epci", (0.35 if small else 0.08) if year >= 1995 else 0.0)]
            acc = 0.0
            for kind, p in cuts:
                acc += p
                if r2 < acc:
                    return "public", kind
            return "public", "commune"
        if family == "association":
            return "association", "association"
        if family == "lucratif":
            return "lucratif", ("group" if r2 < (0.55 if segment == "psu" else 0.20) else "company")
        if family == "cse":
            return "other", "cse"
        # other ESS
        for kind, p in (("mutuelle", 0.35), ("fondation", 0.25), ("scic", 0.25), ("scic_noflag", 0.10), ("scop", 0.05)):
            r2 -= p
            if r2 < 0:
                return "other", kind
        return "other", "scop"

    def operator_unit(self, f: Facility, when: D) -> LegalUnit:
        k, loc, dept = f.kind, f.loc, f.dept
        city = ascii_upper(self.frame.name(self.frame.commune_of(loc, max(2015, min(when.year, LAST_COG))), when.year))
        created = min(when, D(when.year, 1, 1) - dt.timedelta(days=int(self.rng.integers(30, 400))))
        if k == "commune":
            return self.commune_unit(loc, when)
        if k == "ccas":
            return self.commune_unit(loc, when, ccas=True)
        if k == "epci":
            return self.epci_unit(loc, when.year)
        if k == "hospital":
            return self.unit(
                ("hospital", dept),
                lambda: self.simple_unit("hospital", "7364", f"CENTRE HOSPITALIER DE {city}", D(1970, 1, 1), "86.10Z", prefix="26"),
            )
        if k == "departement":
            return self.unit(
                ("departement", dept),
                lambda: self.simple_unit("departement", "7220", f"DEPARTEMENT {dept}", D(1970, 1, 1), "84.11Z", prefix="22"),
            )
        if k == "caf":
            return self.unit(
                ("caf", dept), lambda: self.simple_unit("caf", "8110", f"CAISSE D'ALLOCATIONS FAMILIALES {dept}", D(1970, 1, 1), "84.30A")
            )
        if k in ("association", "mam_assoc"):
            cj = "9260" if dept in ALSACE_MOSELLE else "9220"
            prefix = (
                "MAM "
                if k == "mam_assoc"
                else ("CRECHE PARENTALE " if f.segment == "parentale" else ("ASSOCIATION " if self.rng.random() < 0.5 else ""))
            )
            if k == "association" and f.segment == "psu" and not f.scic_date and self.rng.random() < 0.12:
                return self.unit(
                    ("assoc_multi", dept, int(self.rng.integers(0, 3))),
                    lambda: self.simple_unit(
                        "association",
                        cj,
                        f"ASSOCIATION PETITE ENFANCE {city}",
                        D(1970, 1, 1),
                        "88.91A",
                        rna=f"W{int(self.rng.integers(10**8, 10**9)):09d}",
                        ess_from_2016="O",
                    ),
                )
            return self.simple_unit(
                "association",
                cj,
                prefix + f.petname,
                created,
                "88.91A",
                rna=f"W{int(self.rng.integers(10**8, 10**9)):09d}" if self.rng.random() < 0.7 else None,
                ess_from_2016="O" if self.rng.random() < 0.95 else None,
            )
        if k == "group":
            r, acc = self.rng.random(), 0.0
            for gname, (p, cj) in GROUPS.items():
                acc += p
                if r < acc:
                    break
            return self.unit(("group", gname), lambda: self.simple_unit("group", cj, gname, D(1970, 3, 1), "88.91A", ess_from_2016="N"))
        if k in ("company", "override"):
            cj = self.rng.choice(["5710", "5720", "5499", "5498"], p=[0.45, 0.20, 0.30, 0.05])
            u = self.simple_unit(
                "company",
                str(cj),
                f.petname + (" SAS" if cj in ("5710", "5720") else " SARL"),
                created,
                "88.91A",
                ess_from_2016="N" if self.rng.random() < 0.3 else None,
            )
            if self.rng.random() < 0.02:  # became an ESUS company: INSEE flag O later
                u.ess_change = (D(int(self.rng.integers(2018, 2023)), int(self.rng.integers(1, 13)), 1), "O")
            return u
        if k == "scic":
            return self.simple_unit("scic", "5710", f"SCIC {f.petname}", created, "88.91A", ess_from_2016="O")
        if k == "scic_noflag":
            return self.simple_unit("scic", "5710", f"SCIC {f.petname}", created, "88.91A")
        if k == "scop":
            return self.simple_unit("scop", "5458", f"SCOP {f.petname}", created, "88.91A", ess_from_2016="O")
        if k == "mutuelle":
            return self.unit(
                ("mutuelle", dept[:2]),
                lambda: self.simple_unit("mutuelle", "8210", f"MUTUALITE FRANCAISE {dept}", D(1970, 1, 1), "65.12Z", ess_from_2016="O"),
            )
        if k == "fondation":
            n = int(self.rng.integers(1, 6))
            return self.unit(
                ("fondation", n),
                lambda: self.simple_unit("fondation", "9300", f"FONDATION POUR L'ENFANCE {n}", D(1960, 1, 1), "88.91A", ess_from_2016="O"),
            )
        if k == "cse":
            corp = ["AIRBUS", "RENAULT", "SNCF", "EDF", "ORANGE", "THALES", "SAFRAN", "MICHELIN"][int(self.rng.integers(0, 8))]
            return self.simple_unit(
                "cse", "8311" if self.rng.random() < 0.7 else "8310", f"COMITE D'ETABLISSEMENT {corp} {city}", created, "94.99Z"
            )
        if k in ("ei", "mam_ei"):
            sexe = "F" if self.rng.random() < 0.93 else "M"
            person = (SURNAMES[int(self.rng.integers(0, len(SURNAMES)))], FIRSTNAMES[int(self.rng.integers(0, len(FIRSTNAMES)))], sexe)
            return self.simple_unit("ei", "1000", None, created, "88.91A", person=person, partial=self.rng.random() < 0.4)
        raise ValueError(k)

    # --- simulation ----------------------------------------------------------------------------

    def new_facility(self, dept: str, segment: str, loc: str, created: D) -> Facility:
        family, kind = self.choose_kind(segment, created.year, loc)
        label = ""
        if segment == "psu":
            r, acc = self.rng.random(), 0.0
            for lab, p in PSU_TYPES:
                acc += p
                if r < acc:
                    label = lab
                    break
        else:
            label = {
                "micro": "MICRO-CRECHE",
                "familiale": "CRECHE FAMILIALE",
                "parentale": "CRECHE PARENTALE",
                "mam": "MAM",
                "laep": "LIEU D'ACCUEIL ENFANTS PARENTS",
                "rpe": "RELAIS PETITE ENFANCE" if created.year >= 2021 else "RELAIS ASSISTANTES MATERNELLES",
                "ei": "",
            }[segment]
        f = Facility(
            fid=len(self.facilities),
            loc=loc,
            dept=dept,
            segment=segment,
            family=family,
            kind=kind,
            label=label,
            petname=PETNAMES[int(self.rng.integers(0, len(PETNAMES)))],
            created=created,
            u=self.rng.random(LAST_YEAR - FIRST_YEAR + 2),
        )
        if kind == "association" and segment == "psu" and created.year < 2024 and self.rng.random() < 0.015:
            f.scic_date = D(int(self.rng.integers(max(2014, created.year + 1), 2026)), 1 + int(self.rng.integers(0, 12)), 1)
        code17 = self.frame.commune_of(loc, 2017)
        e17 = self.frame.epci[2017].get(code17, (None, None))[0]
        f.treated = segment in IN_SCOPE and e17 in self.treated_epci
        self.facilities.append(f)
        return f

    def random_day(self, year: int, after: D | None = None, until: D | None = None) -> D:
        start = D(year, 1, 2)
        if after and after >= start:
            start = after + dt.timedelta(days=1)
        end = min(D(year, 12, 31), until or D(year, 12, 31))
        if start > end:
            return end
        return start + dt.timedelta(days=int(self.rng.integers(0, (end - start).days + 1)))

    def simulate(self) -> None:
        pools: dict[tuple[str, str], list[Facility]] = {}
        for key, path in sorted(self.targets.items()):
            d, seg = key
            locs, p = self.weights[key]
            n0 = int(round(path[FIRST_YEAR]))
            chosen = self.rng.choice(len(locs), size=n0, p=p) if n0 else []
            pools[key] = []
            for i in chosen:
                first = 2007 if seg == "micro" else (2006 if seg == "mam" else 1975)
                year = int(self.rng.integers(first, FIRST_YEAR))
                pools[key].append(self.new_facility(d, seg, locs[i], self.random_day(year)))
        for t in range(FIRST_YEAR, LAST_YEAR + 1):
            partial = t == LAST_YEAR  # 1 January 2026 .. the stock date
            until = self.stock_date if partial else None
            for key in sorted(pools):
                d, seg = key
                active = pools[key]
                n = len(active)
                target_next = self.targets[key][t + 1]
                # declining segments follow their targets: the hazard rises to what the decline needs
                shift = max(0.0, 1 - target_next / n) if n and seg in ("familiale", "parentale") else 0.0
                survivors = []
                for f in active:
                    q = max(HAZARD.get((seg, f.family), 0.03), shift)
                    if partial:
                        q *= (self.stock_date - D(t, 1, 1)).days / 365
                    u = f.u[t - FIRST_YEAR]
                    if u < q:
                        f.closed_cf = self.random_day(t, f.created, until)
                        if f.closed is None:
                            f.closed = f.closed_cf
                        continue
                    survivors.append(f)
                    if (
                        f.closed is None
                        and f.treated
                        and t >= self.effect_from
                        and self.is_association(f, D(t, 1, 1))
                        and u < q + self.extra * ((self.stock_date - D(t, 1, 1)).days / 365 if partial else 1.0)
                    ):
                        f.closed = self.random_day(t, f.created, until)  # planted: closes in the observed world only
                gap = target_next - len(survivors)
                if partial:
                    gap *= (self.stock_date - D(t, 1, 1)).days / 365
                k = int(self.rng.poisson(gap)) if 0 < gap < 3 else max(0, int(round(gap)))
                if k:
                    locs, p = self.weights[key]
                    for i in self.rng.choice(len(locs), size=k, p=p):
                        survivors.append(self.new_facility(d, seg, locs[i], self.random_day(t, until=until)))
                pools[key] = survivors

    def is_association(self, f: Facility, when: D) -> bool:
        """Associative operator on ``when`` (association -> SCIC changes end it)."""
        return f.kind == "association" and not (f.scic_date and f.scic_date <= when)

    # --- events beyond open/close ----------------------------------------------------------------

    def decorate(self) -> None:
        """Operators (with transfers), activity-code changes, legal-form changes."""
        for f in self.facilities:
            end = f.closed or self.stock_date
            f.units = [(f.created, self.operator_unit(f, f.created))]
            if f.kind in ("commune", "ccas"):
                for when, _, _ in self.frame.fusions(f.loc):
                    if f.created < when < end:
                        f.units.append((when, self.commune_unit(f.loc, when, ccas=f.kind == "ccas")))
            if f.kind == "epci" and f.created < D(2017, 1, 1) < end:
                new = self.epci_unit(f.loc, 2017)
                if new is not f.units[-1][1]:
                    f.units.append((D(2017, 1, 1), new))
            if f.segment in IN_SCOPE + ("rpe",):
                r = self.rng.random()
                span = (end - f.created).days
                if r < 0.05 and span > 800 and f.created.year < 2018:
                    prev = (
                        "84.11Z"
                        if f.family == "public" and self.rng.random() < 0.5
                        else ("85.10Z" if self.rng.random() < 0.2 else "88.99B")
                    )
                    f.recode_from = (prev, f.created + dt.timedelta(days=int(self.rng.integers(365, span - 200))))
                elif r < 0.075 and span > 1200:
                    to = ["88.99B", "85.59B", "88.10C"][int(self.rng.integers(0, 3))]
                    f.leave_to = (to, f.created + dt.timedelta(days=int(self.rng.integers(730, span - 100))))
            # association -> SCIC (same SIREN, new legal category, flag O, new name)
            u = f.units[0][1]
            if f.scic_date and f.scic_date < end:
                u.cj_change = (f.scic_date, "5710", "O", f"SCIC {u.name.removeprefix('ASSOCIATION ')}")
            for _, unit in f.units:
                unit.establishments.append(f)

    def register_under_own_code(self, rng: np.random.Generator) -> None:
        """Planted (after :meth:`decorate`, on ``rng``, a stream apart): a share of the public and associative
        EAJE is registered its whole life under the operator's own code, with its EAJE name in the enseigne or
        the usual name. Converted, not added: the national totals, which count every EAJE whatever its code,
        do not move. Associations of the EPCIs formed by a fusion are left alone, so the merger study's
        outcome stays as its truth defines it."""
        for f in self.facilities:
            share = OWN_CODE_SHARE.get("association" if f.kind == "association" else f.family, 0.0)
            if f.kind not in ("commune", "ccas", "epci", "association"):
                continue
            # every facility of these kinds takes its draws, so the stream does not depend on the filters below
            take, usual, r = rng.random() < share, rng.random() < USUAL_NAME_SHARE, rng.random()
            eligible = (
                f.segment in IN_SCOPE
                and f.label
                and not (f.recode_from or f.leave_to or f.scic_date or (f.treated and f.kind == "association"))
            )
            if not (take and eligible):
                continue
            if f.kind == "association":
                codes, p = zip(*ASSOCIATION_CODES)
                f.own_code = codes[int(np.searchsorted(np.cumsum(p), r, side="right"))]
                for _, unit in f.units:
                    if len(unit.establishments) == 1:
                        unit.ape = f.own_code
            else:
                f.own_code = f.units[0][1].ape  # 84.11Z (commune, EPCI), 88.99B (CCAS)
            f.usual_name = usual

    def plant_look_alikes(self, rows: dict[str, list[dict]], rng: np.random.Generator) -> list[dict]:
        """Planted (after :meth:`rows`, on ``rng``): establishments of active public bodies and associations under
        another code whose names look like childcare but are not EAJE, appended to ``rows``. Returns their
        truth rows (see :meth:`scope_truth`)."""
        holders = {
            "public": sorted(
                (u for u in self.distinct_units() if u.kind in ("commune", "ccas", "epci") and u.establishments and u.ceased is None),
                key=lambda u: u.siren,
            ),
            "association": sorted(
                (
                    u
                    for u in self.distinct_units()
                    if u.kind == "association"
                    and u.establishments
                    and u.ceased is None
                    and not u.cj_change
                    # an association running EAJE (a MAM association's own name would be read first)
                    and all(f.segment in IN_SCOPE for f in u.establishments)
                ),
                key=lambda u: u.siren,
            ),
        }
        truth = []

        def plant(unit: LegalUnit, kind: str, naf: str, name: str | None, start: D, ceased: D | None, reason: str) -> None:
            s = self.next_siret(unit)
            usual = rng.random() < USUAL_NAME_SHARE
            periods, row = self.plain_establishment(
                unit, s, start, naf, None if usual else name, name if usual else None, ceased, siege=False
            )
            rows["etab_hist"].extend(periods)
            rows["etab"].append(row)
            truth.append({"siret": s, "in_scope": False, "kind": kind, "expected_scope_reason": reason})

        for kind, (naf, names) in LOOK_ALIKES.items():
            for i in range(LOOK_ALIKES_PER_KIND):
                pool = holders["association" if rng.random() < LOOK_ALIKE_ASSOCIATION_SHARE else "public"]
                unit = pool[int(rng.integers(0, len(pool)))]
                name = f"{names[i % len(names)]} {PETNAMES[int(rng.integers(0, len(PETNAMES)))]}"
                start = max(unit.created + dt.timedelta(days=1), D(int(rng.integers(2000, 2026)), int(rng.integers(1, 13)), 1))
                plant(unit, kind, naf, name, start, None, kind)
        for cog in CRECHE_COMMUNES:
            unit = self.units[("commune", cog, 0)]  # the commune's town hall (MAIRIE) is planted by rows()
            truth.append(
                {
                    "siret": self.town_halls[unit.siren],
                    "in_scope": False,
                    "kind": "mairie_commune_creche",
                    "expected_scope_reason": "service_administratif",
                }
            )
            # a service with no name of its own: only the legal unit's name ("COMMUNE DE LA CRECHE") says crèche
            plant(unit, "service_commune_creche", "84.11Z", None, D(2012, 3, 1), None, "sans_nom_eaje")
        # a nativity scene: the rule cannot tell it from a crèche (known false positive); it lasts one December,
        # so it is active on no 1 January and never becomes a facility-year
        unit = holders["association"][int(rng.integers(0, len(holders["association"])))]
        plant(unit, "creche_de_noel", "94.99Z", "CRECHE DE NOEL", D(2019, 12, 1), D(2020, 1, 1), "nom_eaje")
        return truth

    def scope_truth(self, look_alikes: list[dict]) -> list[dict]:
        """The planted truth of the scope rule, one row per siret: every establishment of the facilities
        registered under their operator's code (in scope, ``nom_eaje``), then the look-alikes (out of scope)."""
        planted = [
            {
                "siret": self.segment_sirets[(f.fid, i)],
                "in_scope": True,
                "kind": "eaje_code_association" if f.kind == "association" else "eaje_code_public",
                "expected_scope_reason": "nom_eaje",
            }
            for f in self.facilities
            if f.own_code
            for i in range(len(f.units))
        ]
        return sorted(planted + look_alikes, key=lambda r: r["siret"])

    def plant_bad_input(self) -> dict:
        """A few deliberate oddities the pipeline must report (documented in PROVENANCE.md)."""
        rng = self.rng
        companies = sorted((u for u in self.distinct_units() if u.kind == "company" and len(u.establishments) == 1), key=lambda u: u.siren)
        missing = [companies[int(i)] for i in rng.choice(len(companies), size=3, replace=False)]
        for u in missing:
            u.missing = True
        others = [u for u in companies if not u.missing]
        unknown = others[int(rng.integers(0, len(others)))]
        unknown.cj = "6999"  # absent from INSEE's list: the classifier must say indetermine and warn
        ccas = sorted((u for u in self.distinct_units() if u.kind == "ccas" and u.establishments), key=lambda u: u.siren)
        flagged = [ccas[int(i)] for i in rng.choice(len(ccas), size=min(3, len(ccas)), replace=False)]
        for u in flagged:
            u.ess_from_2016 = "O"  # a public body flagged ESS: the rule keeps it public
        return {
            "legal_units_missing_from_files": [u.siren for u in missing],
            "unknown_legal_category": {"siren": unknown.siren, "categorie_juridique": "6999"},
            "public_bodies_flagged_ess": [u.siren for u in flagged],
        }

    # --- SIRENE rows ---------------------------------------------------------------------------

    def rows(self) -> dict[str, list[dict]]:
        etab, etab_hist, ul, ul_hist = [], [], [], []
        processed_base = dt.datetime(self.stock_date.year, self.stock_date.month, self.stock_date.day, 23, 0)
        for f in self.facilities:
            end = f.closed
            for i, (start, unit) in enumerate(f.units):
                stop = f.units[i + 1][0] if i + 1 < len(f.units) else end
                unit.nics += 1
                s = make_siret(unit.siren, unit.nics)
                self.segment_sirets[(f.fid, i)] = s
                enseigne = self.enseigne(f, unit)
                periods = self.establishment_periods(f, start, stop, enseigne)
                for p in periods:
                    etab_hist.append({"siren": unit.siren, "nic": s[9:], "siret": s, **p})
                last = periods[-1]
                year_code = (stop - dt.timedelta(days=1)).year if stop else LAST_COG
                code = self.frame.code_at(f.loc, max(2015, min(year_code, LAST_COG)))
                etab.append(self.stock_row(f, unit, s, start, last, code, len(periods), processed_base, enseigne))
        for unit in self.distinct_units():
            if unit.missing or not unit.establishments:
                continue
            periods = self.unit_periods(unit)
            ul_hist.extend({"siren": unit.siren, **p} for p in periods)
            ul.append(self.unit_row(unit, periods, processed_base))
        # town halls: establishments of the communes that are not childcare (must not be selected)
        for unit in sorted((u for u in self.distinct_units() if u.kind == "commune" and u.establishments), key=lambda u: u.siren):
            s = self.next_siret(unit)
            self.town_halls[unit.siren] = s
            periods, row = self.plain_establishment(unit, s, unit.created, "84.11Z", "MAIRIE", None, unit.ceased, siege=True)
            etab_hist.extend(periods)
            etab.append(row)
        return {"etab": etab, "etab_hist": etab_hist, "ul": ul, "ul_hist": ul_hist}

    def next_siret(self, unit: LegalUnit) -> str:
        unit.nics += 1
        return make_siret(unit.siren, unit.nics)

    def plain_establishment(
        self,
        unit: LegalUnit,
        s: str,
        start: D,
        naf: str,
        enseigne: str | None,
        usual: str | None,
        ceased: D | None,
        siege: bool,
        loc: str | None = None,
    ) -> tuple[list[dict], dict]:
        """History periods and stock row of an establishment with one activity and one name for its whole life
        (a town hall, a planted look-alike or municipal crèche), closed from ``ceased``, located at ``loc`` (by
        default where the unit's first facility is: an EPCI's establishments are not all in one commune)."""
        p = {
            "dateFin": None,
            "dateDebut": start,
            "etatAdministratifEtablissement": "A",
            "changementEtatAdministratifEtablissement": False,
            "activitePrincipaleEtablissement": naf,
            "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
            "changementActivitePrincipaleEtablissement": False,
            "enseigne1Etablissement": enseigne,
            "denominationUsuelleEtablissement": usual,
            "changementEnseigneEtablissement": False,
            "changementDenominationUsuelleEtablissement": False,
            "changementCaractereEmployeurEtablissement": False,
        }
        ids = {"siren": unit.siren, "nic": s[9:], "siret": s}
        periods = []
        if ceased:
            periods.append({**ids, **p, "dateFin": ceased - dt.timedelta(days=1)})
            p = {**p, "dateDebut": ceased, "etatAdministratifEtablissement": "F", "changementEtatAdministratifEtablissement": True}
        periods.append({**ids, **p})
        loc = loc or unit.establishments[0].loc
        code = self.frame.code_at(loc, (ceased - dt.timedelta(days=1)).year if ceased else LAST_COG)
        processed_base = dt.datetime(self.stock_date.year, self.stock_date.month, self.stock_date.day, 23, 0)
        row = {
            **ids,
            "statutDiffusionEtablissement": "O",
            "dateCreationEtablissement": start,
            "etablissementSiege": siege,
            "nombrePeriodesEtablissement": len(periods),
            "dateDernierTraitementEtablissement": processed_base - dt.timedelta(days=400),
            "codeCommuneEtablissement": PARENT_OF.get(code, code),
            "libelleCommuneEtablissement": ascii_upper(self.frame.name(PARENT_OF.get(code, code), LAST_COG)),
            "dateDebut": p["dateDebut"],
            "etatAdministratifEtablissement": p["etatAdministratifEtablissement"],
            "enseigne1Etablissement": enseigne,
            "denominationUsuelleEtablissement": usual,
            "activitePrincipaleEtablissement": naf,
            "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
        }
        return periods, row

    def successions(self, seed: int) -> tuple[list[dict], dict[str, int]]:
        """StockEtablissementLiensSuccession rows (run after :meth:`rows`), and their count per kind.

        Drawn from their own seeded generator, so that the four stock files stay byte-identical to a sample
        generated before this file existed (``self.rng``'s stream is not touched). Kinds:

        * ``transfer_commune_nouvelle`` / ``transfer_epci_2017``: every transfer the simulation has (the
          facility's establishment closes under the old commune or EPCI and a new siret of the new one opens
          on the same day), declared;
        * ``takeover_after_closure``: an associative EAJE closes and, within 0-6 months, a new EAJE opens in the
          same commune under another operator (commune, EPCI, another association, a company); half of these
          pairs are declared (not every takeover is);
        * ``town_hall_commune_nouvelle``: a merged commune's town hall succeeded by the commune nouvelle's,
          a link outside 88.91A that stg.sirene_successions must leave out;
        * ``municipalisation_2017``: every planted municipalisation (:meth:`plant_municipalisations`), drawn last.
        """
        rng = np.random.default_rng([seed, 1])
        processed_base = dt.datetime(self.stock_date.year, self.stock_date.month, self.stock_date.day, 23, 0)
        rows: list[dict] = []
        counts = {
            "transfer_commune_nouvelle": 0,
            "transfer_epci_2017": 0,
            "takeover_after_closure": 0,
            "town_hall_commune_nouvelle": 0,
            "municipalisation_2017": 0,
        }

        def link(kind: str, pred: str, succ: str, when: D, siege: bool) -> None:
            processed = dt.datetime.combine(when, dt.time(9, 0)) + dt.timedelta(days=int(rng.integers(1, 60)))
            rows.append(
                {
                    "siretEtablissementPredecesseur": pred,
                    "siretEtablissementSuccesseur": succ,
                    "dateLienSuccession": when,
                    "transfertSiege": siege,
                    "continuiteEconomique": True,
                    "dateDernierTraitementLienSuccession": min(processed, processed_base),
                }
            )
            counts[kind] += 1

        town_hall_pairs: dict[tuple[str, str], D] = {}
        for f in self.facilities:
            for i in range(1, len(f.units)):
                when, unit = f.units[i]
                kind = "transfer_epci_2017" if f.kind == "epci" else "transfer_commune_nouvelle"
                link(kind, self.segment_sirets[(f.fid, i - 1)], self.segment_sirets[(f.fid, i)], when, False)
                old = f.units[i - 1][1]
                if old.kind == "commune" and unit.kind == "commune":
                    town_hall_pairs.setdefault((old.siren, unit.siren), when)
        for (old, new), when in sorted(town_hall_pairs.items()):
            if old in self.town_halls and new in self.town_halls:
                link("town_hall_commune_nouvelle", self.town_halls[old], self.town_halls[new], when, True)
        for f, g in self.takeover_pairs():
            if rng.random() < 0.5:
                link("takeover_after_closure", self.segment_sirets[(f.fid, 0)], self.segment_sirets[(g.fid, 0)], g.created, False)
        # last, so that every earlier link keeps its draws
        for g in self.facilities:
            if g.successor_of is not None:
                link("municipalisation_2017", self.segment_sirets[(g.successor_of, 0)], self.segment_sirets[(g.fid, 0)], g.created, False)
        return rows, counts

    def takeover_pairs(self) -> list[tuple[Facility, Facility]]:
        """(closed associative EAJE, new EAJE of another operator opened in the same commune within 6 months), each
        opening paired once, earliest closure first. The planted municipalisations are not openings here: they have
        their own link (and the closures they take over are chosen among the unpaired ones)."""
        taken = {"association", "commune", "epci", "company", "group"}
        openings = defaultdict(list)
        for g in sorted(self.facilities, key=lambda g: (g.created, g.fid)):
            if g.segment in IN_SCOPE and g.kind in taken and g.successor_of is None:
                openings[g.loc].append(g)
        used: set[int] = set()
        pairs = []
        closures = [
            f
            for f in self.facilities
            if f.segment in IN_SCOPE and f.closed is not None and self.is_association(f, f.closed) and len(f.units) == 1
        ]
        for f in sorted(closures, key=lambda f: (f.closed, f.fid)):
            siren = f.units[-1][1].siren
            for g in openings[f.loc]:
                if g.fid in used or not f.closed <= g.created <= f.closed + dt.timedelta(days=183) or g.units[0][1].siren == siren:
                    continue
                used.add(g.fid)
                pairs.append((f, g))
                break
        return pairs

    def closed_by_extra_hazard(self, f: Facility) -> bool:
        """An associative EAJE coded 88.91A its whole life that closes, before the stock's last year, only because of
        the planted extra hazard (still open on that date in the counterfactual)."""
        return (
            f.treated
            and f.kind == "association"
            and f.closed is not None
            and (f.closed_cf is None or f.closed < f.closed_cf)
            and f.closed.year < LAST_YEAR
            and self.is_association(f, f.closed)
            and len(f.units) == 1
            and not (f.recode_from or f.leave_to or f.own_code)
        )

    def plant_municipalisations(self, rows: dict[str, list[dict]], rng: np.random.Generator) -> None:
        """Planted (after :meth:`rows`, on ``rng``, a stream apart): a share of the associative EAJE closed by the
        planted extra hazard, and not already paired by :meth:`takeover_pairs`, is taken over by the commune or the
        2017 EPCI: a new 88.91A crèche of that public body opens in the same commune (linked by :meth:`successions`),
        appended to ``rows`` and to the facilities (so the calibration counts it). The associative EAJE closes as
        before: the planted effect on the associative stock is unchanged. The main stream's later draws (a new
        SIREN, a processing date) come after every draw of the rows already written."""
        paired = {f.fid for f, _ in self.takeover_pairs()}
        processed_base = dt.datetime(self.stock_date.year, self.stock_date.month, self.stock_date.day, 23, 0)
        for f in sorted((f for f in self.facilities if self.closed_by_extra_hazard(f)), key=lambda f: (f.closed, f.fid)):
            # every candidate takes its draws, so the stream does not depend on the filter below
            take, by_epci = rng.random() < MUNICIPALISATION_SHARE, rng.random() < MUNICIPALISATION_EPCI_SHARE
            delay = int(rng.integers(0, MUNICIPALISATION_MAX_DAYS + 1))
            if not take or f.fid in paired:
                continue
            opened = min(f.closed + dt.timedelta(days=delay), D(f.closed.year, 12, 31))
            unit = self.epci_unit(f.loc, opened.year) if by_epci else self.commune_unit(f.loc, opened)
            if unit.ceased is not None:  # a commune merged later would need a transfer too: the EPCI takes it over
                unit = self.epci_unit(f.loc, opened.year)
            label = "CRECHE MUNICIPALE" if unit.kind == "commune" else "CRECHE INTERCOMMUNALE"
            g = Facility(
                fid=len(self.facilities),
                loc=f.loc,
                dept=f.dept,
                segment="psu",
                family="public",
                kind=unit.kind,
                label=label,
                petname=f.petname,
                created=opened,
                u=np.empty(0),
                treated=True,
                successor_of=f.fid,
                units=[(opened, unit)],
            )
            if not unit.establishments:  # a legal unit rows() did not write
                periods = self.unit_periods(unit)
                rows["ul_hist"].extend({"siren": unit.siren, **p} for p in periods)
                rows["ul"].append(self.unit_row(unit, periods, processed_base))
            unit.establishments.append(g)
            self.facilities.append(g)
            s = self.next_siret(unit)
            self.segment_sirets[(g.fid, 0)] = s
            periods, row = self.plain_establishment(unit, s, opened, "88.91A", f"{label} {f.petname}", None, None, False, loc=f.loc)
            rows["etab_hist"].extend(periods)
            rows["etab"].append(row)

    def enseigne(self, f: Facility, unit: LegalUnit) -> str | None:
        if f.segment == "ei":
            return "GARDE D'ENFANTS" if self.rng.random() < 0.3 else None
        if f.kind == "group":
            return f"{'MICRO-CRECHE' if f.segment == 'micro' else 'CRECHE'} {unit.name} {f.petname}"
        if f.segment == "mam":
            return f"MAM {f.petname}"
        if f.label:
            return f"{f.label} {f.petname}"
        return f.petname

    @staticmethod
    def own_names(f: Facility, name: str | None) -> dict:
        """The establishment's own name columns: the enseigne, or the usual name for a planted facility
        that SIRENE knows by its usual name (the scope rule must read both)."""
        if f.usual_name:
            return {"enseigne1Etablissement": None, "denominationUsuelleEtablissement": name}
        return {"enseigne1Etablissement": name}

    def activity_timeline(self, f: Facility) -> list[tuple[D, str, str]]:
        """(from date, activity code, nomenclature) over the facility's life."""
        if f.own_code:
            return [(f.created, f.own_code, "NAFRev2")]
        if f.recode_from:
            line = [(f.created, f.recode_from[0], "NAFRev2"), (f.recode_from[1], "88.91A", "NAFRev2")]
        elif f.created < D(2008, 1, 7):  # 85.3K in NAF rev. 1 (2003), recoded to NAF rev. 2 in January 2008
            line = [(f.created, "85.3K", "NAFRev1"), (D(2008, 1, 7), "88.91A", "NAFRev2")]
        else:
            line = [(f.created, "88.91A", "NAFRev2")]
        if f.leave_to:
            line.append((f.leave_to[1], f.leave_to[0], "NAFRev2"))
        return line

    def establishment_periods(self, f: Facility, start: D, stop: D | None, enseigne: str | None) -> list[dict]:
        """Periods of one establishment (one operator of the facility, from ``start`` to ``stop``):
        activity changes, then its closure or transfer."""
        line = self.activity_timeline(f)
        in_force = [a for a in line if a[0] <= start][-1]
        cuts = [(start, "A", in_force[1], in_force[2])]
        cuts += [(d, "A", naf, nom) for d, naf, nom in line if start < d and (stop is None or d < stop)]
        if stop is not None:
            cuts.append((stop, "F", cuts[-1][2], cuts[-1][3]))
        out = []
        for i, (s, etat, naf, nom) in enumerate(cuts):
            nxt = cuts[i + 1][0] if i + 1 < len(cuts) else None
            prev = cuts[i - 1] if i else None
            out.append(
                {
                    "dateFin": nxt - dt.timedelta(days=1) if nxt else None,
                    "dateDebut": s,
                    "etatAdministratifEtablissement": etat,
                    "changementEtatAdministratifEtablissement": bool(prev and prev[1] != etat),
                    **self.own_names(f, enseigne),
                    "changementEnseigneEtablissement": False,
                    "changementDenominationUsuelleEtablissement": False,
                    "activitePrincipaleEtablissement": naf,
                    "nomenclatureActivitePrincipaleEtablissement": nom,
                    "changementActivitePrincipaleEtablissement": bool(prev and prev[2] != naf),
                    "changementCaractereEmployeurEtablissement": False,
                }
            )
        return out

    def stock_row(self, f, unit, s, start, last, code, n_periods, processed_base, enseigne) -> dict:
        rng = self.rng
        partial = unit.partial
        tranche = {"psu": "12", "micro": "03", "familiale": "11", "parentale": "02", "ei": "NN", "mam": "NN", "rpe": "01", "laep": "01"}[
            f.segment
        ]
        postal = self.postal_code(code)
        closed = last["etatAdministratifEtablissement"] == "F"
        commune_name = (
            ascii_upper(self.frame.name(PARENT_OF.get(code, code), LAST_COG))
            if code not in PARENT_OF
            else ascii_upper(self.frame.names[(code, 2015)])
        )
        return {
            "siren": unit.siren,
            "nic": s[9:],
            "siret": s,
            "statutDiffusionEtablissement": "P" if partial else "O",
            "dateCreationEtablissement": start,
            "trancheEffectifsEtablissement": None if closed else tranche,
            "anneeEffectifsEtablissement": None if closed or tranche == "NN" else 2023,
            "dateDernierTraitementEtablissement": processed_base - dt.timedelta(days=int(rng.integers(0, 900)))
            if not closed
            else dt.datetime.combine(last["dateDebut"], dt.time(9, 0)) + dt.timedelta(days=int(rng.integers(1, 60))),
            "etablissementSiege": len(unit.establishments) == 1 and unit.kind != "commune",  # a commune's head office is its town hall
            "nombrePeriodesEtablissement": n_periods,
            "numeroVoieEtablissement": "[ND]" if partial else str(int(rng.integers(1, 120))),
            "typeVoieEtablissement": "[ND]" if partial else STREET_TYPES[int(rng.integers(0, len(STREET_TYPES)))],
            "libelleVoieEtablissement": "[ND]" if partial else STREETS[int(rng.integers(0, len(STREETS)))],
            "codePostalEtablissement": postal,
            "libelleCommuneEtablissement": commune_name,
            "codeCommuneEtablissement": code,
            "dateDebut": last["dateDebut"],
            "etatAdministratifEtablissement": last["etatAdministratifEtablissement"],
            **self.own_names(f, "[ND]" if partial and enseigne else enseigne),
            "activitePrincipaleEtablissement": last["activitePrincipaleEtablissement"],
            "nomenclatureActivitePrincipaleEtablissement": last["nomenclatureActivitePrincipaleEtablissement"],
        }

    def postal_code(self, code: str) -> str:
        """A plausible postal code (the real ones do not follow commune codes)."""
        if code in PARENT_OF:  # 75112 -> 75012, 69383 -> 69003, 13205 -> 13005
            return f"{code[:2]}0{code[-2:]}"
        if code.startswith("97"):
            return code[:3] + f"{int(self.rng.integers(0, 100)):02d}"
        return code[:2].replace("2A", "20").replace("2B", "20") + f"{int(self.rng.integers(0, 1000)):03d}"

    def ess_flag(self, unit: LegalUnit, when: D) -> str | None:
        flag = unit.ess_from_2016 if when >= D(2016, 1, 1) else None
        if unit.ess_change and when >= unit.ess_change[0]:
            flag = unit.ess_change[1]
        if unit.cj_change and when >= unit.cj_change[0]:
            flag = unit.cj_change[2]
        return flag

    def unit_periods(self, unit: LegalUnit) -> list[dict]:
        """Legal-unit periods: creation, the ESS flag's appearance (2016), flag and form changes, cessation."""
        if (
            unit.kind not in ("commune", "ccas", "epci", "hospital", "departement", "caf", "group", "mutuelle", "fondation")
            and unit.ceased is None
        ):
            ends = [f.closed for f in unit.establishments]
            if all(e is not None for e in ends):
                unit.ceased = max(ends)
        dates = {unit.created}
        if unit.created < D(2016, 1, 1) and self.ess_flag(unit, D(2016, 1, 1)) is not None:
            dates.add(D(2016, 1, 1))
        for change in (unit.ess_change, unit.cj_change):
            if change and change[0] > unit.created:
                dates.add(change[0])
        if unit.ceased and unit.ceased > unit.created:
            dates.add(unit.ceased)
        dates = sorted(dates)
        out, prev = [], None
        for i, start in enumerate(dates):
            nxt = dates[i + 1] if i + 1 < len(dates) else None
            cj, name = unit.cj, unit.name
            if unit.cj_change and start >= unit.cj_change[0]:
                cj, name = unit.cj_change[1], unit.cj_change[3]
            etat = "C" if unit.ceased and start >= unit.ceased else "A"
            flag = self.ess_flag(unit, start)
            person = unit.person
            row = {
                "dateFin": nxt - dt.timedelta(days=1) if nxt else None,
                "dateDebut": start,
                "etatAdministratifUniteLegale": etat,
                "changementEtatAdministratifUniteLegale": bool(prev and prev["etatAdministratifUniteLegale"] != etat),
                "nomUniteLegale": ("[ND]" if unit.partial else person[0]) if person else None,
                "changementNomUniteLegale": False,
                "changementNomUsageUniteLegale": False,
                "denominationUniteLegale": name,
                "changementDenominationUniteLegale": bool(prev and prev["denominationUniteLegale"] != name),
                "changementDenominationUsuelleUniteLegale": False,
                "categorieJuridiqueUniteLegale": cj,
                "changementCategorieJuridiqueUniteLegale": bool(prev and prev["categorieJuridiqueUniteLegale"] != cj),
                "activitePrincipaleUniteLegale": unit.ape,
                "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
                "changementActivitePrincipaleUniteLegale": False,
                "nicSiegeUniteLegale": "00012" if unit.nics else None,
                "changementNicSiegeUniteLegale": False,
                "economieSocialeSolidaireUniteLegale": flag,
                "changementEconomieSocialeSolidaireUniteLegale": bool(prev and prev["economieSocialeSolidaireUniteLegale"] != flag),
                "changementSocieteMissionUniteLegale": False,
                "changementCaractereEmployeurUniteLegale": False,
            }
            out.append(row)
            prev = row
        return out

    def unit_row(self, unit: LegalUnit, periods: list[dict], processed_base: dt.datetime) -> dict:
        last = periods[-1]
        person = unit.person
        first_siret = make_siret(unit.siren, 1)
        return {
            "siren": unit.siren,
            "statutDiffusionUniteLegale": "P" if unit.partial else "O",
            "dateCreationUniteLegale": unit.created,
            "sexeUniteLegale": (("[ND]" if unit.partial else person[2]) if person else None),
            "prenom1UniteLegale": (("[ND]" if unit.partial else person[1]) if person else None),
            "prenomUsuelUniteLegale": (("[ND]" if unit.partial else person[1]) if person else None),
            "identifiantAssociationUniteLegale": unit.rna,
            "trancheEffectifsUniteLegale": "NN"
            if unit.kind == "ei"
            else ("53" if unit.kind in ("group", "commune") and len(unit.establishments) > 50 else "12"),
            "anneeEffectifsUniteLegale": None if unit.kind == "ei" else 2023,
            "dateDernierTraitementUniteLegale": processed_base - dt.timedelta(days=int(self.rng.integers(0, 700))),
            "nombrePeriodesUniteLegale": len(periods),
            "categorieEntreprise": "GE"
            if unit.kind == "group"
            else ("PME" if unit.kind in ("company", "scic", "scop", "association", "mutuelle", "fondation") else None),
            "anneeCategorieEntreprise": 2022,
            "dateDebut": last["dateDebut"],
            "etatAdministratifUniteLegale": last["etatAdministratifUniteLegale"],
            "nomUniteLegale": last["nomUniteLegale"],
            "denominationUniteLegale": last["denominationUniteLegale"],
            "categorieJuridiqueUniteLegale": int(last["categorieJuridiqueUniteLegale"]),
            "activitePrincipaleUniteLegale": unit.ape,
            "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
            "nicSiegeUniteLegale": first_siret[9:],
            "economieSocialeSolidaireUniteLegale": last["economieSocialeSolidaireUniteLegale"],
            "caractereEmployeurUniteLegale": None,
        }

    # --- the truth of the planted effect -------------------------------------------------------

    def visible(self, f: Facility, jan1: D, closed: D | None) -> bool:
        """In-scope, active and coded 88.91A on ``jan1`` in a world where it closes on ``closed``."""
        if f.segment not in IN_SCOPE or f.created > jan1 or (closed is not None and closed <= jan1):
            return False
        if f.recode_from and jan1 < f.recode_from[1]:
            return False
        if f.leave_to and jan1 >= f.leave_to[1]:
            return False
        return True

    def truth(self) -> dict:
        epci17 = {}
        for f in self.facilities:
            epci17[f.fid] = self.frame.epci[2017].get(self.frame.commune_of(f.loc, 2017), (None, None))[0]
        treated = sorted(self.treated_epci)
        years = list(range(2012, LAST_YEAR + 1))
        actual = defaultdict(lambda: defaultdict(int))
        cf = defaultdict(lambda: defaultdict(int))
        for f in self.facilities:
            e = epci17[f.fid]
            if e not in self.treated_epci or f.kind != "association":
                continue
            for y in years:
                jan1 = D(y, 1, 1)
                if not self.is_association(f, jan1):
                    continue
                if self.visible(f, jan1, f.closed):
                    actual[e][y] += 1
                if self.visible(f, jan1, f.closed_cf):
                    cf[e][y] += 1
        by_year = {}
        for y in years:
            diffs = [actual[e][y] - cf[e][y] for e in treated]
            base = [(e, cf[e][2016]) for e in treated if cf[e][2016] > 0]
            pct = [100.0 * (actual[e][y] - cf[e][y]) / b for e, b in base]
            tot_a, tot_c = sum(actual[e][y] for e in treated), sum(cf[e][y] for e in treated)
            by_year[str(y)] = {
                "actual_total": tot_a,
                "counterfactual_total": tot_c,
                "att_count_per_epci": round(float(np.mean(diffs)), 4),
                "att_pct_of_2016_level": round(float(np.mean(pct)), 4) if pct else None,
                "att_log_ratio_total": round(float(np.log(tot_a / tot_c)), 5) if tot_a and tot_c else None,
                "ratio_total_minus_1": round(tot_a / tot_c - 1, 5) if tot_c else None,
            }
        control = sorted({s for s, _ in self.frame.epci[2017].values()} - self.treated_epci)
        return {
            "treated_epci_2017": treated,
            "n_treated_epci": len(treated),
            "n_treated_epci_with_associative_eaje_2016": sum(1 for e in treated if cf[e][2016] > 0),
            "n_other_epci_2017": len(control),
            "true_effect_by_year": by_year,
        }

    def municipalisation_truth(self, associations_2017: int) -> dict:
        """The planted municipalisations, and their exact effect on the merger study's public-takeover outcome: per
        target year (1 January after the closure) and per 100 associative EAJE of the treated EPCIs on 1 January
        2017 (``associations_2017``), treated with them minus the same world without them."""
        planted = [g for g in self.facilities if g.successor_of is not None]
        per_year = defaultdict(int)
        for g in planted:
            per_year[g.created.year + 1] += 1
        rate = {str(y): round(100.0 * per_year[y] / associations_2017, 4) for y in range(2018, LAST_YEAR + 1)}
        return {
            "count_by_to_year": {str(y): per_year[y] for y in range(2018, LAST_YEAR + 1)},
            "true_effect_pour_100_2017_by_year": rate,
            "true_effect_pour_100_2017_pooled": round(sum(rate.values()) / len(rate), 4),
            "pairs": [
                {
                    "siret_association": self.segment_sirets[(g.successor_of, 0)],
                    "siret_public": self.segment_sirets[(g.fid, 0)],
                    "operator": g.kind,
                    "date_fermeture": self.facilities[g.successor_of].closed.isoformat(),
                    "date_creation": g.created.isoformat(),
                }
                for g in planted
            ],
        }


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def calibration(gen: Generator) -> dict:
    """What the sample looks like, next to the targets it was drawn against."""
    out = {}
    for y in (2010, 2015, 2017, 2020, 2023, 2026):
        jan1 = D(y, 1, 1)
        active = [f for f in gen.facilities if gen.visible(f, jan1, f.closed)]
        by_seg = defaultdict(int)
        by_family = defaultdict(int)
        psu_public = sum(1 for f in active if f.segment in ("psu", "familiale", "parentale") and f.family == "public")
        psu_all = sum(1 for f in active if f.segment in ("psu", "familiale", "parentale"))
        places = {"psu": 35, "micro": 11, "familiale": 40, "parentale": 18}
        places_lucratif = sum(places[f.segment] for f in active if f.family == "lucratif")
        places_all = sum(places[f.segment] for f in active)
        for f in active:
            by_seg[f.segment] += 1
            by_family[f.family] += 1
        target = {seg: round(sum(gen.targets[(d, s)][y] for (d, s) in gen.targets if s == seg)) for seg in IN_SCOPE}
        out[str(y)] = {
            "in_scope_facilities": len(active),
            "by_segment": dict(sorted(by_seg.items())),
            "target_by_segment": target,
            "by_operator_family": dict(sorted(by_family.items())),
            "public_share_of_non_micro_eaje": round(psu_public / psu_all, 3) if psu_all else None,
            "lucratif_share_of_places_at_typical_sizes": round(places_lucratif / places_all, 3) if places_all else None,
        }
    return out


def write_scope_truth(path: Path, truth: list[dict]) -> None:
    """Gzipped CSV, byte-identical from one run to the next (no file name or time in the gzip header)."""
    lines = ["siret,in_scope,kind,expected_scope_reason"]
    lines += [f"{r['siret']},{str(r['in_scope']).lower()},{r['kind']},{r['expected_scope_reason']}" for r in truth]
    with path.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(("\n".join(lines) + "\n").encode("utf-8"))


def planted_scope(path: Path, truth: list[dict]) -> dict:
    by_kind = defaultdict(int)
    for r in truth:
        by_kind[r["kind"]] += 1
    return {
        "description": (
            "SYNTHETIC truth of the scope rule eaje_scope, one row per planted siret in "
            f"{SCOPE_TRUTH_FILE}: establishments of public and associative EAJE registered their whole life under "
            f"their operator's own code (shares {OWN_CODE_SHARE}, converted from simulated facilities, not added: "
            "in scope, expected scope_reason nom_eaje) and look-alikes under another code (relais, LAEP, école "
            "maternelle, accueil de loisirs, périscolaire, restauration scolaire, administrative services, the town "
            "halls and an unnamed service of the communes called La Crèche and Crêches-sur-Saône, a nativity scene "
            "'CRECHE DE NOEL', the rule's one known false positive: out of scope). Drawn from a generator seeded apart."
        ),
        "file": SCOPE_TRUTH_FILE,
        "sha256": sha256_of(path),
        "in_scope": sum(r["in_scope"] for r in truth),
        "out_of_scope": sum(not r["in_scope"] for r in truth),
        "by_kind": dict(sorted(by_kind.items())),
        "known_false_positives": [r["siret"] for r in truth if not r["in_scope"] and r["expected_scope_reason"] == "nom_eaje"],
    }


def write_sample(out: Path, seed: int, extra_closure: float, effect_from: int, stock_date: D) -> dict:
    t0 = time.time()
    frame = load_frame()
    gen = Generator(frame, seed, extra_closure, effect_from, stock_date)
    gen.simulate()
    gen.decorate()
    scope_rng = np.random.default_rng([seed, 2])  # apart: every draw of gen.rng stays what it was
    gen.register_under_own_code(scope_rng)
    planted = gen.plant_bad_input()
    rows = gen.rows()
    scope_truth = gen.scope_truth(gen.plant_look_alikes(rows, scope_rng))
    gen.plant_municipalisations(rows, np.random.default_rng([seed, 3]))
    out.mkdir(parents=True, exist_ok=True)
    files = {
        ETABLISSEMENT_FILE: sorted(rows["etab"], key=lambda r: r["siret"]),
        ETABLISSEMENT_HISTORIQUE_FILE: sorted(rows["etab_hist"], key=lambda r: (r["siret"], r["dateDebut"])),
        UNITE_LEGALE_FILE: sorted(rows["ul"], key=lambda r: r["siren"]),
        UNITE_LEGALE_HISTORIQUE_FILE: sorted(rows["ul_hist"], key=lambda r: (r["siren"], r["dateDebut"])),
    }
    for stock, data in files.items():
        key = {
            ETABLISSEMENT_FILE: ("siret",),
            ETABLISSEMENT_HISTORIQUE_FILE: ("siret", "dateDebut"),
            UNITE_LEGALE_FILE: ("siren",),
            UNITE_LEGALE_HISTORIQUE_FILE: ("siren", "dateDebut"),
        }[stock]
        keys = [tuple(r[k] for k in key) for r in data]
        if len(set(keys)) != len(keys):
            raise AssertionError(f"{stock.filename}: duplicated {key} in the generated rows")
        write_stock_parquet(out / stock.filename, stock, data, row_group_size=122_880)
    links, planted_links = gen.successions(seed)
    links.sort(key=lambda r: (r["siretEtablissementPredecesseur"], r["siretEtablissementSuccesseur"], r["dateLienSuccession"]))
    keys = [(r["siretEtablissementPredecesseur"], r["siretEtablissementSuccesseur"], r["dateLienSuccession"]) for r in links]
    if len(set(keys)) != len(keys):
        raise AssertionError(f"{SUCCESSION_FILE.filename}: duplicated succession links in the generated rows")
    write_stock_parquet(out / SUCCESSION_FILE.filename, SUCCESSION_FILE, links)
    write_scope_truth(out / SCOPE_TRUTH_FILE, scope_truth)
    truth = gen.truth()
    manifest = {
        "synthetic": True,
        "data_date": stock_date.isoformat(),
        "description": (
            "SYNTHETIC national sample of the INSEE SIRENE stock (childcare establishments, NAF 88.91A, public and "
            "associative crèches registered under their operator's own code, their look-alikes, their legal units, and "
            "noise), in the exact format of the four stock Parquet files and of the succession links file, with the "
            f"planted truth of the scope rule in {SCOPE_TRUTH_FILE}. Not real data."
        ),
        "generator": "scripts/generate_sirene_sample.py",
        "seed": seed,
        "parameters": {
            "first_year": FIRST_YEAR,
            "last_year": LAST_YEAR,
            "stock_date": stock_date.isoformat(),
            "extra_closure": extra_closure,
            "effect_from": effect_from,
            "micro_creches_national": MICRO_NATIONAL,
            "noise_national": NOISE_NATIONAL,
            "base_closure_hazard": {f"{s}/{f}": q for (s, f), q in HAZARD.items()},
            "groups": {g: p for g, (p, _) in GROUPS.items()},
            "geography_of_active_establishments": f"COG {LAST_COG}",
        },
        "planted_effect": {
            "description": (
                f"From {effect_from}, each year an associative EAJE (in scope, operator an association: legal category "
                f"9220/9260, operator_class ess_association) located in a 2017 EPCI formed by a fusion closes with an extra "
                f"probability {extra_closure} on top of its base hazard ({HAZARD[('psu', 'association')]} for PSU crèches). "
                f"The first affected 1 January count is {effect_from + 1}. The counterfactual replays the same draws without "
                "the extra hazard; true effects below are exact for this sample."
            ),
            "outcome": "number of active in-scope associative EAJE on 1 January (active, 88.91A, operator an association on that date), per 2017 EPCI (fixed 2017 perimeter)",
            "treated_definition": (
                "2017 EPCI with at least two absorbed 2016 EPCIs: more than half of the 2016 EPCI's population went to it and "
                "the 2016 SIREN vanished on 1 January 2017 or is the successor's own (INSEE membership 2016 and 2017, passage 2016->2017)"
            ),
            "reference_year": 2016,
            **truth,
        },
        "planted_municipalisations": {
            "description": (
                f"From {effect_from}, in the treated 2017 EPCIs, a share {MUNICIPALISATION_SHARE} of the associative EAJE that "
                "close only because of the planted extra hazard (coded 88.91A their whole life, closed before "
                f"{LAST_YEAR}, not already followed by another operator's opening) is taken over by a public body: the "
                f"2017 EPCI (share {MUNICIPALISATION_EPCI_SHARE}, else the commune) opens a crèche (88.91A) in the same "
                f"commune 0-{MUNICIPALISATION_MAX_DAYS} days after the closure and before 31 December of that year, with "
                "a succession link (municipalisation_2017). The associative EAJE still closes (planted_effect unchanged); "
                "the new crèches add to the public supply (in the calibration). True effect: public takeovers of "
                "associative EAJE in the treated EPCIs per year (1 January annee - 1 -> annee) per 100 associative EAJE "
                "of these EPCIs on 1 January 2017, with minus without the municipalisations (the scale of the merger "
                "study's public_takeovers outcome, taux_pour_100_2017); pooled = mean over 2018-"
                f"{LAST_YEAR}. Drawn from a generator seeded apart ([seed, 3])."
            ),
            "share": MUNICIPALISATION_SHARE,
            "epci_share": MUNICIPALISATION_EPCI_SHARE,
            "max_days": MUNICIPALISATION_MAX_DAYS,
            "associative_eaje_treated_2017": truth["true_effect_by_year"]["2017"]["actual_total"],
            **gen.municipalisation_truth(truth["true_effect_by_year"]["2017"]["actual_total"]),
        },
        "bad_input_planted": planted,
        "planted_successions": {
            "description": (
                "Succession links in StockEtablissementLiensSuccession, by kind: every operator transfer of the simulation "
                "(commune nouvelle, 2017 EPCI), half of the associative EAJE closures followed within 6 months by a new EAJE "
                "of another operator in the same commune, the planted municipalisations, and the merged communes' town halls (outside 88.91A: not in "
                "stg.sirene_successions). Drawn from a generator seeded apart, after the four stock files."
            ),
            "by_kind": planted_links,
            "outside_88_91a": ["town_hall_commune_nouvelle"],
        },
        "planted_scope": planted_scope(out / SCOPE_TRUTH_FILE, scope_truth),
        "calibration": calibration(gen),
        "counts": {
            "StockEtablissement": len(files[ETABLISSEMENT_FILE]),
            "StockEtablissementHistorique": len(files[ETABLISSEMENT_HISTORIQUE_FILE]),
            "StockUniteLegale": len(files[UNITE_LEGALE_FILE]),
            "StockUniteLegaleHistorique": len(files[UNITE_LEGALE_HISTORIQUE_FILE]),
            "StockEtablissementLiensSuccession": len(links),
            "facilities_simulated": len(gen.facilities),
        },
        "files": {},
    }
    for stock in (*files, SUCCESSION_FILE):
        path = out / stock.filename
        manifest["files"][stock.filename] = {
            "sha256": sha256_of(path),
            "size": path.stat().st_size,
            "origin": f"synthetic: scripts/generate_sirene_sample.py --seed {seed} (format of the INSEE file of the same name)",
            "url": stock.url,
            "licence": "synthetic data (format: INSEE, Licence Ouverte 2.0)",
        }
    manifest["generation_seconds"] = round(time.time() - t0, 1)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=20170101)
    parser.add_argument("--extra-closure", type=float, default=0.04, help="planted extra annual closure probability")
    parser.add_argument("--effect-from", type=int, default=2017)
    parser.add_argument("--stock-date", type=D.fromisoformat, default=D(2026, 10, 31))
    args = parser.parse_args(argv)
    manifest = write_sample(args.out, args.seed, args.extra_closure, args.effect_from, args.stock_date)
    eff = manifest["planted_effect"]["true_effect_by_year"]
    print(f"wrote {args.out} in {manifest['generation_seconds']} s: {manifest['counts']}")
    print("calibration 2023:", json.dumps(manifest["calibration"]["2023"]))
    print(f"treated EPCI: {manifest['planted_effect']['n_treated_epci']}; true effect 2022: {eff['2022']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
