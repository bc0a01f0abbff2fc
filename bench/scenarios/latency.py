"""latency: enqueue -> start on an idle fleet of 4 workers, Baton beside pgqueuer (and procrastinate once).

Each round: Baton, then pgqueuer, each with --samples measured jobs (1,000 by default) after 10
warm-up ones. A sample: t0 just before the INSERT of one job (its own transaction; Baton's by the
fixture, over 1,000 configurations), the job's start as the worker traced it, then a pause of
5-20 ms. p50 and p99 by linear interpolation. Rows: p50 and p99 vs pgqueuer (in every round), and
the workers' idle RSS (VmRSS after start-up) against its target.
"""

from __future__ import annotations

import random
import time

from harness import fixtures, systems
from harness.core import WARMUP, BenchError, Context, log
from harness.stats import median, pct

NAME = "latency"
ALIASES: tuple = ()


def add_arguments(p) -> None:
    g = p.add_argument_group("latency")
    g.add_argument("--samples", type=int, default=1000, help="measured samples per system per round (after 10 warm-up)")


def smoke(a) -> None:
    a.samples = 30


def baton_round(ctx: Context, k: int) -> dict:
    a = ctx.args
    log(f"== latency, round {k + 1}: Baton, {a.samples} jobs one at a time, idle fleet of {a.workers} workers")
    fixtures.catalog(ctx, 1000)
    fixtures.reset(ctx)
    fixtures.settle(ctx)
    fleet = systems.Fleet(ctx, a.workers, 4, "latency")
    lat: list[float] = []
    rng = random.Random(12345)
    try:
        time.sleep(2.0)  # start-up and LISTEN
        idle = {f: fleet.memory_mb(f) for f in ("VmRSS", "RssAnon", "Pss")}
        for i in range(a.samples + WARMUP):
            t0 = time.time()
            job = fixtures.insert_jobs(ctx, 1, 1000, first=i + 1)[0]
            started = fleet.wait_started(job, 10)
            if started is None:
                who = ctx.db.one("SELECT worker_id FROM jobs WHERE id = %s", (job,))
                raise BenchError(f"job {job} did not start in a benchmark worker within 10 s (worker_id: {who})")
            if i >= WARMUP:
                lat.append((started - t0) * 1000)
            time.sleep(rng.uniform(0.005, 0.020))
    finally:
        fleet.stop()
    t = fleet.turn_stats()
    r = {"p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat), "n": len(lat), "idle": idle, **t}
    log(f"Baton latency: p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms; claiming turns p50 {t['turn_p50_ms'] or 0:.2f} ms, "
        f"empty turns {t['empty_turns']}")
    ctx.results.detail(NAME, f"Round {k + 1}, Baton: {len(lat)} samples: p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, max "
                             f"{r['max']:.2f} ms; claiming turns p50 {t['turn_p50_ms'] or 0:.2f} ms, empty turns {t['empty_turns']}; "
                             f"workers idle: VmRSS {idle['VmRSS']} MB, of it private (RssAnon) {idle['RssAnon']} MB; PSS {idle['Pss']} MB.")
    return r


def peer_round(ctx: Context, name: str, k: int) -> dict:
    a = ctx.args
    err = systems.peer_setup(ctx, name)
    res = {"error": err} if err else systems.run_peer(ctx, name, "latency", "--samples", str(a.samples + WARMUP),
                                                      "--workers", str(a.workers))
    if res.get("error"):
        ctx.results.detail(NAME, f"Round {k + 1}, {name}: not measured: {res['error']}")
        return {"p50": None, "p99": None}
    log(f"{name} latency: p50 {res['p50_ms']:.2f} ms, p99 {res['p99_ms']:.2f} ms")
    ctx.results.detail(NAME, f"Round {k + 1}, {name} {res.get('version', '')}: {res.get('measured')} samples: p50 {res['p50_ms']:.2f} ms, "
                             f"p99 {res['p99_ms']:.2f} ms, max {res.get('max_ms')} ms.")
    return {"p50": res["p50_ms"], "p99": res["p99_ms"]}


def run(ctx: Context) -> None:
    a, res = ctx.args, ctx.results
    baton, pgq = [], []
    for k in range(a.rounds):
        baton.append(baton_round(ctx, k))
        pgq.append(peer_round(ctx, "pgqueuer", k))
    pr = peer_round(ctx, "procrastinate", 0)
    R = a.rounds
    name = "enqueue -> start, idle fleet"
    res.add(NAME, name, "p50 ms", "ms", [b["p50"] for b in baton], "pgqueuer", [q["p50"] for q in pgq], 0.7, lower_is_better=True, need=R)
    res.add(NAME, name, "p99 ms", "ms", [b["p99"] for b in baton], "pgqueuer", [q["p99"] for q in pgq], 1.0, lower_is_better=True, need=R)
    idle = [max((v for v in b["idle"]["VmRSS"] if v), default=None) for b in baton]
    res.add(NAME, "worker RSS idle", "MB (VmRSS after start-up, max over workers)", "MB", idle, "target", [30.0] * R, 1.0,
            lower_is_better=True, target="<= 30 MB")
    res.chart["latency"].update({
        "Baton": {"p50": median([b["p50"] for b in baton]), "p99": median([b["p99"] for b in baton])},
        "pgqueuer": {"p50": median([q["p50"] for q in pgq]), "p99": median([q["p99"] for q in pgq])},
        "procrastinate": {"p50": pr["p50"], "p99": pr["p99"]}})
    anon = median([max((v for v in b["idle"]["RssAnon"] if v), default=None) for b in baton])
    pss = median([max((v for v in b["idle"]["Pss"] if v), default=None) for b in baton])
    res.limits["worker RSS idle"] = (f"Measured in this run: of a worker's VmRSS, {anon} MB is its own (RssAnon); the rest are file "
                                     f"pages of the binary and its libraries, shared by every worker on the machine: a worker's PSS "
                                     f"(shared pages divided among the processes that map them) is {pss} MB.")
    res.limits[name] = ("The claiming turn is part of it (its p50 is in the details): the claim runs in PostgreSQL as one "
                        "statement, then the round trip and the worker's hand-off to the job's task; the INSERT's commit and "
                        "NOTIFY are paid by pgqueuer too.")

