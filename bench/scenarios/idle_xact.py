"""idle-xact: a transaction left idle in transaction (holding xmin) while 12,000 jobs churn.

Each round: a psql session runs `BEGIN; SELECT txid_current();` and stays idle in transaction,
so VACUUM can remove no row version that dies after it; then --xact-jobs no-op jobs (12,000,
over 1,000 configurations, queued before the workers start) are drained by 4 workers x
--concurrency. The jobs' starts, as the workers traced them, are cut in thirds: throughput of a
third = its jobs / (its last start - its first start). Row: the last third / the first third,
against >= 0.7x. Also reported: dead tuples in `jobs` (pg_stat_user_tables) at the end, and the
same ratio of a run without the idle transaction (the control, in the details).
"""

from __future__ import annotations

import subprocess
import time

from harness import fixtures, systems
from harness.core import BenchError, Context, log

NAME = "idle-xact"
ALIASES = ("idle_xact",)


def add_arguments(p) -> None:
    g = p.add_argument_group("idle-xact")
    g.add_argument("--xact-jobs", type=int, default=12000, help="jobs churned while the transaction is open")


def smoke(a) -> None:
    a.xact_jobs = 3000


class IdleTransaction:
    """psql: BEGIN; SELECT txid_current(); then idle in transaction until close()."""

    def __init__(self, ctx: Context):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-At", ctx.dsn], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.proc.stdin.write("SET application_name = 'bench-idle-xact';\nBEGIN;\nSELECT txid_current();\n")
        self.proc.stdin.flush()
        self.xid = self.proc.stdout.readline().strip()
        deadline = time.time() + 10
        while time.time() < deadline:
            row = ctx.db.q("""SELECT state, backend_xid::text FROM pg_stat_activity
                              WHERE application_name = 'bench-idle-xact'""")
            if row and row[0][0] == "idle in transaction" and row[0][1]:
                return
            time.sleep(0.05)
        self.close()
        raise BenchError("the psql session did not become idle in transaction with a transaction id")

    def close(self) -> None:
        try:
            self.proc.communicate("ROLLBACK;\n", timeout=10)
        except (subprocess.TimeoutExpired, BrokenPipeError, ValueError):
            self.proc.kill()
            self.proc.wait()


def thirds(starts: list[float]) -> tuple:
    """Throughput (jobs/s) of the first and the last third of the job starts."""
    n = len(starts)
    if n < 6:
        return None, None
    t = n // 3
    first, last = starts[:t], starts[n - t:]
    rate = lambda s: (len(s) - 1) / (s[-1] - s[0]) if s[-1] > s[0] else None
    return rate(first), rate(last)


def churn(ctx: Context, tag: str) -> dict:
    a = ctx.args
    fixtures.reset(ctx)
    fixtures.insert_jobs(ctx, a.xact_jobs, 1000)
    r = systems.baton_drain(ctx, tag, a.xact_jobs, a.workers, a.concurrency)
    r["first_third"], r["last_third"] = thirds(r["starts"])
    dead = "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'jobs'"
    time.sleep(0.6)  # the workers' backends have ended: their statistics are in pg_stat_user_tables
    r["dead"] = ctx.db.q(dead)[0][0]
    ctx.db.q("VACUUM jobs")  # what VACUUM can remove (nothing that died after the idle transaction's xmin)
    time.sleep(0.6)
    r["dead_after_vacuum"] = ctx.db.q(dead)[0][0]
    return r


def run(ctx: Context) -> None:
    a, res = ctx.args, ctx.results
    log(f"== idle-xact: {a.xact_jobs:,} jobs churn while a transaction stays idle in transaction, {a.rounds} round(s)")
    fixtures.catalog(ctx, 1000)
    held, control = [], []
    for k in range(a.rounds):
        c = churn(ctx, "idle-xact-control")
        x = IdleTransaction(ctx)
        try:
            h = churn(ctx, "idle-xact")
        finally:
            x.close()
        held.append(h)
        control.append(c)
        ratio = lambda r: r["last_third"] / r["first_third"] if r["last_third"] and r["first_third"] else None
        log(f"  round {k + 1}: last third / first third {ratio(h) or 0:.2f}x with the idle transaction, {ratio(c) or 0:.2f}x without; "
            f"dead tuples left by VACUUM {h['dead_after_vacuum']:,} vs {c['dead_after_vacuum']:,}")
        res.detail(NAME, f"Round {k + 1}: with a session idle in transaction (it holds transaction id {x.xid}, so the xmin horizon): "
                         f"{h['jobs_per_s'] or 0:,.0f} jobs/s over the run ({fixtures.check_text(h)}), first third "
                         f"{h['first_third'] or 0:,.0f} jobs/s, last third {h['last_third'] or 0:,.0f} jobs/s ({ratio(h) or 0:.2f}x); "
                         f"`jobs` at the end (pg_stat_user_tables): {h['dead']:,} dead tuples; after a VACUUM "
                         f"{h['dead_after_vacuum']:,} dead (not removable while the transaction is open). Control, without it: "
                         f"{c['jobs_per_s'] or 0:,.0f} jobs/s, first third {c['first_third'] or 0:,.0f}, last third "
                         f"{c['last_third'] or 0:,.0f} ({ratio(c) or 0:.2f}x); {c['dead']:,} dead tuples, {c['dead_after_vacuum']:,} after a VACUUM.")
    res.add(NAME, f"idle in transaction (xmin held) while {a.xact_jobs:,} jobs churn", "jobs/s, last third", "jobs/s",
            [h["last_third"] if h["valid"] else None for h in held], "the first third", [h["first_third"] for h in held], 0.7,
            note="dead tuples at the end: " + ", ".join(f"{h['dead']:,} ({h['dead_after_vacuum']:,} after VACUUM)" for h in held))
    res.limits[f"idle in transaction (xmin held) while {a.xact_jobs:,} jobs churn"] = (
        "With xmin held, no row version that died after it can be removed, nor can index entries be marked dead: each "
        "claim's scan of the claimable jobs walks over the versions left by every claim and finish before it "
        "(dead tuples in the details).")
