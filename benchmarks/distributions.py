"""What the synthetic national SIRENE stock is drawn from: row counts, shares and vocabularies.

Sources of each number (all national, SIRENE stock of mid-2026 unless said otherwise):

* row counts and the share of active establishments: ``SCHEMAS.md`` section 1 (44.1 M
  establishments of which 16.7 M active, 96 M establishment periods, 30 M legal units, 71 M
  legal-unit periods);
* about 25,000 establishments ever coded 88.91A: the benchmark brief (issue 6);
* communes and their population: the repo's embedded COG / Etalab copies (``data/raw/``);
* activity codes: the embedded NAF rev. 2 list; legal categories: the embedded CJ list.

What is *not* known here (no real stock is available offline) and therefore approximated, with the
approximation stated: the frequency of each activity code and legal category in the stock
(hand-set shares for the largest codes, a Zipf tail for the rest), the number of periods per unit
(a geometric law whose mean matches 96/44.1 and 71/30), and address / name vocabularies (small
word lists combined so that cardinalities are in the real order of magnitude).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO_ROOT = Path(__file__).resolve().parent.parent
RAW = REPO_ROOT / "data" / "raw"

# --- national sizes (scale 1.0) -------------------------------------------------------------
N_ETABLISSEMENTS = 44_100_000
N_UNITES_LEGALES = 30_000_000
N_ETABLISSEMENT_PERIODES = 96_000_000
N_UNITE_LEGALE_PERIODES = 71_000_000
N_EAJE = 25_000
SHARE_ETAB_ACTIVE = 16.7 / 44.1
#: A legal unit has one or two establishments here (44.1 / 30 per unit on average) and is ceased
#: when all of them are closed: about 51 % of units ceased, 14.7 M active (approximation).
ETABS_PER_UL = N_ETABLISSEMENTS / N_UNITES_LEGALES
_P_CLOSED = 1 - SHARE_ETAB_ACTIVE
SHARE_UL_CEASED = (2 - ETABS_PER_UL) * _P_CLOSED + (ETABS_PER_UL - 1) * _P_CLOSED**2
#: Stock date: files put online in June 2026 describe the repository on 31 May 2026.
DATA_DATE = dt.date(2026, 5, 31)


def geometric_ratio(mean_extra: float) -> float:
    """Ratio r of a geometric law on {0, 1, ...} with the given mean (mean = r / (1 - r))."""
    return mean_extra / (1.0 + mean_extra)


#: Extra periods beyond the minimum (1 if active, 2 if closed: creation + closure) so that the
#: mean number of periods matches the national ratio of history rows to units.
ETAB_EXTRA_RATIO = geometric_ratio(N_ETABLISSEMENT_PERIODES / N_ETABLISSEMENTS - (2 - SHARE_ETAB_ACTIVE))
UL_EXTRA_RATIO = geometric_ratio(N_UNITE_LEGALE_PERIODES / N_UNITES_LEGALES - (1 + SHARE_UL_CEASED))
MAX_EXTRA_PERIODS = 12

# --- activity codes -------------------------------------------------------------------------
#: Approximate shares of the largest NAF rev. 2 codes among establishments (hand-set orders of
#: magnitude: real estate SCIs, holdings, consulting, deliveries, health professions, associations...).
#: 88.91A is never drawn here: only the planted childcare establishments carry it.
NAF_TOP_SHARES = {
    "68.20B": 0.060,
    "94.99Z": 0.040,
    "70.22Z": 0.030,
    "70.10Z": 0.025,
    "68.20A": 0.020,
    "56.10A": 0.020,
    "53.20Z": 0.018,
    "96.09Z": 0.018,
    "86.90E": 0.015,
    "47.91B": 0.015,
    "62.01Z": 0.015,
    "74.90B": 0.015,
    "96.02A": 0.015,
    "56.10C": 0.015,
    "43.21A": 0.012,
    "82.99Z": 0.012,
    "85.59B": 0.012,
    "43.99C": 0.010,
    "41.20A": 0.010,
    "86.21Z": 0.010,
    "49.32Z": 0.010,
    "90.01Z": 0.010,
    "62.02A": 0.010,
    "01.11Z": 0.010,
    "81.21Z": 0.010,
    "81.30Z": 0.010,
    "43.22A": 0.009,
    "45.20A": 0.008,
    "85.59A": 0.008,
    "47.11F": 0.006,
    "93.12Z": 0.008,
    "73.11Z": 0.007,
    "84.11Z": 0.004,
    "86.10Z": 0.002,
    "88.91B": 0.002,
    "88.99B": 0.004,
    "85.10Z": 0.003,
    "88.10A": 0.002,
}
#: Exponent of the Zipf tail over the remaining codes.
NAF_TAIL_EXPONENT = 0.6

# --- legal categories -------------------------------------------------------------------------
#: Approximate shares of legal categories among legal units (entrepreneurs individuels dominate the
#: stock since the micro-entrepreneur regime; SCIs, SAS/SASU, SARL/EURL and associations follow).
CJ_TOP_SHARES = {
    "1000": 0.620,
    "6540": 0.075,
    "5710": 0.060,
    "5499": 0.050,
    "9220": 0.050,
    "5720": 0.040,
    "5498": 0.025,
    "6599": 0.008,
    "5599": 0.005,
    "5202": 0.004,
    "9210": 0.003,
    "5485": 0.003,
    "6598": 0.003,
    "6220": 0.001,
    "7210": 0.0012,
    "5460": 0.0005,
    "5458": 0.0004,
    "9300": 0.0003,
    "8210": 0.0002,
    "7361": 0.0005,
    "7346": 0.0001,
    "7364": 0.0001,
    "9230": 0.0001,
    "8310": 0.0003,
}
CJ_TAIL_EXPONENT = 1.0

#: Operators of the planted childcare establishments: (key, legal category, share, ESS flag law,
#: activity code of the legal unit). ESS law: "O" always O, "A" O for 80 % else null (associations),
#: "P" never (public: N or null), "C" commercial (mostly N/null, 3 % O), "E" individual (N/null).
EAJE_OPERATORS = (
    ("commune", 7210, 0.30, "P", "84.11Z"),
    ("ccas", 7361, 0.06, "P", "88.99B"),
    ("cc", 7346, 0.025, "P", "84.11Z"),
    ("ca", 7348, 0.015, "P", "84.11Z"),
    ("hopital", 7364, 0.010, "P", "86.10Z"),
    ("caf", 8110, 0.003, "P", "84.30A"),
    ("association", 9220, 0.21, "A", "88.91A"),
    ("association_rup", 9230, 0.005, "A", "88.91A"),
    # every SCIC operator was an association before (9220 -> 5710 in its history, ESS O throughout)
    ("scic", 5710, 0.015, "O", "88.91A"),
    ("mutuelle", 8210, 0.010, "O", "86.90D"),
    ("fondation", 9300, 0.005, "O", "88.91A"),
    ("sas", 5710, 0.100, "C", "88.91A"),
    ("sasu", 5720, 0.040, "C", "88.91A"),
    ("sarl", 5499, 0.040, "C", "88.91A"),
    ("eurl", 5498, 0.020, "C", "88.91A"),
    ("cse", 8311, 0.002, "E", "94.20Z"),
    ("ei", 1000, 0.080, "E", "88.91A"),
    ("mam", 9220, 0.040, "A", "88.91A"),
    ("rpe", 7210, 0.020, "P", "84.11Z"),
)
#: Known for-profit childcare groups (names used for a share of the SAS operators).
EAJE_GROUPS = (
    "PEOPLE AND BABY",
    "LA MAISON BLEUE",
    "BABILOU",
    "LES PETITS CHAPERONS ROUGES",
    "CRECHE ATTITUDE",
    "LES PETITES CANAILLES",
    "GRANDIR",
    "BABY SITTER MICRO CRECHES",
    "CHARLIE CRECHE",
    "LPCR GROUPE",
)
EAJE_CLOSED_SHARE = 0.30
#: Scenario shares among planted establishments: code changed from 88.91A to another code (B),
#: or from another code to 88.91A (C); recoded 85.3K -> 88.91A on 1 January 2008 when older.
EAJE_SHARE_CHANGED_AWAY = 0.06
EAJE_SHARE_CHANGED_TO = 0.06

# --- vocabularies (combined to reach realistic cardinalities) ------------------------------------
STREET_TYPES = {
    "RUE": 45,
    "AV": 12,
    "CHE": 8,
    "RTE": 6,
    "BD": 5,
    "PL": 4,
    "ALL": 3,
    "IMP": 3,
    "LD": 2,
    "ZA": 1,
    "QUAI": 1,
    "CRS": 1,
    "SQ": 1,
    "PAS": 1,
}
STREET_WORDS = (
    "DE LA REPUBLIQUE",
    "VICTOR HUGO",
    "JEAN JAURES",
    "DU GENERAL DE GAULLE",
    "PASTEUR",
    "DE LA GARE",
    "DE L EGLISE",
    "DES ECOLES",
    "DU MOULIN",
    "DE LA MAIRIE",
    "GAMBETTA",
    "DE PARIS",
    "DES LILAS",
    "DU STADE",
    "DES TILLEULS",
    "DU CHATEAU",
    "DE LA LIBERATION",
    "CARNOT",
    "FOCH",
    "JULES FERRY",
    "DE LA PAIX",
    "DES ROSES",
    "DU PORT",
    "DU COMMERCE",
    "DE LA FONTAINE",
    "DES ACACIAS",
    "MOLIERE",
    "VOLTAIRE",
    "ARISTIDE BRIAND",
    "ANATOLE FRANCE",
    "DES PRES",
    "DU LAVOIR",
    "DE BRETAGNE",
    "DES VIGNES",
    "DU BOIS",
    "DE LA PLAGE",
    "DES CHAMPS",
    "DU CENTRE",
    "DE LA POSTE",
    "DU MARCHE",
    "LECLERC",
    "MARCEAU",
    "DES PINS",
    "DES CHENES",
    "DU PONT",
    "DE LA FORET",
    "DES JARDINS",
    "SAINT MARTIN",
    "SAINT PIERRE",
    "NATIONALE",
    "DE LYON",
    "DE VERDUN",
    "DU 8 MAI 1945",
    "DU 11 NOVEMBRE",
    "DES ALPES",
    "DU RHONE",
    "ALBERT CAMUS",
    "JEAN MOULIN",
    "PIERRE CURIE",
    "LOUIS PASTEUR",
    "EMILE ZOLA",
    "GEORGES CLEMENCEAU",
    "DE LA MER",
    "DES SOURCES",
    "DU VERGER",
    "DES CERISIERS",
    "DES PLATANES",
    "DU CALVAIRE",
    "DE LA CROIX",
)
STREET_SUFFIXES = ("", "", "", "", " PROLONGEE", " NORD", " SUD", " HAUTE", " BASSE", " VIEILLE")
COMPLEMENTS = (
    "BAT A",
    "BAT B",
    "RESIDENCE LES PINS",
    "ZA DU MOULIN",
    "ZI NORD",
    "CENTRE COMMERCIAL",
    "LIEU DIT LE BOURG",
    "ESCALIER 2",
    "2EME ETAGE",
    "PARC D ACTIVITES",
)
FIRST_NAMES = (
    "MARIE",
    "JEAN",
    "PIERRE",
    "MICHEL",
    "ANDRE",
    "PHILIPPE",
    "NATHALIE",
    "ISABELLE",
    "SYLVIE",
    "CATHERINE",
    "ALAIN",
    "PATRICK",
    "NICOLAS",
    "CHRISTOPHE",
    "STEPHANE",
    "SANDRINE",
    "VALERIE",
    "CELINE",
    "JULIEN",
    "THOMAS",
    "SOPHIE",
    "CAMILLE",
    "LEA",
    "MANON",
    "LUCAS",
    "HUGO",
    "EMMA",
    "CHLOE",
    "INES",
    "SARAH",
    "MOHAMED",
    "KARIM",
    "FATIMA",
    "NADIA",
    "ANTOINE",
    "LAURENT",
    "ERIC",
    "FREDERIC",
    "AURELIE",
    "EMILIE",
)
LAST_NAMES = (
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
    "BONNET",
    "DUPONT",
    "LAMBERT",
    "FONTAINE",
    "ROUSSEAU",
    "VINCENT",
    "MULLER",
    "LEFEVRE",
    "FAURE",
    "ANDRE",
    "MERCIER",
    "BLANC",
    "GUERIN",
    "BOYER",
    "GARNIER",
    "CHEVALIER",
    "FRANCOIS",
    "LEGRAND",
    "GAUTHIER",
    "GARCIA",
    "PERRIN",
    "ROBIN",
    "CLEMENT",
    "MORIN",
    "NICOLAS",
    "HENRY",
    "ROUSSEL",
    "MATHIEU",
    "GAUTIER",
    "MASSON",
    "NGUYEN",
    "DIALLO",
    "BENALI",
    "DA SILVA",
    "FERREIRA",
    "LOPEZ",
    "MARTINEZ",
    "SANCHEZ",
    "HAMON",
    "LE GALL",
)
COMPANY_WORDS = (
    "IMMO",
    "HOLDING",
    "CONSEIL",
    "SERVICES",
    "TRANSPORTS",
    "BATIMENT",
    "RENOVATION",
    "INVEST",
    "PATRIMOINE",
    "DEVELOPPEMENT",
    "GESTION",
    "DISTRIBUTION",
    "TECHNOLOGIES",
    "INGENIERIE",
    "AUTO",
    "BOULANGERIE",
    "PHARMACIE",
    "GARAGE",
    "RESTAURANT",
    "BOIS",
    "ELEC",
    "PLOMBERIE",
    "COIFFURE",
    "FINANCE",
    "LOGISTIQUE",
    "CONCEPT",
    "DU MOULIN",
    "DES LILAS",
    "DU LAC",
    "DE LA GARE",
    "SOLUTIONS",
    "PARTNERS",
    "GROUPE",
    "INTERNATIONAL",
)
COMPANY_FORMS = ("SCI", "SARL", "SAS", "EURL", "SASU", "SNC", "SA", "")
ASSOCIATION_WORDS = (
    "ASSOCIATION SPORTIVE",
    "AMICALE",
    "COMITE DES FETES",
    "CLUB",
    "UNION",
    "FOYER RURAL",
    "ASSOCIATION CULTURELLE",
    "ASSOCIATION DES PARENTS D ELEVES",
    "SOCIETE DE CHASSE",
    "ASSOCIATION",
    "CERCLE",
    "ENSEMBLE",
)
CRECHE_WORDS = (
    "LES PETITS LOUPS",
    "LES P TITS BOUTS",
    "LES LUCIOLES",
    "LES BOUT D CHOU",
    "LES PITCHOUNS",
    "LES MINIPOUSSES",
    "LES CALINOUS",
    "LA COCCINELLE",
    "LES PETITES FRIMOUSSES",
    "LES OURSONS",
    "LES LUTINS",
    "LA RIBAMBELLE",
    "LES DIABLOTINS",
    "PICOTI PICOTA",
    "LES PAPILLONS",
    "L ILE AUX ENFANTS",
    "LES MOUSSAILLONS",
    "LE NID",
    "LES CHATONS",
    "LES PETITS PAS",
    "LA MAISON DES PETITS",
    "LES MARMOUSETS",
    "LES GALOPINS",
    "ARC EN CIEL",
)
CRECHE_KINDS = ("CRECHE", "MULTI ACCUEIL", "MICRO CRECHE", "HALTE GARDERIE", "CRECHE PARENTALE", "CRECHE FAMILIALE", "JARDIN D ENFANTS")
ENSEIGNE_WORDS = ("CHEZ", "AU", "LA", "LE", "L ATELIER DE", "LES DELICES DE", "ESPACE", "MAISON", "BOUTIQUE", "CABINET")
FOREIGN = (
    ("99132", "ROYAUME-UNI", "LONDRES"),
    ("99131", "BELGIQUE", "BRUXELLES"),
    ("99109", "ALLEMAGNE", "BERLIN"),
    ("99127", "ITALIE", "MILAN"),
    ("99134", "ESPAGNE", "MADRID"),
    ("99140", "SUISSE", "GENEVE"),
    ("99137", "LUXEMBOURG", "LUXEMBOURG"),
    ("99404", "ETATS-UNIS", "NEW YORK"),
)


N_COMMUNE_SLOTS = 262_144
N_CODE_SLOTS = 65_536
#: Childcare establishments favour large communes: weight population ** 1.3 (approximation of the
#: urban concentration of crèches; rural communes mostly have none).
EAJE_COMMUNE_EXPONENT = 1.3


def _slots(weights: np.ndarray, n_slots: int, min_one: bool) -> np.ndarray:
    """Index of the category held by each of ``n_slots`` equiprobable slots (largest remainder).

    Drawing a uniform slot then reproduces the weights to within 1/n_slots, in plain SQL (a list
    lookup), without a join that would break the row order the files must keep.
    """
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    base = np.ones(len(w), dtype=np.int64) if min_one else np.zeros(len(w), dtype=np.int64)
    free = n_slots - int(base.sum())
    if free < 0:
        raise ValueError(f"{len(w)} categories do not fit in {n_slots} slots")
    exact = w * free
    counts = np.floor(exact).astype(np.int64)
    rest = free - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return np.repeat(np.arange(len(w)), base + counts)


def _tail_weights(codes: list[str], top: dict[str, float], exponent: float, rng: np.random.Generator) -> np.ndarray:
    rest = [c for c in codes if c not in top]
    order = rng.permutation(len(rest))
    tail = np.empty(len(rest))
    tail[order] = 1.0 / np.power(np.arange(1, len(rest) + 1), exponent)
    tail *= (1.0 - sum(top.values())) / tail.sum()
    by_code = dict(zip(rest, tail)) | top
    return np.array([by_code[c] for c in codes])


def naf_lookup(con, rng: np.random.Generator, n_slots: int = N_CODE_SLOTS) -> list[str]:
    """Activity code of each of ``n_slots`` equiprobable slots (88.91A excluded)."""
    codes = [
        r[0]
        for r in con.execute(
            "select code_naf from read_parquet($p) where code_naf <> '88.91A' order by code_naf",
            {"p": str(RAW / "nomenclatures" / "embedded" / "naf_rev2_niv5_souclasses.parquet")},
        ).fetchall()
    ]
    missing = set(NAF_TOP_SHARES) - set(codes)
    if missing:
        raise ValueError(f"naf_rev2_niv5_souclasses.parquet: code_naf lacks {sorted(missing)}")
    idx = _slots(_tail_weights(codes, NAF_TOP_SHARES, NAF_TAIL_EXPONENT, rng), n_slots, min_one=True)
    return [codes[i] for i in idx]


def cj_lookup(con, rng: np.random.Generator, n_slots: int = N_CODE_SLOTS) -> list[int]:
    """Legal category of each of ``n_slots`` equiprobable slots."""
    codes = [
        r[0]
        for r in con.execute(
            "select code_cj from read_parquet($p) order by code_cj",
            {"p": str(RAW / "nomenclatures" / "embedded" / "categories_juridiques_niv3.parquet")},
        ).fetchall()
    ]
    missing = set(CJ_TOP_SHARES) - set(codes)
    if missing:
        raise ValueError(f"categories_juridiques_niv3.parquet: code_cj lacks {sorted(missing)}")
    idx = _slots(_tail_weights(codes, CJ_TOP_SHARES, CJ_TAIL_EXPONENT, rng), n_slots, min_one=False)
    return [int(codes[i]) for i in idx]


def commune_tables(con) -> None:
    """Temp tables ``communes_now`` (2024 geography, arrondissements instead of Paris/Lyon/Marseille,
    as SIRENE records them) and ``communes_2015`` (the 2015 geography, with the codes of communes
    merged since: establishments closed before 2016 keep them)."""
    etalab = str(RAW / "etalab_epci" / "embedded" / "communes_2019_2026.parquet")
    cog = str(RAW / "cog" / "embedded" / "communes_pop_2015_2024.parquet")
    con.execute(
        """
        create or replace temp table communes_now as
        select code, upper(strip_accents(nom)) as nom, coalesce(split_part(codes_postaux, ' ', 1), '') as code_postal,
               greatest(coalesce(try_cast(population as bigint), 0), 1) as population
        from read_parquet($etalab)
        where annee = '2024' and type in ('commune-actuelle', 'arrondissement-municipal')
          and code not in ('75056', '69123', '13055')
        """,
        {"etalab": etalab},
    )
    con.execute(
        """
        create or replace temp table communes_2015 as
        select c.CODGEO as code, upper(strip_accents(c.LIBGEO)) as nom,
               coalesce(n.code_postal, left(c.CODGEO, 2) || '000') as code_postal,
               greatest(coalesce(c.POP, 0), 1)::bigint as population
        from read_parquet($cog) c left join communes_now n on n.code = c.CODGEO
        where c.cog_year = 2015 and c.CODGEO not in ('75056', '69123', '13055')
        union all
        select code, nom, code_postal, population from communes_now
        where code between '75101' and '75120' or code between '69381' and '69389' or code between '13201' and '13216'
        """,
        {"cog": cog},
    )


def commune_arrays(con) -> dict[str, list]:
    """Every commune code of both geographies once: the targets of the slot indexes below."""
    # a code in both geographies takes its current name and postcode (deterministically: no any_value)
    rows = con.execute(
        "select code, arg_min(nom, prio), arg_min(code_postal, prio) from "
        "(select *, 0 as prio from communes_now union all select *, 1 as prio from communes_2015) group by code order by code"
    ).fetchall()
    return {"code": [r[0] for r in rows], "nom": [r[1] for r in rows], "cp": [r[2] for r in rows]}


def commune_slots(con, table: str, exponent: float, codes: list[str], n_slots: int = N_COMMUNE_SLOTS) -> list[int]:
    """Communes drawn with weight population ** exponent (each keeps at least one slot), as
    0-based positions in ``codes``: a two-level lookup keeps the per-row lists small."""
    if table not in ("communes_now", "communes_2015"):
        raise ValueError(table)
    rows = con.execute(f"select code, population from {table} order by code").fetchall()
    pos = {c: i for i, c in enumerate(codes)}
    idx = _slots(np.array([r[1] for r in rows], dtype=float) ** exponent, n_slots, min_one=True)
    return [pos[rows[i][0]] for i in idx]


def lookup_table(con, rng: np.random.Generator) -> pa.Table:
    """One row holding every large lookup list (read through scalar subqueries)."""
    commune_tables(con)
    arrays = commune_arrays(con)
    return pa.table(
        {
            "com_code": [arrays["code"]],
            "com_nom": [arrays["nom"]],
            "com_cp": [arrays["cp"]],
            "cn_idx": [commune_slots(con, "communes_now", 1.0, arrays["code"])],
            "c15_idx": [commune_slots(con, "communes_2015", 1.0, arrays["code"])],
            "cne_idx": [commune_slots(con, "communes_now", EAJE_COMMUNE_EXPONENT, arrays["code"])],
            "c15e_idx": [commune_slots(con, "communes_2015", EAJE_COMMUNE_EXPONENT, arrays["code"])],
            "naf_code": [naf_lookup(con, rng)],
            "cj_code": [cj_lookup(con, rng)],
        }
    )


VOC_SLOTS = 200
OP_SLOTS = 1000


def vocabulary_sizes() -> dict[str, int]:
    t = vocabulary_table()
    return {name: len(t.column(name)[0]) for name in t.column_names}


def vocabulary_table() -> pa.Table:
    """One row of small word lists (names, streets, operators of childcare establishments)."""
    types = _slots(np.array(list(STREET_TYPES.values()), dtype=float), VOC_SLOTS, min_one=True)
    names = list(STREET_TYPES)
    ops = list(EAJE_OPERATORS)
    op_idx = _slots(np.array([o[2] for o in ops]), OP_SLOTS, min_one=True)
    return pa.table(
        {
            "v_street_type": [[names[i] for i in types]],
            "v_street": [list(STREET_WORDS)],
            "v_street_suffix": [list(STREET_SUFFIXES)],
            "v_complement": [list(COMPLEMENTS)],
            "v_first": [list(FIRST_NAMES)],
            "v_last": [list(LAST_NAMES)],
            "v_company": [list(COMPANY_WORDS)],
            "v_form": [list(COMPANY_FORMS)],
            "v_asso": [list(ASSOCIATION_WORDS)],
            "v_creche": [list(CRECHE_WORDS)],
            "v_creche_kind": [list(CRECHE_KINDS)],
            "v_enseigne": [list(ENSEIGNE_WORDS)],
            "v_group": [list(EAJE_GROUPS)],
            "v_foreign_code": [[f[0] for f in FOREIGN]],
            "v_foreign_pays": [[f[1] for f in FOREIGN]],
            "v_foreign_ville": [[f[2] for f in FOREIGN]],
            "v_op_key": [[ops[i][0] for i in op_idx]],
            "v_op_cj": [[ops[i][1] for i in op_idx]],
            "v_op_ess": [[ops[i][3] for i in op_idx]],
            "v_op_naf": [[ops[i][4] for i in op_idx]],
        }
    )
