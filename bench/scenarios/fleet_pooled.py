"""fleet, mode `pooled` (issue 17): 500 worker processes through PgBouncer in transaction mode, beside
16 workers connected directly, in the same run. Part of the `fleet` scenario (`bench/run fleet`);
see bench/README.md, "The pooled fleet".

Each round runs the direct fleet, then the pooled one, the same way:

1. start: `--pooled-direct-workers` (16) workers x `--pooled-direct-concurrency` (32), connected
   to PostgreSQL directly and hearing of jobs by LISTEN; or `--pooled-workers` (500) workers x
   `--pooled-concurrency` (2) through a PgBouncer of the benchmark's own (transaction mode, a
   server pool of `--pooled-server-pool` 40) and a `baton relay` holding the one LISTEN
   connection (workers get `--wakeups HOST:PORT`). Both at Baton's default --poll-seconds (2)
   and --max-connections (4) unless told. Started once every worker has its row in `workers`,
   and `--pooled-settle` s more.
2. idle: `--pooled-idle-seconds` (60) with no job: PostgreSQL's CPU (procs.server_cpu), the
   statements the fleet ran (pg_stat_statements, reset at the start), the workers' own CPU and
   PSS, PgBouncer's and the relay's CPU.
3. load: `--pooled-rate` (100) jobs a second, each its own INSERT (the fixture), of `sleep`
   jobs of `--pooled-job-seconds` (2) round-robin over `--pooled-configs` (2,000)
   configurations, for `--pooled-load-seconds` (180). enqueue -> start = the job's start
   traced by its worker - the moment before its INSERT.
4. burst: `--pooled-burst` (20,000) no-op jobs over the same number of configurations (of the
   no-op component: 10 a configuration, so most wait for their configuration) in statements of
   1,000, then the queue drained.
5. checks (fixtures.verify): every job final and `success`, none claimed twice, no overlapping
   runs of one configuration; warnings and errors in the workers' logs, workers that exited,
   FATAL/ERROR lines of the server's log.

Throughout, every 0.25 s, the server's client backends (pg_stat_activity; PgBouncer reaches the
server over its Unix socket, so its backends are the ones without a client address) and
PgBouncer's SHOW POOLS. Once per run of the scenario (not per round), `--pooled-long-poll` (10):
the pooled fleet started again with that --poll-seconds, idle for the same window.
"""

from __future__ import annotations

import os
import re
import threading
import time
from types import SimpleNamespace
from typing import Optional

import psycopg

from harness import fixtures, pooler, procs, systems
from harness.core import DB, BenchError, Context, log
from harness.report import Row
from harness.stats import median, pct

NAME = "fleet"
FINAL = ("success", "warning", "error", "terminated", "cancelled")


def add_arguments(p) -> None:
    g = p.add_argument_group("fleet, pooled mode (issue 17)")
    g.add_argument("--pooled-workers", type=int, default=500, help="worker processes of the fleet through PgBouncer")
    g.add_argument("--pooled-concurrency", type=int, default=2, help="--concurrency of each of them")
    g.add_argument("--pooled-direct-workers", type=int, default=16, help="worker processes connected directly (the baseline)")
    g.add_argument("--pooled-direct-concurrency", type=int, default=32,
                   help="--concurrency of each direct worker (16 x 32 = 512 slots for the 200 jobs running at once)")
    g.add_argument("--pooled-server-pool", type=int, default=40, help="PgBouncer's server pool (default_pool_size = max_db_connections)")
    g.add_argument("--pooled-max-connections", type=int, default=4, help="--max-connections of every worker (Baton's default)")
    g.add_argument("--pooled-poll-seconds", type=float, default=None, help="--poll-seconds of every worker (default: Baton's, 2)")
    g.add_argument("--pooled-long-poll", type=float, default=10.0,
                   help="once per run, the pooled fleet idle again with this --poll-seconds (0: not measured)")
    g.add_argument("--pooled-rate", type=float, default=100.0, help="jobs a second under load, each its own INSERT")
    g.add_argument("--pooled-job-seconds", type=float, default=2.0, help="duration of the jobs under load (sleep executor)")
    g.add_argument("--pooled-configs", type=int, default=2000, help="configurations the jobs go round-robin over")
    g.add_argument("--pooled-load-seconds", type=float, default=180.0, help="seconds of paced load")
    g.add_argument("--pooled-burst", type=int, default=20000, help="no-op jobs of the burst after the load")
    g.add_argument("--pooled-idle-seconds", type=float, default=60.0, help="the idle window before the load")
    g.add_argument("--pooled-settle", type=float, default=5.0, help="seconds between the last worker registering and the idle window")
    g.add_argument("--pooled-rounds", type=int, default=2, help="rounds of direct then pooled fleet")
    g.add_argument("--pooled-insert-threads", type=int, default=32,
                   help="threads (a connection each) that INSERT the paced jobs on schedule")
    g.add_argument("--pooled-pss-every", type=float, default=20.0, help="seconds between two readings of every worker's PSS under load")


def smoke(a) -> None:
    """20 workers through PgBouncer (a pool of 4) against 2 direct, a few hundred jobs: about 30 s."""
    a.pooled_workers, a.pooled_concurrency, a.pooled_direct_workers, a.pooled_direct_concurrency = 20, 2, 2, 8
    a.pooled_server_pool, a.pooled_rate, a.pooled_job_seconds, a.pooled_configs = 4, 20.0, 0.2, 50
    a.pooled_load_seconds, a.pooled_burst, a.pooled_idle_seconds, a.pooled_settle = 3.0, 300, 2.0, 0.5
    a.pooled_rounds, a.pooled_long_poll, a.pooled_pss_every = 1, 0.0, 1.0


def _f(v, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


# ---------------------------------------------------------------------------------------------- probes

class Watch:
    """Every 0.25 s on a connection of its own: the server's client backends, those that come over the Unix socket
    (PgBouncer's) and over TCP (everyone else's but the benchmark's), how many of each run a statement; and,
    with a PgBouncer, its SHOW POOLS (clients active and waiting, server connections, the longest wait)."""

    QUERY = """/* bench-watch */ SELECT
        count(*) FILTER (WHERE client_addr IS NULL),
        count(*) FILTER (WHERE client_addr IS NOT NULL),
        count(*) FILTER (WHERE client_addr IS NULL AND state = 'active'),
        count(*) FILTER (WHERE client_addr IS NOT NULL AND state = 'active')
        FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND application_name NOT LIKE 'baton-bench%' AND pid <> pg_backend_pid()"""

    def __init__(self, dsn: str, pgbouncer: Optional[pooler.PgBouncer]):
        self.dsn = dsn
        self.pgbouncer = pgbouncer
        self.samples: list[tuple] = []  # (t, socket, tcp, socket active, tcp active, cl_active, cl_waiting, servers, maxwait ms)
        self.stop_event = threading.Event()
        self.error: Optional[str] = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True, application_name="baton-bench-watch") as c:
                while not self.stop_event.is_set():
                    t = time.time()
                    sock, tcp, sock_active, tcp_active = c.execute(self.QUERY).fetchone()
                    pool = {}
                    if self.pgbouncer:
                        try:
                            pool = self.pgbouncer.pool_row()
                        except (psycopg.Error, BenchError):
                            pool = {}
                    servers = sum(pool.get(k, 0) or 0 for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")) if pool else None
                    maxwait = ((pool.get("maxwait", 0) or 0) * 1000 + (pool.get("maxwait_us", 0) or 0) / 1000) if pool else None
                    self.samples.append((t, sock, tcp, sock_active, tcp_active, pool.get("cl_active"), pool.get("cl_waiting"),
                                         servers, maxwait))
                    self.stop_event.wait(0.25)
        except psycopg.Error as e:
            self.error = str(e)[:300]

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)

    def window(self, t0: float, t1: float) -> dict:
        """Peaks (and means) over the samples in [t0, t1]."""
        s = [x for x in self.samples if t0 <= x[0] <= t1]
        if not s:
            return {}
        def peak(i):
            v = [x[i] for x in s if x[i] is not None]
            return max(v) if v else None
        def avg(i):
            v = [x[i] for x in s if x[i] is not None]
            return sum(v) / len(v) if v else None
        return {"samples": len(s), "peak_socket": peak(1), "peak_tcp": peak(2), "mean_socket_active": avg(3), "mean_tcp_active": avg(4),
                "peak_socket_active": peak(3), "peak_tcp_active": peak(4), "peak_clients_active": peak(5),
                "peak_clients_waiting": peak(6), "mean_clients_waiting": avg(6), "peak_servers": peak(7), "peak_maxwait_ms": peak(8)}


def statements(ctx: Context) -> list[dict]:
    """pg_stat_statements of this database since its last reset: query, calls, total ms, rows."""
    rows = ctx.db.q("""SELECT query, calls, total_exec_time, rows FROM pg_stat_statements
                       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())""")
    return [{"query": q, "calls": int(c), "total_ms": float(t), "rows": int(r)} for q, c, t, r in rows]


BENCH_MARKS = ("bench-watch", "pg_stat_statements", "pg_stat_activity", "INSERT INTO jobs", "FROM jobs WHERE status IN",
               "pg_backend_pid", "TRUNCATE", "VACUUM", "CHECKPOINT", "SHOW ", "pg_stat_database", "pg_stat_wal")
KINDS = (("worker_turn", "worker_turn("), ("heartbeat (renew_leases)", "renew_leases("), ("register_worker", "register_worker("),
         ("stop_worker", "stop_worker("), ("live_workers", "live_workers("), ("held_jobs", "held_jobs"), ("job_events", "job_events"),
         ("release_jobs", "release_jobs("), ("LISTEN", "LISTEN "))


def kind_of(query: str) -> str:
    if any(m in query for m in BENCH_MARKS):
        return "benchmark"
    for name, mark in KINDS:
        if mark in query:
            return name
    return "other: " + re.sub(r"\s+", " ", query)[:60]


def by_kind(stmts: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for s in stmts:
        k = kind_of(s["query"])
        o = out.setdefault(k, {"calls": 0, "total_ms": 0.0, "rows": 0})
        o["calls"] += s["calls"]
        o["total_ms"] += s["total_ms"]
        o["rows"] += s["rows"]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["calls"]))


class Meter:
    """CPU seconds of the server, the workers, PgBouncer, the relay, the benchmark and the machine, read at once."""

    def __init__(self, ctx: Context, fleet: systems.Fleet, pgb: Optional[pooler.PgBouncer], relay: Optional[pooler.Relay]):
        self.ctx, self.fleet, self.pgb, self.relay = ctx, fleet, pgb, relay

    def read(self) -> dict:
        busy, total, _ = procs.machine_cpu()
        stats = {}
        if self.pgb:
            try:
                stats = next((r for r in self.pgb.show("STATS") if r.get("database") == self.pgb.dbname), {})
            except (psycopg.Error, BenchError):
                stats = {}
        with self.fleet.lock:
            turns = len(self.fleet.turns)
        return {"t": time.time(), "server": self.ctx.server.cpu(),
                "workers": sum(procs.cpu_seconds(p) or 0.0 for p in self.fleet.pids()),
                "pgbouncer": self.pgb.cpu() if self.pgb else None, "relay": self.relay.cpu() if self.relay else None,
                "bench": procs.cpu_seconds(os.getpid()), "busy": busy, "total": total, "turns": turns,
                "xacts": stats.get("total_xact_count"), "queries": stats.get("total_query_count"),
                "wait_us": stats.get("total_wait_time")}


def between(a: dict, b: dict, workers: int) -> dict:
    """What happened between two Meter readings: CPU seconds and cores of each process group, the machine's busy share."""
    secs = b["t"] - a["t"]
    d = lambda k: (b[k] - a[k]) if a.get(k) is not None and b.get(k) is not None else None
    out = {"seconds": secs}
    for k in ("server", "workers", "pgbouncer", "relay", "bench"):
        v = d(k)
        out[f"{k}_cpu_s"] = v
        out[f"{k}_cores"] = v / secs if v is not None and secs > 0 else None
    out["machine_busy"] = (b["busy"] - a["busy"]) / max(1, b["total"] - a["total"])
    out["worker_cpu_pct_each"] = out["workers_cores"] * 100 / workers if out["workers_cores"] is not None else None
    out["server_cpu_pct_per_worker"] = out["server_cores"] * 100 / workers if out["server_cores"] is not None else None
    for k in ("xacts", "queries"):
        v = d(k)
        out[f"pgbouncer_{k}_per_s"] = v / secs if v is not None and secs > 0 else None
    w, x = d("wait_us"), d("xacts")
    out["pgbouncer_wait_ms_per_xact"] = w / 1000 / x if w is not None and x else None
    return out


def pss_now(pids: list[int]) -> dict[int, tuple[int, int]]:
    """(Pss, VmRSS) kB of each process."""
    out = {}
    for p in pids:
        m = procs.memory_kb(p)
        if "Pss" in m:
            out[p] = (m["Pss"], m.get("VmRSS", 0))
    return out


def pss_summary(samples: list[dict[int, tuple[int, int]]]) -> dict:
    """Each worker's peak PSS over the samples: the median and the largest of them, and the largest sum in one sample (MB)."""
    peak: dict[int, int] = {}
    rss: dict[int, int] = {}
    for s in samples:
        for p, (pss, r) in s.items():
            peak[p] = max(peak.get(p, 0), pss)
            rss[p] = max(rss.get(p, 0), r)
    if not peak:
        return {}
    sums = [sum(v[0] for v in s.values()) for s in samples if s]
    return {"workers": len(peak), "pss_median_mb": procs.mb(median(list(peak.values()))), "pss_max_mb": procs.mb(max(peak.values())),
            "pss_sum_mb": procs.mb(max(sums)), "rss_median_mb": procs.mb(median(list(rss.values())))}


# ---------------------------------------------------------------------------------------------- one run

def start_fleet(ctx: Context, tag: str, pooled: bool, poll: Optional[float]):
    """PgBouncer and the relay (pooled), the workers; waits until every worker has its row in `workers`."""
    a = ctx.args
    workers = a.pooled_workers if pooled else a.pooled_direct_workers
    conc = a.pooled_concurrency if pooled else a.pooled_direct_concurrency
    pgb = relay = None
    extra: tuple[str, ...] = ()
    if poll is not None:
        extra += ("--poll-seconds", f"{poll:g}")
    dsn = ctx.dsn
    try:
        if pooled:
            socket_dir = None
            if ctx.server.postmaster:
                d = (ctx.db.one("SHOW unix_socket_directories") or "").split(",")[0].strip()
                socket_dir = d if d.startswith("/") and os.path.isdir(d) else None
            pgb = pooler.PgBouncer(ctx.dsn, socket_dir, a.pooled_server_pool, workers * a.pooled_max_connections + 100, tag)
            relay = pooler.Relay(a.baton, ctx.dsn, tag)
            dsn = pgb.dsn
            extra += ("--wakeups", relay.address)
        log(f"Baton {tag}: starting {workers} workers x {conc} " + ("through PgBouncer, wake-ups from the relay" if pooled else
            "connected directly, LISTEN") + f", --max-connections {a.pooled_max_connections}"
            + (f", --poll-seconds {poll:g}" if poll is not None else ""))
        t0 = time.time()
        fleet = systems.Fleet(ctx, workers, conc, tag, max_connections=a.pooled_max_connections, extra=extra, dsn=dsn)
    except BaseException:
        if relay:
            relay.stop()
        if pgb:
            pgb.stop()
        raise
    try:
        deadline = time.time() + max(60.0, workers * 0.5)
        while True:
            n = ctx.db.one("SELECT count(*) FROM workers WHERE id LIKE %s AND stopped_time IS NULL", (f"bench-{tag}-%",))
            if n >= workers:
                break
            if fleet.alive() < workers:
                raise BenchError(f"{workers - fleet.alive()} of {workers} workers exited at start (bench/results/tmp/{tag}-worker-*.log)")
            if time.time() > deadline:
                raise BenchError(f"only {n} of {workers} workers registered within {deadline - t0:.0f} s")
            time.sleep(0.2)
    except BaseException:
        fleet.stop()
        if relay:
            relay.stop()
        if pgb:
            pgb.stop()
        raise
    started = time.time() - t0
    log(f"Baton {tag}: {workers} workers registered in {started:.1f} s")
    return fleet, pgb, relay, workers, conc, started


def idle_window(ctx: Context, fleet, pgb, relay, workers: int, watch: Watch, seconds: float) -> dict:
    """The fleet connected and idle for `seconds`: CPU, statements, turns, connections, PSS."""
    ctx.db.q("SELECT pg_stat_statements_reset()")
    m = Meter(ctx, fleet, pgb, relay)
    a = m.read()
    time.sleep(seconds)
    b = m.read()
    stmts = by_kind(statements(ctx))
    pss = pss_now(fleet.pids())
    out = between(a, b, workers)
    fleet_calls = sum(v["calls"] for k, v in stmts.items() if k != "benchmark")
    out.update({"statements": stmts, "queries_per_s": fleet_calls / out["seconds"],
                "queries_per_s_per_worker": fleet_calls / out["seconds"] / workers,
                "turns_per_s_per_worker": (b["turns"] - a["turns"]) / out["seconds"] / workers,
                **watch.window(a["t"], b["t"]), **pss_summary([pss])})
    return out


def paced_inserts(ctx: Context, fleet, n: int, rate: float, configs: int, job_s: float, threads: int) -> tuple[list, float, float]:
    """n `sleep` jobs, job i INSERTed (its own statement and transaction, the fixture) at t_start + i / rate, by
    `threads` threads with a connection each, so that one slow commit does not hold back the jobs after it (on a
    busy machine one connection cannot keep 100 commits a second). Returns [(job id, time before its INSERT)],
    the most any INSERT started behind its schedule (s), and t_start."""
    lock = threading.Lock()
    state = {"next": 0, "lag": 0.0}
    sent: list = [None] * n
    errors: list[BaseException] = []
    t_start = time.time() + 0.5
    def insert() -> None:
        db = None
        try:
            db = DB(ctx.dsn)
            own = SimpleNamespace(db=db)  # insert_jobs reads only ctx.db
            while True:
                with lock:
                    i = state["next"]
                    if i >= n or errors:
                        return
                    state["next"] = i + 1
                due = t_start + i / rate
                wait = due - time.time()
                if wait > 0:
                    time.sleep(wait)
                t0 = time.time()
                job = fixtures.insert_jobs(own, 1, configs, component="bench-sleep", config_data={"seconds": job_s}, first=i + 1)[0]
                sent[i] = (job, t0)
                with lock:
                    state["lag"] = max(state["lag"], t0 - due)
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            errors.append(e)
        finally:
            if db is not None:
                db.close()
    pool = [threading.Thread(target=insert, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    next_print = time.time() + 10
    while any(t.is_alive() for t in pool):
        time.sleep(0.2)
        if time.time() < next_print:
            continue
        next_print += 10
        with lock:
            done_n, lag = state["next"], state["lag"]
        with fleet.lock:
            started = sum(1 for x in sent[:done_n] if x and x[0] in fleet.starts)
        log(f"  {done_n}/{n} inserted, {started} started, {time.time() - t_start:.0f} s; an INSERT {lag:.2f} s behind schedule at most")
    if errors:
        raise BenchError(f"paced INSERTs failed: {errors[0]}")
    return [x for x in sent if x], state["lag"], t_start


def run_once(ctx: Context, tag: str, pooled: bool, k: int) -> dict:
    """One fleet (direct or pooled) through start, idle, load and burst; checked. See the module's docstring."""
    a = ctx.args
    configs, rate, job_s = a.pooled_configs, a.pooled_rate, a.pooled_job_seconds
    fixtures.catalog(ctx, configs, "bench-sleep", {"type": "sleep"})
    fixtures.catalog(ctx, configs)
    fixtures.reset(ctx)
    fixtures.settle(ctx)
    log_offset = ctx.server.log_offset()
    fleet, pgb, relay, workers, conc, started = start_fleet(ctx, tag, pooled, a.pooled_poll_seconds)
    watch = Watch(ctx.dsn, pgb)
    r: dict = {"tag": tag, "round": k + 1, "pooled": pooled, "workers": workers, "concurrency": conc,
               "max_connections": a.pooled_max_connections, "poll_seconds": a.pooled_poll_seconds or 2.0,
               "wakeups": "relay" if pooled else "listen", "server_pool": a.pooled_server_pool if pooled else None,
               "start_seconds": started}
    n_paced = int(round(rate * a.pooled_load_seconds))
    n = n_paced + a.pooled_burst
    sent: list[tuple[int, float]] = []
    burst_sent: list[tuple[int, float]] = []
    pss_samples: list[dict] = []
    try:
        time.sleep(a.pooled_settle)
        log(f"Baton {tag}: idle for {a.pooled_idle_seconds:g} s")
        r["idle"] = idle_window(ctx, fleet, pgb, relay, workers, watch, a.pooled_idle_seconds)
        i_ = r["idle"]
        log(f"Baton {tag}: idle: PostgreSQL {_f((i_['server_cores'] or 0) * 100, 1)}% of a core, {_f(i_['queries_per_s'], 1)} "
            f"queries/s ({_f(i_['queries_per_s_per_worker'], 3)} a worker), workers {_f(i_['worker_cpu_pct_each'], 3)}% of a core each, "
            f"PSS {i_.get('pss_median_mb')} MB a worker (median), server connections {i_.get('peak_socket') if pooled else i_.get('peak_tcp')}")

        # Load: one INSERT per job, on schedule.
        log(f"Baton {tag}: load, {rate:g} jobs/s of {job_s:g} s over {configs} configurations for {a.pooled_load_seconds:g} s")
        ctx.db.q("SELECT pg_stat_statements_reset()")
        meter = Meter(ctx, fleet, pgb, relay)
        stop_pss = threading.Event()
        def sample_pss() -> None:
            while not stop_pss.wait(a.pooled_pss_every):
                pss_samples.append(pss_now(fleet.pids()))
        pss_thread = threading.Thread(target=sample_pss, daemon=True)
        m0 = meter.read()
        pss_thread.start()
        sent, lag, t_start = paced_inserts(ctx, fleet, n_paced, rate, configs, job_s, a.pooled_insert_threads)
        m1 = meter.read()
        stop_pss.set()
        pss_thread.join(timeout=30)
        load_stmts = by_kind(statements(ctx))

        # Burst: n no-op jobs in statements of 1,000, then drained.
        log(f"Baton {tag}: burst of {a.pooled_burst} no-op jobs")
        ctx.db.q("SELECT pg_stat_statements_reset()")
        b0 = meter.read()
        for lo in range(0, a.pooled_burst, 1000):
            t0 = time.time()
            ids = fixtures.insert_jobs(ctx, min(1000, a.pooled_burst - lo), configs, first=n_paced + lo + 1)
            burst_sent += [(j, t0) for j in ids]
        end = fixtures.drain(ctx, n, a.timeout + n / 50, fleet.alive)
        time.sleep(0.1)  # the last trace lines
        b1 = meter.read()
        burst_stmts = by_kind(statements(ctx))
        alive = fleet.alive()
        measured_log = ctx.server.log_since(log_offset)  # what the server logged while the fleet ran, before the teardown
    finally:
        watch.stop()
        stopped = fleet.stop()
        if relay:
            relay.stop()
        if pgb:
            pgb.stop()

    with fleet.lock:
        starts = dict(fleet.starts)
        turns = list(zip(fleet.turn_times, fleet.turns))
    lat = [(starts[j] - t0) * 1000 for j, t0 in sent if j in starts]
    blat = [(starts[j] - t0) * 1000 for j, t0 in burst_sent if j in starts]
    def turn_stats(t0: float, t1: float) -> dict:
        claiming = [ms for t, (ms, c) in turns if t0 <= t <= t1 and c > 0]
        empty = sum(1 for t, (ms, c) in turns if t0 <= t <= t1 and c == 0)
        return {"claim_turns": len(claiming), "empty_turns": empty, "claim_p50_ms": pct(claiming, 50), "claim_p99_ms": pct(claiming, 99),
                "claim_max_ms": max(claiming) if claiming else None}
    load = between(m0, m1, workers)
    fleet_calls = sum(v["calls"] for k_, v in load_stmts.items() if k_ != "benchmark")
    load.update({"jobs": n_paced, "rate": n_paced / (m1["t"] - t_start), "insert_lag_max_s": lag, "statements": load_stmts,
                 "queries_per_s": fleet_calls / load["seconds"], "started": len(lat),
                 "enqueue_start_p50_ms": pct(lat, 50), "enqueue_start_p99_ms": pct(lat, 99), "enqueue_start_max_ms": max(lat) if lat else None,
                 **turn_stats(m0["t"], m1["t"] + job_s), **watch.window(m0["t"], m1["t"]), **pss_summary(pss_samples)})
    burst = between(b0, b1, workers)
    burst.update({"jobs": a.pooled_burst, "seconds_to_drain": end - b0["t"], "jobs_per_s": a.pooled_burst / (end - b0["t"]),
                  "statements": burst_stmts, "started": len(blat),
                  "enqueue_start_p50_ms": pct(blat, 50), "enqueue_start_p99_ms": pct(blat, 99),
                  **turn_stats(b0["t"], b1["t"]), **watch.window(b0["t"], b1["t"])})
    r["load"], r["burst"] = load, burst
    r["watch_error"] = watch.error
    # The fleet's server connections: PgBouncer's backends (Unix socket) or the direct workers' (TCP, the relay's
    # LISTEN connection is not there: it belongs to the pooled run and is counted apart).
    all_w = watch.window(0, time.time())
    r["peak_server_connections"] = all_w.get("peak_socket") if pooled and pgb and pgb.over_socket else (
        all_w.get("peak_servers") if pooled else all_w.get("peak_tcp"))
    r["peak_server_connections_pgbouncer"] = all_w.get("peak_servers")
    r["peak_other_tcp_connections"] = all_w.get("peak_tcp") if pooled else None
    r["peak_clients_waiting"] = all_w.get("peak_clients_waiting")
    r["peak_maxwait_ms"] = all_w.get("peak_maxwait_ms")

    check = fixtures.verify(ctx, n, tag)
    final = ctx.db.one(f"SELECT count(*) FROM jobs WHERE status IN {FINAL}")
    statuses = dict(ctx.db.q("SELECT status::text, count(*) FROM jobs GROUP BY 1"))
    problems = stopped + fleet.log_problems()
    bad = lambda l: "FATAL" in l or "ERROR" in l or "PANIC" in l
    server_errors = [l.strip() for l in measured_log if bad(l)]
    # Stopping PgBouncer drops its server connections: a backend that notices mid-write logs "connection to client
    # lost". Lines of the teardown are listed, not counted as errors of the run.
    teardown_errors = [l.strip() for l in ctx.server.log_since(log_offset)[len(measured_log):] if bad(l)]
    missing = (n_paced - len(lat)) + (a.pooled_burst - len(blat))
    errors = (len(problems) + (n - check["success"]) + check["overlaps"] + check["reclaimed"] + (workers - alive)
              + len(server_errors) + missing)
    r.update({"jobs": n, "final": final, "statuses": statuses, **check, "problems": problems[:20], "problem_count": len(problems),
              "server_log_errors": server_errors[:10], "server_log_error_count": len(server_errors), "workers_exited_early": workers - alive,
              "server_log_teardown": teardown_errors[:5], "server_log_teardown_count": len(teardown_errors),
              "starts_missing": missing, "errors": errors})
    log(f"Baton {tag}: {load['rate']:.1f} jobs/s inserted (an INSERT {lag:.2f} s behind schedule at most); enqueue -> start p50/p99 {_f(load['enqueue_start_p50_ms'])}/{_f(load['enqueue_start_p99_ms'])} ms, claim p99 "
        f"{_f(load['claim_p99_ms'])} ms, PostgreSQL {_f((load['server_cores'] or 0) * 100, 0)}% of a core under load; burst "
        f"{_f(burst['jobs_per_s'], 0)} jobs/s; peak server connections {r['peak_server_connections']}; final {final}/{n}, "
        f"{fixtures.check_text(check)}; errors {errors}")
    return r


def long_poll_idle(ctx: Context, poll: float) -> dict:
    """The pooled fleet started again with --poll-seconds `poll`, idle for the same window (once per run)."""
    a = ctx.args
    tag = f"fleet-pooled-{a.pooled_workers}-poll{poll:g}"
    fixtures.reset(ctx)
    fleet, pgb, relay, workers, conc, started = start_fleet(ctx, tag, True, poll)
    watch = Watch(ctx.dsn, pgb)
    try:
        time.sleep(a.pooled_settle)
        log(f"Baton {tag}: idle for {a.pooled_idle_seconds:g} s")
        idle = idle_window(ctx, fleet, pgb, relay, workers, watch, a.pooled_idle_seconds)
    finally:
        watch.stop()
        problems = fleet.stop() + fleet.log_problems()
        relay.stop()
        pgb.stop()
    log(f"Baton {tag}: idle: PostgreSQL {_f((idle['server_cores'] or 0) * 100, 1)}% of a core, {_f(idle['queries_per_s'], 1)} queries/s")
    return {"tag": tag, "workers": workers, "concurrency": conc, "poll_seconds": poll, "start_seconds": started, "idle": idle,
            "problem_count": len(problems), "problems": problems[:10]}


def run(ctx: Context) -> dict:
    """Every round (direct fleet, then pooled), then the longer poll's idle measurement."""
    a = ctx.args
    pooler.require_pgbouncer()
    limit = pooler.raise_fd_limit()
    need = a.pooled_workers * 3 + 200  # a pipe and a log per worker in the benchmark; PgBouncer counts apart
    if limit < need:
        raise BenchError(f"open files limit {limit} is below the {need} the pooled fleet needs (ulimit -n)")
    try:
        ctx.db.q("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        ctx.db.q("SELECT count(*) FROM pg_stat_statements")
    except psycopg.Error as e:
        raise BenchError("the pooled fleet counts the fleet's statements with pg_stat_statements, which this server "
                         f"cannot give ({str(e).strip()[:200]}): add it to shared_preload_libraries (bench/run does, "
                         "for its own server) and restart the server") from None
    direct_budget = a.pooled_direct_workers * a.pooled_max_connections
    max_conn = int(ctx.db.one("SHOW max_connections")) - int(ctx.db.one("SHOW superuser_reserved_connections"))
    if max(direct_budget, a.pooled_server_pool + 4) + 10 > max_conn:
        raise BenchError(f"the direct fleet's {direct_budget} connections do not fit in max_connections ({max_conn} usable)")
    log(f"== fleet, pooled: {a.pooled_workers} workers x {a.pooled_concurrency} through PgBouncer (server pool "
        f"{a.pooled_server_pool}) vs {a.pooled_direct_workers} x {a.pooled_direct_concurrency} direct; {a.pooled_rate:g} jobs/s of "
        f"{a.pooled_job_seconds:g} s for {a.pooled_load_seconds:g} s, then {a.pooled_burst} no-op jobs; {a.pooled_rounds} rounds; "
        f"load average {os.getloadavg()[0]:.2f}")
    t0, load_average = time.time(), os.getloadavg()
    runs = []
    for k in range(a.pooled_rounds):
        suffix = f"-r{k + 1}" if a.pooled_rounds > 1 else ""
        runs.append(run_once(ctx, f"fleet-direct-{a.pooled_direct_workers}{suffix}", False, k))
        runs.append(run_once(ctx, f"fleet-pooled-{a.pooled_workers}{suffix}", True, k))
    long_poll = long_poll_idle(ctx, a.pooled_long_poll) if a.pooled_long_poll else None
    return {"runs": runs, "long_poll": long_poll, "seconds": time.time() - t0, "load_average_at_start": list(load_average),
            "rate": a.pooled_rate, "job_seconds": a.pooled_job_seconds, "configs": a.pooled_configs, "pss_every": a.pooled_pss_every}


# ---------------------------------------------------------------------------------------------- rows and report

def _ok(r: dict) -> bool:
    """The run's checks passed: every job final and success, no overlap, none claimed twice, no error of any kind."""
    return bool(r.get("valid")) and r["final"] == r["jobs"] and r["errors"] == 0


def _pct(cores: Optional[float]) -> Optional[float]:
    return cores * 100 if cores is not None else None


def _middle(pairs: list[tuple[dict, dict]], key) -> tuple[dict, dict]:
    """The round whose ratio of key(pooled) / key(direct) is the median one (the evidence comes from it)."""
    rated = sorted(((key(b) / key(d_), (d_, b)) for d_, b in pairs if key(b) is not None and key(d_)), key=lambda x: x[0])
    return rated[len(rated) // 2][1] if rated else pairs[0]


def rows(ctx: Context, data: dict, stamp: Optional[str] = None, commit: Optional[str] = None) -> list[Row]:
    """The pooled fleet's rows in latest.md (and fleet.md), their details, and what limits those not met."""
    res = ctx.results
    runs = data["runs"]
    direct = [r for r in runs if not r["pooled"]]
    big = [r for r in runs if r["pooled"]]
    pairs = list(zip(direct, big))
    if not pairs:
        return []
    d0, b0 = pairs[0]
    W, C, D, DC, pool = b0["workers"], b0["concurrency"], d0["workers"], d0["concurrency"], b0["server_pool"]
    R = len(pairs)
    scen = f"{W} workers x {C} through PgBouncer (server pool {pool}), {data['rate']:g} jobs/s of {data['job_seconds']:g} s"
    other = f"{D} workers x {DC} connected directly"
    good = lambda r, v: v if _ok(r) else None
    out = []
    row = res.add(NAME, scen, "enqueue → start p99 ms (every job final, 0 overlaps)", "ms",
                  [good(b, b["load"]["enqueue_start_p99_ms"]) for _, b in pairs], other,
                  [good(d_, d_["load"]["enqueue_start_p99_ms"]) for d_, _ in pairs], 3.0, lower_is_better=True,
                  target="<= 3x, all final, 0 overlaps")
    out.append(row)
    out.append(res.add(NAME, scen, "enqueue → start p50 ms", "ms", [good(b, b["load"]["enqueue_start_p50_ms"]) for _, b in pairs], other,
                       [good(d_, d_["load"]["enqueue_start_p50_ms"]) for d_, _ in pairs], None, lower_is_better=True))
    out.append(res.add(NAME, scen, "claim p99 ms (turns that claimed, under load)", "ms", [b["load"]["claim_p99_ms"] for _, b in pairs], other,
                       [d_["load"]["claim_p99_ms"] for d_, _ in pairs], None, lower_is_better=True))
    idle_scen = f"{W} idle workers through PgBouncer (--poll-seconds {b0['poll_seconds']:g})"
    out.append(res.add(NAME, idle_scen, "PostgreSQL CPU, % of one core", "%", [_pct(b["idle"]["server_cores"]) for _, b in pairs],
                       "target", [10.0] * R, 1.0, lower_is_better=True, target="<= 10% of one core"))
    out.append(res.add(NAME, idle_scen, "queries/s a worker (pg_stat_statements)", "q/s", [b["idle"]["queries_per_s_per_worker"] for _, b in pairs],
                       f"{D} idle workers connected directly, a worker", [d_["idle"]["queries_per_s_per_worker"] for d_, _ in pairs], None,
                       lower_is_better=True))
    conn_scen = f"{W} workers through PgBouncer: server connections"
    out.append(res.add(NAME, conn_scen, "peak backends from PgBouncer at PostgreSQL (every 0.25 s)", "connections",
                       [b["peak_server_connections"] for _, b in pairs], "target", [float(pool)] * R, 1.0, lower_is_better=True,
                       target=f"<= {pool}"))
    out.append(res.add(NAME, f"{W} workers through PgBouncer: memory", "PSS MB a worker (median of the workers' peaks under load)", "MB",
                       [b["load"].get("pss_median_mb") for _, b in pairs], f"{D} workers x {DC} connected directly, a worker",
                       [d_["load"].get("pss_median_mb") for d_, _ in pairs], None, lower_is_better=True))
    out.append(res.add(NAME, f"{W} workers through PgBouncer: memory", "PSS MB, all workers (the largest sum of one reading under load)", "MB",
                       [b["load"].get("pss_sum_mb") for _, b in pairs], f"{D} workers x {DC} connected directly, all",
                       [d_["load"].get("pss_sum_mb") for d_, _ in pairs], None, lower_is_better=True))
    if any(not _ok(b) for b in big):
        row.met = False
    if stamp:
        for r in out:
            r.stamp, r.commit = stamp, commit or "?"

    # What limits each target row, from the round of the median ratio.
    d_, b = _middle(pairs, lambda r: r["load"]["enqueue_start_p99_ms"])
    res.limits[scen] = (
        f"Measured (round {b['round']}): enqueue → start p99 {_f(b['load']['enqueue_start_p99_ms'])} vs {_f(d_['load']['enqueue_start_p99_ms'])} ms; "
        f"of it the claim: claim p99 {_f(b['load']['claim_p99_ms'])} vs {_f(d_['load']['claim_p99_ms'])} ms; PgBouncer's clients waiting for a "
        f"server connection: peak {b.get('peak_clients_waiting')}, longest wait {_f(b.get('peak_maxwait_ms'), 1)} ms, mean wait "
        f"{_f(b['load'].get('pgbouncer_wait_ms_per_xact'), 3)} ms a transaction; machine CPU busy {_f(b['load']['machine_busy'] * 100, 0)}% "
        f"vs {_f(d_['load']['machine_busy'] * 100, 0)}%; PostgreSQL {_f(_pct(b['load']['server_cores']), 0)}% vs "
        f"{_f(_pct(d_['load']['server_cores']), 0)}% of a core, the workers {_f(_pct(b['load']['workers_cores']), 0)}% vs "
        f"{_f(_pct(d_['load']['workers_cores']), 0)}%; errors {b['errors']} vs {d_['errors']}. Every figure: fleet.md.")
    _, b = _middle(pairs, lambda r: r["idle"]["server_cores"])
    top = ", ".join(f"{k} {v['calls'] / b['idle']['seconds']:,.1f}/s ({v['total_ms'] / max(1, v['calls']):.3f} ms each)"
                    for k, v in list(b["idle"]["statements"].items())[:4] if k != "benchmark")
    res.limits[idle_scen] = (
        f"Measured (round {b['round']}): PostgreSQL {_f(_pct(b['idle']['server_cores']), 1)}% of a core for {W} idle workers, "
        f"{_f(b['idle']['queries_per_s'], 1)} statements/s ({_f(b['idle']['queries_per_s_per_worker'], 3)} a worker; "
        f"{_f(b['idle']['turns_per_s_per_worker'], 3)} empty claiming turns a worker a second: the fallback poll); by statement: {top}. "
        + (f"With --poll-seconds {data['long_poll']['poll_seconds']:g}: {_f(_pct(data['long_poll']['idle']['server_cores']), 1)}% of a core, "
           f"{_f(data['long_poll']['idle']['queries_per_s'], 1)} statements/s." if data.get("long_poll") else "")
        + " Every figure: fleet.md.")
    res.limits[conn_scen] = (f"PgBouncer's pool is capped at {pool} (default_pool_size = max_db_connections); peak seen "
                             f"{', '.join(str(b['peak_server_connections']) for _, b in pairs)} a round. Every figure: fleet.md.")
    res.detail(NAME,
        f"Pooled fleet (issue 17): {W} workers x {C} through PgBouncer in transaction mode (server pool {pool}) with the wake-up relay, "
        f"vs {D} x {DC} connected directly (LISTEN); enqueue → start p50/p99 "
        + "; ".join(f"round {b['round']}: {_f(b['load']['enqueue_start_p50_ms'])}/{_f(b['load']['enqueue_start_p99_ms'])} vs "
                    f"{_f(d_['load']['enqueue_start_p50_ms'])}/{_f(d_['load']['enqueue_start_p99_ms'])} ms" for d_, b in pairs)
        + f"; every job final {all(b['final'] == b['jobs'] for b in big)}, overlaps {sum(b['overlaps'] for b in big)}, errors "
        f"{sum(b['errors'] for b in big)}; peak server connections {max(b['peak_server_connections'] or 0 for b in big)}; "
        f"idle PostgreSQL CPU {', '.join(_f(_pct(b['idle']['server_cores']), 1) + '%' for b in big)} of a core. Every figure: bench/results/fleet.md.")
    return out


def report_lines(ctx: Context, data: dict, rows_: list[Row]) -> list[str]:
    """fleet.md's section on the pooled fleet: the rows, then every figure of every run."""
    res = ctx.results
    runs = data["runs"]
    if not runs:
        return []
    big = [r for r in runs if r["pooled"]]
    direct = [r for r in runs if not r["pooled"]]
    b0, d0 = (big or runs)[0], (direct or runs)[0]
    la = data.get("load_average_at_start")
    out = [f"## {b0['workers']} workers through PgBouncer (issue 17)", "",
           f"{b0['workers']} worker processes x {b0['concurrency']} through PgBouncer in transaction mode (a server pool of "
           f"{b0['server_pool']}: default_pool_size = max_db_connections), hearing of jobs from one `baton relay` (the only LISTEN "
           f"connection); beside {d0['workers']} workers x {d0['concurrency']} connected directly, each with its LISTEN connection "
           f"({d0['workers'] * d0['concurrency']} slots, {b0['workers'] * b0['concurrency']} in the big fleet: both more than the "
           f"{data['rate']:g} jobs/s x {data['job_seconds']:g} s = "
           f"{data['rate'] * data['job_seconds']:g} jobs running at once). Every worker: --max-connections "
           f"{b0['max_connections']}, --poll-seconds {b0['poll_seconds']:g} (Baton's default). Each run: the fleet idle "
           f"{_f(b0['idle']['seconds'], 0)} s, then {b0['load']['jobs']:,} `sleep` jobs of {data['job_seconds']:g} s, each "
           f"its own INSERT, {data['rate']:g} a second over {data['configs']:,} configurations, then a burst of "
           f"{b0['burst']['jobs']:,} no-op jobs (statements of 1,000) drained. Direct fleet first, then the pooled one, in each of "
           f"{len(big)} rounds; {_f(data.get('seconds'), 0)} s in all. Load average (1, 5, 15 min) when it started: "
           + (", ".join(f"{x:.2f}" for x in la) if la else "n/a") + ". Definitions: bench/README.md (\"The pooled fleet\").", ""]
    if data.get("from_run"):
        out += [f"**Not measured in this run**: kept from the run of {data['from_run']['stamp']} (commit "
                f"{data['from_run']['commit']}), as bench/results/fleet.json held it.", ""]
    out += res.table(rows_)
    out += ["", "### The runs", "",
            "| run | workers x concurrency | started in s | load: jobs/s inserted, most behind schedule s | jobs final | success | overlaps | claimed twice | errors | enqueue → start p50 / p99 / max ms | "
            "claim p50 / p99 ms | claiming / empty turns | burst: jobs/s | burst: enqueue → start p50 / p99 ms | burst: claim p99 ms | "
            "peak server connections | PgBouncer: peak clients waiting, longest wait ms |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        L, B = r["load"], r["burst"]
        out.append(f"| {r['tag']} | {r['workers']} x {r['concurrency']} | {_f(r['start_seconds'], 1)} | {_f(L.get('rate'), 1)}, {_f(L.get('insert_lag_max_s'), 2)} | "
                   f"{r['final']:,}/{r['jobs']:,} | "
                   f"{r['success']:,} | {r['overlaps']} | {r['reclaimed']} | {r['errors']} | {_f(L['enqueue_start_p50_ms'])} / "
                   f"{_f(L['enqueue_start_p99_ms'])} / {_f(L['enqueue_start_max_ms'])} | {_f(L['claim_p50_ms'])} / {_f(L['claim_p99_ms'])} | "
                   f"{L['claim_turns']:,} / {L['empty_turns']:,} | {_f(B['jobs_per_s'], 0)} | {_f(B['enqueue_start_p50_ms'], 0)} / "
                   f"{_f(B['enqueue_start_p99_ms'], 0)} | {_f(B['claim_p99_ms'])} | {r['peak_server_connections']} | "
                   + (f"{r.get('peak_clients_waiting')}, {_f(r.get('peak_maxwait_ms'), 1)}" if r["pooled"] else "n/a") + " |")
    out += ["", "### Idle: the cost of a connected fleet", "",
            f"Over the idle window, no job anywhere. PostgreSQL: the server's CPU (postmaster, backends, background processes; "
            f"procs.server_cpu); statements: pg_stat_statements calls, the benchmark's own left out; turns: the workers' claiming "
            f"turns (all empty: the fallback poll); PSS: proportional set size at the end of the window (shared pages divided among "
            f"the processes that map them).", "",
            "| run | --poll-seconds | PostgreSQL, % of a core | a worker, % of a core | statements/s | a worker | turns/s a worker | "
            "a worker's own CPU, % of a core | PgBouncer, % of a core | relay, % of a core | server connections | PSS a worker, median / max MB | "
            "PSS, all workers MB | VmRSS a worker, median MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    idles = [(r["tag"], r) for r in runs] + ([(data["long_poll"]["tag"], data["long_poll"])] if data.get("long_poll") else [])
    for tag, r in idles:
        i = r["idle"]
        conns = i.get("peak_socket") if r.get("pooled", True) else i.get("peak_tcp")
        out.append(f"| {tag} | {r['poll_seconds']:g} | {_f(_pct(i['server_cores']), 2)} | {_f(i['server_cpu_pct_per_worker'], 4)} | "
                   f"{_f(i['queries_per_s'], 1)} | {_f(i['queries_per_s_per_worker'], 3)} | {_f(i['turns_per_s_per_worker'], 3)} | "
                   f"{_f(i['worker_cpu_pct_each'], 3)} | {_f(_pct(i['pgbouncer_cores']), 2)} | {_f(_pct(i['relay_cores']), 2)} | {conns} | "
                   f"{i.get('pss_median_mb')} / {i.get('pss_max_mb')} | {i.get('pss_sum_mb')} | {i.get('rss_median_mb')} |")
    out += ["", "### Where the CPU goes", "",
            "CPU of each group over each phase, in % of one core (the machine has "
            f"{os.cpu_count()}): PostgreSQL, the workers, PgBouncer, the relay, the benchmark itself (its INSERTs' driver, "
            "the trace readers, the probes), and the machine's busy share.", "",
            "| run | phase | seconds | PostgreSQL | workers | PgBouncer | relay | benchmark | machine busy | PgBouncer transactions/s | "
            "PgBouncer wait ms a transaction | statements/s (fleet's) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        for phase in ("idle", "load", "burst"):
            p = r[phase]
            qps = p.get("queries_per_s")
            if qps is None and p.get("statements"):
                qps = sum(v["calls"] for k, v in p["statements"].items() if k != "benchmark") / p["seconds"]
            out.append(f"| {r['tag']} | {phase} | {_f(p['seconds'], 0)} | {_f(_pct(p['server_cores']), 1)} | {_f(_pct(p['workers_cores']), 1)} | "
                       f"{_f(_pct(p['pgbouncer_cores']), 1)} | {_f(_pct(p['relay_cores']), 1)} | {_f(_pct(p['bench_cores']), 1)} | "
                       f"{_f(p['machine_busy'] * 100, 0)}% | {_f(p.get('pgbouncer_xacts_per_s'), 0)} | "
                       f"{_f(p.get('pgbouncer_wait_ms_per_xact'), 3)} | {_f(qps, 0)} |")
    out += ["", "Statements by kind (pg_stat_statements, reset at the start of each phase; execution time only: no parse, "
            "commit or network), for each run: calls a second and mean ms.", ""]
    kinds: list[str] = []
    for r in runs:
        for phase in ("idle", "load", "burst"):
            for k in r[phase].get("statements", {}):
                if k not in kinds:
                    kinds.append(k)
    cols = [(r, phase) for r in runs for phase in ("idle", "load", "burst")]
    out += ["| statement | " + " | ".join(f"{r['tag']} {phase}" for r, phase in cols) + " |", "|---|" + "---:|" * len(cols)]
    for k in kinds:
        cells = []
        for r, phase in cols:
            v = r[phase].get("statements", {}).get(k)
            cells.append(f"{v['calls'] / r[phase]['seconds']:,.1f}/s, {v['total_ms'] / max(1, v['calls']):.3f} ms" if v else "")
        out.append(f"| {k} | " + " | ".join(cells) + " |")
    out += ["", "Memory under load: each worker's peak PSS over readings every "
            f"{_f(data['pss_every'], 0)} s.", ""]
    for r in runs:
        L = r["load"]
        out.append(f"- {r['tag']}: PSS a worker median {L.get('pss_median_mb')} MB, max {L.get('pss_max_mb')} MB, all workers "
                   f"{L.get('pss_sum_mb')} MB; VmRSS a worker median {L.get('rss_median_mb')} MB.")
    out += ["", "Errors counted per run: warnings and errors in the workers' logs (bench/results/tmp/fleet-*-worker-*.log), jobs not "
            "`success`, jobs that never started in the trace, overlapping runs of one configuration, jobs claimed twice, workers that "
            "exited early, FATAL/ERROR lines the server logged during the run.", ""]
    for r in runs + ([data["long_poll"]] if data.get("long_poll") else []):
        if "final" not in r:
            out.append(f"- {r['tag']}: log problems {r['problem_count']}" + (f"; first: {r['problems'][0]}" if r["problems"] else ""))
            continue
        out.append(f"- {r['tag']}: statuses {r['statuses']}, log problems {r['problem_count']}, starts missing {r['starts_missing']}, "
                   f"overlaps {r['overlaps']}, claimed twice {r['reclaimed']}, exited early {r['workers_exited_early']}, server log "
                   f"{r['server_log_error_count']}" + (f"; first: {r['problems'][0]}" if r["problems"] else "")
                   + (f"; server: {r['server_log_errors'][0]}" if r.get("server_log_errors") else "")
                   + (f"; at the teardown (not counted) the server logged {r['server_log_teardown_count']}: "
                      f"{r['server_log_teardown'][0]}" if r.get("server_log_teardown") else ""))
    return out
