"""SIREN / SIRET keys for the sample generator and the tests: re-exported from their one home,
``assets/common/identifiers.py`` (kept so that ``assets.sirene.identifiers.siren`` / ``siret`` keep working)."""

from assets.common.identifiers import is_luhn, luhn_digit, siren, siret

__all__ = ["is_luhn", "luhn_digit", "siren", "siret"]
