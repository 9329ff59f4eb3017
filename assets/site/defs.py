"""The observatory site: built after publication from the published files only."""

from pathlib import Path

import dagster as dg

from assets.site.build import build_site
from assets.site.publish import SITE_DIR, publish_site
from observatory.publish import PUBLICATION_KEY, SITE_KEY, current_version, run_record
from observatory.resources import Warehouse


# pool: it only reads the published files, but through the warehouse resource (which knows where they are), and
# every user of the warehouse holds the duckdb slot (tests/integration/test_definitions.py).
@dg.asset(key=SITE_KEY, deps=[PUBLICATION_KEY], group_name="site", kinds={"html", "vega"}, owners=["team:data"], pool="duckdb")
def site(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Static site in French (France, map by EPCI, one page per EPCI, département and région, the 2017 merger study,
    the published files) in data/marts/site/, built from the PUBLISHED database and map layer only, so it shows what
    passed the blocking checks; it opens from file:// with no network (every script and data file inside). Built into
    the new version by publish/observatory in the same run (reported here), else rebuilt alone as a new version."""
    marts_dir = Path(warehouse.published_dir)
    current = current_version(marts_dir)
    record = run_record(current)
    if record.get("run_id") == context.run_id and SITE_DIR in record.get("parts", {}):
        figures = {**record["parts"][SITE_DIR], "index": str(marts_dir / SITE_DIR / "index.html")}
    else:
        figures = publish_site(marts_dir, build_site, run_id=context.run_id)
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(figures["index"]),
            "url": dg.MetadataValue.url(Path(figures["index"]).resolve().as_uri()),
            "pages": figures["pages"],
            "map_features": figures["map_features"],
            "size_mb": round(figures["bytes"] / 1e6, 2),
            "build_seconds": figures["seconds"],
        }
    )


defs = dg.Definitions(assets=[site])
