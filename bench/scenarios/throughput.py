"""throughput (and cpu): trivial jobs drained by 4 worker processes, Baton beside pgqueuer, pgbench and procrastinate.

Each round: Baton (N no-op jobs over 1,000 configurations, queued before the workers start), then
pgqueuer (N jobs), then pgbench running bench/sql/claim.sql at Baton's batch: the mean jobs per
claiming turn that Baton's workers traced in the same round, rounded (`--pgbench-batch` fixes it).
procrastinate runs once (it is about 10x slower). Over each system's measured window (first job
start to the moment the driver sees the queue empty) the harness reads the PostgreSQL server's
CPU (`cpu`: per job) and the workers' PSS (peak of the sum over the workers).

Rows: throughput vs pgqueuer, vs pgbench at the same batch, vs procrastinate; PostgreSQL CPU per
job (target, and beside pgqueuer's); worker memory (PSS) vs pgqueuer's; peak RSS (VmHWM) per worker.
"""

from __future__ import annotations

from harness import fixtures, systems
from harness.core import Context, log
from harness.stats import median

NAME = "throughput"
ALIASES = ("cpu",)


def add_arguments(p) -> None:
    g = p.add_argument_group("throughput and cpu")
    g.add_argument("--jobs", type=int, default=20000, help="jobs per run (Baton and pgqueuer)")
    g.add_argument("--procrastinate-jobs", type=int, default=5000)
    g.add_argument("--pgbench-jobs", type=int, default=60000, help="jobs pgbench drains (claim.sql at Baton's batch)")
    g.add_argument("--pgbench-batch", type=int, default=0, help="pgbench's claim batch (default 0: Baton's mean jobs per claiming turn in the same round)")
    g.add_argument("--cpu-target-us", type=float, default=60.0, help="target: PostgreSQL CPU per job, microseconds")


def smoke(a) -> None:
    a.jobs, a.procrastinate_jobs, a.pgbench_jobs = 2000, 500, 4000


def run(ctx: Context) -> None:
    a, res = ctx.args, ctx.results
    R = a.rounds
    log(f"== throughput: {a.jobs:,} trivial jobs, {a.workers} worker processes x {a.concurrency}, {R} round(s) of "
        f"Baton, pgqueuer and pgbench at Baton's batch")
    baton, pgq, ceiling = [], [], []
    pgq_error = systems.peer_setup(ctx, "pgqueuer")
    for k in range(R):
        fixtures.catalog(ctx, 1000)
        fixtures.reset(ctx)
        fixtures.insert_jobs(ctx, a.jobs, 1000)
        b = systems.baton_drain(ctx, "throughput", a.jobs, a.workers, a.concurrency)
        baton.append(b)
        res.detail(NAME, f"Round {k + 1}, Baton: {a.jobs:,} jobs over 1,000 configurations, {a.workers} x {a.concurrency}: "
                         f"{b['jobs_per_s'] or 0:,.0f} jobs/s; {fixtures.check_text(b)}; {b['turns']:,} claiming turns, "
                         f"p50 {b['turn_p50_ms'] or 0:.2f} ms, {b['jobs_per_turn'] or 0:.1f} jobs a turn; PostgreSQL CPU "
                         f"{_us(b.get('server_us_per_job'))} a job, workers' CPU {_us(b.get('workers_us_per_job'))} a job; workers' PSS "
                         f"{b.get('pss_sum_mb')} MB in all ({b.get('pss_each_mb')}), peak RSS {b['hwm_each_mb']} MB."
                         + (f" Problems: {b['problems'][:3]}" if b["problems"] else ""))
        q = {"error": pgq_error} if pgq_error else systems.run_peer(
            ctx, "pgqueuer", "throughput", "--jobs", str(a.jobs), "--workers", str(a.workers), "--concurrency", str(a.concurrency),
            sample=True)
        pgq.append(q)
        if q.get("error"):
            log(f"pgqueuer: not measured: {q['error']}")
            res.detail(NAME, f"Round {k + 1}, pgqueuer: not measured: {q['error']}")
        else:
            log(f"pgqueuer: {q['jobs_per_s']:,.0f} jobs/s, PostgreSQL CPU {_us(q.get('server_us_per_job'))} a job, "
                f"workers' PSS {q.get('pss_sum_mb')} MB")
            res.detail(NAME, f"Round {k + 1}, pgqueuer {q.get('version', '')}: {q['jobs']:,} jobs, {a.workers} x {a.concurrency}"
                             f"{' (' + q['concurrency_note'] + ')' if q.get('concurrency_note') else ''}: {q['jobs_per_s']:,.0f} jobs/s; "
                             f"completed {q.get('completed')}; PostgreSQL CPU {_us(q.get('server_us_per_job'))} a job, workers' CPU "
                             f"{_us(q.get('workers_us_per_job'))} a job; workers' PSS {q.get('pss_sum_mb')} MB in all "
                             f"({q.get('pss_each_mb')}), peak RSS {q.get('rss_mb')} MB.")
        batch = a.pgbench_batch or max(1, round(b["jobs_per_turn"] or 1))
        c = systems.pgbench_claim(ctx, batch, a.pgbench_jobs)
        ceiling.append(c)
        res.detail(NAME, f"Round {k + 1}, pgbench at Baton's batch: bench/sql/claim.sql, claim {batch} + finish per transaction, "
                         f"-c {c.get('clients')} -t {c.get('transactions', 0) // max(1, c.get('clients') or 1)}, {c.get('jobs', 0):,} jobs: "
                         + (f"not measured: {c['error']}" if c.get("error") else
                            f"tps {c['tps']:,.1f} x {batch} = {c['jobs_per_s']:,.0f} jobs/s; PostgreSQL CPU {_us(c.get('server_us_per_job'))} a job."))

    err = systems.peer_setup(ctx, "procrastinate")
    pr = {"error": err} if err else systems.run_peer(
        ctx, "procrastinate", "throughput", "--jobs", str(a.procrastinate_jobs), "--workers", str(a.workers),
        "--concurrency", str(a.concurrency), sample=True)
    if pr.get("error"):
        res.detail(NAME, f"procrastinate: not measured: {pr['error']}")
    else:
        log(f"procrastinate: {pr['jobs_per_s']:,.0f} jobs/s")
        res.detail(NAME, f"procrastinate {pr.get('version', '')} (1 round): {pr['jobs']:,} jobs, {a.workers} x {a.concurrency}"
                         f"{' (' + pr['concurrency_note'] + ')' if pr.get('concurrency_note') else ''}: {pr['jobs_per_s']:,.0f} jobs/s; "
                         f"PostgreSQL CPU {_us(pr.get('server_us_per_job'))} a job; workers' PSS {pr.get('pss_sum_mb')} MB in all.")

    jps = [b["jobs_per_s"] for b in baton]
    qjps = [q.get("jobs_per_s") if not q.get("error") else None for q in pgq]
    cjps = [c.get("jobs_per_s") for c in ceiling]
    batches = sorted({c["batch"] for c in ceiling})
    what = f"jobs/s, {a.workers} workers x {a.concurrency}"
    res.add(NAME, "throughput, 4 workers, trivial jobs", what, "jobs/s", jps, "pgqueuer", qjps, 2.0, need=R)
    res.add(NAME, "throughput, 4 workers, trivial jobs", "jobs/s vs raw claim+finish SQL", "jobs/s", jps,
            f"pgbench claim.sql at Baton's batch ({', '.join(map(str, batches))} a transaction)", cjps, 0.7, need=R)
    pjps = pr.get("jobs_per_s") if not pr.get("error") else None
    res.add(NAME, "throughput, 4 workers, trivial jobs", what, "jobs/s", [median(jps)], "procrastinate (1 round; Baton: median)",
            [pjps], 5.0)

    cpu = [b.get("server_us_per_job") if b["valid"] else None for b in baton]
    qcpu = [q.get("server_us_per_job") for q in pgq]
    res.add(NAME, "PostgreSQL CPU per job", "us of the server's CPU a job, throughput run", "us", cpu, "target",
            [a.cpu_target_us] * R, 1.0, lower_is_better=True, target=f"<= {a.cpu_target_us:g} us")
    res.add(NAME, "PostgreSQL CPU per job", "us a job, throughput run", "us", cpu, "pgqueuer", qcpu, None)
    res.add(NAME, "PostgreSQL CPU per job", "us a job, throughput run", "us", cpu,
            f"pgbench claim.sql at Baton's batch ({', '.join(map(str, batches))})", [c.get("server_us_per_job") for c in ceiling], None)
    pss = [b.get("pss_sum_mb") for b in baton]
    qpss = [q.get("pss_sum_mb") for q in pgq]
    res.add(NAME, "worker memory, 4 workers under load", "PSS MB, peak of the 4 workers' sum", "MB", pss, "pgqueuer", qpss, 1.0,
            lower_is_better=True)
    hwm = [max((v for v in b["hwm_each_mb"] if v), default=None) for b in baton]
    res.add(NAME, "worker RSS under load", "peak MB (VmHWM, max over workers)", "MB", hwm, "target", [60.0] * R, 1.0,
            lower_is_better=True, target="<= 60 MB")

    ctx.results.chart["throughput"].update({"Baton": median(jps), "pgqueuer": median(qjps), "procrastinate": pjps,
                                            f"pgbench claim {'/'.join(map(str, batches))}": median(cjps)})
    m = lambda xs: median([x for x in xs if x is not None])
    ctx.results.limits["throughput, 4 workers, trivial jobs"] = (
        f"Measured in this run (medians): PostgreSQL CPU a job {_us(m(cpu))} for Baton, {_us(m(qcpu))} for pgqueuer, "
        f"{_us(m([c.get('server_us_per_job') for c in ceiling]))} for pgbench's claim.sql; the workers' CPU a job "
        f"{_us(m([b.get('workers_us_per_job') for b in baton]))} for Baton, {_us(m([q.get('workers_us_per_job') for q in pgq]))} for "
        f"pgqueuer. On 2 cores the server and the workers share the CPU, so the CPU a job of both bounds the throughput; "
        f"Baton's claim also keeps the rules pgqueuer and claim.sql do not (one run per configuration, project limits).")
    ctx.results.limits["PostgreSQL CPU per job"] = ctx.results.limits["throughput, 4 workers, trivial jobs"]


def _us(v) -> str:
    return "n/a" if v is None else f"{v:,.0f} us"
