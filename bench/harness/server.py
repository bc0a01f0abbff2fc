"""The PostgreSQL server under the benchmark: where it runs, its settings, its CPU, its log, and the
fleet probe.

bench/run starts the server (`baton db up --data-dir bench/.pg`, durable settings checked,
pg_stat_statements loaded) and runs `baton migrate`; this module reads it. The /proc figures
(the server's CPU) need the server on this machine: the postmaster is found as the parent of the
benchmark's own backend. With BENCH_DATABASE_URL pointing elsewhere they are None.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Optional

import psycopg

from . import procs
from .stats import pct


class Server:
    def __init__(self, dsn: str, log_path: Optional[str]):
        self.dsn = dsn
        self.log_path = log_path
        self.postmaster: Optional[int] = None
        with psycopg.connect(dsn, autocommit=True) as c:
            pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
            ppid = procs.parent(pid)
            try:
                if ppid and open(f"/proc/{ppid}/comm").read().strip() == "postgres":
                    self.postmaster = ppid
            except OSError:
                pass
            self.version = c.execute("SHOW server_version").fetchone()[0]
            self.settings = dict(c.execute("""SELECT name, setting FROM pg_settings WHERE name IN
                ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections', 'wal_sync_method',
                 'commit_delay', 'shared_preload_libraries', 'autovacuum', 'idle_in_transaction_session_timeout')""").fetchall())

    def cpu(self) -> Optional[float]:
        """CPU seconds of the whole server so far (procs.server_cpu), or None when it is not on this machine."""
        return procs.server_cpu(self.postmaster) if self.postmaster else None

    def log_offset(self) -> Optional[int]:
        return os.path.getsize(self.log_path) if self.log_path and os.path.exists(self.log_path) else None

    def log_since(self, offset: Optional[int]) -> list[str]:
        if offset is None or not self.log_path:
            return []
        with open(self.log_path, errors="replace") as f:
            f.seek(offset)
            return f.readlines()


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

    def __init__(self, server: Server):
        self.dsn = server.dsn
        self.server = server
        self.server_log = server.log_path
        self.stop_event = threading.Event()
        self.samples = 0
        self.peak_connections = 0
        self.waits: dict[str, int] = {}
        self.runq: list[int] = []
        self.notifications: dict[str, int] = {}
        self.threads: list[threading.Thread] = []
        self.db = psycopg.connect(self.dsn, autocommit=True)
        self.postmaster = server.postmaster
        try:
            self.db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            self.db.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
            self.pgss = True
        except psycopg.Error:
            self.pgss = False

    def _server_cpu(self) -> dict[int, tuple[float, float]]:
        if self.postmaster is None:
            return {}
        return {p: v for p in [self.postmaster] + procs.children(self.postmaster) if (v := procs.proc_cpu(p))}

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
        self.log_offset = self.server.log_offset()
        self.wal0 = self._wal()
        self.server0 = self._server_cpu()
        self.total0 = self.server.cpu()
        self.machine0 = procs.machine_cpu()
        self.seen = {p: (pp, cpu, cpu) for p, (pp, cpu) in procs.all_cpu().items()}  # pid: (parent, CPU at first sight, CPU last seen)
        self.me0 = procs.proc_cpu(os.getpid())
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
                                          WHEN query LIKE '%%live' || '_workers()%%' THEN 'live_workers'
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
        for p, (pp, cpu) in procs.all_cpu().items():
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
        busy1, total1, irq1 = procs.machine_cpu()
        server1 = self._server_cpu()
        total1_server = self.server.cpu()
        workers = [v for p in worker_pids if (v := procs.proc_cpu(p))]
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
        out["machine_busy_s"] = (busy1 - self.machine0[0]) / procs.TICK
        out["interrupts_cpu_s"] = (irq1 - self.machine0[2]) / procs.TICK
        me = procs.proc_cpu(os.getpid())
        out["bench_cpu_s"] = me[0] - self.me0[0] if me and self.me0 else None
        if server1:
            # The server's CPU: the postmaster's own, its reaped children's (backends that ended) and its live ones'.
            out["server_cpu_s"] = total1_server - self.total0 if total1_server is not None and self.total0 is not None else None
            out["server_runq_wait_s"] = sum(v[1] - self.server0.get(p, (0, 0))[1] for p, v in server1.items())
        if workers:
            out["workers_cpu_s"] = sum(v[0] for v in workers)
            out["workers_runq_wait_s"] = sum(v[1] for v in workers)
        if server1 and workers and out["bench_cpu_s"] is not None:
            # Every process seen during the run (sampled every 0.5 s): everyone else's (other people's builds and tests
            # on a shared machine, kernel threads).
            self._scan()
            used = {p: (pp, last - first) for p, (pp, first, last) in self.seen.items()}
            mine = set(worker_pids) | {os.getpid()}
            out["other_cpu_s"] = sum(c for p, (pp, c) in used.items()
                                     if p not in mine and p != self.postmaster and pp != self.postmaster)
            # What no process seen accounts for: processes that lived less than 0.5 s.
            out["unattributed_cpu_s"] = max(0.0, out["machine_busy_s"] - (out["server_cpu_s"] or 0) - out["workers_cpu_s"]
                                            - out["bench_cpu_s"] - out["other_cpu_s"] - out["interrupts_cpu_s"])
        out["cpu_capacity_s"] = seconds * cpus
        wal1 = self._wal()
        if self.wal0 and wal1:
            out["wal"] = {k: wal1[k] - self.wal0[k] for k in wal1}
        if self.pgss:
            rows = self.db.execute("""
                SELECT CASE WHEN query LIKE '%%worker' || '_turn(%%' THEN 'worker_turn'
                            WHEN query LIKE '%%live' || '_workers()%%' THEN 'live_workers'
                            WHEN query LIKE '%%register' || '_worker(%%' THEN 'register_worker'
                            WHEN query LIKE '%%renew' || '_leases(%%' THEN 'renew_leases'
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
            for l in self.server.log_since(self.log_offset):
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
