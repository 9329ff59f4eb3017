"""Schedules, refresh jobs and freshness policies, derived from each source's cadence.

Nothing here names a source: a raw asset made by ``observatory.sources.raw_asset`` carries the tag
``cadence`` of its :class:`~observatory.sources.SourceSpec`, and

* gets a freshness policy (:func:`freshness_policy`): the freshness daemon of ``dagster dev``
  marks it WARN, then FAIL, when its last materialization is older than its cadence allows;
* belongs to the refresh job of its cadence (``refresh_monthly``, ``refresh_yearly``), which
  selects every raw asset of that cadence *and everything downstream* - staging, marts and
  publication - so the marts are rebuilt after their inputs, in the same run, where a failed
  blocking check stops everything below it (declarative automation would launch the marts in
  separate runs, where an upstream check failure no longer blocks them);
* the job runs on the cadence's cron (:data:`CADENCES`), Europe/Paris time.

Schedules start RUNNING, so that ``make ui`` (webserver + daemon) really refreshes the observatory
on its cadence. In the default embedded mode a tick only rebuilds from the committed data; a run on
the national SIRENE files happens only where ``OBSERVATORY_SIRENE_DIR`` or the official mode is set.
A schedule can be switched off in the UI (Automation); that state is kept in ``DAGSTER_HOME``.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import dagster as dg

from observatory.partitions import latest_year_key

TIMEZONE = "Europe/Paris"
CADENCE_TAG = "cadence"


@dataclass(frozen=True)
class Cadence:
    name: str
    cron: str
    why: str
    #: Freshness: WARN when the last materialization is older than this...
    warn_after: dt.timedelta
    #: ...and FAIL when older than this.
    fail_after: dt.timedelta


CADENCES: dict[str, Cadence] = {
    c.name: c
    for c in (
        Cadence(
            "monthly",
            "0 6 3 * *",
            "INSEE publishes the SIRENE stock files at the start of each month: refresh on the 3rd at 06:00",
            warn_after=dt.timedelta(days=33),
            fail_after=dt.timedelta(days=40),
        ),
        Cadence(
            "yearly",
            "0 6 15 1 *",
            "the COG and the EPCI compositions are as of 1 January and published in January; CAF and DREES "
            "publish once a year: refresh on 15 January at 06:00",
            warn_after=dt.timedelta(days=370),
            fail_after=dt.timedelta(days=400),
        ),
    )
}

#: Job rebuilding the marts and publishing them from the tables already in the build database.
MARTS_JOB = "rebuild_marts"
#: Job of every asset, launched by the command line.
ALL_JOB = "build_everything"

#: The executor of every job: in-process, as ``python -m observatory run`` executes, so that a UI launch costs what
#: the command line does. Almost every step writes the build database, which the ``duckdb`` pool serialises
#: anyway; a process per step (Dagster's default) re-imports the code location for each step (seconds, for steps
#: that often take less) and waits on the pool with Dagster 1.13's slot-wait backoff (up to 15 s) between
#: consecutive writers. The steps outside the pool (raw file checks and downloads) take under a second each on
#: the embedded data; running them side by side would save less than a process start costs. (A multiprocess
#: executor with a forkserver preloading the code location hung in tests/integration/test_definitions_pools.py.)
JOB_EXECUTOR = dg.in_process_executor


def cadence(name: str) -> Cadence:
    try:
        return CADENCES[name]
    except KeyError:
        raise ValueError(f"cadence {name!r}: expected one of {sorted(CADENCES)}") from None


def freshness_policy(name: str) -> dg.FreshnessPolicy:
    c = cadence(name)
    return dg.FreshnessPolicy.time_window(fail_window=c.fail_after, warn_window=c.warn_after)


def refresh_job_name(name: str) -> str:
    return f"refresh_{name}"


def cadence_automation(defs: dg.Definitions) -> dg.Definitions:
    """The refresh jobs and schedules of every cadence used by an asset of ``defs``, plus the
    ``rebuild_marts`` job (every ``marts.*`` asset and the ``marts`` group, i.e. with publication;
    no schedule: for re-running the marts after a fix)."""
    graph = defs.resolve_asset_graph()
    used = sorted({graph.get(k).tags[CADENCE_TAG] for k in graph.get_all_asset_keys() if CADENCE_TAG in graph.get(k).tags})
    jobs, schedules = [], []
    for name in used:
        c = cadence(name)
        selection = dg.AssetSelection.tag(CADENCE_TAG, name).downstream()
        keys = selection.resolve(graph)
        partitioned = {}
        for k in sorted(keys, key=lambda k: k.to_user_string()):
            pdef = graph.get(k).partitions_def
            if pdef is not None:
                partitioned.setdefault(pdef, []).append(k.to_user_string())
        if len(partitioned) > 1:
            raise dg.DagsterInvalidDefinitionError(
                f"refresh_{name}: the assets downstream of the {name} sources use {len(partitioned)} different "
                f"partitions definitions ({'; '.join(', '.join(v) for v in partitioned.values())}); "
                "yearly assets must share observatory.partitions.YEARS"
            )
        job = dg.define_asset_job(
            refresh_job_name(name),
            selection=selection,
            description=f"Refresh the {name} sources and everything downstream (staging, marts, publication). {c.why}.",
            tags={CADENCE_TAG: name},
            executor_def=JOB_EXECUTOR,
        )
        jobs.append(job)
        schedules.append(_schedule(job, c, next(iter(partitioned), None)))
    # Everything, as one named job: `python -m observatory run` (and so `make run`) launches it, so that its runs
    # have a Target and appear on the UI's Overview timeline like the UI's own runs (not the hidden __ASSET_JOB).
    jobs.append(
        dg.define_asset_job(
            ALL_JOB,
            selection=dg.AssetSelection.all(),
            description="Every asset: sources, staging, marts, publication and the site (what `make run` launches).",
            executor_def=JOB_EXECUTOR,
        )
    )
    marts = dg.AssetSelection.key_prefixes(["marts"]) | dg.AssetSelection.groups("marts") | dg.AssetSelection.groups("site")
    if marts.resolve(graph):
        jobs.append(
            dg.define_asset_job(
                MARTS_JOB,
                selection=marts,
                description="Rebuild every marts.* table (and the marts group, with publication, and the site) from the "
                "tables already in the build database, check them and publish.",
                executor_def=JOB_EXECUTOR,
            )
        )
    return dg.Definitions(jobs=jobs, schedules=schedules)


def _schedule(job: Any, c: Cadence, pdef: dg.PartitionsDefinition | None) -> dg.ScheduleDefinition:
    name = f"{job.name}_schedule"
    description = f"{c.why}."
    if pdef is None:
        return dg.ScheduleDefinition(
            name=name,
            job=job,
            cron_schedule=c.cron,
            execution_timezone=TIMEZONE,
            description=description,
            default_status=dg.DefaultScheduleStatus.RUNNING,
        )

    # A partitioned run needs a partition key: the latest year up to the tick's date.
    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=c.cron,
        execution_timezone=TIMEZONE,
        description=description + " Partitioned assets: the latest year up to the tick's date.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _tick(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        key = latest_year_key(pdef, context.scheduled_execution_time)
        return dg.RunRequest(partition_key=key, tags={CADENCE_TAG: c.name})

    return _tick
