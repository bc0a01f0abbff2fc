"""projects: 1,000 projects with a limit of 2 each, against the same jobs in one project.

Each round: --jobs-projects jobs (20,000) in one project without a limit in the way
(`bench-one`, configurations cfg-1 .. cfg-4000), drained by 4 workers x --concurrency; then the
same number of jobs over --projects projects (`bench-p1` ..; maxParallelJobs --projects-limit, 2)
of --projects-configs configurations each (4: more queue heads than the limit, so the limit
binds), round-robin over the projects. Both have the same shape: 4,000 configurations x 5 jobs.
Row: throughput with 1,000 projects / with one, against >= 0.8x. Checked as everywhere, and no
project ran more jobs at once than its limit.
"""

from __future__ import annotations

from harness import fixtures, systems
from harness.core import Context, log

NAME = "projects"
ALIASES: tuple = ()


def add_arguments(p) -> None:
    g = p.add_argument_group("projects")
    g.add_argument("--projects", type=int, default=1000, help="projects")
    g.add_argument("--projects-limit", type=int, default=2, help="maxParallelJobs of each")
    g.add_argument("--projects-configs", type=int, default=4, help="configurations of each")
    g.add_argument("--jobs-projects", type=int, default=20000, help="jobs per run")


def smoke(a) -> None:
    a.projects, a.jobs_projects = 100, 2000


def run(ctx: Context) -> None:
    a, res = ctx.args, ctx.results
    P, C, n = a.projects, a.projects_configs, a.jobs_projects
    names = tuple(f"bench-p{i}" for i in range(1, P + 1))
    log(f"== projects: {n:,} jobs over {P:,} projects (limit {a.projects_limit}, {C} configurations each) vs one project, "
        f"{a.rounds} round(s)")
    fixtures.catalog(ctx, P * C, projects=("bench-one",))
    fixtures.catalog(ctx, C, projects=names, limit=a.projects_limit)
    one, many = [], []
    for k in range(a.rounds):
        fixtures.reset(ctx)
        fixtures.insert_jobs(ctx, n, P * C, projects=("bench-one",))
        o = systems.baton_drain(ctx, "projects-one", n, a.workers, a.concurrency, project_limits=True)
        fixtures.reset(ctx)
        fixtures.insert_jobs(ctx, n, C, projects=names)
        m = systems.baton_drain(ctx, "projects-many", n, a.workers, a.concurrency, project_limits=True)
        one.append(o)
        many.append(m)
        res.detail(NAME, f"Round {k + 1}: {n:,} jobs in one project over {P * C:,} configurations: {o['jobs_per_s'] or 0:,.0f} jobs/s "
                         f"({fixtures.check_text(o)}; {o['jobs_per_turn'] or 0:.1f} jobs a claiming turn, PostgreSQL CPU "
                         f"{o.get('server_us_per_job') or 0:,.0f} us a job); over {P:,} projects of limit {a.projects_limit}: "
                         f"{m['jobs_per_s'] or 0:,.0f} jobs/s ({fixtures.check_text(m)}; {m['jobs_per_turn'] or 0:.1f} jobs a claiming "
                         f"turn, {m['empty_turns']:,} empty turns, PostgreSQL CPU {m.get('server_us_per_job') or 0:,.0f} us a job).")
    res.add(NAME, f"{P:,} projects, limit {a.projects_limit} each, {n:,} jobs", "jobs/s", "jobs/s", [m["jobs_per_s"] for m in many],
            "the same jobs in one project", [o["jobs_per_s"] for o in one], 0.8)
