"""DGCL: "Liste et composition des EPCI à fiscalité propre" (epcicom), 2014-2017 as consolidated by Etalab geohisto."""

from observatory.sources import PlanFile, SourceSpec, years

SPEC = SourceSpec(
    name="dgcl_epci",
    title="Liste et composition des EPCI à fiscalité propre (epcicom)",
    publisher="DGCL (consolidated by Etalab geohisto)",
    licence="Licence Ouverte",
    homepage="https://www.collectivites-locales.gouv.fr/institutions/liste-et-composition-des-epci-fiscalite-propre",
    cadence="yearly",
    description=(
        "One row per member commune (siren;nom;nature;fiscalite;nb_com;ptot;pmun;insee;siren_com;nom_com;ptot_com;pmun_com), "
        "2014-2017. Used to cross-check the INSEE membership of 2015-2017. The DGCL moves its file URLs every year, so "
        "no download is declared: both modes read the embedded copy. Its 'insee' column lost the leading zero of "
        "départements 01-09; the loader zero-pads it and records the count."
    ),
    plan=(PlanFile("epci_membership", years((2014, 2017)), embedded="epcicom_2014_2017.parquet"),),
)
