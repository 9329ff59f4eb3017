"""The observatory's years, derived from the file plans: the territorial reference covers every year for
which the embedded plans have a commune -> EPCI membership (INSEE's table, then Etalab's composition), so
that adding a millésime to a plan (``source.py``) adds the year everywhere: the yearly partitions, the
checks that expect every year, the code map. The embedded copy is the reference because it is what every
run can build (official files missing for a year fail with a clear error).
"""

from assets.etalab_epci.source import SPEC as ETALAB
from assets.insee_epci.source import SPEC as INSEE
from observatory.partitions import yearly_partitions
from observatory.sources import EMBEDDED


def territory_years() -> tuple[int, ...]:
    """Years of the territorial reference (commune -> EPCI on 1 January), from the current plans."""
    found = set(INSEE.plan_years("epci_membership", EMBEDDED)) | set(ETALAB.plan_years("epci_composition", EMBEDDED))
    years = tuple(sorted(found))
    if years != tuple(range(years[0], years[-1] + 1)):
        raise ValueError(f"the membership plans leave gaps in the territorial years {years}: add the missing years' files")
    return years


#: Years of the territorial reference (1 January 2015-2026 today).
TERRITORY_YEARS = territory_years()
#: The shared yearly partitions: one per territorial year (Dagster refuses a job mixing partitions definitions).
YEARS = yearly_partitions(TERRITORY_YEARS)
