"""fairness: one project at its limit with a huge backlog must not delay the other projects' jobs.

Project A (`bench-a`, maxParallelJobs --fairness-limit, 2 by default) has --fairness-backlog
queued jobs (100,000) over 1,000 configurations, `sleep` jobs of --fairness-sleep s, so A always
runs at its limit. Projects B, C, ... (`bench-b1` .. `bench-bK`, --fairness-projects, limit 10)
have free capacity. Each round, on one fleet of 4 workers x --concurrency:

1. without A's backlog: --samples jobs of B, C, ... inserted one at a time (the fixture; its own
   transaction), 5-20 ms apart, round-robin over the projects and 100 configurations each; the
   enqueue -> start of each, as in `latency`;
2. A's backlog queued (the fixture), then, once A runs at its limit, the same samples again.

A sample that has not started within --fairness-timeout s counts as that long (a lower bound) and
the round stops after 5 of them in a row: the p99 is then at least the timeout. Row: B's p99 with
A's backlog / without, against <= 2x. Checked: no project ran more jobs at once than its limit,
no configuration twice at once, no job claimed twice.
"""

from __future__ import annotations

import random
import time

from harness import fixtures, systems
from harness.core import WARMUP, Context, log
from harness.stats import pct

NAME = "fairness"
ALIASES: tuple = ()
CUT_AFTER = 5


def add_arguments(p) -> None:
    g = p.add_argument_group("fairness")
    g.add_argument("--fairness-backlog", type=int, default=100_000, help="project A's queued jobs")
    g.add_argument("--fairness-limit", type=int, default=2, help="project A's maxParallelJobs")
    g.add_argument("--fairness-sleep", type=float, default=1.0, help="seconds each of A's jobs runs (sleep executor)")
    g.add_argument("--fairness-projects", type=int, default=9, help="the other projects (B, C, ...), limit 10 each")
    g.add_argument("--fairness-timeout", type=float, default=5.0, help="a sample not started after this many seconds counts as this long")


def smoke(a) -> None:
    a.fairness_backlog = 5000


def others(a) -> tuple[str, ...]:
    return tuple(f"bench-b{j}" for j in range(1, a.fairness_projects + 1))


def samples(ctx: Context, fleet: systems.Fleet, k: int, phase: str) -> dict:
    """Samples of B, C, ...: enqueue -> start (ms), timed-out samples at the timeout."""
    a = ctx.args
    projects = others(a)
    rng = random.Random(777 + k)
    lat: list[float] = []
    timeouts = in_a_row = 0
    cut = False
    for i in range(a.samples + WARMUP):
        p = projects[i % len(projects)]
        t0 = time.time()
        job = fixtures.insert_jobs(ctx, 1, 100, projects=(p,), first=i // len(projects) + 1)[0]
        started = fleet.wait_started(job, a.fairness_timeout)
        if started is None:
            timeouts += 1
            in_a_row += 1
            ms = a.fairness_timeout * 1000
        else:
            in_a_row = 0
            ms = (started - t0) * 1000
        if i >= WARMUP or started is None:
            lat.append(ms)
        if in_a_row >= CUT_AFTER:
            cut = True
            log(f"  {phase}: {CUT_AFTER} samples in a row did not start within {a.fairness_timeout:g} s: the round stops here")
            break
        time.sleep(rng.uniform(0.005, 0.020))
    r = {"p50": pct(lat, 50), "p99": pct(lat, 99), "n": len(lat), "timeouts": timeouts, "cut": cut}
    log(f"  {phase}: p50 {r['p50'] or 0:.2f} ms, p99 {r['p99'] or 0:.2f} ms over {r['n']} samples, {timeouts} not started in time")
    return r


def run(ctx: Context) -> None:
    a, res = ctx.args, ctx.results
    log(f"== fairness: project A (limit {a.fairness_limit}) with {a.fairness_backlog:,} queued jobs of {a.fairness_sleep:g} s; "
        f"{a.fairness_projects} other projects; {a.samples} samples each way, {a.rounds} round(s)")
    fixtures.catalog(ctx, 1000, component="bench-sleep", executor={"type": "sleep"}, projects=("bench-a",),
                     limit=a.fairness_limit, prefix="a-")
    fixtures.catalog(ctx, 100, projects=others(a), limit=10)
    base, loaded = [], []
    for k in range(a.rounds):
        fixtures.reset(ctx)
        fixtures.settle(ctx)
        fleet = systems.Fleet(ctx, a.workers, a.concurrency, "fairness")
        try:
            time.sleep(2.0)  # start-up and LISTEN
            b = samples(ctx, fleet, k, f"round {k + 1}, without A's backlog")
            t0 = time.time()
            fixtures.insert_jobs(ctx, a.fairness_backlog, 1000, component="bench-sleep", projects=("bench-a",), prefix="a-",
                                 config_data={"seconds": a.fairness_sleep})
            log(f"  A's backlog of {a.fairness_backlog:,} jobs queued in {time.time() - t0:.1f} s")
            deadline = time.time() + 20
            while (running := ctx.db.one("SELECT count(*) FROM jobs WHERE project_id = 'bench-a' AND status = 'processing'")) \
                    < a.fairness_limit and time.time() < deadline:
                time.sleep(0.05)
            l = samples(ctx, fleet, k, f"round {k + 1}, with A's backlog")
            held = dict(ctx.db.q("""SELECT coalesce(waiting_reason, status::text), count(*) FROM jobs
                                    WHERE project_id = 'bench-a' AND status IN ('created', 'waiting') GROUP BY 1"""))
            b_running = ctx.db.one("SELECT count(*) FROM jobs WHERE project_id <> 'bench-a' AND status IN ('created', 'waiting')")
        finally:
            problems = fleet.stop()
        check = fixtures.verify(ctx, 0, "fairness", project_limits=True)
        valid = check["overlaps"] == 0 and check["reclaimed"] == 0 and not check["over_limit"] and running >= a.fairness_limit
        base.append(b["p99"] if valid else None)
        loaded.append(l["p99"] if valid else None)
        res.detail(NAME, f"Round {k + 1}: the other projects' enqueue -> start without A's backlog: p50 {b['p50'] or 0:.2f} ms, p99 "
                         f"{b['p99'] or 0:.2f} ms ({b['n']} samples, {b['timeouts']} not started within {a.fairness_timeout:g} s); with "
                         f"A's backlog ({running} of A's jobs running when the samples began): p50 {l['p50'] or 0:.2f} ms, p99 "
                         f"{l['p99'] or 0:.2f} ms ({l['n']} samples, {l['timeouts']} not started within {a.fairness_timeout:g} s"
                         + (f", stopped after {CUT_AFTER} in a row" if l["cut"] else "") + f"); at the end A's queue held {held}, "
                         f"the others' {b_running} jobs not started; overlaps {check['overlaps']}, claimed twice {check['reclaimed']}, "
                         f"projects over their limit {check['over_limit']}." + (f" Problems: {problems[:2]}" if problems else ""))
    res.add(NAME, "fairness: project A at its limit with a backlog", "others' enqueue -> start p99 ms", "ms", loaded,
            "the same run without A's backlog", base, 2.0, lower_is_better=True)
    res.limits["fairness: project A at its limit with a backlog"] = (
        "A sample that did not start within the timeout counts as the timeout, so a p99 at the timeout is a lower bound. "
        "When the claim's candidates are the oldest queue heads, a backlog of a project at its limit fills them: its jobs "
        "are held back (project-limit) and the newer jobs of other projects are never among the candidates.")
