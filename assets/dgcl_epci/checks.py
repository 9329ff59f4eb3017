"""Blocking checks of the DGCL epcicom table (``stg.dgcl_epci_membership``)."""

from assets.common.identifiers import COMMUNE_RE, epci_siren
from assets.dgcl_epci.columns import MEMBERSHIP
from observatory.quality import Between, Columns, Matches, Unique

DGCL_SUITE = [
    Columns(MEMBERSHIP.types),
    Unique("annee", "code_commune"),
    Matches("code_commune", COMMUNE_RE),
    epci_siren("epci_siren"),
    Between("population_totale", 0, None),
]
