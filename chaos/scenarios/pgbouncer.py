"""pgbouncer: the whole fleet through PgBouncer in transaction mode, the stream flowing, while
PgBouncer is killed and started again after PGB_DOWN seconds, and later PostgreSQL is restarted
behind it (the long form adds a graceful PgBouncer restart, an online one (-R), a relay kill,
and both faults again).

At the start of its window it starts a PgBouncer (chaos/pooler.py; pool_mode transaction, a `*`
fallback database entry, a pool smaller than its clients) in front of the run's PostgreSQL and a
`baton relay` on the direct URL (the fleet's one LISTEN connection), then swaps the fleet: 2
coordinators and 3 stream workers whose DATABASE_URL is PgBouncer's and which hear of jobs through
the relay (`--wakeups`) come up, and the direct ones are stopped (SIGTERM: the coordinator
resigns, the workers finish their jobs). Migrations, the feeder and chaos/run's own queries stay
direct. This fleet stays until the end of the run, the drain included: it is the last window.
Then each fault in turn, with long process jobs running across it (which must neither stop nor
run twice when their worker reconnects), and the stream between them.

Beyond the harness's checks (every job final, one outcome each, no overlap, none lost):
- the long jobs running when a fault began end success: the workers behind PgBouncer have a lease
  of WORKER_LEASE s, and a restart of a few seconds must not cost a running job;
- after every fault each worker runs a job again and a coordinator creates a task job again
  before the next fault;
- the probe: after the last fault, PROBE jobs of configurations of their own and an orchestration
  run are created at once; each must end success within PROBE_BOUND s;
- the fleet really went through PgBouncer: every worker and coordinator of it holds connections
  to PgBouncer's port and none to PostgreSQL's (their sockets, read from /proc), and PgBouncer's
  admin console (SHOW STATS) counts the transactions it passed to database chaos since its last
  start.
"""

import json
import os
import time

import pooler
from harness import CHAOS_DIR, FINAL, Scenario, SetupError

COMPONENT = "chaos-pgb"
WORKERS = 3
COORDINATORS = 2
# PgBouncer's settings: transaction pooling, a pool much smaller than the clients, the startup
# parameters postgres-nio sends. server_login_retry: PgBouncer's default waits 15 s after a failed
# server login before it tries again, so a PostgreSQL restart that a query meets half-way would
# hold the whole fleet for 15 s; 1 s is what a fleet's PgBouncer should have.
SETTINGS = {
    "pool_mode": "transaction",
    "max_client_conn": "1000",
    "default_pool_size": "20",
    "ignore_startup_parameters": "extra_float_digits,options",
    "server_login_retry": "1",
}
PGB_DOWN = 2.0     # seconds PgBouncer stays dead after its SIGKILL, before a new one starts
RELAY_DOWN = 4.0   # seconds the relay stays dead: the fleet polls meanwhile (every 2 s)
# The lease of the workers behind PgBouncer. A job is fenced (stopped, ended worker-lost) when no
# renewal got through for 2/3 of it, renewals go every quarter of it, and a reconnect waits its
# backoff: with chaos's 6 s lease, a 2 s outage fenced a long job in 3 runs of 8. With 15 s (the
# default is 20) a restart of PgBouncer or of PostgreSQL behind it must cost no running job.
WORKER_LEASE = 15.0
PROBE = 6          # jobs of the probe (one configuration each, 1 s of work), plus one orchestration run
PROBE_BOUND = 12.0  # seconds from their creation within which every probe job must end success


class PgBouncerScenario(Scenario):
    name = "pgbouncer"
    kind = "window"
    summary = ("the fleet through PgBouncer (transaction mode) + relay: PgBouncer killed and down 2 s, then PostgreSQL "
               "restarted behind it (long: also graceful and online PgBouncer restarts, relay killed)")
    components = {COMPONENT: "stamp"}

    def sizes(self, h):
        """The faults in order, the seconds of stream after each, long jobs per fault and their seconds."""
        if h.short:
            return (["pgbouncer-kill", "postgres-restart"], 4.0, 1, 5)
        return (["pgbouncer-kill", "postgres-restart", "pgbouncer-graceful", "pgbouncer-online", "relay-kill",
                 "pgbouncer-kill", "postgres-restart"], 6.0, 2, 6)

    def definitions(self, h):
        plan, _, n, _ = self.sizes(h)
        docs = [{"kind": "configuration", "component": COMPONENT, "id": f"pb{i}-{k}", "name": f"Through PgBouncer {i}.{k}"}
                for i in range(1, len(plan) + 1) for k in range(1, n + 1)]
        docs += [{"kind": "configuration", "component": COMPONENT, "id": f"probe-{k}", "name": f"PgBouncer probe {k}"}
                 for k in range(1, PROBE + 1)]
        return docs

    def ports(self, h):
        bouncer = int(os.environ.get("CHAOS_PGBOUNCER_PORT", h.port + 1))
        relay = int(os.environ.get("CHAOS_RELAY_PORT", h.port + 2))
        return bouncer, relay

    # ------------------------------------------------------------------ the run

    def run(self, h, window):
        plan, gap, n, seconds = self.sizes(h)
        bouncer_port, relay_port = self.ports(h)
        bouncer = pooler.PgBouncer(CHAOS_DIR / ".pgbouncer", bouncer_port, h.port, SETTINGS, log=h.log)
        if bouncer.binary is None:
            raise SetupError("pgbouncer not found (apt-get install -y pgbouncer; scripts/ensure-packages does)")
        bouncer.configure()
        h.cleanups.append(bouncer.stop)
        try:
            bouncer.start()
        except RuntimeError as e:
            raise SetupError(f"pgbouncer: {e}")
        h.log(f"{self.name}: PgBouncer {bouncer.pid} on 127.0.0.1:{bouncer_port} -> PostgreSQL on {h.port} "
              f"({', '.join(f'{k} {v}' for k, v in SETTINGS.items())})")
        relay = self.start_relay(h, relay_port)
        figures = h.extra.setdefault(self.name, {"rounds": [], "workers": [], "relay": relay.base, "probe": None,
                                                 "through": None, "sockets": {}, "stats": None})
        self.swap_fleet(h, bouncer_port, relay_port, figures)
        figures["through"] = time.time()
        longs = []
        for i, kind in enumerate(plan, 1):
            ids = [h.create_job(COMPONENT, f"pb{i}-{k}", {"seconds": seconds, "variant": "plain"}) for k in range(1, n + 1)]
            ids += [h.create_job(COMPONENT, f"pb{i}-{k}", {"seconds": 2, "variant": "plain"}) for k in range(1, n + 1)]
            longs += ids
            h.wait_running(ids[:n], 15)
            h.sleep(1)
            h.log(f"== {self.name}: fault {i} of {len(plan)}: {kind}")
            f = getattr(self, kind.replace("-", "_"))(h, bouncer, relay)
            figures["rounds"].append({"kind": kind, "fault": f, "jobs": ids, "until": None})
            if len(figures["rounds"]) > 1:
                figures["rounds"][-2]["until"] = f.begin
            h.sleep(gap)
            self.sample_sockets(h, bouncer, figures)
        figures["probe"] = self.probe(h, bouncer, figures)
        figures["stats"] = self.stats(h, bouncer)
        h.settle(self.name, longs, [r["fault"] for r in figures["rounds"]], extra=seconds + 2 + 1)
        figures["rounds"][-1]["until"] = time.time()
        h.sweep(self.name, [COMPONENT])

    def probe(self, h, bouncer, figures):
        """After the last fault: PROBE jobs (1 s each, a configuration each) and an orchestration
        run, created at once; waits until they are final or PROBE_BOUND s have passed. Samples the
        fleet's sockets meanwhile."""
        t = time.time()
        ids = [h.create_job(COMPONENT, f"probe-{k}", {"seconds": 1, "variant": "plain"}) for k in range(1, PROBE + 1)]
        run = None
        r = h.baton(["run", "chaos-a", "--json"], timeout=20)
        try:
            view = json.loads(r.stdout)
            run = int(view.get("id") or view["run"]["id"])
        except (ValueError, KeyError, TypeError, AttributeError):
            h.warn(f"{self.name}: probe: baton run chaos-a --json: cannot read the run's id from {(r.stdout + r.stderr)[:200]!r}")
        created = time.time()
        h.log(f"{self.name}: probe: jobs {ids} and run {run} created in {created - t:.2f} s; "
              f"each must end success within {PROBE_BOUND:g} s")
        wanted = [i for i in ids + [run] if i]
        deadline = t + PROBE_BOUND
        states = {}
        while True:
            self.sample_sockets(h, bouncer, figures)
            states = h.job_states(wanted)
            if all(states.get(i, {}).get("status") in FINAL for i in wanted) or time.time() >= deadline:
                break
            h.sleep(0.3)
        ends = {i: float(s["ended"]) - t for i, s in states.items() if s.get("ended")}
        bad = [i for i in ids + [run] if not i or states.get(i, {}).get("status") != "success" or i not in ends
               or ends[i] > PROBE_BOUND]
        h.log(f"{self.name}: probe: {len(wanted) - len(bad)} of {PROBE + 1} ended success within {PROBE_BOUND:g} s "
              f"(slowest {max(ends.values(), default=0):.2f} s)" + (f"; not: {bad}" if bad else ""))
        return {"created": t, "ids": ids, "run": run, "bad": bad, "ends": ends}

    def sample_sockets(self, h, bouncer, figures):
        """Which ports each process of the fleet through PgBouncer holds connections to, right now."""
        with h.lock:
            procs = [p for p in h.procs if p.base.startswith("chaos-pgb-") and p.alive()]
        for p in procs:
            seen = figures["sockets"].setdefault(p.base, {"bouncer": 0, "postgres": 0, "samples": 0})
            peers = pooler.tcp_peers(p.pid)
            seen["samples"] += 1
            seen["bouncer"] = max(seen["bouncer"], peers.count(bouncer.port))
            seen["postgres"] = max(seen["postgres"], peers.count(h.port))

    def stats(self, h, bouncer):
        """SHOW STATS and SHOW POOLS of database chaos, from PgBouncer's admin console."""
        try:
            stats = [r for r in bouncer.admin("SHOW STATS") if r.get("database") == "chaos"]
            pools = [r for r in bouncer.admin("SHOW POOLS") if r.get("database") == "chaos"]
        except RuntimeError as e:
            h.warn(f"{self.name}: {e}")
            return None
        out = {"xacts": sum(int(r.get("total_xact_count") or 0) for r in stats),
               "queries": sum(int(r.get("total_query_count") or 0) for r in stats),
               "modes": sorted({r.get("pool_mode", "") for r in pools}),
               "clients": sum(int(r.get("cl_active") or 0) + int(r.get("cl_waiting") or 0) for r in pools),
               "servers": sum(int(r.get(k) or 0) for r in pools for k in ("sv_active", "sv_idle", "sv_used"))}
        h.log(f"{self.name}: PgBouncer {bouncer.pid} (SHOW STATS, SHOW POOLS of database chaos): {out['xacts']} transactions, "
              f"{out['queries']} queries since its start; pool mode {','.join(out['modes'])}; {out['clients']} clients, "
              f"{out['servers']} server connections")
        return out

    def start_relay(self, h, port):
        relay = h.add_relay("chaos-relay", port)
        if not self.wait_accepting(h, port, 30):
            raise SetupError(f"baton relay does not listen on 127.0.0.1:{port} (see chaos/.logs/chaos-relay.log)")
        h.log(f"{self.name}: baton relay on 127.0.0.1:{port} (LISTEN on the direct URL)")
        return relay

    @staticmethod
    def wait_accepting(h, port, timeout):
        deadline = time.time() + timeout
        while not pooler.accepts(port):
            if time.time() >= deadline:
                return False
            h.sleep(0.1)
        return True

    def swap_fleet(self, h, bouncer_port, relay_port, figures):
        """Starts the fleet through PgBouncer, then stops the direct one (SIGTERM)."""
        url = h.url.replace(f"@127.0.0.1:{h.port}/", f"@127.0.0.1:{bouncer_port}/")
        args = ("--wakeups", f"127.0.0.1:{relay_port}")
        with h.lock:
            direct = [p for p in h.procs if p.kind in ("worker", "coordinator") and p.scenario is None and not p.retired]
        for k in range(1, COORDINATORS + 1):
            h.add_coordinator(k, prefix="chaos-pgb-c", url=url, args=args, log_name=f"pgbouncer-coordinator-{k}")
        for k in range(1, WORKERS + 1):
            w = h.add_worker(f"chaos-pgb-w{k}", h.stream_worker_components(), url=url, args=args,
                             log_name=f"pgbouncer-worker-{k}", lease=WORKER_LEASE)
            figures["workers"].append(w.base)
        deadline = time.time() + 30
        while len(h.try_rows("""SELECT id FROM workers WHERE id LIKE 'chaos-pgb-w%' AND stopped_time IS NULL""") or []) < WORKERS:
            if time.time() >= deadline:
                raise SetupError("the workers through PgBouncer did not register within 30 s (chaos/.logs/pgbouncer-worker-*.log)")
            h.sleep(0.3)
        h.log(f"{self.name}: fleet through PgBouncer up ({url.split('@')[-1]}, --wakeups 127.0.0.1:{relay_port}); "
              f"stopping the direct one: {' '.join(p.name for p in direct)}")
        forced = h.stop_procs(direct, 45, self.name)
        h.count(self.name, "workers not stopping", forced)
        deadline = time.time() + 30
        while True:
            rows = h.try_rows("SELECT holder FROM leaders WHERE name = 'coordinator' AND expires > now()") or []
            if rows and rows[0]["holder"].startswith("chaos-pgb-c"):
                h.log(f"{self.name}: {rows[0]['holder']} leads, through PgBouncer")
                return
            if time.time() >= deadline:
                raise SetupError("no coordinator through PgBouncer took the lead within 30 s of the direct ones' stop")
            h.sleep(0.2)

    # ------------------------------------------------------------------ the faults

    def pgbouncer_kill(self, h, bouncer, relay):
        old = bouncer.pid
        t = bouncer.kill_hard()
        h.log(f"{self.name}: PgBouncer {old} SIGKILLed; a new one starts in {PGB_DOWN:g} s")
        h.sleep(PGB_DOWN)
        up = bouncer.start()
        h.log(f"{self.name}: PgBouncer {bouncer.pid} accepts on the same port {up - t:.2f} s after the kill")
        return h.fault(self.name, t, up, f"pgbouncer SIGKILL, new in {up - t:.2f}s", ("fleet",))

    def pgbouncer_graceful(self, h, bouncer, relay):
        old = bouncer.pid
        t = time.time()
        clean = bouncer.stop_graceful(20)
        down = time.time()
        up = bouncer.start()
        how = f"exited {down - t:.2f} s after SIGINT" if clean else "did not exit within 20 s of SIGINT (SIGKILL)"
        if not clean:
            h.warn(f"{self.name}: PgBouncer {old} {how}")
        h.log(f"{self.name}: PgBouncer {old} {how}; {bouncer.pid} accepts {up - down:.2f} s later")
        return h.fault(self.name, t, up, f"pgbouncer SIGINT+start, {up - t:.2f}s", ("fleet",))

    def pgbouncer_online(self, h, bouncer, relay):
        old = bouncer.pid
        t = time.time()
        try:
            up = bouncer.online_restart()
        except RuntimeError as e:
            raise SetupError(f"pgbouncer: {e}")
        h.log(f"{self.name}: PgBouncer {old} handed its sockets to {bouncer.pid} (-R) in {up - t:.2f} s")
        return h.fault(self.name, t, up, f"pgbouncer -R takeover, {up - t:.2f}s", ("fleet",))

    def postgres_restart(self, h, bouncer, relay):
        t = time.time()
        h.log(f"{self.name}: baton db down, then db up (PgBouncer {bouncer.pid} stays up)")
        h.db_down()
        if h.db_up() is None:
            raise SetupError("baton db up failed during pgbouncer (server log: chaos/.pg/postgres.log)")
        up = time.time()
        h.log(f"{self.name}: PostgreSQL back after {up - t:.2f} s")
        return h.fault(self.name, t, up, f"postgres restart behind it, {up - t:.2f}s", ("fleet",))

    def relay_kill(self, h, bouncer, relay):
        with h.lock:
            relay.retired = True   # the supervisor leaves it down for RELAY_DOWN s
        name = relay.name
        t = h.sigkill(relay)
        h.log(f"{self.name}: SIGKILL {name}; the fleet polls for {RELAY_DOWN:g} s")
        h.sleep(RELAY_DOWN)
        with h.lock:
            relay.retired = False
            h.start_proc(relay)
        if not self.wait_accepting(h, self.ports(h)[1], 15):
            h.warn(f"{self.name}: {relay.name} does not listen 15 s after its start")
        up = time.time()
        h.log(f"{self.name}: {relay.name} listens again")
        return h.fault(self.name, t, up, f"relay SIGKILL, down {up - t:.1f}s", ("fleet",))

    # ------------------------------------------------------------------ checks and notes

    def recovery(self, data, rnd, workers):
        """Per round: seconds from the fault's start to the first job each worker slot started
        after the fault's end (None: none before the next fault), and to the first task job a
        coordinator created after it."""
        f, until = rnd["fault"], rnd["until"] or float("inf")
        per = {}
        for base in workers:
            starts = [j.start for j in data.jobs.values()
                      if j.worker.startswith(f"{base}-g") and j.start is not None and f.end < j.start < until]
            per[base] = min(starts) - f.begin if starts else None
        tasks = [j.created for j in data.jobs.values() if j.run is not None and f.end < j.created < until]
        return per, (min(tasks) - f.begin if tasks else None)

    @staticmethod
    def long_jobs(rnd, data):
        """The long jobs of a round that were running when its fault began."""
        f = rnd["fault"]
        return [data.jobs[j] for j in rnd["jobs"] if j in data.jobs and data.jobs[j].start is not None
                and data.jobs[j].start < f.begin and (data.jobs[j].end is None or data.jobs[j].end > f.begin)]

    def checks(self, h, data):
        figures = h.extra.get(self.name)
        if not figures:
            return []
        stuck = 0
        for rnd in figures["rounds"]:
            per, task = self.recovery(data, rnd, figures["workers"])
            stuck += sum(1 for v in per.values() if v is None) + (task is None)
        probe = figures["probe"]
        bad_probe = len(probe["bad"]) if probe else PROBE + 1
        sockets = figures["sockets"]
        direct = [b for b, s in sockets.items() if s["postgres"] or not s["bouncer"]]
        missing = WORKERS + COORDINATORS - len(sockets)
        stats = figures["stats"]
        stopped = [j for rnd in figures["rounds"] for j in self.long_jobs(rnd, data) if j.status != "success"]
        idle = [rnd for rnd in figures["rounds"] if not self.long_jobs(rnd, data)]
        return [
            (f"long jobs running across a fault that did not end success (workers' lease {WORKER_LEASE:g} s), "
             "and faults no long job ran across (pgbouncer)", len(stopped) + len(idle)),
            ("processes through PgBouncer that did not work again before the next fault (a worker ran no job, "
             "no coordinator created a task job) (pgbouncer)", stuck),
            (f"probe jobs (and run) created after the last restart that did not end success within {PROBE_BOUND:g} s "
             "(pgbouncer)", bad_probe),
            ("fleet processes of the pgbouncer window with a direct connection to PostgreSQL, none to PgBouncer, "
             "or never seen (pgbouncer)", len(direct) + max(missing, 0)),
            ("PgBouncer's admin console unreadable, or no transaction of database chaos through it since its last "
             "start (pgbouncer)", 0 if stats and stats["xacts"] > 0 else 1),
        ]

    def notes(self, h, data):
        figures = h.extra.get(self.name)
        if not figures:
            return []
        lines = []
        for i, rnd in enumerate(figures["rounds"], 1):
            f = rnd["fault"]
            per, task = self.recovery(data, rnd, figures["workers"])
            runs = ", ".join(f"{b.removeprefix('chaos-pgb-')} {'never' if v is None else f'{v:.2f}'}" for b, v in per.items())
            longs = [data.jobs[j] for j in rnd["jobs"] if j in data.jobs]
            ends = {}
            for j in longs:
                key = j.status + (f" ({j.reason})" if j.reason else "")
                ends[key] = ends.get(key, 0) + 1
            across = self.long_jobs(rnd, data)
            lines.append(f"pgbouncer: {i} {rnd['kind']} at {f.begin - h.t0:.1f} s ({f.victim}): {len(across)} long job(s) running "
                         f"across it; a job started on each worker "
                         f"after s: {runs}; a task job created after {'never' if task is None else f'{task:.2f}'} s; "
                         f"its long jobs and those queued behind them: {', '.join(f'{v} {k}' for k, v in sorted(ends.items()))}")
        probe = figures["probe"]
        if probe:
            ends = probe["ends"]
            lines.append(f"pgbouncer: probe after the last fault: {PROBE} jobs + run {probe['run']}: "
                         f"{PROBE + 1 - len(probe['bad'])} ended success, the last {max(ends.values(), default=0):.2f} s after "
                         f"creation (bound {PROBE_BOUND:g} s)")
        sockets = figures["sockets"]
        if sockets:
            lines.append("pgbouncer: connections seen (most at once, to PgBouncer/direct to PostgreSQL): " +
                         ", ".join(f"{b.removeprefix('chaos-pgb-')} {s['bouncer']}/{s['postgres']}" for b, s in sorted(sockets.items())))
        stats = figures["stats"]
        if stats:
            lines.append(f"pgbouncer: SHOW STATS since PgBouncer's last start: {stats['xacts']} transactions, "
                         f"{stats['queries']} queries of database chaos; pool mode {','.join(stats['modes'])}")
        relay = [r["fault"] for r in figures["rounds"] if r["kind"] == "relay-kill"]
        if relay:
            lines.append("pgbouncer: wait of stream jobs for a worker (created -> start, median ms): " + self.waits(h, data, relay))
        return lines

    @staticmethod
    def waits(h, data, relay_faults):
        """Median created -> start of plain stream jobs: during relay outages (polling) and otherwise
        while the fleet went through PgBouncer."""
        first = h.extra["pgbouncer"]["through"]
        outside, inside = [], []
        for j in data.jobs.values():
            if j.component not in ("chaos-sleep", "chaos-noop") or j.run is not None or j.start is None or j.created < first:
                continue
            during = any(f.begin <= j.created < f.end for f in relay_faults)
            (inside if during else outside).append(j.start - j.created)

        def median(values):
            return f"{sorted(values)[len(values) // 2] * 1000:.0f} ({len(values)} jobs)" if values else "none"
        return f"relay down {median(inside)}, otherwise {median(outside)}"


SCENARIO = PgBouncerScenario()
