"""Schedules, refresh jobs, refresh sensors and freshness policies, derived from each source's cadence.

Nothing here names a source: a raw asset made by ``observatory.sources.raw_asset`` carries the tag
``cadence`` of its :class:`~observatory.sources.SourceSpec`, and

* gets a freshness policy (:func:`freshness_policy`): the freshness daemon of ``dagster dev``
  marks it WARN, then FAIL, when its last materialization is older than its cadence allows;
* belongs to the refresh job of its cadence (``refresh_monthly``, ``refresh_yearly``), which
  selects every raw asset of that cadence *and everything downstream* - staging, marts and
  publication. Launched as is (UI: *Jobs -> refresh_monthly -> Materialize all*) it is the full
  refresh: everything rebuilt in one run;
* the schedule of its cadence (:data:`CADENCES`, Europe/Paris time) recomputes only what changed, as
  ``python -m observatory run`` does (``observatory.incremental``), in two runs of that job:

  1. the tick launches the cadence's raw assets only, tagged ``observatory/phase=inputs``: they verify
     (or download) the files and record their sha256 as data versions;
  2. on that run's success the refresh sensor (``refresh_<cadence>_stale``) calls
     :func:`observatory.incremental.stale` on the job's other assets and requests ONE run of exactly the
     stale ones (every year of the partitioned ones, as the command line), or skips with "Up to date"
     when nothing is stale.

  The stale part is one run, not one run per asset, so that a failed blocking check stops everything
  below it, publication included (declarative automation would launch the marts in separate runs, where
  an upstream check failure no longer blocks them).

Schedules and sensors start RUNNING, so that ``make ui`` (webserver + daemon) really refreshes the observatory
on its cadence. In the default embedded mode a tick only re-verifies the committed data (and then skips); a run on
the national SIRENE files happens only where ``OBSERVATORY_SIRENE_DIR`` or the official mode is set.
A schedule or sensor can be switched off in the UI (Automation); that state is kept in ``DAGSTER_HOME``.
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import dagster as dg

from observatory.incremental import PHASE_TAG, is_raw, stale
from observatory.partitions import selection_tags
from observatory.publish import published_outputs
from observatory.resources import Warehouse

TIMEZONE = "Europe/Paris"
CADENCE_TAG = "cadence"
#: Value of :data:`~observatory.incremental.PHASE_TAG` on a scheduled run of raw assets, which the refresh sensor follows.
INPUTS_PHASE = "inputs"


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


def refresh_sensor_name(name: str) -> str:
    return f"{refresh_job_name(name)}_stale"


def cadence_automation(defs: dg.Definitions) -> dg.Definitions:
    """The refresh jobs, schedules and sensors of every cadence used by an asset of ``defs``, plus the
    ``rebuild_marts`` job (every ``marts.*`` asset and the ``marts`` group, i.e. with publication;
    no schedule: for re-running the marts after a fix). ``defs`` must hold the ``warehouse`` resource
    the sensors read (where the build database and the publication are)."""
    graph = defs.resolve_asset_graph()
    used = sorted({graph.get(k).tags[CADENCE_TAG] for k in graph.get_all_asset_keys() if CADENCE_TAG in graph.get(k).tags})
    jobs, schedules, sensors = [], [], []
    for name in used:
        c = cadence(name)
        selection = dg.AssetSelection.tag(CADENCE_TAG, name).downstream()
        keys = sorted(selection.resolve(graph), key=lambda k: k.to_user_string())
        partitioned = {}
        for k in keys:
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
            description=f"Refresh the {name} sources and everything downstream (staging, marts, publication), all rebuilt: "
            f"the full refresh. The schedule recomputes only what changed (sensor {refresh_sensor_name(name)}). {c.why}.",
            tags={CADENCE_TAG: name},
            executor_def=JOB_EXECUTOR,
        )
        jobs.append(job)
        schedules.append(_schedule(job, c, [k for k in keys if is_raw(k)]))
        sensors.append(_refresh_sensor(defs, job, c, keys))
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
    return dg.Definitions(jobs=jobs, schedules=schedules, sensors=sensors)


def _schedule(job: Any, c: Cadence, raw: Sequence[dg.AssetKey]) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{job.name}_schedule",
        job=job,
        cron_schedule=c.cron,
        execution_timezone=TIMEZONE,
        description=f"{c.why}. Runs the {c.name} raw assets (files verified or downloaded); the sensor "
        f"{refresh_sensor_name(c.name)} then runs what changed.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _tick(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(asset_selection=list(raw), tags={CADENCE_TAG: c.name, PHASE_TAG: INPUTS_PHASE})

    return _tick


def _refresh_sensor(defs: dg.Definitions, job: Any, c: Cadence, keys: Sequence[dg.AssetKey]) -> dg.SensorDefinition:
    graph = defs.resolve_asset_graph()

    @dg.run_status_sensor(
        name=refresh_sensor_name(c.name),
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[job],
        request_job=job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"After the {c.name} schedule's run of the raw assets: one run of the assets of {job.name} whose "
        "code or inputs changed, and everything downstream of them (observatory.incremental.stale).",
    )
    def _sensor(context: dg.RunStatusSensorContext, warehouse: Warehouse) -> dg.RunRequest | dg.SkipReason:
        run = context.dagster_run
        # a full refresh launched from the UI, or this sensor's own run, is not followed by another run
        if run.tags.get(PHASE_TAG) != INPUTS_PHASE:
            return dg.SkipReason(f"run {run.run_id[:8]} is not the inputs phase of a scheduled refresh")
        plan = stale(defs, context.instance, keys, build_db=Path(warehouse.path), present=published_outputs(Path(warehouse.published_dir)))
        if not plan.run:
            return dg.SkipReason(f"Up to date: {len(plan.skip)} asset(s) unchanged since their last materialization, nothing to run")
        todo = sorted(plan.run, key=lambda k: k.to_user_string())
        context.log.info("; ".join(f"{k.to_user_string()}: {plan.why[k]}" for k in todo))
        return dg.RunRequest(run_key=run.run_id, asset_selection=todo, tags={CADENCE_TAG: c.name, **selection_tags(graph, todo)})

    return _sensor
