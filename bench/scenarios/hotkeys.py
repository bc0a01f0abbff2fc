"""hotkeys: 1,000 configurations x 10 jobs, against the same jobs with nothing to serialize.

Each round: --hot-configs configurations x 10 jobs, the 10 of a configuration queued one after
the other (so at most one of them may run at a time), drained by 4 workers x 32; then the same
number of jobs, each on a configuration of its own. Row: throughput of the first / the second,
with no two runs of one configuration overlapping (checked from the jobs' start and end times).
"""

from __future__ import annotations

from harness import fixtures, systems
from harness.core import Context, log

NAME = "hotkeys"
ALIASES: tuple = ()


def add_arguments(p) -> None:
    g = p.add_argument_group("hotkeys")
    g.add_argument("--hot-configs", type=int, default=1000, help="configurations, 10 jobs each")


def smoke(a) -> None:
    a.hot_configs = 100


def run(ctx: Context) -> None:
    a, res = ctx.args, ctx.results
    n = a.hot_configs * 10
    log(f"== hot keys: {a.hot_configs:,} configurations x 10 jobs vs {n:,} jobs on their own configurations, {a.rounds} round(s)")
    fixtures.catalog(ctx, n)
    hot, free = [], []
    for k in range(a.rounds):
        fixtures.reset(ctx)
        fixtures.insert_jobs(ctx, n, a.hot_configs, grouped=10)
        h = systems.baton_drain(ctx, "hotkeys", n, a.workers, a.concurrency)
        fixtures.reset(ctx)
        fixtures.insert_jobs(ctx, n, n)
        f = systems.baton_drain(ctx, "hotkeys-free", n, a.workers, a.concurrency)
        hot.append(h)
        free.append(f)
        res.detail(NAME, f"Round {k + 1}: {n:,} jobs, 10 in a row per configuration over {a.hot_configs:,}: {h['jobs_per_s'] or 0:,.0f} "
                         f"jobs/s ({fixtures.check_text(h)}; {h['jobs_per_turn'] or 0:.1f} jobs a claiming turn); the same jobs each "
                         f"on its own configuration: {f['jobs_per_s'] or 0:,.0f} jobs/s ({fixtures.check_text(f)}).")
    overlaps = sum(h["overlaps"] for h in hot)
    res.add(NAME, f"hot keys: {a.hot_configs:,} configurations x 10 jobs", f"jobs/s (overlaps: {overlaps})", "jobs/s",
            [h["jobs_per_s"] for h in hot], "the same jobs, unserialized", [f["jobs_per_s"] for f in free], 0.8,
            target=">= 0.8x, 0 overlaps")
