"""Every chart and map of the site, as Vega-Lite specifications written with Altair.

Each specification reads a NAMED data source (``rows``, or ``epci`` for the map) and carries no
data: the pages hold their own rows and ``site.js`` puts them in the spec's ``datasets`` before
calling ``vegaEmbed``. So one definition per chart serves the 1,300 pages, and a page's weight is
its data only.
"""

from __future__ import annotations

import altair as alt

from assets.site.reader import SECTORS

SECTOR_COLORS = {"public": "#3b6fb6", "ess": "#2e9e5b", "lucratif": "#d1495b", "autre_prive": "#edae49", "indetermine": "#a0a0a0"}
SECTOR_SCALE = alt.Scale(domain=list(SECTORS.values()), range=[SECTOR_COLORS[k] for k in SECTORS])
YEAR = alt.X("annee:O", title="1er janvier", axis=alt.Axis(labelAngle=0, labelOverlap=True))
ROWS = alt.Data(name="rows")
#: Map states (computed by the site builder, see build.map_data): no facility, small count, a share to colour.
STATE_NONE, STATE_SMALL, STATE_OK = 0, 1, 2
NO_DATA_GREY = "#cfcfcf"
#: The SVG pattern drawn once in every map page (templates/carte.html.j2): hatched = share resting on < 5 facilities.
HATCH = "url(#hachures)"
ZONES = {"metro": "France métropolitaine", "971": "Guadeloupe", "972": "Martinique", "973": "Guyane", "974": "La Réunion", "976": "Mayotte"}
#: Central meridian of each inset. Besides centring it, a distinct rotation keeps each inset's projection its own:
#: Vega-Lite merges identical projections of concatenated views (and would fit one to all five DROM at once).
INSET_ROTATION = {"971": 61.5, "972": 61.0, "973": 53.0, "974": -55.5, "976": -45.1}


def _sector_color(legend: bool = True) -> alt.Color:
    return alt.Color("label:N", title="Secteur", scale=SECTOR_SCALE, legend=alt.Legend(orient="bottom") if legend else None)


def sector_area(title: str = "Établissements par secteur de l'opérateur") -> dict:
    """Facilities by sector over the years (stacked areas)."""
    return (
        alt.Chart(ROWS, title=title)
        .mark_area(opacity=0.9)
        .encode(
            x=YEAR,
            y=alt.Y("n:Q", stack="zero", title="Établissements (EAJE)"),
            color=_sector_color(),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("annee:O", title="Année"),
                alt.Tooltip("label:N", title="Secteur"),
                alt.Tooltip("n:Q", title="Établissements", format=",d"),
            ],
        )
        .properties(width="container", height=260)
        .to_dict()
    )


def share_lines(title: str = "Part des établissements par secteur") -> dict:
    """ESS, public and for-profit shares over the years; years resting on fewer than 5 facilities drawn pale."""
    base = alt.Chart(ROWS, title=title).encode(
        x=YEAR,
        y=alt.Y("share:Q", title="Part des établissements", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=_sector_color(),
    )
    tooltip = [
        alt.Tooltip("annee:O", title="Année"),
        alt.Tooltip("label:N", title="Secteur"),
        alt.Tooltip("share:Q", title="Part", format=".1%"),
        alt.Tooltip("n:Q", title="Établissements du secteur"),
        alt.Tooltip("n_total:Q", title="Établissements (tous)"),
        alt.Tooltip("note:N", title="Remarque"),
    ]
    lines = base.mark_line(strokeWidth=2)
    points = base.mark_point(size=40, filled=True).encode(
        opacity=alt.when("datum.small").then(alt.value(0.3)).otherwise(alt.value(1.0)), tooltip=tooltip
    )
    return alt.layer(lines, points).properties(width="container", height=240).to_dict()


def places_lines(title: str = "Places estimées par secteur") -> dict:
    return (
        alt.Chart(ROWS, title=title)
        .mark_line(point=True)
        .encode(
            x=YEAR,
            y=alt.Y("places:Q", title="Places (estimées)"),
            color=_sector_color(),
            tooltip=[
                alt.Tooltip("annee:O", title="Année"),
                alt.Tooltip("label:N", title="Secteur"),
                alt.Tooltip("places:Q", title="Places", format=",.0f"),
                alt.Tooltip("coverage:Q", title="Établissements aux places connues", format=".0%"),
            ],
        )
        .properties(width="container", height=240)
        .to_dict()
    )


def structure_bars(title: str) -> dict:
    """Current stock by kind of structure and sector (horizontal stacked bars)."""
    return (
        alt.Chart(ROWS, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("type:N", title=None, sort="-x"),
            x=alt.X("n:Q", title="Établissements", stack="zero"),
            color=_sector_color(),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("type:N", title="Type"),
                alt.Tooltip("label:N", title="Secteur"),
                alt.Tooltip("n:Q", title="Établissements", format=",d"),
            ],
        )
        .properties(width="container", height=220)
        .to_dict()
    )


def supply_lines(title: str = "Places CAF en EAJE (communes publiées par la CAF)") -> dict:
    return (
        alt.Chart(ROWS, title=title)
        .mark_line(point=True)
        .encode(
            x=YEAR,
            y=alt.Y("places:Q", title="Places"),
            color=alt.Color(
                "serie:N",
                title=None,
                legend=alt.Legend(orient="bottom"),
                scale=alt.Scale(domain=["PSU", "Hors PSU"], range=["#3b6fb6", "#d1495b"]),
            ),
            tooltip=[
                alt.Tooltip("annee:O", title="Année"),
                alt.Tooltip("serie:N", title="Places"),
                alt.Tooltip("places:Q", title="Nombre", format=",.0f"),
            ],
        )
        .properties(width="container", height=220)
        .to_dict()
    )


def event_study(title: str, y_title: str) -> dict:
    """Event-study coefficients with their 95 % intervals, pre-period included; the unit named ``intervals``
    draws the intervals (the browser test counts them)."""
    base = alt.Chart(ROWS).encode(x=alt.X("annee:O", title="1er janvier", axis=alt.Axis(labelAngle=0)))
    color = alt.Color(
        "periode:N",
        title=None,
        legend=alt.Legend(orient="bottom"),
        scale=alt.Scale(domain=["avant la fusion", "année de référence", "après la fusion"], range=["#7f7f7f", "#000000", "#d1495b"]),
    )
    zero = alt.Chart(ROWS).mark_rule(color="#555", strokeDash=[4, 3]).encode(y=alt.datum(0))
    intervals = (
        base.mark_rule(strokeWidth=2)
        .encode(y=alt.Y("ci_low:Q", title=y_title), y2="ci_high:Q", color=color)
        .transform_filter("isValid(datum.ci_low)")
        .properties(name="intervals")
    )
    points = base.mark_point(filled=True, size=60).encode(
        y="estimate:Q",
        color=color,
        tooltip=[
            alt.Tooltip("annee:O", title="Année"),
            alt.Tooltip("event_time:Q", title="Années depuis la fusion"),
            alt.Tooltip("estimate:Q", title="Estimation", format=".2f"),
            alt.Tooltip("ci_low:Q", title="IC 95 % bas", format=".2f"),
            alt.Tooltip("ci_high:Q", title="IC 95 % haut", format=".2f"),
        ],
    )
    return alt.layer(zero, intervals, points, title=title).properties(width="container", height=280).to_dict()


def _map_color(layer: dict) -> dict:
    # Written as a dict: Vega-Lite takes a list of value conditions before a field, Altair's when() chain does not.
    return {
        "condition": [
            {"test": f"datum.properties.s == {STATE_SMALL}", "value": HATCH},
            {"test": f"datum.properties.s == {STATE_NONE}", "value": NO_DATA_GREY},
        ],
        "field": "properties.v",
        "type": "quantitative",
        "scale": {"domain": layer["domain"], "scheme": layer["scheme"], "clamp": True},
        "legend": {"title": layer["legend"], "format": layer["format"], "orient": "right", "gradientLength": 220},
    }


def choropleth(layer: dict) -> dict:
    """The EPCI map of one indicator: metropolitan France, then the five DROM as insets, one shape per EPCI."""
    tooltip = [
        alt.Tooltip("properties.nom:N", title="EPCI"),
        alt.Tooltip("properties.tip:N", title=layer["legend"]),
        alt.Tooltip("properties.detail:N", title="Détail"),
    ]

    def view(zone: str, width: int, height: int, projection: dict) -> alt.Chart:
        return (
            # one named dataset per zone (epci_metro, epci_971...): each view's projection is fitted to its own zone
            alt.Chart(alt.Data(name=f"epci_{zone}"), title=alt.Title(ZONES[zone], fontSize=11 if zone != "metro" else 13))
            .mark_geoshape(stroke="#ffffff", strokeWidth=0.3, invalid="show")  # no-facility EPCIs (null value) drawn grey, not dropped
            .encode(color=_map_color(layer), tooltip=tooltip)
            .project(**projection)
            .properties(width=width, height=height, name=f"zone_{zone}")
        )

    metro = view("metro", 620, 600, {"type": "conicConformal", "parallels": [44, 49], "rotate": [-3, 0, 0]})  # as Lambert-93
    insets = alt.hconcat(*(view(z, 104, 104, {"type": "mercator", "rotate": [r, 0, 0]}) for z, r in INSET_ROTATION.items()), spacing=8)
    return alt.vconcat(metro, insets).resolve_scale(color="shared").to_dict()


def all_specs(map_layers: dict[str, dict]) -> dict[str, dict]:
    specs = {
        "sector_area": sector_area(),
        "share_lines": share_lines(),
        "places_lines": places_lines(),
        "structure_bars": structure_bars("Établissements actifs par type et secteur"),
        "supply_lines": supply_lines(),
        "event_study_pct": event_study("Associations gestionnaires d'EAJE : écart relatif traités / témoins", "Écart (%)"),
        "event_study_points": event_study("Part ESS des établissements : écart traités / témoins", "Écart (points de %)"),
        "event_study_epci": event_study("Associations gestionnaires : écart par EPCI", "Écart (établissements par EPCI)"),
    }
    for key, layer in map_layers.items():
        specs[f"map_{key}"] = choropleth(layer)
    return specs
