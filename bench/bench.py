#!/usr/bin/env python3
"""bench/bench.py: Baton's benchmark driver, run by bench/run with the bench virtualenv.

Runs each scenario against one PostgreSQL server, Baton beside its peers (pgqueuer and
procrastinate, bench/peers/) and pgbench's raw ceiling in the same run, and writes
bench/results/latest.md (one row per target: Baton's figure, the other's, the ratio, the
target, met or not), latest.json and latest.png. Progress goes to stderr.

Definitions (the same for every system; bench/peers/harness.py measures the peers):
- throughput = N / (moment the driver sees no unfinished job, polled every 20 ms - first job
  start as recorded in the worker when the job's executor begins). Jobs are inserted before the
  workers start.
- latency = job start in the worker - the moment just before the driver's INSERT of that one
  job (its own transaction), idle fleet, one job at a time, 5-20 ms apart, first 10 discarded.
Baton's workers report starts and turn times with `baton worker --trace`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
PEERS = os.path.join(ROOT, "bench", "peers")
UNFINISHED = "('created', 'waiting', 'processing', 'terminating')"
POLL_S = 0.020
WARMUP = 10


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(values: list) -> Optional[float]:
    """Median of the figures measured (None for a round that failed is left out)."""
    good = sorted(v for v in values if v is not None)
    if not good:
        return None
    mid = len(good) // 2
    return good[mid] if len(good) % 2 else (good[mid - 1] + good[mid]) / 2


def pct(values: list[float], p: float) -> Optional[float]:
    """Linear interpolation between closest ranks (as numpy's default and the peers' harness)."""
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class DB:
    def __init__(self, dsn: str):
        self.dsn = dsn
        self.conn = psycopg.connect(dsn, autocommit=True)

    def q(self, sql: str, params=None) -> list[tuple]:
        cur = self.conn.execute(sql, params)
        return cur.fetchall() if cur.description else []

    def one(self, sql: str, params=None):
        rows = self.q(sql, params)
        return rows[0][0] if rows else None


# ------------------------------------------------------------------------------------ Baton fleet


class Fleet:
    """`baton worker --trace` processes; their trace lines are read by one thread each."""

    def __init__(self, baton: str, dsn: str, count: int, concurrency: int, tag: str, logdir: str,
                 max_connections: Optional[int] = None):
        self.starts: dict[int, float] = {}
        self.turns: list[tuple[float, int]] = []
        self.start_events: "queue.Queue[int]" = queue.Queue()
        self.lock = threading.Lock()
        self.procs: list[subprocess.Popen] = []
        self.logs: list[str] = []
        for i in range(count):
            path = os.path.join(logdir, f"{tag}-worker-{i + 1}.log")
            self.logs.append(path)
            err = open(path, "w")
            p = subprocess.Popen(
                [baton, "worker", "--database-url", dsn, "--concurrency", str(concurrency), "--trace",
                 "--worker-id", f"bench-{tag}-{i + 1}"]
                + (["--max-connections", str(max_connections)] if max_connections else []),
                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True, bufsize=1)
            err.close()
            self.procs.append(p)
            threading.Thread(target=self._read, args=(p,), daemon=True).start()

    def _read(self, p: subprocess.Popen) -> None:
        for line in p.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "S":
                job = int(parts[1])
                with self.lock:
                    self.starts.setdefault(job, float(parts[2]))
                self.start_events.put(job)
            elif len(parts) == 3 and parts[0] == "T":
                with self.lock:
                    self.turns.append((float(parts[1]), int(parts[2])))

    def rss_mb(self, field_name: str) -> list[Optional[float]]:
        out = []
        for p in self.procs:
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    kb = next(int(l.split()[1]) for l in f if l.startswith(field_name + ":"))
                out.append(round(kb / 1024, 1))
            except (OSError, StopIteration):
                out.append(None)
        return out

    def alive(self) -> int:
        return sum(p.poll() is None for p in self.procs)

    def stop(self) -> list[str]:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        problems = []
        deadline = time.time() + 20
        for i, p in enumerate(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                problems.append(f"worker {i + 1} did not stop within 20 s of SIGTERM")
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


# ------------------------------------------------------------------------------------ fleet probe


def _proc_cpu(pid: int) -> Optional[tuple[float, float]]:
    """(CPU seconds, seconds spent runnable but waiting for a CPU) of a process, all its threads."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        cpu = (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
        wait_ns = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    wait_ns += int(f.read().split()[1])
            except (OSError, IndexError, ValueError):
                pass
        return cpu, wait_ns / 1e9
    except (OSError, IndexError, ValueError):
        return None


def _children(ppid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _all_cpu() -> dict[int, tuple[int, float]]:
    """(parent pid, CPU seconds) of every process on the machine, kernel threads included."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    rest = f.read().rsplit(")", 1)[1].split()
                out[int(d)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / tick)
            except (OSError, IndexError, ValueError):
                pass
    return out


def _machine_cpu() -> tuple[int, int, int]:
    """(busy, total, interrupts) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:8]]
    return v[0] + v[1] + v[2] + v[5] + v[6], sum(v), v[5] + v[6]


SLOW_MS = 5


class Probe:
    """What the server and the machine do during one fleet run, sampled from outside.

    Every 50 ms: client connections on the server (pg_stat_activity), the wait event of every
    backend that is running a statement (None = on a CPU or waiting for one), and the kernel's
    run queue (procs_running in /proc/stat). Once at the start and the end: CPU time and
    run-queue wait (/proc/PID/task/*/schedstat) of the PostgreSQL processes and of the workers,
    pg_stat_statements (reset at the start) and pg_stat_wal. A LISTEN connection counts the
    notifications on baton_jobs. The /proc figures need the server on this machine; they are
    None otherwise.
    """

    def __init__(self, dsn: str, server_log: Optional[str]):
        self.dsn = dsn
        self.server_log = server_log
        self.stop_event = threading.Event()
        self.samples = 0
        self.peak_connections = 0
        self.waits: dict[str, int] = {}
        self.runq: list[int] = []
        self.notifications: dict[str, int] = {}
        self.threads: list[threading.Thread] = []
        self.db = psycopg.connect(dsn, autocommit=True)
        self.postmaster = None
        pid = self.db.execute("SELECT pg_backend_pid()").fetchone()[0]
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{ppid}/comm") as f:
                if f.read().strip() == "postgres":
                    self.postmaster = ppid
        except (OSError, ValueError, IndexError):
            pass
        try:
            self.db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            self.db.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
            self.pgss = True
        except psycopg.Error:
            self.pgss = False

    def _server_cpu(self) -> dict[int, tuple[float, float]]:
        if self.postmaster is None:
            return {}
        return {p: v for p in [self.postmaster] + _children(self.postmaster) if (v := _proc_cpu(p))}

    def _wal(self) -> dict:
        try:
            row = self.db.execute("SELECT wal_records, wal_write, wal_sync FROM pg_stat_wal").fetchone()
            xact = self.db.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]
            return {"wal_records": row[0], "wal_write": row[1], "wal_sync": row[2], "commits": xact}
        except psycopg.Error:
            return {}

    def begin(self) -> None:
        if self.pgss:
            self.db.execute("SELECT pg_stat_statements_reset()")
        if self.server_log:
            # The server logs the statements that ran longer than this (sessions that start from now on): with the
            # number of calls from pg_stat_statements, that gives the p99 of worker_turn's execution in the server.
            self.db.execute(f"ALTER DATABASE \"{self.db.info.dbname}\" SET log_min_duration_statement = '{SLOW_MS}ms'")
        self.log_offset = os.path.getsize(self.server_log) if self.server_log and os.path.exists(self.server_log) else None
        self.wal0 = self._wal()
        self.server0 = self._server_cpu()
        self.machine0 = _machine_cpu()
        self.seen = {p: (pp, cpu, cpu) for p, (pp, cpu) in _all_cpu().items()}  # pid: (parent, CPU at first sight, CPU last seen)
        self.me0 = _proc_cpu(os.getpid())
        self.t0 = time.time()
        for target in (self._sample, self._listen, self._processes):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self.threads.append(t)

    def _sample(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as c:
            while not self.stop_event.is_set():
                conns, waits = c.execute("""
                    SELECT count(*) FILTER (WHERE backend_type = 'client backend'),
                           array_agg(CASE WHEN backend_type = 'autovacuum worker' THEN 'autovacuum'
                                          WHEN query LIKE '%%worker' || '_turn(%%' THEN 'worker_turn'
                                          WHEN query LIKE '%%worker' || '_ranks()%%' THEN 'worker_ranks'
                                          ELSE 'other' END || ' ' || coalesce(wait_event_type || ':' || wait_event, 'CPU'))
                               FILTER (WHERE (state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid())
                                          OR backend_type = 'autovacuum worker')
                    FROM pg_stat_activity""").fetchone()
                with open("/proc/stat") as f:
                    running = next((int(l.split()[1]) for l in f if l.startswith("procs_running")), 0)
                self.samples += 1
                self.peak_connections = max(self.peak_connections, conns)
                self.runq.append(running)
                for w in waits or []:
                    self.waits[w] = self.waits.get(w, 0) + 1
                time.sleep(0.05)

    def _scan(self) -> None:
        for p, (pp, cpu) in _all_cpu().items():
            first = self.seen[p][1] if p in self.seen else 0.0  # a process started during the run: all its CPU
            self.seen[p] = (pp, first, cpu)

    def _processes(self) -> None:
        """Every 0.5 s, the CPU time of every process, so that those that end during the run are counted too."""
        while not self.stop_event.wait(0.5):
            self._scan()

    def _listen(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as c:
            c.execute("LISTEN baton_jobs")
            while not self.stop_event.is_set():
                for n in c.notifies(timeout=0.2):
                    kind = n.payload.split(":", 1)[0] or "empty"
                    self.notifications[kind] = self.notifications.get(kind, 0) + 1

    def reset(self) -> None:
        """Stops the sampling and logs no more slow statements; safe to call twice."""
        self.stop_event.set()
        if self.server_log and not self.db.closed:
            self.db.execute(f"ALTER DATABASE \"{self.db.info.dbname}\" RESET log_min_duration_statement")

    def end(self, worker_pids: list[int]) -> dict:
        """Call while the workers still run: their CPU time is read from /proc."""
        seconds = time.time() - self.t0
        busy1, total1, irq1 = _machine_cpu()
        server1 = self._server_cpu()
        workers = [v for p in worker_pids if (v := _proc_cpu(p))]
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=2)
        out: dict = {"probe_seconds": seconds, "samples": self.samples, "peak_connections": self.peak_connections}
        if self.runq:
            out["run_queue_mean"] = sum(self.runq) / len(self.runq)
            out["run_queue_p95"] = pct(self.runq, 95)
        total_active = sum(self.waits.values())
        out["wait_events"] = {k: round(v / max(1, self.samples), 3) for k, v in sorted(self.waits.items(), key=lambda kv: -kv[1])}
        out["active_backends_mean"] = total_active / max(1, self.samples)
        out["notifications"] = dict(self.notifications)
        cpus = os.cpu_count() or 1
        out["machine_busy"] = (busy1 - self.machine0[0]) / max(1, total1 - self.machine0[1])
        out["machine_busy_s"] = (busy1 - self.machine0[0]) / os.sysconf("SC_CLK_TCK")
        out["interrupts_cpu_s"] = (irq1 - self.machine0[2]) / os.sysconf("SC_CLK_TCK")
        me = _proc_cpu(os.getpid())
        out["bench_cpu_s"] = me[0] - self.me0[0] if me and self.me0 else None
        if server1:
            cpu = sum(v[0] - self.server0.get(p, (0, 0))[0] for p, v in server1.items())
            wait = sum(v[1] - self.server0.get(p, (0, 0))[1] for p, v in server1.items())
            out["server_cpu_s"], out["server_runq_wait_s"] = cpu, wait
        if workers:
            out["workers_cpu_s"] = sum(v[0] for v in workers)
            out["workers_runq_wait_s"] = sum(v[1] for v in workers)
        if server1 and workers and out["bench_cpu_s"] is not None:
            # Every process seen during the run (sampled every 0.5 s): the server's (autovacuum workers that ended
            # included), and everyone else's (other people's builds and tests on a shared machine, kernel threads).
            self._scan()
            used = {p: (pp, last - first) for p, (pp, first, last) in self.seen.items()}
            mine = set(worker_pids) | {os.getpid()}
            out["server_cpu_s"] = sum(c for p, (pp, c) in used.items() if p == self.postmaster or pp == self.postmaster)
            out["other_cpu_s"] = sum(c for p, (pp, c) in used.items()
                                     if p not in mine and p != self.postmaster and pp != self.postmaster)
            # What no process seen accounts for: processes that lived less than 0.5 s.
            out["unattributed_cpu_s"] = max(0.0, out["machine_busy_s"] - out["server_cpu_s"] - out["workers_cpu_s"]
                                            - out["bench_cpu_s"] - out["other_cpu_s"] - out["interrupts_cpu_s"])
        out["cpu_capacity_s"] = seconds * cpus
        wal1 = self._wal()
        if self.wal0 and wal1:
            out["wal"] = {k: wal1[k] - self.wal0[k] for k in wal1}
        if self.pgss:
            rows = self.db.execute("""
                SELECT CASE WHEN query LIKE '%%worker' || '_turn(%%' THEN 'worker_turn'
                            WHEN query LIKE '%%worker' || '_ranks()%%' THEN 'worker_ranks'
                            WHEN query LIKE '%%take' || '_worker_rank()%%' THEN 'take_worker_rank'
                            WHEN query LIKE '%%UPDATE jobs SET heartbeat' || '_time%%' THEN 'heartbeat'
                            ELSE 'other' END AS what,
                       sum(calls), sum(total_exec_time), max(max_exec_time),
                       -- pooled mean and standard deviation over the statements of each kind
                       sum(calls * mean_exec_time) / nullif(sum(calls), 0),
                       sqrt(greatest(0, sum(calls * (stddev_exec_time ^ 2 + mean_exec_time ^ 2)) / nullif(sum(calls), 0)
                                        - (sum(calls * mean_exec_time) / nullif(sum(calls), 0)) ^ 2))
                FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                GROUP BY 1 ORDER BY 3 DESC""").fetchall()
            out["statements"] = {r[0]: {"calls": int(r[1]), "total_ms": float(r[2]), "max_ms": float(r[3]),
                                        "mean_ms": float(r[4] or 0), "stddev_ms": float(r[5] or 0)} for r in rows}
        self.reset()
        if self.log_offset is not None:
            slow = []
            lines = []
            with open(self.server_log, errors="replace") as f:
                f.seek(self.log_offset)
                for l in f:
                    if "FATAL" in l or "ERROR" in l or "PANIC" in l:
                        lines.append(l.strip())
                    elif "duration: " in l and " execute " in l and "SELECT accepted" in l:
                        m = re.search(r"duration: ([0-9.]+) ms", l)
                        if m:
                            slow.append(float(m.group(1)))
            out["server_log_errors"] = lines[:20]
            out["server_log_error_count"] = len(lines)
            calls = out.get("statements", {}).get("worker_turn", {}).get("calls")
            if calls:
                # The p99 of the execution times: the k-th longest, k = 1% of the calls, when at least k ran over SLOW_MS.
                k = max(1, round(calls * 0.01))
                slow.sort(reverse=True)
                out["turn_exec_over_slow"] = len(slow)
                out["turn_exec_p99_ms"] = slow[k - 1] if len(slow) >= k else None
                out["turn_exec_p99_below"] = len(slow) < k
        self.db.close()
        return out


# ------------------------------------------------------------------------------------ the bench


@dataclass
class Row:
    scenario: str
    metric: str
    baton: Optional[float]
    other_name: str
    other: Optional[float]
    ratio: Optional[float]
    target: str
    met: Optional[bool]
    unit: str = ""
    note: str = ""


@dataclass
class Bench:
    args: argparse.Namespace
    db: DB
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    chart: dict = field(default_factory=lambda: {"throughput": {}, "latency": {}})
    rss_idle: list = field(default_factory=list)
    rss_load: list = field(default_factory=list)
    peer_rss: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)  # what limits a row, measured in this run (fleet)
    fleet_stamp: Optional[str] = None

    # ---------------------------------------------------------------- helpers

    def baton_cmd(self, *argv: str, input_text: Optional[str] = None) -> str:
        r = subprocess.run([self.args.baton, *argv, "--database-url", self.args.dsn], input=input_text,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"baton {' '.join(argv)} failed: {r.stderr.strip()[:500]}")
        return r.stdout

    def prepare(self, configs: int, component: str = "bench-noop", executor: str = '{"type": "noop"}') -> None:
        """Empty jobs; the component (bench-noop) with configurations cfg-1..cfg-K; no project limit in the way."""
        db = self.db
        db.q("TRUNCATE jobs CASCADE")
        db.q("INSERT INTO components (project_id, id, executor) VALUES ('default', %s, %s::jsonb) ON CONFLICT DO NOTHING",
             (component, executor))
        have = db.one("SELECT count(*) FROM configurations WHERE component_id = %s AND id LIKE 'cfg-%%'", (component,))
        if have < configs:
            db.q("""INSERT INTO configurations (project_id, component_id, id, name)
                    SELECT 'default', %s, 'cfg-' || i, 'bench cfg-' || i FROM generate_series(1, %s) i
                    ON CONFLICT DO NOTHING""", (component, configs))
        db.q("UPDATE projects SET max_parallel_jobs = 100000 WHERE id = 'default'")

    def insert_jobs(self, n: int, configs: int, grouped: int = 0, component: str = "bench-noop",
                    executor: str = '{"type": "noop"}', parameters: str = "{}") -> None:
        """n jobs (no-op unless told) round-robin over cfg-1..cfg-K, or `grouped` consecutive jobs per configuration."""
        expr = f"'cfg-' || ((g - 1) / {grouped} + 1)" if grouped else f"'cfg-' || ((g - 1) %% {configs} + 1)"
        for first in range(1, n + 1, 1000):
            last = min(n, first + 999)
            self.db.q(f"""INSERT INTO jobs (project_id, component_id, config_id, executor, parameters)
                          SELECT 'default', %s, {expr}, %s::jsonb, %s::jsonb
                          FROM generate_series({first}, {last}) g""", (component, executor, parameters))

    def settle(self) -> None:
        self.db.q("VACUUM ANALYZE jobs")
        self.db.q("CHECKPOINT")

    def drain(self, fleet: Fleet, n: int, timeout: float) -> float:
        """Polls every 20 ms until no job is unfinished; returns that moment (unix time)."""
        t0 = time.time()
        next_print = t0 + 1
        while True:
            left = self.db.one(f"SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN {UNFINISHED})")
            now = time.time()
            if not left:
                return now
            if now >= next_print:
                count = self.db.one(f"SELECT count(*) FROM jobs WHERE status IN {UNFINISHED}")
                log(f"  {n - count}/{n} done, {now - t0:.1f} s")
                next_print = now + 1
            if fleet.alive() == 0:
                raise RuntimeError("every worker exited before the jobs were done (see bench/results/tmp/*.log)")
            if now - t0 > timeout:
                raise RuntimeError(f"jobs not done after {timeout} s")
            time.sleep(POLL_S)

    def verify(self, n: int, tag: str) -> dict:
        db = self.db
        foreign = db.one("SELECT count(*) FROM jobs WHERE worker_id NOT LIKE %s", (f"bench-{tag}-%",))
        if foreign:
            raise RuntimeError(f"{foreign} jobs were run by workers not started by this benchmark: stop the other "
                               f"workers on this database (SELECT DISTINCT worker_id FROM jobs)")
        success = db.one("SELECT count(*) FROM jobs WHERE status = 'success'")
        overlaps = db.one("""SELECT count(*) FROM (
                SELECT start_time, lag(end_time) OVER (PARTITION BY project_id, component_id, config_id ORDER BY start_time) AS prev_end
                FROM jobs) x WHERE prev_end > start_time""")
        reclaimed = db.one("SELECT count(*) FROM jobs WHERE attempt > 1")
        return {"success": success, "expected": n, "overlaps": overlaps, "reclaimed": reclaimed}

    def run_baton(self, tag: str, n: int, configs: int, workers: int, concurrency: int, grouped: int = 0,
                  sample_connections: bool = False) -> dict:
        self.prepare(max(configs, 1))
        log(f"Baton {tag}: inserting {n} jobs over {configs} configurations" + (f", {grouped} in a row each" if grouped else ""))
        self.insert_jobs(n, configs, grouped)
        self.settle()
        log(f"Baton {tag}: {workers} workers x {concurrency}")
        fleet = Fleet(self.args.baton, self.args.dsn, workers, concurrency, tag, self.args.tmp)
        peak_conn = [0]
        stop_sampling = threading.Event()
        if sample_connections:
            def sample():
                with psycopg.connect(self.args.dsn, autocommit=True) as c:
                    while not stop_sampling.is_set():
                        k = c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").fetchone()[0]
                        peak_conn[0] = max(peak_conn[0], k)
                        time.sleep(0.1)
            threading.Thread(target=sample, daemon=True).start()
        try:
            end = self.drain(fleet, n, self.args.timeout)
            time.sleep(0.05)  # the last trace lines
            rss = fleet.rss_mb("VmHWM")
        finally:
            stop_sampling.set()
            problems = fleet.stop()
        with fleet.lock:
            first = min(fleet.starts.values()) if fleet.starts else None
            turns = [ms for ms, claimed in fleet.turns if claimed > 0]
            traced = len(fleet.starts)
        check = self.verify(n, tag)
        result = {
            "jobs": n, "seconds": end - first if first else None,
            "jobs_per_s": n / (end - first) if first else None,
            "rss_mb": rss, "turn_p50_ms": pct(turns, 50), "turn_p99_ms": pct(turns, 99), "turns": len(turns),
            "traced_starts": traced, "problems": problems + fleet.log_problems(), "peak_connections": peak_conn[0], **check,
        }
        ok = check["success"] == n and check["overlaps"] == 0 and check["reclaimed"] == 0
        result["valid"] = ok
        if not ok:
            result["jobs_per_s"] = None  # a run that failed its checks has no figure
        log(f"Baton {tag}: {(n / (end - first)) if first else 0:,.0f} jobs/s{'' if ok else ' (INVALID: checks failed)'}; success {check['success']}/{n}, overlaps {check['overlaps']}, "
            f"re-claimed {check['reclaimed']}, turn p50/p99 {result['turn_p50_ms'] or 0:.2f}/{result['turn_p99_ms'] or 0:.2f} ms")
        return result

    def peer(self, name: str, *argv: str) -> dict:
        script = os.path.join(PEERS, f"{name}_bench.py")
        r = subprocess.run([sys.executable, script, argv[0], "--dsn", self.args.dsn, *argv[1:]],
                           capture_output=True, text=True)
        sys.stderr.write(r.stderr[-2000:] if r.returncode else "")
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            return {"error": f"{name} {argv[0]} printed no result (exit {r.returncode}): {r.stderr.strip()[-300:]}"}

    def peer_setup(self, name: str) -> Optional[str]:
        out = self.peer(name, "setup")
        return out.get("error") if isinstance(out, dict) else None

    def add(self, *a, **k) -> None:
        self.rows.append(Row(*a, **k))

    # ---------------------------------------------------------------- scenarios

    def throughput(self) -> None:
        a = self.args
        log(f"== throughput: {a.jobs} trivial jobs, {a.workers} worker processes x {a.concurrency}, {a.rounds} round(s) of "
            f"Baton, pgqueuer and pgbench claim 10 in turn")
        baton, pgq, ceiling10 = [], [], []
        pgq_error = self.peer_setup("pgqueuer")
        for r in range(a.rounds):
            b = self.run_baton("throughput", a.jobs, 1000, a.workers, a.concurrency)
            baton.append(b["jobs_per_s"] if b["valid"] else None)
            self.rss_load = max(self.rss_load, b["rss_mb"], key=lambda v: max((x or 0) for x in v) if v else 0)
            self.details.append(f"- Baton throughput, round {r + 1}: {b['jobs']} jobs, 1,000 configurations round-robin, {a.workers} x "
                                f"{a.concurrency}: {b['jobs_per_s'] or 0:,.0f} jobs/s; success {b['success']}/{b['expected']}, overlapping "
                                f"runs of one configuration {b['overlaps']}, re-claimed {b['reclaimed']}; {b['turns']} claiming turns, p50 "
                                f"{b['turn_p50_ms'] or 0:.2f} ms; peak RSS {b['rss_mb']} MB." + (f" Problems: {b['problems'][:3]}" if b["problems"] else ""))
            res = {"error": pgq_error} if pgq_error else self.peer("pgqueuer", "throughput", "--jobs", str(a.jobs), "--workers",
                                                                  str(a.workers), "--concurrency", str(a.concurrency))
            other = res.get("jobs_per_s") if not res.get("error") else None
            pgq.append(other)
            if other:
                self.peer_rss["pgqueuer"] = res.get("rss_mb")
                log(f"pgqueuer: {other:,.0f} jobs/s")
                self.details.append(f"- pgqueuer {res.get('version', '')} throughput, round {r + 1}: {res.get('jobs')} jobs, {a.workers} x "
                                    f"{a.concurrency}{' (' + res['concurrency_note'] + ')' if res.get('concurrency_note') else ''}: "
                                    f"{other:,.0f} jobs/s; completed {res.get('completed')}; peak RSS {res.get('rss_mb')} MB.")
            else:
                log(f"pgqueuer: not measured: {res.get('error')}")
                self.details.append(f"- pgqueuer, round {r + 1}: not measured: {res.get('error')}")
            ceiling10.append(self.pgbench(10, a.ceiling_rows_10))
        jps = median(baton)
        self.chart["throughput"]["Baton"] = jps
        pgq_median = median(pgq)
        self.chart["throughput"]["pgqueuer"] = pgq_median
        self.add_ratio("throughput, trivial jobs", f"jobs/s, {a.workers} workers x {a.concurrency}", baton, "pgqueuer", pgq, 2.0, "jobs/s")

        err = self.peer_setup("procrastinate")
        res = {"error": err} if err else self.peer("procrastinate", "throughput", "--jobs", str(a.procrastinate_jobs), "--workers",
                                                  str(a.workers), "--concurrency", str(a.concurrency))
        other = res.get("jobs_per_s") if not res.get("error") else None
        if other:
            self.peer_rss["procrastinate"] = res.get("rss_mb")
            log(f"procrastinate: {other:,.0f} jobs/s")
            self.details.append(f"- procrastinate {res.get('version', '')} throughput: {res.get('jobs')} jobs, {a.workers} x {a.concurrency}"
                                f"{' (' + res['concurrency_note'] + ')' if res.get('concurrency_note') else ''}: {other:,.0f} jobs/s; "
                                f"completed {res.get('completed')}; peak RSS {res.get('rss_mb')} MB.")
        else:
            self.details.append(f"- procrastinate: not measured: {res.get('error')}")
        self.chart["throughput"]["procrastinate"] = other
        ratio = jps / other if jps and other else None
        self.add("throughput, trivial jobs", f"jobs/s, {a.workers} workers x {a.concurrency}", jps, "procrastinate (1 round)", other,
                 ratio, ">= 5x", None if ratio is None else ratio >= 5, "jobs/s")

        self.chart["throughput"]["pgbench claim 1"] = self.pgbench(1, a.ceiling_rows_1)
        self.chart["throughput"]["pgbench claim 10"] = median(ceiling10)
        self.add_ratio("throughput, trivial jobs", "jobs/s vs raw claim+finish SQL", baton, "pgbench claim 10 + finish", ceiling10,
                       0.6, "jobs/s")

    def add_ratio(self, scenario: str, metric: str, baton: list, name: str, other: list, target: float, unit: str,
                  lower_is_better: bool = False) -> None:
        """A row from rounds run in turn: the medians, their ratio, and each round's ratio in the details."""
        b, o = median(baton), median(other)
        ratio = b / o if b and o else None
        per_round = [f"{x / y:.2f}x" if x and y else "n/a" for x, y in zip(baton, other)]
        if len(baton) > 1:
            self.details.append(f"- {scenario}, {metric} vs {name}: round by round {', '.join(per_round)}; the row gives the medians.")
        met = None if ratio is None else (ratio <= target if lower_is_better else ratio >= target)
        label = f"{name} ({len(baton)} rounds, medians)" if len(baton) > 1 else name
        self.add(scenario, metric, b, label, o, ratio, f"{'<=' if lower_is_better else '>='} {target:g}x", met, unit)

    def pgbench(self, batch: int, rows: int) -> Optional[float]:
        a = self.args
        script = os.path.join(ROOT, "bench", "sql", "claim.sql")
        for attempt in range(2):
            self.prepare(1000)
            self.insert_jobs(rows, 1000)
            self.settle()
            log(f"pgbench claim {batch}: {rows} jobs, -c 8 -j 2 -T {a.pgbench_seconds}")
            r = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", "8", "-j", "2", "-T", str(a.pgbench_seconds),
                                "-D", f"batch={batch}", "-f", script, a.dsn], capture_output=True, text=True)
            m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", r.stdout)
            if r.returncode != 0 or not m:
                self.details.append(f"- pgbench claim {batch}: failed: {(r.stderr or r.stdout).strip()[-300:]}")
                return None
            left = self.db.one("SELECT count(*) FROM jobs WHERE status IN ('created', 'waiting')")
            if left == 0 and attempt == 0:
                rows *= 2
                log(f"  the table drained; again with {rows} jobs")
                continue
            jps = float(m.group(1)) * batch
            log(f"pgbench claim {batch}: {jps:,.0f} jobs/s")
            self.details.append(f"- pgbench claim {batch} + finish per transaction (bench/sql/claim.sql, -c 8 -j 2 -T {a.pgbench_seconds}, "
                                f"{rows} jobs in the table): tps {float(m.group(1)):,.1f} x {batch} = {jps:,.0f} jobs/s.")
            return jps
        return None

    def latency(self) -> None:
        a = self.args
        p50s, p99s, q50s, q99s = [], [], [], []
        for r in range(a.rounds):
            p50, p99 = self.baton_latency(r)
            p50s.append(p50); p99s.append(p99)
            q50, q99 = self.pgqueuer_latency(r)
            q50s.append(q50); q99s.append(q99)
        self.chart["latency"]["Baton"] = {"p50": median(p50s), "p99": median(p99s)}
        self.chart["latency"]["pgqueuer"] = {"p50": median(q50s), "p99": median(q99s)}
        err = self.peer_setup("procrastinate")
        pres = {"error": err} if err else self.peer("procrastinate", "latency", "--samples", str(a.samples), "--workers", str(a.workers))
        if not pres.get("error"):
            self.chart["latency"]["procrastinate"] = {"p50": pres.get("p50_ms"), "p99": pres.get("p99_ms")}
            self.details.append(f"- procrastinate latency: p50 {pres.get('p50_ms'):.2f} ms, p99 {pres.get('p99_ms'):.2f} ms.")
        self.add_ratio("enqueue -> start latency, idle fleet", "p50 ms", p50s, "pgqueuer", q50s, 0.7, "ms", lower_is_better=True)
        self.add_ratio("enqueue -> start latency, idle fleet", "p99 ms", p99s, "pgqueuer", q99s, 1.0, "ms", lower_is_better=True)

    def baton_latency(self, round_index: int) -> tuple:
        a = self.args
        log(f"== latency: {a.samples} jobs one at a time, idle fleet of {a.workers} workers")
        self.prepare(1000)
        self.settle()
        fleet = Fleet(a.baton, a.dsn, a.workers, 4, "latency", a.tmp)
        lat = []
        try:
            time.sleep(2.0)  # start-up and LISTEN
            self.rss_idle = fleet.rss_mb("VmRSS")
            self.rss_idle_anon = fleet.rss_mb("RssAnon")
            for i in range(a.samples + WARMUP):
                t0 = time.time()
                job = self.db.one(f"""INSERT INTO jobs (project_id, component_id, config_id, executor, parameters)
                                      VALUES ('default', 'bench-noop', 'cfg-{i % 1000 + 1}', '{{"type": "noop"}}', '{{}}') RETURNING id""")
                deadline = time.time() + 10
                while True:
                    with fleet.lock:
                        started = fleet.starts.get(job)
                    if started is not None:
                        break
                    try:
                        fleet.start_events.get(timeout=max(0.001, deadline - time.time()))
                    except queue.Empty:
                        who = self.db.one("SELECT worker_id FROM jobs WHERE id = %s", (job,))
                        raise RuntimeError(f"job {job} did not start in a benchmark worker within 10 s (worker_id: {who})")
                if i >= WARMUP:
                    lat.append((started - t0) * 1000)
                time.sleep(random.uniform(0.005, 0.020))
            self.rss_idle_after = fleet.rss_mb("VmRSS")
        finally:
            fleet.stop()
        p50, p99 = pct(lat, 50), pct(lat, 99)
        with fleet.lock:
            claiming = [ms for ms, claimed in fleet.turns if claimed > 0]
            empty = [ms for ms, claimed in fleet.turns if claimed == 0]
        log(f"Baton latency: p50 {p50:.2f} ms, p99 {p99:.2f} ms; claiming turns p50 {pct(claiming, 50) or 0:.2f} ms, "
            f"empty turns {len(empty)} (p50 {pct(empty, 50) or 0:.2f} ms)")
        self.details.append(f"- Baton latency, round {round_index + 1}: {len(lat)} samples: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(lat):.2f} ms; "
                            f"worker RSS idle {self.rss_idle} MB, of which private (RssAnon) {self.rss_idle_anon} MB; the rest "
                            f"is pages of the binary and shared libraries, shared by every worker on the machine.")
        return p50, p99

    def pgqueuer_latency(self, round_index: int) -> tuple:
        a = self.args
        err = self.peer_setup("pgqueuer")
        res = {"error": err} if err else self.peer("pgqueuer", "latency", "--samples", str(a.samples), "--workers", str(a.workers))
        q50, q99 = (res.get("p50_ms"), res.get("p99_ms")) if not res.get("error") else (None, None)
        if q50 is not None:
            log(f"pgqueuer latency: p50 {q50:.2f} ms, p99 {q99:.2f} ms")
            self.details.append(f"- pgqueuer latency, round {round_index + 1}: {res.get('samples')} samples: p50 {q50:.2f} ms, "
                                f"p99 {q99:.2f} ms, max {res.get('max_ms')} ms.")
        else:
            self.details.append(f"- pgqueuer latency: not measured: {res.get('error')}")
        return q50, q99

    def hotkeys(self) -> None:
        a = self.args
        n = a.hot_configs * 10
        log(f"== hot keys: {a.hot_configs} configurations x 10 jobs, {a.workers} workers x {a.concurrency}")
        hot = self.run_baton("hotkeys", n, a.hot_configs, a.workers, a.concurrency, grouped=10)
        free = self.run_baton("hotkeys-free", n, n, a.workers, a.concurrency)
        ratio = hot["jobs_per_s"] / free["jobs_per_s"] if hot["jobs_per_s"] and free["jobs_per_s"] else None
        met = None if ratio is None else (ratio >= 0.5 and hot["overlaps"] == 0 and hot["valid"])
        self.details.append(f"- Hot keys: {n} jobs, 10 in a row per configuration over {a.hot_configs}: {hot['jobs_per_s'] or 0:,.0f} jobs/s, "
                            f"overlaps {hot['overlaps']}, success {hot['success']}/{n}; the same {n} jobs each on its own configuration "
                            f"(nothing to serialize): {free['jobs_per_s'] or 0:,.0f} jobs/s.")
        self.add("hot keys: 1,000 configurations x 10 jobs", f"jobs/s (overlaps: {hot['overlaps']})", hot["jobs_per_s"],
                 "same jobs, no serialization", free["jobs_per_s"], ratio, ">= 0.5x, 0 overlaps", met, "jobs/s")

    def claim_timings(self, count: int) -> list[float]:
        """Client-side time of claim_jobs(limit 10) in a transaction that is rolled back."""
        out = []
        with psycopg.connect(self.args.dsn) as c:
            for i in range(count + WARMUP):
                t0 = time.perf_counter()
                c.execute("SELECT count(*) FROM claim_jobs('bench-history', 10, NULL, 60, false)").fetchone()
                c.rollback()
                if i >= WARMUP:
                    out.append((time.perf_counter() - t0) * 1000)
        return out

    def history(self) -> None:
        a = self.args
        log(f"== claim cost against history: {a.history:,} finished jobs vs none")
        def queue_jobs():
            self.db.q("DELETE FROM jobs WHERE status IN ('created', 'waiting', 'processing')")
            self.insert_jobs(2000, 1000)
            self.settle()
        self.prepare(1000)
        queue_jobs()
        empty1 = pct(self.claim_timings(a.claims), 50)
        log(f"  empty table: claim p50 {empty1:.3f} ms; writing {a.history:,} finished jobs")
        t0 = time.time()
        for first in range(1, a.history + 1, 100000):
            last = min(a.history, first + 99999)
            self.db.q(f"""INSERT INTO jobs (project_id, component_id, config_id, executor, parameters, status, created_time,
                                             start_time, end_time, duration_seconds, attempt, worker_id, result)
                          SELECT 'default', 'bench-noop', 'cfg-' || ((g - 1) % 1000 + 1), '{{"type": "noop"}}', '{{}}', 'success',
                                 now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 0.001, 1, 'history',
                                 '{{"message": "ok"}}'
                          FROM generate_series({first}, {last}) g""")
        log(f"  written in {time.time() - t0:.0f} s")
        queue_jobs()
        full = pct(self.claim_timings(a.claims), 50)
        log(f"  {a.history:,} finished jobs: claim p50 {full:.3f} ms")
        self.prepare(1000)
        queue_jobs()
        empty2 = pct(self.claim_timings(a.claims), 50)
        base = (empty1 + empty2) / 2
        ratio = full / base
        self.details.append(f"- Claim against history: claim_jobs(limit 10) in a rolled-back transaction, {a.claims} calls each, "
                            f"2,000 queued jobs: p50 {empty1:.3f} ms (empty), {full:.3f} ms ({a.history:,} finished jobs), "
                            f"{empty2:.3f} ms (empty again); baseline = mean of the two empty runs.")
        self.add(f"claim cost with {a.history:,} finished jobs", "claim p50 ms", full, "empty table", base, ratio, "<= 1.2x",
                 ratio <= 1.2, "ms")

    def handoff(self) -> None:
        a = self.args
        phases, tasks, runs = a.handoff_phases, a.handoff_tasks, a.handoff_runs
        log(f"== phase hand-off: {runs} runs of {phases} phases x {tasks} tasks")
        self.prepare(1)
        self.db.q("TRUNCATE jobs CASCADE")
        lines = ["- {kind: component, id: bench-noop, executor: {type: noop}}"]
        lines += [f"- {{kind: configuration, component: bench-noop, id: p{p}t{t}}}" for p in range(1, phases + 1) for t in range(1, tasks + 1)]
        lines += ["- kind: orchestration", "  id: handoff",
                  "  phases: [" + ", ".join(f"{{id: {p}, name: P{p}}}" for p in range(1, phases + 1)) + "]", "  tasks:"]
        lines += [f"    - {{id: p{p}t{t}, name: p{p}t{t}, phase: {p}, task: {{componentId: bench-noop, configId: p{p}t{t}}}}}"
                  for p in range(1, phases + 1) for t in range(1, tasks + 1)]
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("\n".join(lines) + "\n")
            spec = f.name
        self.baton_cmd("apply", "-f", spec)
        os.unlink(spec)
        fleet = Fleet(a.baton, a.dsn, a.workers, 16, "handoff", a.tmp)
        coord_log = open(os.path.join(a.tmp, "handoff-coordinator.log"), "w")
        coord = subprocess.Popen([a.baton, "coordinator", "--database-url", a.dsn], stdout=coord_log, stderr=coord_log)
        try:
            for r in range(runs):
                self.baton_cmd("run", "handoff", "--wait")
                log(f"  run {r + 1} of {runs} done")
        finally:
            coord.send_signal(signal.SIGTERM)
            fleet.stop()
            try:
                coord.wait(timeout=20)
            except subprocess.TimeoutExpired:
                coord.kill()
        n, p50, p99, mx = self.db.q("""
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
        bad = self.db.one("SELECT count(*) FROM jobs WHERE status <> 'success'")
        log(f"hand-off: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {n}")
        self.details.append(f"- Hand-off: first start in phase N+1 - last end in phase N, from the jobs table: {n} hand-offs, "
                            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {mx:.2f} ms; jobs not success: {bad}. "
                            f"{a.workers} workers x 16, 1 coordinator.")
        self.add(f"phase hand-off, {phases} x {tasks} orchestration", "p50 ms", p50, "target", 10.0, p50 / 10.0, "<= 10 ms",
                 p50 <= 10 and bad == 0, "ms")

    def fleet_run(self, tag: str, mode: str, workers: int, n: int, seconds: float) -> dict:
        """One fleet run: n jobs over the fleet's configurations, `workers` x concurrency, probed (see Probe)."""
        a = self.args
        conc = a.fleet_concurrency
        if mode == "paced":
            component, executor, params = "bench-sleep", '{"type": "sleep"}', json.dumps({"seconds": round(seconds, 4)})
        else:
            component, executor, params, seconds = "bench-noop", '{"type": "noop"}', "{}", 0.0
        self.prepare(a.fleet_configs, component, executor)
        log(f"Baton {tag}: inserting {n} {'sleep ' + format(seconds, 'g') + ' s' if mode == 'paced' else 'no-op'} jobs over "
            f"{a.fleet_configs} configurations")
        self.insert_jobs(n, a.fleet_configs, 0, component, executor, params)
        self.settle()
        log(f"Baton {tag}: {workers} workers x {conc}, --max-connections {a.fleet_max_connections}")
        probe = Probe(a.dsn, a.server_log)
        probe.begin()
        fleet = Fleet(a.baton, a.dsn, workers, conc, tag, a.tmp, max_connections=a.fleet_max_connections)
        expected = n * seconds / (workers * conc)
        try:
            end = self.drain(fleet, n, a.timeout + 2 * expected)
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
        check = self.verify(n, tag)
        problems = stopped + fleet.log_problems()
        conn_errors = [p for p in problems if re.search(r"connect|too many clients|pool", p, re.I)]
        statuses = dict(self.db.q("SELECT status::text, count(*) FROM jobs GROUP BY 1"))
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
        r["valid"] = check["success"] == n and check["overlaps"] == 0 and check["reclaimed"] == 0
        turn = r.get("statements", {}).get("worker_turn", {})
        log(f"Baton {tag}: {r['jobs_per_s'] or 0:,.0f} jobs/s, claim p50/p99 {r['claim_p50_ms'] or 0:.2f}/{r['claim_p99_ms'] or 0:.2f} ms "
            f"(server: mean {turn.get('mean_ms', 0):.2f} sd {turn.get('stddev_ms', 0):.2f} p99 {r.get('turn_exec_p99_ms') or 0:.2f}), "
            f"peak connections {r['peak_connections']}, "
            f"errors {errors}, machine busy {r['machine_busy']:.0%}, run queue {r.get('run_queue_mean', 0):.1f}, "
            f"other processes {r.get('other_cpu_s') or 0:.1f} CPU s")
        return r

    def fleet(self) -> None:
        """The fleet test (issue 8): a big fleet and a small one against one server, claim p99 of each, in one run."""
        a = self.args
        big_w, small_w, conc = a.fleet_workers, a.workers, a.fleet_concurrency
        max_conn = self.db.one("SHOW max_connections")
        reserved = self.db.one("SHOW superuser_reserved_connections")
        budget = big_w * (a.fleet_max_connections or 4)
        if budget + 10 > int(max_conn) - int(reserved):
            raise RuntimeError(f"{big_w} workers x --max-connections {a.fleet_max_connections} = {budget} connections do not fit "
                               f"in max_connections {max_conn} (less {reserved} reserved and 10 for the benchmark)")
        small_seconds = a.fleet_seconds * small_w / big_w  # the same job rate from both fleets: slots / job duration
        modes = [m for m in a.fleet_modes.split(",") if m]
        log(f"== fleet: {big_w} worker processes vs {small_w}, concurrency {conc} each, {a.fleet_jobs} jobs over "
            f"{a.fleet_configs} configurations per run; modes {modes}; pool budget {a.fleet_max_connections} a worker "
            f"(cap {budget} of max_connections {max_conn})")
        started = time.time()
        runs = []
        for mode in modes:
            for k in range(a.fleet_rounds):  # small, big, small, big...: drift of a shared machine hits both alike
                suffix = f"-r{k + 1}" if a.fleet_rounds > 1 else ""
                runs.append({**self.fleet_run(f"fleet-{mode}-{small_w}{suffix}", mode, small_w, a.fleet_jobs, small_seconds), "round": k + 1})
                runs.append({**self.fleet_run(f"fleet-{mode}-{big_w}{suffix}", mode, big_w, a.fleet_jobs, a.fleet_seconds), "round": k + 1})
        self.fleet_rows(runs, time.time() - started)

    def fleet_rows(self, runs: list[dict], seconds: float, stamp: Optional[str] = None) -> None:
        """The fleet's rows, details and what limits them, from its runs; writes fleet.md and fleet.json."""
        modes = list(dict.fromkeys(r["mode"] for r in runs))
        small_w = min(r["workers"] for r in runs)
        big_w = max(r["workers"] for r in runs)
        conc = runs[0]["concurrency"]
        jobs, configs = runs[0]["jobs"], runs[0]["configurations"]
        rows = []
        for mode in modes:
            smalls = [r for r in runs if r["mode"] == mode and r["workers"] == small_w]
            bigs = [r for r in runs if r["mode"] == mode and r["workers"] == big_w]
            pairs = list(zip(smalls, bigs))
            ratios = [b["claim_p99_ms"] / s_["claim_p99_ms"] if b["claim_p99_ms"] and s_["claim_p99_ms"] else None for s_, b in pairs]
            small_p99, big_p99 = median([r["claim_p99_ms"] for r in smalls]), median([r["claim_p99_ms"] for r in bigs])
            ratio = big_p99 / small_p99 if big_p99 and small_p99 else None
            # The evidence comes from the round whose ratio is the median one.
            middle = sorted((x for x in zip(ratios, pairs) if x[0] is not None), key=lambda x: x[0])
            small, big = middle[len(middle) // 2][1] if middle else pairs[0]
            conn_errors = sum(b["connection_errors"] for b in bigs)
            errors = sum(b["errors"] for b in bigs)
            met = None if ratio is None else (ratio <= 3 and conn_errors == 0 and errors == 0 and all(b["valid"] for b in bigs))
            if mode == "paced":
                scenario = f"{big_w} worker processes on one server, {big['job_seconds']:g} s jobs (same job rate)"
                other = f"{small_w} workers, {small['job_seconds'] * 1000:g} ms jobs"
            else:
                scenario = f"{big_w} worker processes on one server, no-op jobs (CPU-saturated)"
                other = f"{small_w} workers, no-op jobs"
            if len(pairs) > 1:
                other += f" ({len(pairs)} rounds, medians)"
            row = Row(scenario, f"claim p99 ms ({conn_errors} connection errors, {errors} errors)",
                      big_p99, other, small_p99, ratio, "<= 3x, no errors", met, "ms")
            why = FLEET_WHY[mode].format(extra=big_w - small_w, conns=2 * (big_w - small_w), big=big_w, big2=2 * big_w, small2=2 * small_w)
            self.limits[scenario] = (why + " Measured" + (f" (round {big.get('round')}, the median ratio)" if len(pairs) > 1 else "")
                                     + ": " + fleet_evidence(small, big) + " Every figure: fleet.md.")
            rows.append(row)
            self.rows.append(row)
            self.details.append(
                f"- Fleet, {mode}: claim p99 {_f(small_p99)} ms with {small_w} workers, {_f(big_p99)} ms with {big_w} (x {conc} each, "
                f"{jobs} jobs over {configs} configurations a run" + (f"; medians of {len(pairs)} rounds, round by round "
                + ", ".join(f"{_f(s_['claim_p99_ms'])} vs {_f(b['claim_p99_ms'])} ms ({_f(x)}x)" for (s_, b), x in zip(pairs, ratios))
                if len(pairs) > 1 else "") + f"); throughput {', '.join(_f(r['jobs_per_s'], 0) for r in smalls)} vs "
                f"{', '.join(_f(r['jobs_per_s'], 0) for r in bigs)} jobs/s; peak connections {max(r['peak_connections'] for r in smalls)} vs "
                f"{max(r['peak_connections'] for r in bigs)}; errors {sum(r['errors'] for r in smalls)} vs {errors}. "
                + (f"Rounds over 3x: {sum(x > 3 for x in ratios if x)} of {len(ratios)}. " if len(pairs) > 1 else "")
                + "Every figure: bench/results/fleet.md.")
        fleet_report(self, runs, rows, seconds, stamp)

    def rss(self) -> None:
        idle = max((v for v in self.rss_idle if v), default=None)
        load = max((v for v in self.rss_load if v), default=None)
        self.add("worker RSS idle", "MB (max over workers)", idle, "target", 30.0, idle / 30 if idle else None, "<= 30 MB",
                 None if idle is None else idle <= 30, "MB")
        self.add("worker RSS under load", "peak MB (max over workers)", load, "target", 60.0, load / 60 if load else None,
                 "<= 60 MB", None if load is None else load <= 60, "MB")
        for name, values in self.peer_rss.items():
            self.details.append(f"- {name} worker peak RSS under load: {values} MB.")


# ------------------------------------------------------------------------------------ report

LIMITS = {
    "throughput, trivial jobs": "The run is CPU-bound: both cores are shared by PostgreSQL and the four worker processes. "
        "Per job PostgreSQL spends about 150 us and the workers about 75 us of CPU (from /proc and pg_stat_statements at "
        "concurrency 32). A claim does more than the raw SQL and than pgqueuer: for each job an advisory try-lock and a "
        "running-check of its configuration (one run per configuration at a time) and a project slot (the project's "
        "limit), and the jobs table carries the indexes the CLI, API and coordinator read. pgbench's client costs almost "
        "no CPU; the Swift workers' 75 us a job (a task per job, row decoding, NIO and task-executor hand-offs) come out "
        "of the same two cores.",
    "enqueue -> start latency, idle fleet": "The worker's claiming turn is about half of it (see 'claiming turns' in the "
        "log): PostgreSQL runs claim_jobs, a PL/pgSQL function of about 12 statements (candidates, configuration "
        "try-lock and check, project slot try-lock and check, the UPDATE), in about 0.3 ms; the rest of the turn is the "
        "round trip and the hand-offs between NIO's event loop and Swift's task executor on an idle CPU. The INSERT's "
        "commit and the NOTIFY are paid by pgqueuer too. Since sql/007 one worker wakes per new job, so the fleet size no "
        "longer adds to it (all four used to race: 3.1 ms).",
    "claim cost with 1,000,000 finished jobs": "Profiled (pg_stat_statements, 300 claims of 10): every read of the "
        "claim stays the same, as it uses partial indexes that history does not grow (claimable, running, queue heads, "
        "slots); the UPDATE that marks the jobs processing takes 0.34 ms instead of 0.24, because a status change "
        "inserts into every index of the row, and the full ones (primary key, jobs_by_configuration, "
        "jobs_by_created_time) are a level deeper with a million rows. The API and retention read those indexes. "
        "Moving finished jobs out of the hot table (an archive table or partitions) would remove the difference; "
        "retention pruning keeps the table small in practice.",
    "worker RSS idle": "Of it, about 4 MB is the worker's own (RssAnon); the rest are file pages of the binary (which "
        "links postgres-nio with two copies of BoringSSL, NIO and Hummingbird) and of Foundation (ICU data) and "
        "FoundationNetworking with libcurl (the http executor uses URLSession). File pages are shared by every worker "
        "on the machine. Linking the Swift runtime statically saved 4 MB in a trial (33.5 MB); not adopted.",
    "worker RSS under load": "At concurrency 32 the peak is just over 60 MB, about 34 MB of it the shared file pages "
        "above; the rest is the jobs in flight and connection buffers. MALLOC_ARENA_MAX=2 did not lower it in a trial.",
}


def fmt(v: Optional[float], unit: str) -> str:
    if v is None:
        return "n/a"
    if unit == "jobs/s":
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def header_lines(bench: "Bench", scenarios_line: str) -> list[str]:
    a = bench.args
    db = bench.db
    settings = dict(db.q("""SELECT name, setting FROM pg_settings WHERE name IN
        ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections', 'wal_sync_method', 'commit_delay',
         'shared_preload_libraries')"""))
    version = db.one("SHOW server_version")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0) / 1024 / 1024
    return ["| | |", "|---|---|",
            f"| command | `{a.command}` |",
            f"| machine | {os.cpu_count()} CPUs ({cpu}), {mem:.1f} GiB RAM, Linux {platform.release()} |",
            f"| PostgreSQL | {version} on 127.0.0.1: " + ", ".join(f"{k}={v}" for k, v in sorted(settings.items())) + " |",
            (f"| baton | `{os.path.relpath(a.baton, ROOT)}` ({a.build}), built from commit {os.environ['BATON_COMMIT']} (BATON_COMMIT) |"
             if os.environ.get("BATON_COMMIT") else
             f"| baton | `{os.path.relpath(a.baton, ROOT)}` ({a.build}), commit {commit}{' (uncommitted changes)' if dirty else ''} |"),
            f"| scenarios | {scenarios_line} |"]


def report(bench: Bench, started: float, scenarios: list[str]) -> None:
    a = bench.args
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    out = [f"# Baton benchmark, {stamp}", ""] + header_lines(bench, f"{', '.join(scenarios)}; {time.time() - started:.0f} s in all") + [
           "", "Every figure was measured in this run, on this server, one system after the other. Ratios are Baton / the other.", "",
           "| scenario | measure | Baton | compared with | its figure | ratio | target | met |",
           "|---|---|---:|---|---:|---:|---|---|"]
    for r in bench.rows:
        met = "n/a" if r.met is None else ("met" if r.met else "**not met**")
        out.append(f"| {r.scenario} | {r.metric} | {fmt(r.baton, r.unit)} | {r.other_name} | {fmt(r.other, r.unit)} | "
                   f"{'n/a' if r.ratio is None else f'{r.ratio:.2f}x'} | {r.target} | {met} |")
    missed = sorted({r.scenario for r in bench.rows if r.met is False})
    if missed:
        out += ["", "## What limits the rows not met", ""]
        for s in missed:
            why = bench.limits.get(s) or LIMITS.get(s)
            out.append(f"- **{s}**: {why or 'see bench/results/analysis.md.'}")
    out += ["", "## Details", ""] + bench.details
    out += ["", "Definitions: bench/README.md. Peer harness: bench/peers/README.md. Chart: latest.png."]
    os.makedirs(a.out, exist_ok=True)
    md = os.path.join(a.out, "latest.md")
    with open(md, "w") as f:
        f.write("\n".join(out) + "\n")
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump({"stamp": stamp, "rows": [r.__dict__ for r in bench.rows], "chart": bench.chart}, f, indent=1)
    chart_in = os.path.join(a.tmp, "chart.json")
    with open(chart_in, "w") as f:
        json.dump({"title": f"Baton vs peers, same PostgreSQL, {stamp}", **bench.chart}, f)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "chart.py"), chart_in, os.path.join(a.out, "latest.png")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"chart not drawn: {r.stderr.strip()[-300:]}")
    print("\n".join(out[out.index("| scenario | measure | Baton | compared with | its figure | ratio | target | met |"):]
                    [: len(bench.rows) + 2]))
    log(f"report: {os.path.relpath(md, ROOT)}")


def _f(v, digits: int = 2, unit: str = "") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.{digits}f}{unit}"
    return f"{v:,}{unit}"


def fleet_report(bench: "Bench", runs: list[dict], rows: list[Row], seconds: float, stamp: Optional[str] = None) -> None:
    """bench/results/fleet.md and fleet.json: every figure of the fleet runs and the evidence of what limits them."""
    a = bench.args
    stamp = stamp or time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    bench.fleet_stamp = stamp
    out = [f"# Fleet test (issue 8), {stamp}", ""] + header_lines(bench, f"fleet; {seconds:.0f} s for the fleet runs") + [
        "", "Every figure was measured in this run, on this server, one fleet after the other. Definitions: "
        "bench/README.md (fleet). Ratios are the big fleet / the small one.", "",
        "| scenario | measure | big fleet | compared with | its figure | ratio | target | met |", "|---|---|---:|---|---:|---:|---|---|"]
    for r in rows:
        met = "n/a" if r.met is None else ("met" if r.met else "**not met**")
        out.append(f"| {r.scenario} | {r.metric} | {fmt(r.baton, r.unit)} | {r.other_name} | {fmt(r.other, r.unit)} | "
                   f"{'n/a' if r.ratio is None else f'{r.ratio:.2f}x'} | {r.target} | {met} |")
    out += [""] + [d for d in bench.details if d.startswith("- Fleet")]
    out += ["", "## The runs", "",
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
    out += ["", "## Where the time goes", "",
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
    out += ["", "## What limits the big fleet's tail", ""]
    for r in rows:
        out.append(f"- **{r.scenario}** ({'met' if r.met else 'not met' if r.met is False else 'n/a'}, {_f(r.ratio)}x): "
                   + bench.limits.get(r.scenario, "").replace(" Every figure: fleet.md.", ""))
    out += ["", f"Command: `{a.command}`. Worker logs: bench/results/tmp/fleet-*.log."]
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "fleet.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    with open(os.path.join(a.out, "fleet.json"), "w") as f:
        json.dump({"stamp": stamp, "command": a.command, "seconds": seconds, "rows": [r.__dict__ for r in rows], "runs": runs}, f, indent=1)
    log(f"fleet report: {os.path.relpath(os.path.join(a.out, 'fleet.md'), ROOT)}")


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


FLEET_ROW = re.compile(r"^(\| |- \*\*)\d+ worker processes on one server")


def merge_fleet_rows(bench: "Bench") -> None:
    """After `bench/run fleet` alone: the fleet's rows, limits and details replace the fleet's in latest.md and
    latest.json (marked with this run's time), so that the summary stays whole; the other rows keep their run."""
    a = bench.args
    md, js = os.path.join(a.out, "latest.md"), os.path.join(a.out, "latest.json")
    if not os.path.exists(md):
        log("no latest.md to update: the fleet's figures are in fleet.md")
        return
    stamp = (bench.fleet_stamp or time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))[:16] + " UTC"
    for r in bench.rows:
        r.other_name = f"{r.other_name} (bench/run fleet, {stamp}: fleet.md)"
    new_rows = [f"| {r.scenario} | {r.metric} | {fmt(r.baton, r.unit)} | {r.other_name} | {fmt(r.other, r.unit)} | "
                f"{'n/a' if r.ratio is None else f'{r.ratio:.2f}x'} | {r.target} | "
                f"{'n/a' if r.met is None else ('met' if r.met else '**not met**')} |" for r in bench.rows]
    new_limits = []
    for r in bench.rows:
        if r.met is False:
            why = bench.limits.get(r.scenario, "see fleet.md.")
            new_limits.append(f"- **{r.scenario}**: {why}")
    lines = open(md).read().rstrip("\n").split("\n")
    out, placed_rows, placed_limits, in_limits = [], False, False, False
    for i, line in enumerate(lines):
        if line.startswith("## "):
            if in_limits and not placed_limits:
                out[-1:-1] = new_limits  # before the blank line that ends the section
                placed_limits = True
            in_limits = line.startswith("## What limits")
        if FLEET_ROW.match(line) or line.startswith("- Fleet"):
            if line.startswith("| ") and not placed_rows:
                out += new_rows
                placed_rows = True
            continue
        if line.startswith("Definitions:"):
            if out and out[-1] == "":
                out.pop()
            out += bench.details + [""]
        out.append(line)
    if not placed_rows:
        last = max(i for i, l in enumerate(out) if l.startswith("| ") and " | " in l)
        out[last + 1:last + 1] = new_rows
    if new_limits and not placed_limits:
        at = out.index("## Details") if "## Details" in out else len(out)
        out[at:at] = ["## What limits the rows not met", ""] + new_limits + [""]
    with open(md, "w") as f:
        f.write("\n".join(out) + "\n")
    if os.path.exists(js):
        data = json.load(open(js))
        old_rows = data.get("rows", [])
        at = next((i for i, r in enumerate(old_rows) if FLEET_ROW.match("| " + r.get("scenario", ""))), len(old_rows))
        kept = [r for r in old_rows if not FLEET_ROW.match("| " + r.get("scenario", ""))]
        data["rows"] = kept[:at] + [r.__dict__ for r in bench.rows] + kept[at:]
        with open(js, "w") as f:
            json.dump(data, f, indent=1)
    log(f"updated the fleet's rows in {os.path.relpath(md, ROOT)}")


SCENARIOS = ["throughput", "latency", "hotkeys", "history", "handoff", "fleet"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    p.add_argument("--dsn", required=True)
    p.add_argument("--baton", required=True)
    p.add_argument("--build", default="release build")
    p.add_argument("--command", default="bench/run")
    p.add_argument("--smoke", action="store_true", help="small sizes: checks that every scenario works, in seconds")
    p.add_argument("--jobs", type=int, default=20000)
    p.add_argument("--procrastinate-jobs", type=int, default=5000)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3, help="throughput and latency: rounds of Baton and pgqueuer in turn (medians)")
    p.add_argument("--hot-configs", type=int, default=1000)
    p.add_argument("--history", type=int, default=1_000_000)
    p.add_argument("--claims", type=int, default=300)
    p.add_argument("--handoff-runs", type=int, default=5)
    p.add_argument("--handoff-phases", type=int, default=10)
    p.add_argument("--handoff-tasks", type=int, default=20)
    p.add_argument("--fleet-workers", type=int, default=64, help="fleet: worker processes of the big fleet (the small one has --workers)")
    p.add_argument("--fleet-jobs", type=int, default=50000, help="fleet: jobs per run")
    p.add_argument("--fleet-configs", type=int, default=500, help="fleet: configurations the jobs go round-robin over")
    p.add_argument("--fleet-concurrency", type=int, default=4, help="fleet: --concurrency of every worker")
    p.add_argument("--fleet-seconds", type=float, default=1.0,
                   help="fleet, paced mode: job duration in the big fleet (sleep executor); the small fleet's jobs are shorter "
                        "by the ratio of the fleets' sizes, so that both can run the same jobs per second")
    p.add_argument("--fleet-rounds", type=int, default=3, help="fleet: rounds of small then big fleet per mode (medians)")
    p.add_argument("--fleet-modes", default="paced,noop", help="fleet: paced (sleep jobs, same job rate), noop (CPU-saturated), or both")
    p.add_argument("--fleet-max-connections", type=int, default=3,
                   help="fleet: --max-connections of every worker (its pool, which also serves its LISTEN connection)")
    p.add_argument("--server-log", help="the server's log file, to count the FATAL and ERROR lines of each fleet run")
    p.add_argument("--fleet-report-from", metavar="FLEET_JSON",
                   help="write fleet.md (and the fleet's rows in latest.md) again from a fleet.json, measuring nothing")
    p.add_argument("--pgbench-seconds", type=int, default=10)
    p.add_argument("--ceiling-rows-1", type=int, default=130000)
    p.add_argument("--ceiling-rows-10", type=int, default=410000)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--out", default=RESULTS)
    a = p.parse_args()
    if a.smoke:
        a.jobs, a.procrastinate_jobs, a.samples, a.hot_configs, a.rounds = 2000, 500, 30, 100, 1
        a.history, a.claims, a.handoff_runs, a.handoff_phases, a.handoff_tasks = 20000, 50, 1, 3, 5
        a.fleet_workers, a.fleet_jobs, a.pgbench_seconds, a.ceiling_rows_1, a.ceiling_rows_10 = 8, 400, 2, 20000, 60000
        a.fleet_configs, a.fleet_seconds, a.fleet_rounds = 50, 0.2, 1
        a.out = os.path.join(RESULTS, "tmp")
    a.tmp = os.path.join(RESULTS, "tmp")
    os.makedirs(a.tmp, exist_ok=True)
    chosen = a.scenarios or SCENARIOS
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {unknown}: choose from {SCENARIOS}")
    started = time.time()
    bench = Bench(a, DB(a.dsn))
    if a.fleet_report_from:
        saved = json.load(open(a.fleet_report_from))
        a.command = saved.get("command", a.command)
        bench.fleet_rows(saved["runs"], saved["seconds"], saved["stamp"])
        merge_fleet_rows(bench)
        return
    for s in SCENARIOS:
        if s in chosen:
            getattr(bench, s)()
    if "throughput" in chosen or "latency" in chosen:
        bench.rss()
    if chosen == ["fleet"]:
        merge_fleet_rows(bench)  # fleet.md has every figure; latest.md keeps the other rows of its run
    else:
        report(bench, started, chosen)


if __name__ == "__main__":
    main()
