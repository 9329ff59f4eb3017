"""French identifiers and codes, in one place: SIREN / SIRET keys (Luhn), commune, département and EPCI
codes, the Paris / Lyon / Marseille arrondissements. Python helpers (for the sample generator and
the tests), format regexes and SQL rule builders (``observatory.quality`` specs whose failing rows
carry a ``problem`` column) for the suites of every source.
"""

from typing import Iterable

import polars as pl

from observatory.quality import Sql, quote_column
from observatory.resources import sql_literal

#: Paris, Lyon and Marseille arrondissements municipaux -> their commune (stable since 1964).
PLM_ARRONDISSEMENTS: dict[str, str] = {
    **{f"751{i:02d}": "75056" for i in range(1, 21)},
    **{f"6938{i}": "69123" for i in range(1, 10)},
    **{f"132{i:02d}": "13055" for i in range(1, 17)},
}
#: Départements of France (metropolitan and the five DROM); COM (975, 977, 978, 98x) have no EPCI.
FRANCE_DEPARTEMENT_RE = r"^(?:[0-9]{2}|2A|2B|97[1-46])$"


def departement_of(code: pl.Expr) -> pl.Expr:
    """Département of a commune code: two characters (01-95, 2A, 2B), three overseas (97x DROM, 98x collectivities)."""
    return pl.when(code.str.starts_with("97") | code.str.starts_with("98")).then(code.str.slice(0, 3)).otherwise(code.str.slice(0, 2))


def departement_sql(expr: str) -> str:
    """SQL: the département of the commune code ``expr`` (as :func:`departement_of`)."""
    return f"(case when {expr} like '97%' or {expr} like '98%' then left({expr}, 3) else left({expr}, 2) end)"


#: Code formats shared by every suite.
SIREN_RE = r"^[0-9]{9}$"
SIRET_RE = r"^[0-9]{14}$"
#: Commune codes: 5 characters, Corsica 2A/2B, DROM 97x; arrondissements are ordinary codes.
#: (A loose format; :func:`commune_code` is the strict rule.)
COMMUNE_RE = r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$"
DEPARTEMENT_RE = r"^(?:[0-9]{2}|2A|2B|97[1-8])$"
EPCI_RE = SIREN_RE
#: Municipal arrondissements of Paris (75101-75120), Lyon (69381-69389), Marseille (13201-13216).
ARRONDISSEMENT_RE = "^(?:" + "|".join(sorted(PLM_ARRONDISSEMENTS)) + ")$"
#: La Poste: one SIREN for ~17,000 establishments, whose SIRETs do not follow Luhn (see valid_siret).
LA_POSTE_SIREN = "356000000"


def luhn_sql(expr: str) -> str:
    """SQL boolean: the digit string ``expr`` has a valid Luhn key (every second digit from the
    right doubled, digits of the products summed, total a multiple of 10). Null if ``expr`` is
    null; non-digits make it false (``try_cast``: DuckDB does not promise to short-circuit AND)."""
    digit = f"try_cast(substr({expr}, i, 1) as integer)"
    return (
        f"coalesce(list_sum(list_transform(range(1, length({expr}) + 1), lambda i: "
        f"case when (length({expr}) - i) % 2 = 1 then (2 * {digit}) // 10 + (2 * {digit}) % 10 "
        f"else {digit} end)) % 10 = 0 and regexp_full_match({expr}, '[0-9]+'), false)"
    )


def siren_valid_sql(expr: str) -> str:
    """SQL boolean: 9 digits with a valid Luhn key. (La Poste's SIREN 356000000 is valid Luhn;
    only its establishments' SIRETs are the exception, see :func:`siret_valid_sql`.)"""
    return f"(regexp_full_match({expr}, '[0-9]{{9}}') and {luhn_sql(expr)})"


def _digit_sum_sql(expr: str) -> str:
    return f"list_sum(list_transform(range(1, length({expr}) + 1), lambda i: try_cast(substr({expr}, i, 1) as integer)))"


def siret_valid_sql(expr: str) -> str:
    """SQL boolean: 14 digits with a valid Luhn key, or - La Poste, SIREN 356000000, whose
    establishments were numbered beyond what Luhn allows - a digit sum that is a multiple of 5
    (INSEE's rule; the head office 35600000000048 also passes Luhn)."""
    return (
        f"(regexp_full_match({expr}, '[0-9]{{14}}') and ({luhn_sql(expr)} or "
        f"(substr({expr}, 1, 9) = {sql_literal(LA_POSTE_SIREN)} and coalesce({_digit_sum_sql(expr)} % 5 = 0, false))))"
    )


def valid_siren(column: str, *, exceptions: Iterable[str] = ()) -> Sql:
    """Every non-null ``column`` is 9 digits with a valid Luhn key (``exceptions``: known
    identifiers accepted as they are, each one documented by the caller)."""
    c = quote_column(column)
    allowed = list(exceptions)
    unless = f" and {c} not in ({', '.join(map(sql_literal, allowed))})" if allowed else ""
    return Sql(
        f"{column} is a SIREN (9 digits, valid Luhn key)",
        f"select {c}, case when not regexp_full_match({c}, '[0-9]{{9}}') then 'not 9 digits' "
        f"else 'invalid Luhn key' end as problem from {{table}} "
        f"where {c} is not null and not {siren_valid_sql(c)}{unless}",
    )


def valid_siret(column: str) -> Sql:
    """Every non-null ``column`` is 14 digits with a valid key (Luhn; La Poste: digit sum / 5)."""
    c = quote_column(column)
    return Sql(
        f"{column} is a SIRET (14 digits, valid Luhn key; La Poste 356000000: digit sum multiple of 5)",
        f"select {c}, case when not regexp_full_match({c}, '[0-9]{{14}}') then 'not 14 digits' "
        f"when substr({c}, 1, 9) = {sql_literal(LA_POSTE_SIREN)} then 'invalid key (neither Luhn nor La Poste digit sum)' "
        f"else 'invalid Luhn key' end as problem from {{table}} "
        f"where {c} is not null and not {siret_valid_sql(c)}",
    )


def siret_of_siren(siret: str, siren: str) -> Sql:
    """The first 9 digits of ``siret`` are ``siren`` (an establishment of its legal unit)."""
    s, u = quote_column(siret), quote_column(siren)
    return Sql(
        f"{siret} starts with {siren}",
        f"select {s}, {u}, 'SIRET does not start with its SIREN' as problem from {{table}} "
        f"where {s} is not null and {u} is not null and substr({s}, 1, 9) <> {u}",
    )


_METRO = "(?:0[1-9]|1[0-9]|2[1-9]|[3-8][0-9]|9[0-5])[0-9]{3}"
_CORSICA = "2[AB][0-9]{3}"
_DROM = "97[1-46][0-9]{2}"
_COM = "(?:97[578]|98[4-9])[0-9]{2}"


def commune_code(column: str, *, arrondissements: bool = True, overseas_collectivities: bool = False) -> Sql:
    """Every non-null ``column`` is a commune code of the COG: 2 digits (01-95, not 20) or
    2A/2B, then 3 digits; or a DROM code 971-974/976 + 2 digits.

    ``arrondissements``: whether the municipal arrondissements of Paris, Lyon and Marseille are
    accepted (SIRENE records them; tables at commune level must use 75056, 69123, 13055).
    ``overseas_collectivities``: whether the COM codes (975, 977, 978, 984-989) are accepted.
    ``20xxx`` is refused: Corsica has been 2A/2B since 1976, a 20 prefix is a mangled code.
    """
    c = quote_column(column)
    valid = f"^(?:{_METRO}|{_CORSICA}|{_DROM}" + (f"|{_COM}" if overseas_collectivities else "") + ")$"
    arr = ARRONDISSEMENT_RE.replace("^", "").replace("$", "")
    failing = f"not regexp_matches({c}, {sql_literal(valid)})"
    if not arrondissements:
        failing += f" or regexp_full_match({c}, {sql_literal(arr)})"
    return Sql(
        f"{column} is a commune code (01-95 or 2A/2B + 3 digits, DROM 971-976"
        + (", COM" if overseas_collectivities else "")
        + ("" if arrondissements else "; no arrondissement")
        + ")",
        f"select {c}, case "
        f"when regexp_full_match({c}, '20[0-9]{{3}}') then '20xxx: Corsica codes are 2A/2B since 1976' "
        f"when regexp_full_match({c}, '[0-9]{{1,4}}') then 'fewer than 5 characters (leading zero lost?)' "
        f"when regexp_full_match({c}, {sql_literal(_COM)}) then 'overseas collectivity (COM), not a commune of the COG' "
        f"when regexp_full_match({c}, {sql_literal(arr)}) then 'municipal arrondissement: expected its commune 75056/69123/13055' "
        f"else 'not a commune code' end as problem from {{table}} where {c} is not null and ({failing})",
    )


def epci_siren(column: str) -> Sql:
    """Every non-null ``column`` is the SIREN of a public body (first digit 2, as every EPCI's)
    with a valid Luhn key."""
    c = quote_column(column)
    return Sql(
        f"{column} is an EPCI SIREN (9 digits starting with 2, valid Luhn key)",
        f"select {c}, case when not regexp_full_match({c}, '[0-9]{{9}}') then 'not 9 digits' "
        f"when not starts_with({c}, '2') then 'not a public body SIREN (EPCI SIRENs start with 2)' "
        f"else 'invalid Luhn key' end as problem from {{table}} "
        f"where {c} is not null and not ({siren_valid_sql(c)} and starts_with({c}, '2'))",
    )


# ------------------------------------------------------------------ Python keys (generator, tests)


def luhn_digit(digits: str) -> str:
    """The digit that makes ``digits + digit`` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)


def is_luhn(number: str) -> bool:
    return number.isdigit() and luhn_digit(number[:-1]) == number[-1]


def siren(prefix8: str) -> str:
    """A valid SIREN from 8 digits."""
    if len(prefix8) != 8 or not prefix8.isdigit():
        raise ValueError(f"siren(): expected 8 digits, got {prefix8!r}")
    return prefix8 + luhn_digit(prefix8)


def siret(siren9: str, establishment: int) -> str:
    """A valid SIRET: the SIREN, a 4-digit establishment number and the key digit (the NIC is 5 digits)."""
    if not 0 <= establishment <= 9999:
        raise ValueError(f"siret(): establishment number {establishment} outside 0-9999")
    body = f"{siren9}{establishment:04d}"
    return body + luhn_digit(body)
