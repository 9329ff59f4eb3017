"""Full-size SIRENE-shaped stock files for the benchmark (synthetic; never committed).

    python -m benchmarks.generate --scale 1.0 --out benchmarks/out/sirene_1.0

writes the four INSEE stock files with their exact names, all their columns in order with the
Parquet types of SCHEMAS section 1, national row counts times ``--scale`` and distributions drawn
like the real stock (see ``distributions.py`` for every number and what is approximated), plus
``manifest.json`` (parameters, row counts, sizes, timings, expected extraction counts) and
``planted_eaje.parquet`` (the establishments planted with activity 88.91A, the ground truth of the
smoke test).

How: every value is a pure function of the row number and the seed (DuckDB ``hash(j, salt,
seed)``), so each file is one streaming ``COPY (select ... from range(n)) TO ...`` that DuckDB
evaluates vector by vector on all cores and writes row group by row group: nothing is ever held in
memory but the rows in flight (the generator's peak RSS is recorded in the manifest). The stock and
the history of a unit call the same functions, so they agree (current period = stock row;
``nombrePeriodes`` = number of history rows). Rows come out sorted by siren / siret like INSEE's
files. Reproducible for a given seed and DuckDB version.

Shape of the units: legal unit ``u`` owns establishments ``j`` with ``u = j * NU // NE`` (one or two
each). A legal unit is a childcare operator with probability ``N_EAJE / NU``; its first
establishment is then a childcare establishment (activity 88.91A in at least one period, possibly
changed to or from another code, recoded from NAF rev. 1 ``85.3K`` on 1 January 2008 when older).
No other establishment is ever coded 88.91A, so the planted list is exactly what an extraction
must find.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np

from assets.sirene.schema import STOCK_FILES, SUCCESSION_FILE
from benchmarks import distributions as D
from observatory.resources import sql_literal

#: The INSEE file names and full schemas (column order, Parquet types) owned by the SIRENE loader.
FILE_NAMES = {f.key: f.filename for f in STOCK_FILES}
SCHEMAS = {f.key: f.columns for f in STOCK_FILES}

EPOCH = dt.date(1970, 1, 1)


def days(d: dt.date) -> int:
    return (d - EPOCH).days


T = days(D.DATA_DATE)
D1950, D1975, D1993, D2003, D2008, D2009, D2015, D2016 = (days(dt.date(y, 1, 1)) for y in (1950, 1975, 1993, 2003, 2008, 2009, 2015, 2016))

#: Salts of the independent draws (one per random quantity).
_SALTS = """
ul_eaje et_closed et_c et_f et_extra et_scb et_scc et_a et_ai et_e et_ei et_naf et_naf2 et_emp et_ens et_ens_w1
et_ens_w2 et_ens_old et_ens2 et_ens3 et_den et_com et_foreign et_statut et_tranche et_rm et_ddt et_cplt et_num et_ind
et_tv et_sw et_ss et_dist et_cedex et_ban et_ban2 et_xy et_x et_y et_adr2 et_quirk_date et_quirk_c et_seq et_nomen
ul_extra ul_cj ul_op ul_ess ul_ess_ch ul_cj_ch ul_den_ch ul_act_ch ul_emp ul_sexe ul_p1 ul_p2 ul_p3 ul_p4 ul_nom ul_nu
ul_pseudo ul_sigle ul_w1 ul_w2 ul_w3 ul_rna ul_tranche ul_cat ul_ddt ul_du1 ul_du2 ul_du3 ul_mission ul_purge ul_statut
ul_group ul_idx_ch ul_naf2 ul_emp_i
""".split()
SALT = {name: 1000 + i for i, name in enumerate(_SALTS)}


@dataclass(frozen=True)
class Params:
    scale: float = 1.0
    seed: int = 20170101
    row_group_size: int = 122_880
    compression: str = "zstd"
    threads: int = 2
    memory_limit: str = "3GB"
    #: rare implausible creation dates (years 0004, 2218) and null oldest period starts, as in the real files
    quirks: bool = True

    @property
    def n_etab(self) -> int:
        return max(int(round(D.N_ETABLISSEMENTS * self.scale)), 2)

    @property
    def n_ul(self) -> int:
        return max(int(round(D.N_UNITES_LEGALES * self.scale)), 1)

    @property
    def p_eaje(self) -> float:
        return D.N_EAJE / D.N_UNITES_LEGALES


class Sql:
    """SQL fragments: pure functions of a row number, written once, used by every file."""

    def __init__(self, p: Params):
        self.p = p
        self.ne, self.nu = p.n_etab, p.n_ul
        self.sizes = D.vocabulary_sizes() | {"naf_code": D.N_CODE_SLOTS, "cj_code": D.N_CODE_SLOTS}
        if not (self.nu < self.ne < 2 * self.nu):
            raise ValueError(f"scale {p.scale}: need NU < NE < 2 NU (got NE={self.ne}, NU={self.nu})")

    # -- randomness --------------------------------------------------------------------------
    def h(self, x: str, salt: str) -> str:
        """63 random bits as a BIGINT (UBIGINT arithmetic would widen to slow HUGEINT)."""
        return f"(hash({x}, {SALT[salt]}, {self.p.seed}) >> 1)::bigint"

    def uf(self, x: str, salt: str) -> str:
        """Uniform double in [0, 1) (53 random bits)."""
        return f"((hash({x}, {SALT[salt]}, {self.p.seed}) >> 11)::double / 9007199254740992.0)"

    @staticmethod
    def L(name: str) -> str:
        """A lookup list. Read through a scalar subquery: DuckDB copies the list into every vector
        it evaluates, so lists stay small (two-level lookups) and are never cross-joined (a cross
        join with many list columns is far slower)."""
        return f"(select {name} from {'voc' if name.startswith('v_') else 'lut'})"

    def pick(self, lst: str, x: str, salt: str) -> str:
        return f"{self.L(lst)}[1 + ({self.h(x, salt)} % {self.sizes[lst]})]"

    def op_slot(self, u: str) -> str:
        return f"(1 + {self.h(u, 'ul_op')} % {self.sizes['v_op_key']})"

    def slot(self, x: str, salt: str, n: int) -> str:
        return f"(1 + ({self.h(x, salt)} % {n})::bigint)"

    def geometric(self, x: str, salt: str, ratio: float) -> str:
        return f"least(floor(ln(1 - {self.uf(x, salt)}) / ln({ratio}))::bigint, {D.MAX_EXTRA_PERIODS})"

    # -- unit structure ----------------------------------------------------------------------
    def ul_of(self, j: str) -> str:
        return f"(({j}) * {self.nu} // {self.ne})"

    def first_etab(self, u: str) -> str:
        return f"((({u}) * {self.ne} + {self.nu - 1}) // {self.nu})"

    def ul_eaje(self, u: str) -> str:
        return f"({self.uf(u, 'ul_eaje')} < {self.p.p_eaje})"

    def siren_body(self, u: str) -> str:
        # 8-digit bodies spread over 00500000-99500000 in increasing order: the files stay sorted.
        return f"(500000 + ({u}) * {99_000_000} // {self.nu})"

    @staticmethod
    def _luhn(prefix: str, n: int) -> str:
        """Check digit making the (n + 1)-digit number prefix||digit valid for the Luhn algorithm."""
        terms = []
        for i in range(n):  # i = 0 is the rightmost digit of the prefix: doubled
            d = f"(({prefix} // {10**i}) % 10)"
            terms.append(f"(2 * {d} - 9 * ({d} >= 5)::int)" if i % 2 == 0 else d)
        return f"((10 - ({' + '.join(terms)}) % 10) % 10)"

    def siren(self, u: str) -> str:
        b = self.siren_body(u)
        return f"(lpad(({b})::varchar, 8, '0') || ({self._luhn(b, 8)})::varchar)"

    def nic_seq(self, j: str, u: str) -> str:
        """Establishment number in its unit: 1 for the first (the siège), then a jump."""
        r = f"(({j}) - {self.first_etab(u)})"
        return f"(1 + {r} * (1 + {self.h(u, 'et_seq')} % 7))"

    def siret_prefix(self, j: str, u: str) -> str:
        return f"({self.siren_body(u)} * 100000 + ({self._luhn(self.siren_body(u), 8)}) * 10000 + {self.nic_seq(j, u)})"

    def nic(self, j: str, u: str) -> str:
        pre = self.siret_prefix(j, u)
        return f"(lpad(({self.nic_seq(j, u)})::varchar, 4, '0') || ({self._luhn(pre, 13)})::varchar)"

    # -- establishment life ------------------------------------------------------------------
    def et_eaje(self, j: str) -> str:
        return f"(({j}) = {self.first_etab(self.ul_of(j))} and {self.ul_eaje(self.ul_of(j))})"

    def et_closed(self, j: str, eaje: str) -> str:
        return f"({self.uf(j, 'et_closed')} < case when {eaje} then {D.EAJE_CLOSED_SHARE} else {1 - D.SHARE_ETAB_ACTIVE} end)"

    def et_c(self, j: str, eaje: str) -> str:
        """Creation day: skewed to recent years (childcare: since 1975, at least a year old)."""
        u = self.uf(j, "et_c")
        return (
            f"(case when {eaje} then {T - 365} - floor({T - 365 - D1975} * pow({u}, 1.4))"
            f" else {T - 30} - floor({T - 30 - D1950} * pow({u}, 2.2)) end)::bigint"
        )

    def et_f(self, j: str, eaje: str, c: str) -> str:
        """Closure day (used only when closed): childcare establishments close after 2009."""
        u = self.uf(j, "et_f")
        return (
            f"(case when {eaje} then greatest({c}, {D2009}) + 30 + floor(({T} - greatest({c}, {D2009}) - 60) * {u})"
            f" else {c} + 30 + floor(({T} - {c} - 30) * {u}) end)::bigint"
        )


# ------------------------------------------------------------------------------------------------
# Establishments: one base row per establishment, shared by the stock and the history
# ------------------------------------------------------------------------------------------------


def etab_base(s: Sql, source: str | None = None) -> str:
    """Scalar per-establishment quantities; ``source`` selects the row numbers ``j`` (default: all)."""
    source = source or f"select range as j from range(0, {s.ne})"
    g = D.ETAB_EXTRA_RATIO
    op_key = f"{s.L('v_op_key')}[{s.op_slot('u')}]"  # the operator kind drawn for the legal unit
    return f"""
    with b0 as (
        select j, {s.ul_of("j")} as u, {s.et_eaje("j")} as eaje
        from ({source})
    ), b1 as (
        select *, {s.et_closed("j", "eaje")} as closed, {s.et_c("j", "eaje")} as c,
               {s.geometric("j", "et_extra", g)} as extra,
               {s.uf("j", "et_scb")} < {D.EAJE_SHARE_CHANGED_AWAY} and eaje as scb,
               {s.uf("j", "et_scc")} < {D.EAJE_SHARE_CHANGED_TO} and eaje as scc0
        from b0
    ), b2 as (
        select *, {s.et_f("j", "eaje", "c")} as f,
               eaje and c < {D2008} as pre, scc0 and not (c < {D2008}) as scc
        from b1
    ), b3 as (
        select *,
            greatest(1 + closed::int + extra, case when eaje then 1 + closed::int + pre::int + scb::int + scc::int else 1 end) as k
        from b2
    ), b4 as (
        select *, k - 1 - closed::int as m,
            case when pre then 1 else 0 end as q0,
            case when pre then {D2008} else c end as s0,
            case when closed then f else {T} end as e_end
        from b3
    ), b5 as (
        select *,
            case when eaje then (case when pre or scc then 1 else 0 end)
                 when m >= 1 and {s.uf("j", "et_a")} < 0.45 then 1 + ({s.h("j", "et_ai")} % m)::bigint else 0 end as act1,
            case when eaje and scb then m else 0 end as act2,
            case when m >= 1 and {s.uf("j", "et_e")} < 0.25 then 1 + ({s.h("j", "et_ei")} % m)::bigint else 0 end as ens_t,
            {s.h("j", "et_emp")} % 4 as emp_base,  -- 0, 1: null; 2: starts N; 3: starts O
            {s.siren("u")} as siren, {s.nic("j", "u")} as nic
        from b4
    ), b6 as (
        select b5.*, siren || nic as siret,
            ens_t > 0 and (ens_t = act1 or ens_t = act2) as ens_in_act,
            {s.pick("naf_code", "j", "et_naf")} as naf_base,
            {s.pick("naf_code", "j", "et_naf2")} as naf_alt,
            case when eaje then
                -- relais petite enfance and MAM are named as such (the scope rules read the names)
                case when {op_key} = 'rpe' then 'RELAIS PETITE ENFANCE ' || {s.pick("v_creche", "j", "et_ens_w2")}
                     when {op_key} = 'mam' then 'MAM ' || {s.pick("v_creche", "j", "et_ens_w2")}
                     when {s.uf("j", "et_ens")} < 0.75 then {s.pick("v_creche_kind", "j", "et_ens_w1")} || ' ' || {s.pick("v_creche", "j", "et_ens_w2")} end
            else
                case when {s.uf("j", "et_ens")} < 0.12 then {s.pick("v_enseigne", "j", "et_ens_w1")} || ' ' || {s.pick("v_last", "j", "et_ens_w2")} end
            end as ens_now,
            case when eaje then
                case when {s.uf("j", "et_den")} < 0.40 then {s.pick("v_creche", "j", "et_ens_old")} end
            else
                case when {s.uf("j", "et_den")} < 0.04 then {s.pick("v_company", "j", "et_den")} || ' ' || {s.pick("v_last", "j", "et_ens_old")} end
            end as denomination_usuelle,
            case when {s.uf("j", "et_ens2")} < 0.01 then {s.pick("v_enseigne", "j", "et_ens2")} || ' ' || {s.pick("v_company", "j", "et_ens2")} end as ens2,
            case when {s.uf("j", "et_ens2")} < 0.002 then {s.pick("v_company", "j", "et_ens3")} end as ens3
        from b5
    )
    select b6.*,
        case when ens_t = 0 then ens_now
             when ens_now is null then {s.pick("v_enseigne", "j", "et_ens_old")} || ' ' || {s.pick("v_company", "j", "et_ens_old")}
             when {s.uf("j", "et_ens_old")} < 0.5 then null
             else {s.pick("v_enseigne", "j", "et_ens_old")} || ' ' || {s.pick("v_company", "j", "et_ens_old")} end as ens_before
    from b6
    """


def period_exprs(s: Sql, q: str) -> dict[str, str]:
    """Per-period values of an establishment (over the columns of ``etab_base``) for period ``q``."""

    def start(q: str) -> str:
        return (
            f"(case when {q} = 0 then c when closed and {q} = k - 1 then f"
            f" else s0 + ((e_end - s0) * ({q} - q0)) // (k - closed::int - q0) end)"
        )

    b, b_next = start(q), start(f"({q} + 1)")
    n_act = f"((act1 > 0 and act1 <= {q})::int + (act2 > 0 and act2 <= {q})::int)"
    n_emp = f"(least({q}, m) - {n_act} - (ens_t > 0 and ens_t <= {q} and not ens_in_act)::int)"
    code = (
        f"(case when eaje then (case when pre and {q} = 0 then '85.3K' when scc and {q} = 0 then '88.99B'"
        f" when scb and {q} >= act2 then '88.91B' else '88.91A' end)"
        f" else (case when act1 > 0 and {q} >= act1 then naf_alt else naf_base end) end)"
    )
    nomen = (
        f"(case when eaje then (case when pre and {q} = 0 then (case when c < {D2003} then 'NAF1993' else 'NAFRev1' end) else 'NAFRev2' end)"
        f" when ({q} = k - 1 and not closed) or {b} >= {D2008} then 'NAFRev2'"
        f" when {b} >= {D2003} then 'NAFRev1' when {b} >= {D1993} then 'NAF1993' else 'NAP' end)"
    )
    quirk_null_start = f"({q} = 0 and {s.uf('j', 'et_quirk_date')} < 0.004)" if s.p.quirks else "false"
    return {
        "b": b,
        "date_debut": f"(case when {quirk_null_start} then null else date '1970-01-01' + ({b})::int end)",
        "date_fin": f"(case when {q} = k - 1 then null else date '1970-01-01' + ({b_next} - 1)::int end)",
        "etat": f"(case when closed and {q} = k - 1 then 'F' else 'A' end)",
        "ch_etat": f"(closed and {q} = k - 1)",
        "code_nafrev2": code,
        "nomen": nomen,
        "code": (
            f"(case when {nomen} = 'NAFRev2' or eaje then {code}"
            f" when {nomen} = 'NAP' then left({code}, 5) else left({code}, 4) || right({code}, 1) end)"
        ),
        "ch_act": f"({q} > 0 and ({q} = act1 or {q} = act2))",
        "enseigne": f"(case when ens_t > 0 and {q} < ens_t then ens_before else ens_now end)",
        "ch_ens": f"({q} > 0 and {q} = ens_t)",
        "emp": f"(case when emp_base < 2 then null when (emp_base + {n_emp}) % 2 = 0 then 'N' else 'O' end)",
        "ch_emp": f"({q} > 0 and emp_base >= 2 and {q} <= m and not ({q} = act1 or {q} = act2 or {q} = ens_t))",
    }


def etab_stock_sql(s: Sql) -> str:
    e = period_exprs(s, "(k - 1)")
    old = f"(closed and f < {D2016})"
    com = lambda field: f"{s.L('com_' + field)}[1 + com_i]"  # noqa: E731 - a tiny SQL-text helper
    foreign = f"(not eaje and {s.uf('j', 'et_foreign')} < 0.003)"
    masked = f"({s.uf('j', 'et_statut')} < 0.06 and not eaje)"
    quirk_c = (
        f"(case when {s.uf('j', 'et_quirk_c')} < 2e-6 then (case when {s.h('j', 'et_quirk_c')} % 2 = 0 then date '0004-03-01' else date '2218-11-01' end)"
        f" else date '1970-01-01' + c::int end)"
        if s.p.quirks
        else "(date '1970-01-01' + c::int)"
    )
    tranche = (
        f"(case when eaje then (['01','02','03','11','12','21'])[1 + ({s.h('j', 'et_tranche')} % 6)::bigint]"
        f" else (case when {s.uf('j', 'et_tranche')} < 0.55 then null when {s.uf('j', 'et_tranche')} < 0.80 then 'NN'"
        f" else (['00','01','01','02','02','03','11','12','21','22','31','32','41','42'])[1 + ({s.h('j', 'et_tranche')} % 14)::bigint] end) end)"
    )
    has_xy = f"({s.uf('j', 'et_xy')} < 0.65 and not {foreign})"
    street = f"({s.pick('v_street', 'j', 'et_sw')} || {s.pick('v_street_suffix', 'j', 'et_ss')})"
    cedex = f"({s.uf('j', 'et_cedex')} < 0.015 and not {foreign})"
    adr2 = f"({s.uf('j', 'et_adr2')} < 0.003 and not {foreign})"
    code_now = e["code"]
    cols = {
        "siren": "siren",
        "nic": "nic",
        "siret": "siret",
        "statutDiffusionEtablissement": f"(case when {masked} then 'P' else 'O' end)",
        "dateCreationEtablissement": quirk_c,
        "trancheEffectifsEtablissement": tranche,
        "anneeEffectifsEtablissement": f"(case when {tranche} is not null and {tranche} <> 'NN' then 2022 + ({s.h('j', 'et_tranche')} % 2)::bigint end)",
        "activitePrincipaleRegistreMetiersEtablissement": f"(case when {s.uf('j', 'et_rm')} < 0.03 then lpad(({s.h('j', 'et_rm')} % 10000)::varchar, 4, '0') || 'AB' end)",
        "dateDernierTraitementEtablissement": f"(timestamp '1970-01-01' + to_seconds((greatest(c, {D2015}) * 86400 + ({s.h('j', 'et_ddt')} % (({T} - greatest(c, {D2015}) + 1) * 86400)))::bigint))",
        "etablissementSiege": f"(j = {s.first_etab('u')})",
        "nombrePeriodesEtablissement": "k::bigint",
        "complementAdresseEtablissement": f"(case when not {masked} and {s.uf('j', 'et_cplt')} < 0.08 then {s.pick('v_complement', 'j', 'et_cplt')} end)",
        "numeroVoieEtablissement": f"(case when not {masked} and not {foreign} and {s.uf('j', 'et_num')} < 0.75 then (1 + floor(pow({s.uf('j', 'et_num')} / 0.75, 2.5) * 250))::bigint::varchar end)",
        "indiceRepetitionEtablissement": f"(case when not {masked} and {s.uf('j', 'et_ind')} < 0.03 then (['B','T','Q','A'])[1 + ({s.h('j', 'et_ind')} % 4)::bigint] end)",
        "dernierNumeroVoieEtablissement": f"(case when {s.uf('j', 'et_ind')} > 0.995 then (2 + {s.h('j', 'et_num')} % 300)::varchar end)",
        "indiceRepetitionDernierNumeroVoieEtablissement": "null::varchar",
        "typeVoieEtablissement": f"(case when not {masked} and not {foreign} and {s.uf('j', 'et_tv')} < 0.85 then {s.pick('v_street_type', 'j', 'et_tv')} end)",
        "libelleVoieEtablissement": f"(case when not {masked} and {s.uf('j', 'et_sw')} < 0.92 then {street} end)",
        "codePostalEtablissement": f"(case when not {foreign} then {com('cp')} end)",
        "libelleCommuneEtablissement": f"(case when not {foreign} then {com('nom')} end)",
        "libelleCommuneEtrangerEtablissement": f"(case when {foreign} then {s.pick('v_foreign_ville', 'j', 'et_foreign')} end)",
        "distributionSpecialeEtablissement": f"(case when {s.uf('j', 'et_dist')} < 0.02 then (['BP ','CS ','TSA '])[1 + ({s.h('j', 'et_dist')} % 3)::bigint] || (10000 + {s.h('j', 'et_dist')} % 90000)::varchar end)",
        "codeCommuneEtablissement": f"(case when not {foreign} then {com('code')} end)",
        "codeCedexEtablissement": f"(case when {cedex} then {com('cp')} end)",
        "libelleCedexEtablissement": f"(case when {cedex} then {com('nom')} || ' CEDEX' end)",
        "codePaysEtrangerEtablissement": f"(case when {foreign} then {s.pick('v_foreign_code', 'j', 'et_foreign')} end)",
        "libellePaysEtrangerEtablissement": f"(case when {foreign} then {s.pick('v_foreign_pays', 'j', 'et_foreign')} end)",
        "identifiantAdresseEtablissement": f"(case when not {masked} and not {foreign} and not closed and {s.uf('j', 'et_ban')} < 0.8 then {com('code')} || '_' || lpad(({s.h('j', 'et_ban')} % 10000)::varchar, 4, '0') || '_' || lpad(({s.h('j', 'et_ban2')} % 100000)::varchar, 5, '0') end)",
        "coordonneeLambertAbscisseEtablissement": f"(case when {masked} then '[ND]' when {has_xy} then (100000 + {s.h('j', 'et_x')} % 1100000)::varchar || '.' || ({s.h('j', 'et_x')} % 10)::varchar end)",
        "coordonneeLambertOrdonneeEtablissement": f"(case when {masked} then '[ND]' when {has_xy} then (6000000 + {s.h('j', 'et_y')} % 1100000)::varchar || '.' || ({s.h('j', 'et_y')} % 10)::varchar end)",
        "complementAdresse2Etablissement": f"(case when {adr2} and {s.uf('j', 'et_cplt')} < 0.3 then {s.pick('v_complement', 'j', 'et_adr2')} end)",
        "numeroVoie2Etablissement": f"(case when {adr2} then (1 + {s.h('j', 'et_adr2')} % 120)::varchar end)",
        "indiceRepetition2Etablissement": "null::varchar",
        "typeVoie2Etablissement": f"(case when {adr2} then {s.pick('v_street_type', 'j', 'et_adr2')} end)",
        "libelleVoie2Etablissement": f"(case when {adr2} then {s.pick('v_street', 'j', 'et_adr2')} end)",
        "codePostal2Etablissement": f"(case when {adr2} then {com('cp')} end)",
        "libelleCommune2Etablissement": f"(case when {adr2} then {com('nom')} end)",
        "libelleCommuneEtranger2Etablissement": "null::varchar",
        "distributionSpeciale2Etablissement": "null::varchar",
        "codeCommune2Etablissement": f"(case when {adr2} then {com('code')} end)",
        "codeCedex2Etablissement": "null::varchar",
        "libelleCedex2Etablissement": "null::varchar",
        "codePaysEtranger2Etablissement": "null::varchar",
        "libellePaysEtranger2Etablissement": "null::varchar",
        "dateDebut": e["date_debut"],
        "etatAdministratifEtablissement": e["etat"],
        "enseigne1Etablissement": e["enseigne"],
        "enseigne2Etablissement": "ens2",
        "enseigne3Etablissement": "ens3",
        "denominationUsuelleEtablissement": "denomination_usuelle",
        "activitePrincipaleEtablissement": code_now,
        "nomenclatureActivitePrincipaleEtablissement": e["nomen"],
        "caractereEmployeurEtablissement": e["emp"],
        "activitePrincipaleNAF25Etablissement": f"(case when not closed and {e['nomen']} = 'NAFRev2' then left({code_now}, 5) || 'Y' end)",
    }
    slot = s.slot("j", "et_com", D.N_COMMUNE_SLOTS)
    com_i = (
        f"(case when eaje and {old} then {s.L('c15e_idx')}[{slot}] when eaje then {s.L('cne_idx')}[{slot}]"
        f" when {old} then {s.L('c15_idx')}[{slot}] else {s.L('cn_idx')}[{slot}] end)"
    )
    return _select(cols, SCHEMAS["etablissement"], f"select *, {com_i} as com_i from ({etab_base(s)})")


def etab_history_sql(s: Sql) -> str:
    e = period_exprs(s, "q")
    cols = {
        "siren": "siren",
        "nic": "nic",
        "siret": "siret",
        "dateFin": e["date_fin"],
        "dateDebut": e["date_debut"],
        "etatAdministratifEtablissement": e["etat"],
        "changementEtatAdministratifEtablissement": e["ch_etat"],
        "enseigne1Etablissement": e["enseigne"],
        "enseigne2Etablissement": "ens2",
        "enseigne3Etablissement": "ens3",
        "changementEnseigneEtablissement": e["ch_ens"],
        "denominationUsuelleEtablissement": "denomination_usuelle",
        "changementDenominationUsuelleEtablissement": "false",
        "activitePrincipaleEtablissement": e["code"],
        "nomenclatureActivitePrincipaleEtablissement": e["nomen"],
        "changementActivitePrincipaleEtablissement": e["ch_act"],
        "caractereEmployeurEtablissement": e["emp"],
        "changementCaractereEmployeurEtablissement": e["ch_emp"],
    }
    # Most recent period first (q descending), as the INSEE history lists them (assumption, see docs).
    base = f"select *, unnest(range(k - 1, -1, -1)) as q from ({etab_base(s)})"
    return _select(cols, SCHEMAS["etablissement_historique"], base)


# ------------------------------------------------------------------------------------------------
# Legal units
# ------------------------------------------------------------------------------------------------

_ESS_LAW_OF_CJ = """(case
    when cj between 7000 and 7999 or cj in (8110, 8120, 8130) then 'P'
    when cj in (8210, 8250, 8290, 9300, 5458, 5459, 5460, 5558, 5559, 5560, 5658, 5659, 5660, 6316, 6317, 6318, 6532, 6533) then 'O'
    when cj between 9200 and 9299 then 'A'
    when cj = 1000 then 'E'
    else 'C' end)"""


def ul_base(s: Sql, source: str | None = None) -> str:
    """Scalar per-legal-unit quantities; ``source`` selects the row numbers ``u`` (default: all)."""
    source = source or f"select range as u from range(0, {s.nu})"
    g = D.UL_EXTRA_RATIO
    j0, j1 = s.first_etab("u"), f"({s.first_etab('u + 1')} - 1)"
    e1 = s.et_eaje("j1")
    return f"""
    with a0 as (
        select u, {j0} as j0, {j1} as j1, {s.ul_eaje("u")} as eaje
        from ({source})
    ), a1 as (
        select a0.*, {s.et_closed("j0", "eaje")} and {s.et_closed("j1", e1)} as closed,
               {s.et_c("j0", "eaje")} as c, {s.et_c("j1", e1)} as c_last,
               case when eaje then {s.op_slot("u")} end as op_slot
        from a0
    ), a2 as (
        select a1.*,
            greatest({s.et_f("j0", "eaje", "c")}, {s.et_f("j1", e1, "c_last")}) as f,
            {s.L("v_op_key")}[op_slot] as op_key,
            case when eaje then {s.L("v_op_cj")}[op_slot] else {s.pick("cj_code", "u", "ul_cj")} end as cj,
            {s.L("v_op_ess")}[op_slot] as op_ess,
            case when eaje then {s.L("v_op_naf")}[op_slot] else {s.pick("naf_code", "j0", "et_naf")} end as naf_now,
            {s.pick("naf_code", "u", "ul_naf2")} as naf_before,
            {s.geometric("u", "ul_extra", g)} as extra
        from a1
    ), a3 as (
        select *, coalesce(op_ess, {_ESS_LAW_OF_CJ}) as ess_law,
            -- legal-form changes: SARL -> SAS for 15 % of SAS; every SCIC childcare operator was an association
            case when op_key = 'scic' then 9220
                 when cj = 5710 and not eaje and {s.uf("u", "ul_cj_ch")} < 0.15 then 5499 end as cj_before,
            (case when closed then f else {T} end) as e_end
        from a2
    ), a4 as (
        select *,
            case when ess_law = 'O' then 'O'
                 when ess_law = 'A' then (case when {s.uf("u", "ul_ess")} < 0.8 then 'O' end)
                 when ess_law = 'P' then (case when {s.uf("u", "ul_ess")} < 0.5 then 'N' end)
                 when ess_law = 'C' then (case when {s.uf("u", "ul_ess")} < 0.03 then 'O' when {s.uf("u", "ul_ess")} < 0.5 then 'N' end)
                 else (case when {s.uf("u", "ul_ess")} < 0.4 then 'N' end) end as ess_now,
            greatest(1 + closed::int + extra, case when cj_before is not null then 2 + closed::int else 1 end) as k
        from a3
    ), a5 as (
        select *, k - 1 - closed::int as m
        from a4
    ), a6 as (
        select *,
            case when cj_before is not null then 1 + ({s.h("u", "ul_idx_ch")} % m)::bigint else 0 end as cj_t,
            case when ess_now = 'O' and m >= 1 and {s.uf("u", "ul_ess_ch")} < 0.3 then 1 + ({s.h("u", "ul_ess_ch")} % m)::bigint else 0 end as ess_t,
            case when cj <> 1000 and m >= 1 and {s.uf("u", "ul_den_ch")} < 0.2 then 1 + ({s.h("u", "ul_den_ch")} % m)::bigint else 0 end as den_t,
            case when m >= 1 and {s.uf("u", "ul_act_ch")} < 0.3 then 1 + ({s.h("u", "ul_act_ch")} % m)::bigint else 0 end as act_t,
            {s.h("u", "ul_emp")} % 4 as emp_base,
            {s.siren("u")} as siren, {s.nic("j0", "u")} as nic_siege
        from a5
    )
    select a6.*, {ul_names(s)}
    from a6
    """


def ul_names(s: Sql) -> str:
    commune_nom = f"{s.L('com_nom')}[1 + {s.L('cne_idx')}[{s.slot('j0', 'et_com', D.N_COMMUNE_SLOTS)}]]"
    last = s.pick("v_last", "u", "ul_nom")
    return f"""
        case when cj = 1000 then {last} end as nom,
        case when cj = 1000 and {s.uf("u", "ul_nu")} < 0.05 then {s.pick("v_last", "u", "ul_nu")} end as nom_usage,
        case when cj = 1000 then {s.pick("v_first", "u", "ul_p1")} end as prenom1,
        case when cj = 1000 and {s.uf("u", "ul_p2")} < 0.5 then {s.pick("v_first", "u", "ul_p2")} end as prenom2,
        case when cj = 1000 and {s.uf("u", "ul_p3")} < 0.2 then {s.pick("v_first", "u", "ul_p3")} end as prenom3,
        case when cj = 1000 and {s.uf("u", "ul_p4")} < 0.05 then {s.pick("v_first", "u", "ul_p4")} end as prenom4,
        case when cj = 1000 then (case when {s.uf("u", "ul_sexe")} < 0.5 then 'M' else 'F' end) end as sexe,
        case when cj = 1000 then null
             when op_key in ('commune', 'rpe') then 'COMMUNE DE ' || {commune_nom}
             when op_key = 'ccas' then 'CENTRE COMMUNAL D ACTION SOCIALE DE ' || {commune_nom}
             when op_key = 'cc' then 'COMMUNAUTE DE COMMUNES DU PAYS DE ' || {commune_nom}
             when op_key = 'ca' then 'COMMUNAUTE D AGGLOMERATION DE ' || {commune_nom}
             when op_key = 'hopital' then 'CENTRE HOSPITALIER DE ' || {commune_nom}
             when op_key = 'caf' then 'CAISSE D ALLOCATIONS FAMILIALES DE ' || {commune_nom}
             when op_key = 'mam' then 'MAM ' || {s.pick("v_creche", "u", "ul_w1")}
             when op_key in ('association', 'association_rup') then 'ASSOCIATION ' || {s.pick("v_creche_kind", "u", "ul_w2")} || ' ' || {s.pick("v_creche", "u", "ul_w1")}
             when op_key = 'scic' then 'SCIC ' || {s.pick("v_creche", "u", "ul_w1")}
             when op_key = 'mutuelle' then 'MUTUALITE FRANCAISE ' || {commune_nom}
             when op_key = 'fondation' then 'FONDATION ' || {s.pick("v_last", "u", "ul_w1")} || ' POUR L ENFANCE'
             when op_key = 'cse' then 'CSE ' || {s.pick("v_company", "u", "ul_w1")}
             when op_key in ('sas', 'sasu') and {s.uf("u", "ul_group")} < 0.3 then {s.pick("v_group", "u", "ul_group")}
             when eaje then {s.pick("v_creche_kind", "u", "ul_w2")} || ' ' || {s.pick("v_creche", "u", "ul_w1")}
             when cj = 6540 then 'SCI ' || {s.pick("v_company", "u", "ul_w1")} || ' ' || {s.pick("v_last", "u", "ul_w2")}
             when cj between 9200 and 9299 then {s.pick("v_asso", "u", "ul_w1")} || ' ' || {s.pick("v_street", "u", "ul_w2")}
             when cj between 7000 and 7999 then 'COMMUNE DE ' || {commune_nom}
             else {s.pick("v_company", "u", "ul_w1")} || ' ' || {s.pick("v_last", "u", "ul_w2")}
                  || (case when {s.uf("u", "ul_w3")} < 0.3 then ' ' || {s.pick("v_company", "u", "ul_w3")} else '' end) end as denomination,
        case when cj <> 1000 and den_t > 0 then {s.pick("v_company", "u", "ul_den_ch")} || ' ' || {s.pick("v_last", "u", "ul_den_ch")} end as denomination_before,
        case when cj <> 1000 and {s.uf("u", "ul_du1")} < 0.05 then {s.pick("v_company", "u", "ul_du1")} end as du1,
        case when cj <> 1000 and {s.uf("u", "ul_du1")} < 0.01 then {s.pick("v_company", "u", "ul_du2")} end as du2,
        case when cj <> 1000 and {s.uf("u", "ul_du1")} < 0.003 then {s.pick("v_company", "u", "ul_du3")} end as du3,
        case when cj = 1000 then null when {s.uf("u", "ul_mission")} < 0.0005 then 'O' when {s.uf("u", "ul_mission")} < 0.3 then 'N' end as mission
    """


def ul_period_exprs(s: Sql, q: str) -> dict[str, str]:
    def start(q: str) -> str:
        return f"(case when {q} = 0 then c when closed and {q} = k - 1 then f else c + ((e_end - c) * {q}) // (k - closed::int) end)"

    b, b_next = start(q), start(f"({q} + 1)")
    others = f"((cj_t > 0 and cj_t <= {q})::int + (ess_t > 0 and ess_t <= {q} and ess_t <> cj_t)::int)"
    n_emp = f"(least({q}, m) - {others})"
    nomen = f"(case when ({q} = k - 1 and not closed) or {b} >= {D2008} then 'NAFRev2' when {b} >= {D2003} then 'NAFRev1' when {b} >= {D1993} then 'NAF1993' else 'NAP' end)"
    code2 = f"(case when act_t > 0 and {q} < act_t then naf_before else naf_now end)"
    return {
        "date_debut": f"(date '1970-01-01' + ({b})::int)",
        "date_fin": f"(case when {q} = k - 1 then null else date '1970-01-01' + ({b_next} - 1)::int end)",
        "etat": f"(case when closed and {q} = k - 1 then 'C' else 'A' end)",
        "ch_etat": f"(closed and {q} = k - 1)",
        "cj": f"(case when cj_t > 0 and {q} < cj_t then cj_before else cj end)",
        "ch_cj": f"({q} > 0 and {q} = cj_t)",
        "ess": f"(case when ess_t > 0 and {q} < ess_t then null else ess_now end)",
        "ch_ess": f"({q} > 0 and {q} = ess_t)",
        "denomination": f"(case when den_t > 0 and {q} < den_t then denomination_before else denomination end)",
        "ch_den": f"({q} > 0 and {q} = den_t)",
        "nomen": nomen,
        "code": f"(case when {nomen} = 'NAFRev2' then {code2} when {nomen} = 'NAP' then left({code2}, 5) else left({code2}, 4) || right({code2}, 1) end)",
        "ch_act": f"({q} > 0 and {q} = act_t)",
        "emp": f"(case when emp_base < 2 then null when (emp_base + {n_emp}) % 2 = 0 then 'N' else 'O' end)",
        "ch_emp": f"({q} > 0 and emp_base >= 2 and {q} <= m and not ({q} = cj_t or {q} = ess_t))",
    }


def ul_stock_sql(s: Sql) -> str:
    e = ul_period_exprs(s, "(k - 1)")
    tranche = f"(case when cj = 1000 then (case when {s.uf('u', 'ul_tranche')} < 0.5 then 'NN' end) when {s.uf('u', 'ul_tranche')} < 0.4 then null else (['NN','00','01','02','03','11','12','21','22','31','32','41','42','51'])[1 + ({s.h('u', 'ul_tranche')} % 14)::bigint] end)"
    cat = f"(case when closed or cj = 1000 then null when {s.uf('u', 'ul_cat')} < 0.0005 then 'GE' when {s.uf('u', 'ul_cat')} < 0.004 then 'ETI' when {s.uf('u', 'ul_cat')} < 0.6 then 'PME' end)"
    cols = {
        "siren": "siren",
        "statutDiffusionUniteLegale": f"(case when cj = 1000 and {s.uf('u', 'ul_statut')} < 0.08 then 'P' else 'O' end)",
        "unitePurgeeUniteLegale": f"(case when closed and f < {D1993} and {s.uf('u', 'ul_purge')} < 0.5 then true end)",
        "dateCreationUniteLegale": "(date '1970-01-01' + c::int)",
        "sigleUniteLegale": f"(case when cj <> 1000 and {s.uf('u', 'ul_sigle')} < 0.03 then upper(left({s.pick('v_company', 'u', 'ul_sigle')}, 3)) end)",
        "sexeUniteLegale": f"(case when cj = 1000 and {s.uf('u', 'ul_statut')} < 0.08 then '[ND]' else sexe end)",
        "prenom1UniteLegale": "prenom1",
        "prenom2UniteLegale": "prenom2",
        "prenom3UniteLegale": "prenom3",
        "prenom4UniteLegale": "prenom4",
        "prenomUsuelUniteLegale": "prenom1",
        "pseudonymeUniteLegale": f"(case when cj = 1000 and {s.uf('u', 'ul_pseudo')} < 0.001 then {s.pick('v_last', 'u', 'ul_pseudo')} end)",
        "identifiantAssociationUniteLegale": f"(case when cj between 9200 and 9299 and {s.uf('u', 'ul_rna')} < 0.7 then 'W' || lpad(({s.h('u', 'ul_rna')} % 1000000000)::varchar, 9, '0') end)",
        "trancheEffectifsUniteLegale": tranche,
        "anneeEffectifsUniteLegale": f"(case when {tranche} is not null and {tranche} <> 'NN' then 2023::bigint end)",
        "dateDernierTraitementUniteLegale": f"(timestamp '1970-01-01' + to_seconds((greatest(c, {D2015}) * 86400 + ({s.h('u', 'ul_ddt')} % (({T} - greatest(c, {D2015}) + 1) * 86400)))::bigint))",
        "nombrePeriodesUniteLegale": "k::bigint",
        "categorieEntreprise": cat,
        "anneeCategorieEntreprise": f"(case when {cat} is not null then 2022::bigint end)",
        "dateDebut": e["date_debut"],
        "etatAdministratifUniteLegale": e["etat"],
        "nomUniteLegale": "nom",
        "nomUsageUniteLegale": "nom_usage",
        "denominationUniteLegale": e["denomination"],
        "denominationUsuelle1UniteLegale": "du1",
        "denominationUsuelle2UniteLegale": "du2",
        "denominationUsuelle3UniteLegale": "du3",
        "categorieJuridiqueUniteLegale": "cj::bigint",
        "activitePrincipaleUniteLegale": e["code"],
        "nomenclatureActivitePrincipaleUniteLegale": e["nomen"],
        "nicSiegeUniteLegale": "nic_siege",
        "economieSocialeSolidaireUniteLegale": "ess_now",
        "societeMissionUniteLegale": "mission",
        "caractereEmployeurUniteLegale": e["emp"],
        "activitePrincipaleNAF25UniteLegale": f"(case when not closed and {e['nomen']} = 'NAFRev2' then left({e['code']}, 5) || 'Y' end)",
    }
    return _select(cols, SCHEMAS["unite_legale"], ul_base(s))


def ul_history_sql(s: Sql) -> str:
    e = ul_period_exprs(s, "q")
    cols = {
        "siren": "siren",
        "dateFin": e["date_fin"],
        "dateDebut": e["date_debut"],
        "etatAdministratifUniteLegale": e["etat"],
        "changementEtatAdministratifUniteLegale": e["ch_etat"],
        "nomUniteLegale": "nom",
        "changementNomUniteLegale": "false",
        "nomUsageUniteLegale": "nom_usage",
        "changementNomUsageUniteLegale": "false",
        "denominationUniteLegale": e["denomination"],
        "changementDenominationUniteLegale": e["ch_den"],
        "denominationUsuelle1UniteLegale": "du1",
        "denominationUsuelle2UniteLegale": "du2",
        "denominationUsuelle3UniteLegale": "du3",
        "changementDenominationUsuelleUniteLegale": "false",
        # text in the history file, an integer in the stock file (SCHEMAS 1.1)
        "categorieJuridiqueUniteLegale": f"({e['cj']})::varchar",
        "changementCategorieJuridiqueUniteLegale": e["ch_cj"],
        "activitePrincipaleUniteLegale": e["code"],
        "nomenclatureActivitePrincipaleUniteLegale": e["nomen"],
        "changementActivitePrincipaleUniteLegale": e["ch_act"],
        "nicSiegeUniteLegale": "nic_siege",
        "changementNicSiegeUniteLegale": "false",
        "economieSocialeSolidaireUniteLegale": e["ess"],
        "changementEconomieSocialeSolidaireUniteLegale": e["ch_ess"],
        "societeMissionUniteLegale": "mission",
        "changementSocieteMissionUniteLegale": "false",
        "caractereEmployeurUniteLegale": e["emp"],
        "changementCaractereEmployeurUniteLegale": e["ch_emp"],
    }
    base = f"select *, unnest(range(k - 1, -1, -1)) as q from ({ul_base(s)})"
    return _select(cols, SCHEMAS["unite_legale_historique"], base)


def _select(cols: dict[str, str], schema, base: str) -> str:
    names = [c for c, _ in schema]
    if list(cols) != names:
        missing = [c for c in names if c not in cols]
        extra = [c for c in cols if c not in names]
        raise AssertionError(f"generator columns differ from the schema: missing {missing}, extra {extra}, or order")
    body = ",\n    ".join(f'cast({cols[c]} as {t}) as "{c}"' for c, t in schema)
    return f"select\n    {body}\nfrom ({base})"


# ------------------------------------------------------------------------------------------------
# Ground truth: the planted childcare establishments and the counts an extraction must find
# ------------------------------------------------------------------------------------------------


def planted_sql(s: Sql) -> str:
    """One row per planted establishment (computed from the formulas, not read back from the files)."""
    planted_j = f"select {s.first_etab('range')} as j from range(0, {s.nu}) where {s.ul_eaje('range')}"
    return f"""
    select siret, siren, k as n_periodes, closed, pre as recoded_2008, scb as changed_away, scc as changed_to
    from ({etab_base(s, planted_j)}) where eaje order by siret
    """


def planted_ul_sql(s: Sql) -> str:
    eaje_u = f"select range as u from range(0, {s.nu}) where {s.ul_eaje('range')}"
    return f"select siren, k as n_periodes from ({ul_base(s, eaje_u)})"


def setup(con: duckdb.DuckDBPyConnection, p: Params) -> None:
    con.execute(f"set threads={int(p.threads)}")
    con.execute(f"set memory_limit={sql_literal(p.memory_limit)}")
    con.execute("set preserve_insertion_order=true")
    rng = np.random.default_rng(p.seed)
    lut = D.lookup_table(con, rng)  # noqa: F841 - read by DuckDB's replacement scan
    voc = D.vocabulary_table()  # noqa: F841
    con.execute("create or replace temp table lut as select * from lut")
    con.execute("create or replace temp table voc as select * from voc")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(out: Path, p: Params, log=print) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    s = Sql(p)
    con = duckdb.connect()
    t_all = time.perf_counter()
    setup(con, p)
    jobs = [
        ("unite_legale", ul_stock_sql(s)),
        ("etablissement", etab_stock_sql(s)),
        ("unite_legale_historique", ul_history_sql(s)),
        ("etablissement_historique", etab_history_sql(s)),
    ]
    files = {}
    for key, sql in jobs:
        target = out / FILE_NAMES[key]
        tmp = target.with_suffix(".parquet.tmp")
        t0 = time.perf_counter()
        con.execute(
            f"copy ({sql}) to {sql_literal(str(tmp))} (format parquet, compression {p.compression}, row_group_size {int(p.row_group_size)})"
        )
        os.replace(tmp, target)
        seconds = time.perf_counter() - t0
        meta = con.execute(
            "select count(*) as row_groups, sum(row_group_num_rows) as rows from "
            "(select distinct row_group_id, row_group_num_rows from parquet_metadata($f))",
            {"f": str(target)},
        ).fetchall()[0]
        files[FILE_NAMES[key]] = {
            "rows": int(meta[1]),
            "row_groups": int(meta[0]),
            "bytes": target.stat().st_size,
            "seconds": round(seconds, 1),
            "columns": len(SCHEMAS[key]),
        }
        log(f"{FILE_NAMES[key]}: {meta[1]:,} rows, {meta[0]} row groups, {target.stat().st_size / 1e9:.2f} GB in {seconds:.0f} s")

    # The pipeline requires the succession links beside the stock (assets/sirene/source.py): one link from a tenth
    # of the closed establishments to the next siret, at the closure date, so the full-graph run finds the file;
    # its volume is a guess (INSEE publishes no row count), so it stays out of the timed stages and of `files`.
    succession = out / SUCCESSION_FILE.filename
    con.execute(
        f"""
        copy (select siretEtablissementPredecesseur, siretEtablissementSuccesseur, dateLienSuccession, false as transfertSiege,
                     true as continuiteEconomique, dateDernierTraitementLienSuccession
              from (select siret as siretEtablissementPredecesseur, lead(siret) over (order by siret) as siretEtablissementSuccesseur,
                           dateDebut as dateLienSuccession, dateDernierTraitementEtablissement as dateDernierTraitementLienSuccession,
                           etatAdministratifEtablissement as etat
                    from read_parquet({sql_literal(str(out / FILE_NAMES["etablissement"]))}))
              where etat = 'F' and hash(siretEtablissementPredecesseur) % 10 = 0 and siretEtablissementSuccesseur is not null
                and dateLienSuccession is not null)
        to {sql_literal(str(succession))} (format parquet, compression {p.compression})
        """
    )

    t0 = time.perf_counter()
    planted = out / "planted_eaje.parquet"
    con.execute(f"copy ({planted_sql(s)}) to {sql_literal(str(planted))} (format parquet)")
    truth = con.execute(
        f"""
        with p as (select * from read_parquet({sql_literal(str(planted))})),
        ul as ({planted_ul_sql(s)})
        select (select count(*) from p), (select sum(n_periodes) from p), (select count(distinct siren) from p),
               (select count(*) from ul), (select sum(n_periodes) from ul),
               (select count(*) filter (where changed_away) from p), (select count(*) filter (where changed_to) from p),
               (select count(*) filter (where recoded_2008) from p), (select count(*) filter (where closed) from p)
        """
    ).fetchall()[0]
    log(f"planted: {truth[0]:,} establishments with 88.91A in some period ({time.perf_counter() - t0:.0f} s)")
    manifest = {
        "synthetic": True,
        "generator": "benchmarks/generate.py",
        "params": asdict(p),
        "duckdb": duckdb.__version__,
        "data_date": D.DATA_DATE.isoformat(),
        "files": files,
        "total_bytes": sum(f["bytes"] for f in files.values()),
        "seconds": round(time.perf_counter() - t_all, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "expected": {
            "etablissements": int(truth[0]),
            "etablissement_periodes": int(truth[1]),
            "sirens": int(truth[2]),
            "unites_legales": int(truth[3]),
            "unite_legale_periodes": int(truth[4]),
            "changed_away_from_88_91A": int(truth[5]),
            "changed_to_88_91A": int(truth[6]),
            "recoded_from_85_3K_in_2008": int(truth[7]),
            "closed": int(truth[8]),
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    con.close()
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = national row counts (44.1 M establishments ...)")
    ap.add_argument("--out", type=Path, default=None, help="output directory (default benchmarks/out/sirene_<scale>)")
    ap.add_argument("--seed", type=int, default=Params.seed)
    ap.add_argument("--row-group-size", type=int, default=Params.row_group_size)
    ap.add_argument("--compression", default=Params.compression, choices=["snappy", "zstd", "gzip", "uncompressed"])
    ap.add_argument("--threads", type=int, default=Params.threads)
    ap.add_argument("--memory-limit", default=Params.memory_limit)
    ap.add_argument("--no-quirks", action="store_true", help="no implausible dates / null oldest period starts")
    a = ap.parse_args(argv)
    p = Params(
        scale=a.scale,
        seed=a.seed,
        row_group_size=a.row_group_size,
        compression=a.compression,
        threads=a.threads,
        memory_limit=a.memory_limit,
        quirks=not a.no_quirks,
    )
    out = a.out or Path(__file__).resolve().parent / "out" / f"sirene_{a.scale:g}"
    m = generate(out, p)
    print(json.dumps({k: m[k] for k in ("total_bytes", "seconds", "peak_rss_mb", "expected")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
