"""SIREN / SIRET keys (Luhn), for the sample generator and the tests; the warehouse checks use the
SQL rules of ``observatory.quality`` (valid_siren, valid_siret)."""


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
