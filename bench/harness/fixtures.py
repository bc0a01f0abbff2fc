"""Setting up the work, waiting for it, and checking it.

Projects, components, configurations and orchestrations are made with `baton apply`
(`catalog`, `apply_once`). Jobs are made with `baton jobs create --count N` / `baton run`, or, where
the command line is too slow (20,000 jobs over 1,000 configurations; a million finished jobs; one
job timed to the millisecond for latency), with **`insert_jobs`, the benchmark's one fixture**:
no other code of bench/ writes to `jobs` (the benchmark only reads it, TRUNCATEs it between
runs, and VACUUMs it).

`fixture_check` compares a job made by `baton jobs create` with one made by `insert_jobs` at the
start of every run, so the fixture cannot drift from Baton without the report saying so.
"""

from __future__ import annotations

import json
import time
from typing import Optional

from .core import POLL_S, UNFINISHED, BenchError, Context, log

NOOP = {"type": "noop"}


def reset(ctx: Context) -> None:
    """No jobs (TRUNCATE jobs and what hangs off it: events, notifications)."""
    ctx.db.q("TRUNCATE jobs CASCADE")


def settle(ctx: Context) -> None:
    """VACUUM ANALYZE jobs and CHECKPOINT before a measured run (the peers do the same for their tables)."""
    ctx.db.q("VACUUM ANALYZE jobs")
    ctx.db.q("CHECKPOINT")


def apply_once(ctx: Context, key: str, documents: list[dict]) -> None:
    """`baton apply` of these documents, once per benchmark run for each key."""
    if key in ctx.applied:
        return
    t0 = time.time()
    ctx.apply(documents)
    ctx.applied.add(key)
    if time.time() - t0 > 2:
        kinds: dict[str, int] = {}
        for d in documents:
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        log(f"  baton apply: {', '.join(f'{v:,} {k}s' for k, v in kinds.items())} in {time.time() - t0:.1f} s")


def catalog(ctx: Context, configs: int, component: str = "bench-noop", executor: Optional[dict] = None,
            projects: tuple[str, ...] = ("default",), limit: int = 100_000, prefix: str = "cfg-") -> None:
    """Projects (maxParallelJobs = limit), each with `component` and its configurations PREFIX1..PREFIXK, by `baton apply`."""
    executor = executor or NOOP
    key = json.dumps([configs, component, executor, projects, limit, prefix])
    docs: list[dict] = []
    for p in projects:
        docs.append({"kind": "project", "id": p, "maxParallelJobs": limit})
        docs.append({"kind": "component", "project": p, "id": component, "executor": executor})
        docs += [{"kind": "configuration", "project": p, "component": component, "id": f"{prefix}{i}"}
                 for i in range(1, configs + 1)]
    apply_once(ctx, key, docs)


def insert_jobs(ctx: Context, n: int, configs: int, *, component: str = "bench-noop", projects: tuple[str, ...] = ("default",),
                prefix: str = "cfg-", grouped: int = 0, config_data: Optional[dict] = None, finished: bool = False,
                batch: int = 1000, first: int = 1) -> list[int]:
    """THE fixture: n jobs INSERTed the way `Store.createJobs` (`baton jobs create`) writes them; returns their ids.

    Job g (g = first .. first+n-1) goes to project projects[(g-1) % P] and, within it, to
    configuration PREFIX{((g-1) // P) % configs + 1} (round-robin), or, with `grouped`, to
    PREFIX{((g-1) // P) // grouped + 1} (that many in a row per configuration). The configurations must exist
    (`catalog`). As `Store.createJobs` does, each job freezes its configuration's parameters overlaid with
    `config_data` (top-level keys) and its component's executor and timeout; a job with an unfinished job of
    its configuration before it (in the table or earlier in this call) is `waiting` (`configuration-lock`),
    the others `created`. One statement per `batch` jobs, each one transaction (the INSERT trigger NOTIFYs
    the workers once per statement, as for `baton jobs create --count`).

    finished=True writes history instead: jobs that ended `success` a day ago (claim-cost scenario).
    """
    P = len(projects)
    cfg = f"((g - 1) / {P}) / {grouped} + 1" if grouped else f"((g - 1) / {P}) %% {configs} + 1"
    ids: list[int] = []
    for lo in range(first, first + n, batch):
        hi = min(first + n - 1, lo + batch - 1)
        if finished:
            status = "'success'::job_status, NULL"
            extra_cols = ", start_time, end_time, duration_seconds, attempt, worker_id, result, created_time"
            extra_vals = (", now() - interval '1 day', now() - interval '1 day', 0.001, 1, 'history', "
                          "'{\"message\": \"ok\"}'::jsonb, now() - interval '1 day'")
        else:
            behind = """(row_number() OVER (PARTITION BY w.project_id, w.config_id ORDER BY w.g) > 1
                         OR EXISTS (SELECT 1 FROM jobs q WHERE q.project_id = w.project_id AND q.component_id = %(component)s
                                    AND q.config_id = w.config_id AND q.status IN ('created', 'waiting', 'processing', 'terminating')))"""
            status = f"CASE WHEN {behind} THEN 'waiting'::job_status ELSE 'created'::job_status END, CASE WHEN {behind} THEN 'configuration-lock' END"
            extra_cols = extra_vals = ""
        rows = ctx.db.q(f"""
            WITH w AS (
                SELECT g, (%(projects)s::text[])[(g - 1) %% {P} + 1] AS project_id, %(prefix)s::text || ({cfg})::text AS config_id
                FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g
            )
            INSERT INTO jobs (project_id, component_id, config_id, mode, config_data, parameters, executor, status, waiting_reason,
                              timeout_seconds, retries, retry_delay_seconds, initialized_by{extra_cols})
            SELECT w.project_id, %(component)s::text, w.config_id, 'run', %(data)s::jsonb, cf.parameters || coalesce(%(data)s::jsonb, '{{}}'),
                   c.executor, {status}, c.timeout_seconds, 0, 10, 'manual'{extra_vals}
            FROM w
            JOIN configurations cf ON (cf.project_id, cf.component_id, cf.id) = (w.project_id, %(component)s, w.config_id)
            JOIN components c ON (c.project_id, c.id) = (w.project_id, %(component)s)
            ORDER BY w.g
            RETURNING id""", {"projects": list(projects), "prefix": prefix, "lo": lo, "hi": hi, "component": component,
                              "data": json.dumps(config_data) if config_data is not None else None})
        if len(rows) != hi - lo + 1:
            raise BenchError(f"insert_jobs: {len(rows)} of {hi - lo + 1} jobs inserted: are the configurations "
                             f"{prefix}1..{prefix}{configs} of {component} applied in {projects[:3]}...?")
        ids += [r[0] for r in rows]
    return ids


# The columns a job is made with (no id, run id, times, or anything a worker writes).
_COMPARED = ("project_id", "component_id", "config_id", "mode", "type", "config_data", "parameters", "executor", "status",
             "waiting_reason", "desired_status", "timeout_seconds", "retries", "retry_delay_seconds", "initialized_by", "attempt",
             "parent_run_id", "token_id", "acting_token_id", "delayed_start_time", "previous_job_id")


def fixture_check(ctx: Context) -> Optional[str]:
    """Two jobs by `baton jobs create --count 2` and two by insert_jobs, same configuration: the same columns?

    Returns None when they match, else what differs (the report shows it).
    """
    catalog(ctx, 1, component="bench-check", prefix="check-")
    reset(ctx)
    ctx.baton("jobs", "create", "--component", "bench-check", "--config", "check-1", "--count", "2")
    cols = ", ".join(f"{c}::text" for c in _COMPARED)
    cli = ctx.db.q(f"SELECT {cols} FROM jobs ORDER BY id")
    reset(ctx)
    insert_jobs(ctx, 2, 1, component="bench-check", prefix="check-", grouped=2)
    fix = ctx.db.q(f"SELECT {cols} FROM jobs ORDER BY id")
    reset(ctx)
    diffs = [f"job {i + 1} {c}: baton jobs create {a!r}, insert_jobs {b!r}"
             for i, (x, y) in enumerate(zip(cli, fix)) for c, a, b in zip(_COMPARED, x, y) if a != b]
    if len(cli) != 2 or len(fix) != 2:
        diffs.append(f"rows: baton jobs create {len(cli)}, insert_jobs {len(fix)}")
    return "; ".join(diffs) or None


def drain(ctx: Context, n: int, timeout: float, alive=None) -> float:
    """Polls every 20 ms until no job is unfinished; returns that moment (unix time)."""
    t0 = time.time()
    next_print = t0 + 1
    while True:
        left = ctx.db.one(f"SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN {UNFINISHED})")
        now = time.time()
        if not left:
            return now
        if now >= next_print:
            count = ctx.db.one(f"SELECT count(*) FROM jobs WHERE status IN {UNFINISHED}")
            log(f"  {n - count}/{n} done, {now - t0:.1f} s")
            next_print = now + 1
        if alive is not None and alive() == 0:
            raise BenchError("every worker exited before the jobs were done (see bench/results/tmp/*.log)")
        if now - t0 > timeout:
            raise BenchError(f"jobs not done after {timeout:.0f} s")
        time.sleep(POLL_S)


def verify(ctx: Context, n: int, tag: str, project_limits: bool = False) -> dict:
    """The checks every run passes: n jobs ended success, none claimed twice, no configuration ran twice at
    once, and (project_limits) no project ran more jobs at once than its limit; all from the jobs table."""
    db = ctx.db
    foreign = db.one("SELECT count(*) FROM jobs WHERE worker_id NOT LIKE %s AND type = 'standard'", (f"bench-{tag}-%",))
    if foreign:
        raise BenchError(f"{foreign} jobs were run by workers not started by this benchmark: stop the other "
                         f"workers on this database (SELECT DISTINCT worker_id FROM jobs)")
    success = db.one("SELECT count(*) FROM jobs WHERE status = 'success' AND type = 'standard'")
    # A job overlaps when it starts before the latest end of the jobs of its configuration that started before it.
    overlaps = db.one("""SELECT count(*) FROM (
            SELECT start_time, max(end_time) OVER (PARTITION BY project_id, component_id, config_id ORDER BY start_time, id
                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
            FROM jobs WHERE start_time IS NOT NULL AND type = 'standard') x WHERE prev_end > start_time""")
    reclaimed = db.one("SELECT count(*) FROM jobs WHERE attempt > 1")
    out = {"success": success, "expected": n, "overlaps": overlaps, "reclaimed": reclaimed}
    if project_limits:
        out["over_limit"] = db.one("""
            WITH ev AS (
                SELECT project_id, start_time AS t, 1 AS d FROM jobs WHERE start_time IS NOT NULL AND type = 'standard'
                UNION ALL
                SELECT project_id, end_time, -1 FROM jobs WHERE end_time IS NOT NULL AND start_time IS NOT NULL AND type = 'standard'
            ), running AS (
                SELECT project_id, sum(d) OVER (PARTITION BY project_id ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS n FROM ev
            )
            SELECT count(*) FROM (SELECT project_id, max(n) AS peak FROM running GROUP BY 1) r
            JOIN projects p ON p.id = r.project_id WHERE r.peak > p.max_parallel_jobs""")
    out["valid"] = success == n and overlaps == 0 and reclaimed == 0 and not out.get("over_limit")
    return out


def check_text(c: dict) -> str:
    return (f"success {c['success']}/{c['expected']}, overlapping runs of one configuration {c['overlaps']}, "
            f"claimed twice {c['reclaimed']}" + (f", projects over their limit {c['over_limit']}" if "over_limit" in c else ""))
