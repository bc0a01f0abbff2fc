"""fleet: issue 17's pooled fleet (500 worker processes through PgBouncer against 16 connected directly, see
fleet_pooled.py) and issue 8's fleet test (64 worker processes against 4 on one server, claim p99 of each).

`--fleet-modes` (default pooled,paced,noop) chooses. Issue 8's two modes, each --fleet-rounds rounds of a small fleet (--workers) then a big one
(--fleet-workers), concurrency --fleet-concurrency each, --max-connections
--fleet-max-connections each; --fleet-jobs jobs per run, round-robin over --fleet-configs
configurations, queued before the workers start. **paced**: `sleep` jobs, --fleet-seconds in the
big fleet and shorter in the small one by the ratio of the fleets' sizes (both can run the same
jobs per second). **noop**: no-op jobs, both as fast as they go (CPU-saturated). A `Probe`
(harness/server.py) watches the server and the machine during each run. Rows: claim p99 of the
big fleet / the small one, per mode (the median of the rounds' ratios), with 0 errors. Every figure:
bench/results/fleet.md and fleet.json (`--fleet-report-from fleet.json` writes fleet.md again).
See bench/README.md, "The fleet test".
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Optional

from harness import fixtures, systems
from harness.core import RESULTS, ROOT, BenchError, Context, log
from harness.report import Row
from harness.server import SLOW_MS, Probe
from harness.stats import median, pct

from . import fleet_pooled

NAME = "fleet"
ALIASES: tuple = ()


def add_arguments(p) -> None:
    g = p.add_argument_group("fleet")
    g.add_argument("--fleet-workers", type=int, default=64, help="worker processes of the big fleet (the small one has --workers)")
    g.add_argument("--fleet-jobs", type=int, default=50000, help="jobs per run")
    g.add_argument("--fleet-configs", type=int, default=500, help="configurations the jobs go round-robin over")
    g.add_argument("--fleet-concurrency", type=int, default=4, help="--concurrency of every worker")
    g.add_argument("--fleet-seconds", type=float, default=1.0,
                   help="paced mode: job duration in the big fleet (sleep executor); the small fleet's jobs are shorter "
                        "by the ratio of the fleets' sizes, so that both can run the same jobs per second")
    g.add_argument("--fleet-rounds", type=int, default=2, help="rounds of small then big fleet per mode (paced, noop)")
    g.add_argument("--fleet-modes", default="pooled,paced,noop",
                   help="pooled (issue 17: 500 workers through PgBouncer vs 16 direct), paced (sleep jobs, same job rate), "
                        "noop (CPU-saturated); any of them, comma-separated")
    g.add_argument("--fleet-max-connections", type=int, default=3,
                   help="--max-connections of every worker (its pool, which also serves its LISTEN connection)")
    g.add_argument("--fleet-report-from", metavar="FLEET_JSON",
                   help="write fleet.md (and the fleet's rows in latest.md) again from a fleet.json, measuring nothing")
    fleet_pooled.add_arguments(p)


def smoke(a) -> None:
    a.fleet_workers, a.fleet_jobs, a.fleet_configs, a.fleet_seconds, a.fleet_rounds = 8, 400, 50, 0.2, 1
    fleet_pooled.smoke(a)


def fleet_run(ctx: Context, tag: str, mode: str, workers: int, n: int, seconds: float) -> dict:
    """One fleet run: n jobs over the fleet's configurations, `workers` x concurrency, probed (see Probe)."""
    a = ctx.args
    conc = a.fleet_concurrency
    if mode == "paced":
        component, executor, data = "bench-sleep", {"type": "sleep"}, {"seconds": round(seconds, 4)}
    else:
        component, executor, data, seconds = "bench-noop", {"type": "noop"}, None, 0.0
    fixtures.catalog(ctx, a.fleet_configs, component, executor)
    fixtures.reset(ctx)
    log(f"Baton {tag}: inserting {n} {'sleep ' + format(seconds, 'g') + ' s' if mode == 'paced' else 'no-op'} jobs over "
        f"{a.fleet_configs} configurations")
    fixtures.insert_jobs(ctx, n, a.fleet_configs, component=component, config_data=data)
    fixtures.settle(ctx)
    log(f"Baton {tag}: {workers} workers x {conc}, --max-connections {a.fleet_max_connections}")
    probe = Probe(ctx.server)
    probe.begin()
    fleet = systems.Fleet(ctx, workers, conc, tag, max_connections=a.fleet_max_connections)
    expected = n * seconds / (workers * conc)
    try:
        end = fixtures.drain(ctx, n, a.timeout + 2 * expected, fleet.alive)
        time.sleep(0.05)  # the last trace lines
        alive = fleet.alive()
        system = probe.end([p.pid for p in fleet.procs])
    finally:
        probe.reset()
        stopped = fleet.stop()
    with fleet.lock:
        first = min(fleet.starts.values()) if fleet.starts else None
        claiming = [ms for ms, k in fleet.turns if k > 0]
        empty = [ms for ms, k in fleet.turns if k == 0]
        claimed = sum(k for _, k in fleet.turns)
    check = fixtures.verify(ctx, n, tag)
    problems = stopped + fleet.log_problems()
    conn_errors = [p for p in problems if re.search(r"connect|too many clients|pool", p, re.I)]
    statuses = dict(ctx.db.q("SELECT status::text, count(*) FROM jobs GROUP BY 1"))
    errors = (len(problems) + (n - check["success"]) + check["overlaps"] + check["reclaimed"] + (workers - alive)
              + system.get("server_log_error_count", 0))
    r = {
        "tag": tag, "mode": mode, "workers": workers, "concurrency": conc, "job_seconds": seconds, "jobs": n,
        "configurations": a.fleet_configs, "max_connections_per_worker": a.fleet_max_connections,
        "seconds": end - first if first else None, "jobs_per_s": n / (end - first) if first else None,
        "claim_turns": len(claiming), "empty_turns": len(empty), "jobs_per_claiming_turn": claimed / len(claiming) if claiming else None,
        "claim_p50_ms": pct(claiming, 50), "claim_p99_ms": pct(claiming, 99), "claim_max_ms": max(claiming) if claiming else None,
        "claim_mean_ms": sum(claiming) / len(claiming) if claiming else None,
        "empty_p99_ms": pct(empty, 99), "statuses": statuses, "problems": problems[:20], "problem_count": len(problems),
        "connection_errors": len(conn_errors), "workers_exited_early": workers - alive, "errors": errors,
        **check, **system,
    }
    turn = r.get("statements", {}).get("worker_turn", {})
    log(f"Baton {tag}: {r['jobs_per_s'] or 0:,.0f} jobs/s, claim p50/p99 {r['claim_p50_ms'] or 0:.2f}/{r['claim_p99_ms'] or 0:.2f} ms "
        f"(server: mean {turn.get('mean_ms', 0):.2f} sd {turn.get('stddev_ms', 0):.2f} p99 {r.get('turn_exec_p99_ms') or 0:.2f}), "
        f"peak connections {r['peak_connections']}, "
        f"errors {errors}, machine busy {r['machine_busy']:.0%}, run queue {r.get('run_queue_mean', 0):.1f}, "
        f"other processes {r.get('other_cpu_s') or 0:.1f} CPU s")
    return r


def run(ctx: Context) -> None:
    """The fleet test (issue 8): a big fleet and a small one against one server, claim p99 of each, in one run."""
    a = ctx.args
    if a.fleet_report_from:
        saved = json.load(open(a.fleet_report_from))
        ctx.args.command = saved.get("command", ctx.args.command)
        fleet_rows(ctx, saved["runs"], saved["seconds"], saved["stamp"], saved.get("command"), saved.get("commit"), saved.get("pooled"))
        return
    modes = [m for m in a.fleet_modes.split(",") if m]
    unknown = [m for m in modes if m not in ("pooled", "paced", "noop")]
    if unknown:
        raise BenchError(f"--fleet-modes: unknown {unknown} (pooled, paced, noop)")
    started = time.time()
    pooled = None
    if "pooled" in modes:
        try:
            pooled = fleet_pooled.run(ctx)
        except Exception as e:  # noqa: BLE001 - issue 8's modes still run; the failure is reported
            log(f"fleet, pooled mode failed: {e}")
            ctx.results.failed["fleet (pooled mode)"] = str(e)[:500]
    runs = issue8(ctx, [m for m in modes if m != "pooled"])
    # The modes not run this time keep their figures from the last fleet.json (marked with that run), so that a
    # run of one mode does not drop the others from fleet.md and latest.md.
    kept_runs, kept_pooled = ([], None) if a.smoke else carried(modes)
    if pooled is None and "pooled" not in modes:
        pooled = kept_pooled
    fleet_rows(ctx, runs + kept_runs, time.time() - started, pooled=pooled)


def carried(modes: list[str]) -> tuple[list[dict], Optional[dict]]:
    """The runs of the modes not in `modes` (and the pooled fleet's figures, when not run) from bench/results/fleet.json,
    each marked `from_run` with that run's time and commit."""
    path = os.path.join(RESULTS, "fleet.json")
    try:
        saved = json.load(open(path))
    except (OSError, ValueError):
        return [], None
    commit = saved.get("commit") or next((r.get("commit") for r in saved.get("rows", []) if r.get("commit")), None) or "?"
    mark = {"stamp": saved.get("stamp", "?"), "commit": commit}
    runs = [{**r, "from_run": r.get("from_run") or mark} for r in saved.get("runs", []) if r.get("mode") not in modes]
    pooled = saved.get("pooled") if "pooled" not in modes else None
    if pooled:
        pooled = {**pooled, "from_run": pooled.get("from_run") or mark}
    if runs or pooled:
        log(f"fleet: not run this time, kept from {os.path.relpath(path, ROOT)} ({mark['stamp']}, commit {commit}): "
            + ", ".join(sorted({r["mode"] for r in runs}) + (["pooled"] if pooled else [])))
    return runs, pooled


def issue8(ctx: Context, modes: list[str]) -> list[dict]:
    """Issue 8's modes (paced, noop): rounds of the small fleet then the big one."""
    a = ctx.args
    if not modes:
        return []
    big_w, small_w, conc = a.fleet_workers, a.workers, a.fleet_concurrency
    max_conn = ctx.db.one("SHOW max_connections")
    reserved = ctx.db.one("SHOW superuser_reserved_connections")
    budget = big_w * (a.fleet_max_connections or 4)
    if budget + 10 > int(max_conn) - int(reserved):
        raise BenchError(f"{big_w} workers x --max-connections {a.fleet_max_connections} = {budget} connections do not fit "
                           f"in max_connections {max_conn} (less {reserved} reserved and 10 for the benchmark)")
    small_seconds = a.fleet_seconds * small_w / big_w  # the same job rate from both fleets: slots / job duration
    log(f"== fleet: {big_w} worker processes vs {small_w}, concurrency {conc} each, {a.fleet_jobs} jobs over "
        f"{a.fleet_configs} configurations per run; modes {modes}; pool budget {a.fleet_max_connections} a worker "
        f"(cap {budget} of max_connections {max_conn})")
    runs = []
    for mode in modes:
        for k in range(a.fleet_rounds):  # small, big, small, big...: drift of a shared machine hits both alike
            suffix = f"-r{k + 1}" if a.fleet_rounds > 1 else ""
            runs.append({**fleet_run(ctx, f"fleet-{mode}-{small_w}{suffix}", mode, small_w, a.fleet_jobs, small_seconds), "round": k + 1})
            runs.append({**fleet_run(ctx, f"fleet-{mode}-{big_w}{suffix}", mode, big_w, a.fleet_jobs, a.fleet_seconds), "round": k + 1})
    return runs


def fleet_rows(ctx: Context, runs: list[dict], seconds: float, stamp: Optional[str] = None, command: Optional[str] = None,
               commit: Optional[str] = None, pooled: Optional[dict] = None) -> None:
    """The fleet's rows, details and what limits them, from its runs (issue 8's modes) and the pooled fleet's
    figures (issue 17); writes fleet.md and fleet.json."""
    res = ctx.results
    src = (pooled or {}).get("from_run") or {}
    pooled_rows = fleet_pooled.rows(ctx, pooled, src.get("stamp", stamp), src.get("commit", commit)) if pooled else []
    modes = list(dict.fromkeys(r["mode"] for r in runs))
    small_w = min((r["workers"] for r in runs), default=0)
    big_w = max((r["workers"] for r in runs), default=0)
    conc = runs[0]["concurrency"] if runs else 0
    jobs, configs = (runs[0]["jobs"], runs[0]["configurations"]) if runs else (0, 0)
    rows = []
    for mode in modes:
        smalls = [r for r in runs if r["mode"] == mode and r["workers"] == small_w]
        bigs = [r for r in runs if r["mode"] == mode and r["workers"] == big_w]
        pairs = list(zip(smalls, bigs))
        ratios = [b["claim_p99_ms"] / s_["claim_p99_ms"] if b["claim_p99_ms"] and s_["claim_p99_ms"] else None for s_, b in pairs]
        # The evidence comes from the round whose ratio is the median one.
        middle = sorted((x for x in zip(ratios, pairs) if x[0] is not None), key=lambda x: x[0])
        small, big = middle[len(middle) // 2][1] if middle else pairs[0]
        conn_errors = sum(b["connection_errors"] for b in bigs)
        errors = sum(b["errors"] for b in bigs)
        if mode == "paced":
            scenario = f"{big_w} worker processes on one server, {big['job_seconds']:g} s jobs (same job rate)"
            other = f"{small_w} workers, {small['job_seconds'] * 1000:g} ms jobs"
        else:
            scenario = f"{big_w} worker processes on one server, no-op jobs (CPU-saturated)"
            other = f"{small_w} workers, no-op jobs"
        row = res.add(NAME, scenario, f"claim p99 ms ({conn_errors} connection errors, {errors} errors)", "ms",
                      [b["claim_p99_ms"] for _, b in pairs], other, [s_["claim_p99_ms"] for s_, _ in pairs], 3.0,
                      lower_is_better=True, target="<= 3x, no errors")
        if row.met and (conn_errors or errors or not all(b.get("valid") for b in bigs)):
            row.met = False
        src = bigs[0].get("from_run") if bigs else None
        if src:
            row.stamp, row.commit = src["stamp"], src["commit"]
        elif stamp:
            row.stamp, row.commit = stamp, commit or "?"
        why = FLEET_WHY[mode].format(extra=big_w - small_w, conns=2 * (big_w - small_w), big=big_w, big2=2 * big_w, small2=2 * small_w)
        res.limits[scenario] = (why + " Measured" + (f" (round {big.get('round')}, the median ratio)" if len(pairs) > 1 else "")
                                + ": " + fleet_evidence(small, big) + " Every figure: fleet.md.")
        rows.append(row)
        res.detail(NAME,
            f"Fleet, {mode}: claim p99 {_f(median([s_['claim_p99_ms'] for s_ in smalls]))} ms with {small_w} workers, "
            f"{_f(median([b['claim_p99_ms'] for b in bigs]))} ms with {big_w} (x {conc} each, {jobs} jobs over {configs} "
            f"configurations a run" + (f"; medians of {len(pairs)} rounds, round by round "
            + ", ".join(f"{_f(s_['claim_p99_ms'])} vs {_f(b['claim_p99_ms'])} ms ({_f(x)}x)" for (s_, b), x in zip(pairs, ratios))
            if len(pairs) > 1 else "") + f"); throughput {', '.join(_f(r['jobs_per_s'], 0) for r in smalls)} vs "
            f"{', '.join(_f(r['jobs_per_s'], 0) for r in bigs)} jobs/s; peak connections {max(r['peak_connections'] for r in smalls)} vs "
            f"{max(r['peak_connections'] for r in bigs)}; errors {sum(r['errors'] for r in smalls)} vs {errors}. "
            + (f"Rounds over 3x: {sum(x > 3 for x in ratios if x)} of {len(ratios)}. " if len(pairs) > 1 else "")
            + "Every figure: bench/results/fleet.md.")
    fleet_report(ctx, runs, rows, seconds, stamp, command, pooled, pooled_rows)


def _f(v, digits: int = 2, unit: str = "") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.{digits}f}{unit}"
    return f"{v:,}{unit}"


def fleet_report(ctx: Context, runs: list[dict], rows: list[Row], seconds: float, stamp: Optional[str] = None,
                 command: Optional[str] = None, pooled: Optional[dict] = None, pooled_rows: Optional[list[Row]] = None) -> None:
    """bench/results/fleet.md and fleet.json: every figure of the fleet runs and the evidence of what limits them."""
    res = ctx.results
    command = command or ctx.args.command
    stamp = stamp or res.stamp
    out = res.banner() + [f"# Fleet tests (issues 17 and 8), {stamp}", ""] + res.header(ctx.server, f"fleet; {seconds:.0f} s for the fleet runs") + [
        "", "Every figure was measured in this run, on this server, one fleet after the other. Definitions: "
        "bench/README.md (fleet). Ratios are the big fleet / the small one, the median of the rounds'.", ""]
    if pooled:
        out += fleet_pooled.report_lines(ctx, pooled, pooled_rows or []) + [""]
    if runs:
        out += issue8_lines(ctx, runs, rows)
    out += ["", f"Command: `{command}`. Worker logs: bench/results/tmp/fleet-*.log."]
    out_dir = res.out_dir()
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "fleet.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    all_rows = (pooled_rows or []) + rows
    with open(os.path.join(out_dir, "fleet.json"), "w") as f:
        json.dump({"stamp": stamp, "commit": all_rows[0].commit if all_rows else ctx.results.commit,
                   "command": command, "seconds": seconds, "rows": [r.__dict__ for r in all_rows], "runs": runs, "pooled": pooled}, f, indent=1)
    log(f"fleet report: {os.path.relpath(os.path.join(out_dir, 'fleet.md'), ROOT)}")


def issue8_lines(ctx: Context, runs: list[dict], rows: list[Row]) -> list[str]:
    """fleet.md's section on issue 8's modes."""
    res = ctx.results
    out = ["## 64 worker processes against 4 (issue 8)", ""]
    kept = {(r["from_run"]["stamp"], r["from_run"]["commit"]): None for r in runs if r.get("from_run")}
    for stamp, commit in kept:
        out += [f"**Not measured in this run**: " + ", ".join(sorted({r['mode'] for r in runs if r.get('from_run', {}).get('stamp') == stamp}))
                + f" kept from the run of {stamp} (commit {commit}), as bench/results/fleet.json held them.", ""]
    out += res.table(rows)
    out += [""] + [d for d in res.details.get(NAME, []) if d.startswith("- Fleet")]
    out += ["", "### The runs", "",
            "| run | workers x concurrency | job | jobs | jobs/s | claim p50 ms | claim p99 ms | claim max ms | worker_turn in the server: mean ± sd ms | "
            "worker_turn in the server: p99 ms | peak connections | errors | machine CPU busy | run queue mean (p95) |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        t = r.get("statements", {}).get("worker_turn")
        job = f"sleep {r['job_seconds'] * 1000:g} ms" if r["mode"] == "paced" else "no-op"
        out.append(f"| {r['tag']} | {r['workers']} x {r['concurrency']} | {job} | {r['jobs']:,} | {_f(r['jobs_per_s'], 0)} | "
                   f"{_f(r['claim_p50_ms'])} | {_f(r['claim_p99_ms'])} | {_f(r['claim_max_ms'])} | "
                   f"{(_f(t['mean_ms'], 3) + ' ± ' + _f(t['stddev_ms'], 3)) if t else 'n/a'} | "
                   f"{('< ' + str(SLOW_MS)) if r.get('turn_exec_p99_below') else _f(r.get('turn_exec_p99_ms'))} | {r['peak_connections']} | {r['errors']} | "
                   f"{_f(r.get('machine_busy', 0) * 100, 0)}% | {_f(r.get('run_queue_mean'), 1)} ({_f(r.get('run_queue_p95'), 0)}) |")
    out += ["", "### Where the time goes", "",
            "CPU seconds over the run, from /proc, every process sampled every 0.5 s. PostgreSQL: the server's processes "
            "(backends, WAL writer, checkpointer, autovacuum workers); other processes: everything else (other people's "
            "work on a shared machine, kernel threads); interrupts: irq and softirq time (loopback networking among it); "
            "short-lived processes: the rest of the machine's busy time. A run with other or short-lived processes far "
            "from 0 shared the machine with someone. `runnable, waiting` is the time the PostgreSQL processes and the "
            "workers alive at the end were ready to run but had no CPU (/proc/PID/task/*/schedstat), summed over "
            "processes; per claiming turn where it says so.", "",
            "| run | wall s | CPU capacity s | PostgreSQL CPU s | workers CPU s | benchmark CPU s | other processes CPU s | interrupts CPU s | short-lived processes CPU s | "
            "PostgreSQL runnable, waiting s | workers runnable, waiting s | "
            "waiting per claiming turn ms | claiming turns | empty turns | jobs per claiming turn | WAL flushes / commits |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        waiting = (r.get("server_runq_wait_s") or 0) + (r.get("workers_runq_wait_s") or 0)
        wal = r.get("wal", {})
        out.append(f"| {r['tag']} | {_f(r.get('probe_seconds'), 1)} | {_f(r.get('cpu_capacity_s'), 1)} | {_f(r.get('server_cpu_s'), 1)} | "
                   f"{_f(r.get('workers_cpu_s'), 1)} | {_f(r.get('bench_cpu_s'), 1)} | {_f(r.get('other_cpu_s'), 1)} | {_f(r.get('interrupts_cpu_s'), 1)} | {_f(r.get('unattributed_cpu_s'), 1)} | "
                   f"{_f(r.get('server_runq_wait_s'), 1)} | {_f(r.get('workers_runq_wait_s'), 1)} | "
                   f"{_f(waiting * 1000 / r['claim_turns'] if r['claim_turns'] else None)} | {r['claim_turns']:,} | {r['empty_turns']:,} | "
                   f"{_f(r['jobs_per_claiming_turn'])} | {wal.get('wal_sync', 'n/a')} / {wal.get('commits', 'n/a')} |")
    out += ["", "What the server's backends were doing, sampled every 50 ms from pg_stat_activity: the mean number of "
            "backends in each state per sample (statement, wait event; `CPU` = no wait event: on a CPU or waiting for one; "
            "`autovacuum` = autovacuum workers).", ""]
    kinds = []
    for r in runs:
        for k in r.get("wait_events", {}):
            if k not in kinds:
                kinds.append(k)
    kinds = sorted(kinds, key=lambda k: -max(r.get("wait_events", {}).get(k, 0) for r in runs))[:12]
    out += ["| statement, wait | " + " | ".join(r["tag"] for r in runs) + " |", "|---|" + "---:|" * len(runs)]
    for k in kinds:
        out.append(f"| {k} | " + " | ".join(_f(r.get("wait_events", {}).get(k, 0.0), 3) for r in runs) + " |")
    out += ["", "Statements of the workers in the server (pg_stat_statements, reset before each run; execution time, "
            "without the commit's WAL flush, the network and the wait for a CPU before the backend reads the statement):", "",
            "| run | statement | calls | mean ms | sd ms | max ms | total s |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        for name, st in r.get("statements", {}).items():
            if name != "other":
                out.append(f"| {r['tag']} | {name} | {st['calls']:,} | {st['mean_ms']:.3f} | {st['stddev_ms']:.3f} | "
                           f"{st['max_ms']:.1f} | {st['total_ms'] / 1000:.2f} |")
    out += ["", "Notifications on baton_jobs during each run (counted by a LISTEN connection of the benchmark):", ""]
    for r in runs:
        out.append(f"- {r['tag']}: " + (", ".join(f"{k} {v:,}" for k, v in sorted(r.get("notifications", {}).items())) or "none"))
    out += ["", "Errors counted per run: warnings and errors in the workers' logs (bench/results/tmp/fleet-*.log), of them "
            "connection errors; jobs not `success`; overlapping runs of one configuration; jobs claimed twice; workers that "
            "exited early; FATAL/ERROR lines the server logged during the run.", ""]
    for r in runs:
        out.append(f"- {r['tag']}: log problems {r['problem_count']} (connection {r['connection_errors']}), statuses {r['statuses']}, "
                   f"overlaps {r['overlaps']}, re-claimed {r['reclaimed']}, exited early {r['workers_exited_early']}, server log "
                   f"{r.get('server_log_error_count', 'n/a')}" + (f"; first: {r['problems'][0]}" if r["problems"] else "")
                   + (f"; server: {r['server_log_errors'][0]}" if r.get("server_log_errors") else ""))
    out += ["", "### What limits the big fleet's tail", ""]
    for r in rows:
        out.append(f"- **{r.scenario}** ({'met' if r.met else 'not met' if r.met is False else 'n/a'}, {_f(r.ratio)}x): "
                   + res.limits.get(r.scenario, "").replace(" Every figure: fleet.md.", ""))
    return out


def fleet_evidence(small: dict, big: dict) -> str:
    """The figures of one mode that say where the big fleet's claim tail comes from, big fleet first."""
    def per_turn(r: dict, key: str) -> Optional[float]:
        v = r.get(key)
        return v * 1000 / r["claim_turns"] if v is not None and r["claim_turns"] else None
    def outside(r: dict) -> Optional[float]:
        return r["claim_p99_ms"] - r["turn_exec_p99_ms"] if r.get("claim_p99_ms") and r.get("turn_exec_p99_ms") else None
    def both(fmt_: str, a, b) -> str:
        return f"{fmt_.format(a) if a is not None else 'n/a'} vs {fmt_.format(b) if b is not None else 'n/a'}"
    wal = lambda r: r.get("wait_events", {}).get("worker_turn LWLock:WALWrite", 0.0) + r.get("wait_events", {}).get("worker_turn IO:WALSync", 0.0)
    cpu = lambda r: r.get("wait_events", {}).get("worker_turn CPU", 0.0)
    waiting = lambda r: ((r.get("server_runq_wait_s") or 0) + (r.get("workers_runq_wait_s") or 0)) or None
    return (f"machine CPU busy {both('{:.0%}', big.get('machine_busy'), small.get('machine_busy'))}; "
            f"run queue mean {both('{:.1f}', big.get('run_queue_mean'), small.get('run_queue_mean'))} "
            f"(p95 {both('{:.0f}', big.get('run_queue_p95'), small.get('run_queue_p95'))}); "
            f"time runnable but waiting for a CPU (PostgreSQL and workers) per claiming turn "
            f"{both('{:.1f}', per_turn({**big, 'w': waiting(big)}, 'w'), per_turn({**small, 'w': waiting(small)}, 'w'))} ms; "
            f"worker_turn's execution in the server p99 {both('{:.1f}', big.get('turn_exec_p99_ms'), small.get('turn_exec_p99_ms'))} ms, "
            f"the rest of claim p99 (commit, round trip, waits for a CPU outside the execution) "
            f"{both('{:.1f}', outside(big), outside(small))} ms; backends running worker_turn per 50 ms sample: on or waiting for "
            f"a CPU {both('{:.2f}', cpu(big), cpu(small))}, in the commit's WAL flush {both('{:.2f}', wal(big), wal(small))}; "
            f"PostgreSQL CPU per claiming turn {both('{:.2f}', per_turn(big, 'server_cpu_s'), per_turn(small, 'server_cpu_s'))} ms, "
            f"workers {both('{:.2f}', per_turn(big, 'workers_cpu_s'), per_turn(small, 'workers_cpu_s'))} ms; "
            f"empty turns {both('{:,}', big['empty_turns'], small['empty_turns'])} (claiming turns "
            f"{both('{:,}', big['claim_turns'], small['claim_turns'])}); other processes on the machine "
            f"{both('{:.1f}', big.get('other_cpu_s'), small.get('other_cpu_s'))} CPU s.")


FLEET_WHY = {
    "paced": "Both fleets run the same jobs per second, so the server does the same work; the big fleet adds {extra} "
             "processes and about {conns} connections. Its claim tail grows with the wait for a CPU: the machine is busier with "
             "{big} processes' background work (each refreshes its worker rank every second and heartbeats every 6.7 s), "
             "more processes are runnable at once, and a turn waits for the CPU at three points (the backend reading "
             "the statement, the backend during it, the worker reading the answer).",
    "noop": "With no-op jobs both fleets are CPU-bound on 2 cores, and the claim tail measures the scheduler: the big "
            "fleet runs about {big2} processes that want a CPU ({big} workers of 8 threads each and their backends) where the "
            "small one runs about {small2}, so a turn waits behind more of them at each of its three waits for a CPU, and more "
            "commits queue for each WAL flush. Concurrent claimers also race for the same oldest queue heads: a turn that "
            "loses every race claims nothing (an empty turn) and that worker idles until its next wake-up.",
}


