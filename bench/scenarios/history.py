"""history: the claim's cost with 1,000,000 finished jobs in `jobs`, against the empty table.

Each round: the empty table (2,000 queued no-op jobs over 1,000 configurations), and the same
with --history finished jobs written first (the fixture, `finished=True`); every other round
measures the history first. In each state
`claim_jobs(limit 10)` is called --claims times (after 10 warm-up calls), each in a transaction
that is rolled back, so every call sees the same queue; the figure is the p50 of the client-side
time of a call. Row: p50 with history / p50 empty, the median of the rounds.

The claim is called by its SQL (CLAIM_SQL below): when the claim's signature changes, change it
there (the scenario then says it could not call it).
"""

from __future__ import annotations

import time

import psycopg

from harness import fixtures
from harness.core import WARMUP, BenchError, Context, log
from harness.stats import pct

NAME = "history"
ALIASES: tuple = ()

# The statement a worker's claim runs, without the finish: claim up to 10 jobs for a worker.
CLAIM_SQL = "SELECT count(*) FROM claim_jobs('bench-history', 10, NULL, 60, false)"


def add_arguments(p) -> None:
    g = p.add_argument_group("history")
    g.add_argument("--history", type=int, default=1_000_000, help="finished jobs in the table")
    g.add_argument("--claims", type=int, default=300, help="claims timed in each state")


def smoke(a) -> None:
    a.history, a.claims = 20000, 50


def claim_timings(ctx: Context, count: int) -> list[float]:
    """Client-side time of CLAIM_SQL in a transaction that is rolled back, ms."""
    out = []
    with psycopg.connect(ctx.dsn) as c:
        for i in range(count + WARMUP):
            t0 = time.perf_counter()
            try:
                c.execute(CLAIM_SQL).fetchone()
            except psycopg.Error as e:
                raise BenchError(f"the claim could not be called ({CLAIM_SQL}): {e}; update CLAIM_SQL in bench/scenarios/history.py")
            c.rollback()
            if i >= WARMUP:
                out.append((time.perf_counter() - t0) * 1000)
    return out


def queued(ctx: Context, history: int) -> None:
    fixtures.reset(ctx)
    if history:
        t0 = time.time()
        fixtures.insert_jobs(ctx, history, 1000, finished=True, batch=100_000)
        log(f"  {history:,} finished jobs written in {time.time() - t0:.0f} s")
    fixtures.insert_jobs(ctx, 2000, 1000)
    fixtures.settle(ctx)


def run(ctx: Context) -> None:
    a, res = ctx.args, ctx.results
    log(f"== claim cost against history: {a.history:,} finished jobs vs none, {a.rounds} round(s)")
    fixtures.catalog(ctx, 1000)
    empty, full = [], []
    for k in range(a.rounds):
        # Every other round measures the history first, so that what comes first in a round (a cold cache, the
        # checkpoint's full-page writes) does not always fall on the same side.
        for state in ((0, a.history) if k % 2 == 0 else (a.history, 0)):
            queued(ctx, state)
            p50 = pct(claim_timings(ctx, a.claims), 50)
            if state:
                f = p50
            else:
                e = p50
        empty.append(e)
        full.append(f)
        log(f"  round {k + 1}: claim p50 {e:.3f} ms empty, {f:.3f} ms with {a.history:,} finished jobs")
        res.detail(NAME, f"Round {k + 1}: `{CLAIM_SQL}` rolled back, {a.claims} calls each, 2,000 queued jobs: p50 {e:.3f} ms "
                         f"(empty table), {f:.3f} ms ({a.history:,} finished jobs).")
    fixtures.reset(ctx)
    res.add(NAME, f"claim with {a.history:,} finished jobs", "claim p50 ms", "ms", full, "the empty table", empty, 1.2,
            lower_is_better=True)
