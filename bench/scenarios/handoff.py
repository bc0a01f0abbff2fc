"""handoff: the time from a phase's last task ending to the next phase's first task starting.

Each round: --handoff-runs runs (`baton run handoff --wait`) of an orchestration of
--handoff-phases phases x --handoff-tasks no-op tasks, 4 workers x 16, 1 coordinator. From the
jobs table: first start in phase N+1 - last end in phase N, for every pair of phases of every
run; the round's figure is the p50. Row: against 10 ms, the median of the rounds.
"""

from __future__ import annotations

from harness import fixtures, systems
from harness.core import Context, log

NAME = "handoff"
ALIASES: tuple = ()


def add_arguments(p) -> None:
    g = p.add_argument_group("handoff")
    g.add_argument("--handoff-runs", type=int, default=5, help="runs per round")
    g.add_argument("--handoff-phases", type=int, default=10)
    g.add_argument("--handoff-tasks", type=int, default=20)


def smoke(a) -> None:
    a.handoff_runs, a.handoff_phases, a.handoff_tasks = 1, 3, 5


def run(ctx: Context) -> None:
    a, res = ctx.args, ctx.results
    phases, tasks, runs = a.handoff_phases, a.handoff_tasks, a.handoff_runs
    log(f"== phase hand-off: {a.rounds} round(s) of {runs} runs of {phases} phases x {tasks} tasks")
    fixtures.catalog(ctx, 0)
    docs = [{"kind": "configuration", "component": "bench-noop", "id": f"p{p}t{t}"}
            for p in range(1, phases + 1) for t in range(1, tasks + 1)]
    docs.append({"kind": "orchestration", "id": "handoff", "name": "bench hand-off",
                 "phases": [{"id": p, "name": f"P{p}"} for p in range(1, phases + 1)],
                 "tasks": [{"id": f"p{p}t{t}", "name": f"p{p}t{t}", "phase": p, "task": {"componentId": "bench-noop", "configId": f"p{p}t{t}"}}
                           for p in range(1, phases + 1) for t in range(1, tasks + 1)]})
    fixtures.apply_once(ctx, f"handoff {phases}x{tasks}", docs)
    p50s = []
    for k in range(a.rounds):
        fixtures.reset(ctx)
        fleet = systems.Fleet(ctx, a.workers, 16, "handoff")
        coord = systems.Coordinator(ctx, "handoff")
        try:
            for r in range(runs):
                ctx.baton("run", "handoff", "--wait")
                log(f"  round {k + 1}, run {r + 1} of {runs} done")
        finally:
            coord.stop()
            fleet.stop()
        n, p50, p99, mx = ctx.db.q("""
            WITH phases AS (
                SELECT orchestration_job_id AS run, orchestration_phase_id::int AS phase,
                       min(start_time) AS first_start, max(end_time) AS last_end
                FROM jobs WHERE orchestration_job_id IS NOT NULL GROUP BY 1, 2
            ), handoffs AS (
                SELECT extract(epoch FROM b.first_start - a.last_end) * 1000 AS ms
                FROM phases a JOIN phases b ON b.run = a.run AND b.phase = a.phase + 1
            )
            SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms)
            FROM handoffs""")[0]
        bad = ctx.db.one("SELECT count(*) FROM jobs WHERE status <> 'success'")
        overlaps = fixtures.verify(ctx, 0, "handoff")["overlaps"]
        ok = bad == 0 and overlaps == 0 and p50 is not None
        p50s.append(p50 if ok else None)
        log(f"hand-off: p50 {p50 or 0:.2f} ms, p99 {p99 or 0:.2f} ms over {n}")
        res.detail(NAME, f"Round {k + 1}: {n} hand-offs: p50 {p50 or 0:.2f} ms, p99 {p99 or 0:.2f} ms, max {mx or 0:.2f} ms; "
                         f"jobs not success {bad}, overlapping runs of one configuration {overlaps}. {a.workers} workers x 16, "
                         f"1 coordinator.")
    res.add(NAME, f"phase hand-off, {phases} x {tasks} orchestration", "p50 ms", "ms", p50s, "target", [10.0] * a.rounds, 1.0,
            lower_is_better=True, target="<= 10 ms")
