"""The systems measured, as processes: Baton's workers and coordinator, the peers, pgbench.

- `Fleet`: `baton worker --trace` processes. Their trace lines on stdout are parsed by one thread
  each: `S JOB UNIXTIME` when a job's executor begins (the job's start), `T MS CLAIMED` per
  claiming turn (the turn's time in the worker, and how many jobs it claimed).
- `Coordinator`: one `baton coordinator`.
- `run_peer`: a peer script of bench/peers/ (`setup`, `throughput`, `latency`), which prints
  one JSON object; while it runs, a `Sampler` can record the server's CPU and the peer workers'
  PSS (the workers are the children of the peer's driver whose command line has `_worker`).
- `pgbench_claim`: bench/sql/claim.sql (claim a batch and finish it, one transaction) by pgbench,
  the raw ceiling for Baton's claim.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Optional

from . import procs
from .core import BENCH, PEERS, TMP, Context, log
from .stats import mean, pct


class Fleet:
    """`baton worker --trace` processes; their trace lines are read by one thread each."""

    def __init__(self, ctx: Context, count: int, concurrency: int, tag: str, max_connections: Optional[int] = None,
                 extra: tuple[str, ...] = (), dsn: Optional[str] = None):
        self.starts: dict[int, float] = {}
        self.turns: list[tuple[float, int]] = []
        self.turn_times: list[float] = []  # when each line of self.turns was read (unix time), same order
        self.start_events: "queue.Queue[int]" = queue.Queue()
        self.lock = threading.Lock()
        self.procs: list[subprocess.Popen] = []
        self.logs: list[str] = []
        self.readers: list[threading.Thread] = []
        self.started_at = time.time()
        for i in range(count):
            path = os.path.join(TMP, f"{tag}-worker-{i + 1}.log")
            self.logs.append(path)
            err = open(path, "w")
            p = subprocess.Popen(
                [ctx.args.baton, "worker", "--database-url", dsn or ctx.dsn, "--concurrency", str(concurrency), "--trace",
                 "--worker-id", f"bench-{tag}-{i + 1}", *extra]
                + (["--max-connections", str(max_connections)] if max_connections else []),
                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True, bufsize=1)
            err.close()
            self.procs.append(p)
            t = threading.Thread(target=self._read, args=(p,), daemon=True)
            t.start()
            self.readers.append(t)

    def _read(self, p: subprocess.Popen) -> None:
        for line in p.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "S":
                job = int(parts[1])
                with self.lock:
                    self.starts.setdefault(job, float(parts[2]))
                self.start_events.put(job)
            elif len(parts) == 3 and parts[0] == "T":
                now = time.time()
                with self.lock:
                    self.turns.append((float(parts[1]), int(parts[2])))
                    self.turn_times.append(now)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    def alive(self) -> int:
        return sum(p.poll() is None for p in self.procs)

    def memory_mb(self, field_name: str) -> list[Optional[float]]:
        """A /proc field (VmRSS, VmHWM, RssAnon, Pss) of each worker, MB."""
        return [procs.mb(procs.memory_kb(p.pid).get(field_name)) for p in self.procs]

    def wait_started(self, job: int, timeout: float) -> Optional[float]:
        """The job's start time as the worker traced it, or None if it did not start within timeout s."""
        deadline = time.time() + timeout
        while True:
            with self.lock:
                started = self.starts.get(job)
            if started is not None:
                return started
            left = deadline - time.time()
            if left <= 0:
                return None
            try:
                self.start_events.get(timeout=min(left, 0.5))
            except queue.Empty:
                pass

    def first_start(self) -> Optional[float]:
        with self.lock:
            return min(self.starts.values()) if self.starts else None

    def turn_stats(self) -> dict:
        """Claiming turns (claimed >= 1): count, p50/p99 ms, mean jobs per turn; empty turns."""
        with self.lock:
            claiming = [(ms, k) for ms, k in self.turns if k > 0]
            empty = sum(1 for _, k in self.turns if k == 0)
        ms = [m for m, _ in claiming]
        return {"turns": len(claiming), "empty_turns": empty, "turn_p50_ms": pct(ms, 50), "turn_p99_ms": pct(ms, 99),
                "jobs_per_turn": mean([k for _, k in claiming])}

    def stop(self) -> list[str]:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        problems = []
        deadline = time.time() + 40
        for i, p in enumerate(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                problems.append(f"worker {i + 1} did not stop within 40 s of SIGTERM")
        for t in self.readers:
            t.join(timeout=2)
        return problems

    def log_problems(self) -> list[str]:
        """Warnings and errors the workers logged (connection errors among them)."""
        found = []
        for path in self.logs:
            with open(path, errors="replace") as f:
                for line in f:
                    if " warning " in line or " error " in line or "critical" in line:
                        found.append(f"{os.path.basename(path)}: {line.strip()[:200]}")
        return found


class Coordinator:
    def __init__(self, ctx: Context, tag: str):
        self.log = open(os.path.join(TMP, f"{tag}-coordinator.log"), "w")
        self.proc = subprocess.Popen([ctx.args.baton, "coordinator", "--database-url", ctx.dsn],
                                     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def peer_workers(driver_pid: int) -> list[int]:
    """A peer's worker processes: children of its driver started as `<script> _worker`."""
    return [c for c in procs.children(driver_pid) if "_worker" in procs.cmdline(c)]


def run_peer(ctx: Context, name: str, command: str, *argv: str, sample: bool = False) -> dict:
    """Runs bench/peers/NAME_bench.py COMMAND --dsn DSN ARGV; returns its JSON ({"error": ...} when it failed).

    sample=True (throughput): the server's CPU and the workers' peak PSS over the peer's measured window
    [first job start, queue seen empty] are added as server_cpu_s, server_us_per_job, pss_sum_mb, pss_each_mb.
    """
    script = os.path.join(PEERS, f"{name}_bench.py")
    p = subprocess.Popen([sys.executable, script, command, "--dsn", ctx.dsn, *argv], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    sampler = procs.Sampler(ctx.server.postmaster, lambda: peer_workers(p.pid)) if sample else None
    if sampler:
        sampler.__enter__()
    try:
        out, err = p.communicate()
    finally:
        if sampler:
            sampler.stop()
    if p.returncode:
        sys.stderr.write(err[-2000:])
    try:
        res = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"{name} {command} printed no result (exit {p.returncode}): {err.strip()[-300:]}"}
    if sampler and res.get("first_start") and res.get("end"):
        t0, t1 = res["first_start"], res["end"]
        cpu = sampler.server_cpu_between(t0, t1)
        res["server_cpu_s"] = cpu
        res["server_us_per_job"] = cpu / res["jobs"] * 1e6 if cpu is not None and res.get("jobs") else None
        wcpu = sampler.workers_cpu_between(t0, t1)
        res["workers_us_per_job"] = wcpu / res["jobs"] * 1e6 if wcpu is not None and res.get("jobs") else None
        pss = sampler.peak_pss_sum_kb(t0, t1)
        res["pss_sum_mb"] = procs.mb(pss)
        res["pss_each_mb"] = [procs.mb(v) for v in sampler.peak_pss_each_kb(t0, t1).values()]
        res["rss_each_mb"] = [procs.mb(v) for v in sampler.peak_rss_each_kb(t0, t1).values()]
    return res


def peer_setup(ctx: Context, name: str) -> Optional[str]:
    """The peer's schema, made again (its `setup`); returns the error, or None."""
    return run_peer(ctx, name, "setup").get("error")


def pgbench_claim(ctx: Context, batch: int, jobs: int, clients: int = 8, threads: int = 2) -> dict:
    """bench/sql/claim.sql by pgbench at this batch size, over `jobs` queued no-op jobs (1,000 configurations).

    Each of `clients` connections runs the same number of transactions, each claiming `batch` jobs and finishing
    them; the table holds exactly clients x transactions x batch jobs, so every transaction claims a full batch
    and the run ends when the queue is empty (checked: that many jobs ended success). jobs/s = pgbench's tps
    (without connection time) x batch. The server's CPU is read before and after the pgbench process.
    """
    from . import fixtures

    per_client = max(1, -(-jobs // (clients * batch)))
    total = per_client * clients * batch
    fixtures.catalog(ctx, 1000)
    fixtures.reset(ctx)
    fixtures.insert_jobs(ctx, total, 1000)
    fixtures.settle(ctx)
    log(f"pgbench claim {batch}: {total:,} jobs, -c {clients} -j {threads} -t {per_client}")
    script = os.path.join(BENCH, "sql", "claim.sql")
    cpu0 = ctx.server.cpu()
    t0 = time.time()
    r = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads), "-t", str(per_client),
                        "-D", f"batch={batch}", "-f", script, ctx.dsn], capture_output=True, text=True)
    wall = time.time() - t0
    cpu1 = ctx.server.cpu()
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", r.stdout)
    if r.returncode != 0 or not m:
        return {"error": f"pgbench failed: {(r.stderr or r.stdout).strip()[-300:]}", "batch": batch}
    done = ctx.db.one("SELECT count(*) FROM jobs WHERE status = 'success' AND worker_id = 'pgbench'")
    tps = float(m.group(1))
    out = {"batch": batch, "jobs": total, "done": done, "tps": tps, "clients": clients, "transactions": per_client * clients,
           "jobs_per_s": tps * batch if done == total else None, "wall_s": wall,
           "server_cpu_s": cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None}
    out["server_us_per_job"] = out["server_cpu_s"] / done * 1e6 if out["server_cpu_s"] is not None and done else None
    if done != total:
        out["error"] = f"{done} of {total} jobs ended success"
    log(f"pgbench claim {batch}: {out['jobs_per_s'] or 0:,.0f} jobs/s, PostgreSQL CPU {out['server_us_per_job'] or 0:.0f} us a job")
    return out


def baton_drain(ctx: Context, tag: str, n: int, workers: int, concurrency: int, *, project_limits: bool = False,
                extra: tuple[str, ...] = (), timeout: Optional[float] = None) -> dict:
    """Runs the n jobs already queued: VACUUM ANALYZE + CHECKPOINT, start the fleet, wait until no job is unfinished.

    throughput = n / (the moment the driver sees no unfinished job, polled every 20 ms - the first job start the
    workers traced). Over that window: the server's CPU, the workers' CPU and their peak PSS (Sampler). Then the
    checks (fixtures.verify); a run that fails them has no figure (jobs_per_s None).
    """
    from . import fixtures

    fixtures.settle(ctx)
    log(f"Baton {tag}: {n:,} jobs, {workers} workers x {concurrency}")
    fleet = Fleet(ctx, workers, concurrency, tag, extra=extra)
    sampler = procs.Sampler(ctx.server.postmaster, fleet.pids)
    sampler.__enter__()
    try:
        end = fixtures.drain(ctx, n, timeout or ctx.args.timeout, fleet.alive)
        time.sleep(0.05)  # the last trace lines
        hwm = fleet.memory_mb("VmHWM")
    finally:
        sampler.stop()
        problems = fleet.stop()
    first = fleet.first_start()
    check = fixtures.verify(ctx, n, tag, project_limits)
    r: dict = {"tag": tag, "jobs": n, "workers": workers, "concurrency": concurrency, "first_start": first, "end": end,
               "seconds": end - first if first else None, "hwm_each_mb": hwm, **fleet.turn_stats(), **check,
               "problems": problems + fleet.log_problems()}
    with fleet.lock:
        r["starts"] = sorted(fleet.starts.values())
    r["jobs_per_s"] = n / (end - first) if first and check["valid"] else None
    if first:
        cpu = sampler.server_cpu_between(first, end)
        wcpu = sampler.workers_cpu_between(first, end)
        r["server_cpu_s"] = cpu
        r["server_us_per_job"] = cpu / n * 1e6 if cpu is not None else None
        r["workers_us_per_job"] = wcpu / n * 1e6 if wcpu is not None else None
        r["pss_sum_mb"] = procs.mb(sampler.peak_pss_sum_kb(first, end))
        r["pss_each_mb"] = [procs.mb(v) for v in sampler.peak_pss_each_kb(first, end).values()]
    log(f"Baton {tag}: {(n / (end - first)) if first else 0:,.0f} jobs/s{'' if check['valid'] else ' (INVALID: checks failed)'}; "
        f"{fixtures.check_text(check)}; turns p50 {r['turn_p50_ms'] or 0:.2f} ms, {r['jobs_per_turn'] or 0:.1f} jobs a turn; "
        f"PostgreSQL CPU {r.get('server_us_per_job') or 0:.0f} us a job; workers' PSS {r.get('pss_sum_mb')} MB")
    return r
