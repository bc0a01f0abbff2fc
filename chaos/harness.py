"""The chaos harness: PostgreSQL, the fleet and its supervisor, the feeder, SQL helpers, fault
records, process sweeps, the report and the checks. Scenarios live in chaos/scenarios/, one file
each; chaos/run is the entry point. See chaos/README.md.

Standard library only (Python 3.11); SQL goes through the psql command line, jobs through the
baton command line, as an operator would.
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

CHAOS_DIR = Path(__file__).resolve().parent
ROOT = CHAOS_DIR.parent
# Marks this checkout's processes (the start of every CHAOS_RUN token): two checkouts may run
# chaos/run at once, and one must not sweep the other's fleet away as "left by an earlier run".
CHECKOUT = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
PG_DIR = CHAOS_DIR / ".pg"
LOG_DIR = CHAOS_DIR / ".logs"
STATE_DIR = LOG_DIR / "state"          # stamps.log and locks/ of the stamping jobs
BIN_DIR = CHAOS_DIR / ".bin"
STAMP = CHAOS_DIR / "jobs" / "stamp.sh"
DB = "chaos"

LEASE = 6.0            # --lease-seconds of every worker
RESCUE = 2.0           # the coordinator's rescue interval (Coordinator.Configuration.rescueInterval)
KILL_GRACE = 10.0      # SIGTERM -> SIGKILL grace of a stopped process job (ProcessExecutor.killGraceSeconds)
SLACK = 5.0            # turns, NOTIFY, a coordinator takeover, a loaded 2-core machine
BOUND = LEASE + RESCUE + KILL_GRACE + SLACK
UNLEASED_SLACK = 2.0   # a tick every second, and the stop of a process takes a moment
PER_JOB = 0.5          # claim and report of each job in a configuration's chain, on top of its planned work
CONTAINER_SECONDS = 3.0  # planned time of an orchestration run of chaos-a/chaos-b (4 short phases)

FINAL = ("success", "warning", "error", "terminated", "cancelled")
MAX_RESTARTS = 60      # supervisor bound over the whole run
GENERAL_WORKERS = 3
COORDINATORS = 2
STREAM_COMPONENTS = ("chaos-sleep", "chaos-noop")
SLEEPS = (0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.12)
FEED_INTERVAL = 0.2    # one submission round (1-3 plain jobs) every 0.2 s
RUN_EVERY = 8          # an orchestration run every 8th round (1.6 s)


class SetupError(Exception):
    """The run could not be set up (exit 2)."""


class Aborted(Exception):
    """Ctrl-C or SIGTERM."""


# ---------------------------------------------------------------------------------------------
# scenarios


class Scenario:
    """One scenario. `kind` is "window" (runs in the main thread while the stream of jobs flows,
    one window at a time) or "lane" (runs on a thread of its own with dedicated workers, beside
    the windows kill-worker and kill-coordinator and the other lanes)."""

    name = ""
    kind = "lane"
    summary = ""
    #: components this scenario owns: id -> executor. Jobs of these count for this scenario.
    components: dict = {}

    def definitions(self, h: "Harness") -> list[dict]:
        """Documents for `baton apply` (configurations of its components)."""
        return []

    def run(self, h: "Harness", window: "Span") -> None:
        raise NotImplementedError

    def notes(self, h: "Harness", data: "Data") -> list[str]:
        """Lines printed under the report (scenario-specific figures)."""
        return []

    def checks(self, h: "Harness", data: "Data") -> list[tuple[str, int]]:
        """Checks of its own: (what must be 0, the count)."""
        return []


@dataclass
class Span:
    """A window of the stream, or the time a lane ran."""
    name: str
    kind: str                 # window | lane
    start: float
    end: float | None = None


@dataclass
class Fault:
    scenario: str
    begin: float
    end: float
    victim: str
    scope: tuple              # ("stream",) | ("fleet",) | ("components", (...)) | ("configs", ((comp, cfg), ...))
    victims: tuple = ()       # job ids the fault stops on purpose (kill, timeout): they get no planned time
    worker: str | None = None  # the worker killed or stopped
    #: workers that could renew no lease from `begin` on ("*": all of them), until `cut_end`
    #: (None: never again, a killed worker). Their running jobs' processes must end with the lease.
    cut: tuple = ()
    cut_end: float | None = None
    #: the jobs it affects, when named (else: those in scope queued or running at `begin`)
    jobs: tuple = ()


@dataclass
class Proc:
    """A fleet process slot: restarted by the supervisor when it dies, as a deployment would."""
    kind: str                 # worker | coordinator | relay
    base: str                 # chaos-w1, chaos-c1, chaos-kwa-w1
    argv: list
    env: dict
    log_path: Path
    scenario: str | None = None   # a lane's dedicated worker
    gen: int = 0
    popen: subprocess.Popen | None = None
    killed: bool = False      # the harness ended it (a fault, or the end of its lane)
    stopped: bool = False     # SIGSTOPped right now
    retired: bool = False     # not to be restarted

    @property
    def name(self) -> str:
        return f"{self.base}-g{self.gen}"

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class JobProc:
    pid: int
    job: int
    component: str
    how: str
    cmd: str


# ---------------------------------------------------------------------------------------------
# the harness


class Harness:
    def __init__(self, opts, scenarios: list[Scenario]):
        self.opts = opts
        self.short = opts.short
        total = opts.seconds if opts.seconds else (32 if opts.short else 160)
        self.window_seconds = total / 4.0
        self.baseline_seconds = self.window_seconds / 2
        self.drain_seconds = 60 if opts.short else 90
        self.parallel_lanes = opts.short
        self.scenarios = scenarios
        self.selected = scenarios
        self.t0 = time.time()
        # The checkout's mark first: the sweeps of leftovers touch only this checkout's processes,
        # never those of a chaos/run of another checkout on the same machine.
        self.token = f"{CHECKOUT}-{os.getpid()}-{int(self.t0)}"
        self.out_lock = threading.Lock()
        self.lock = threading.RLock()
        self.abort = threading.Event()
        self.baton_bin: Path | None = None
        self.sql_dir: Path | None = None
        self.url = ""
        self.port = int(os.environ.get("CHAOS_PORT", "15435"))
        self.db_started = False
        self.procs: list[Proc] = []
        self.restarts = 0
        self.unexpected_exits = 0
        self.not_stopped = 0
        self.faults: list[Fault] = []
        self.spans: list[Span] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.lane_unfinished: dict[str, set[int]] = {}
        self.lane_errors: list[str] = []
        self.final_orphans = 0
        self.orphans: dict[int, tuple[str, int]] = {}   # pid -> (scenario, job): alive after its job ended
        self.seen_alive: dict[int, list[float]] = {}    # job -> when a process of it was seen alive
        self.watch_thread: threading.Thread | None = None
        self.leftovers = 0
        self.lane_threads: list[threading.Thread] = []
        self.feed_stop = threading.Event()
        self.feed_thread: threading.Thread | None = None
        self.feed_ok = 0
        self.feed_failed = 0
        self.sup_stop = threading.Event()
        self.sup_thread: threading.Thread | None = None
        self.feeder_log = None
        self.run_lock_file = None
        self.owned: dict[str, str] = {}          # component -> scenario name
        self.lane_components: set[str] = set()
        self.extra: dict[str, dict] = {}          # scenario -> free-form figures for notes
        self.lane_cleanups: dict[str, list] = {}  # scenario -> callables run after its workers stopped
        self.cleanups: list = []                  # callables run at the end, once the fleet has stopped
        self.scenario_checks: list[tuple[str, int]] = []

    # ----------------------------------------------------------------- output

    def log(self, message: str) -> None:
        with self.out_lock:
            print(f"[chaos {time.time() - self.t0:6.1f}s] {message}", flush=True)

    def warn(self, message: str) -> None:
        self.log(f"WARNING: {message}")

    def count(self, scenario: str, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts.setdefault(scenario, {}).setdefault(key, 0)
            self.counts[scenario][key] += n

    def sleep(self, seconds: float) -> None:
        if seconds > 0 and self.abort.wait(seconds):
            raise Aborted()
        if self.abort.is_set():
            raise Aborted()

    # ----------------------------------------------------------------- commands

    def env(self, url: str | None = None) -> dict:
        env = dict(os.environ)
        env["DATABASE_URL"] = url or self.url
        env["PGAPPNAME"] = "chaos-run"
        env["PGCONNECT_TIMEOUT"] = "3"
        if self.sql_dir:
            env["BATON_SQL_DIR"] = str(self.sql_dir)
        env.pop("CHAOS_RUN", None)
        return env

    def baton(self, args: list[str], timeout: float = 30, log=None) -> subprocess.CompletedProcess:
        try:
            result = subprocess.run([str(self.baton_bin), *args], env=self.env(), capture_output=True, text=True,
                                    timeout=timeout, errors="replace")
        except subprocess.TimeoutExpired as e:
            result = subprocess.CompletedProcess(e.cmd, 124, "", f"timed out after {timeout} s")
        if log is not None:
            log.write(result.stdout + result.stderr)
            log.flush()
        return result

    def psql(self, sql: str, timeout: float = 30, check: bool = True) -> str:
        try:
            result = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", self.url], input=sql,
                                    env=self.env(), capture_output=True, text=True, timeout=timeout, errors="replace")
        except subprocess.TimeoutExpired:
            if check:
                raise RuntimeError(f"psql timed out after {timeout} s")
            return ""
        if result.returncode != 0:
            if check:
                raise RuntimeError(f"psql failed: {result.stderr.strip()[:400]}")
            return ""
        return result.stdout.strip()

    def rows(self, select: str, timeout: float = 60) -> list[dict]:
        """Rows of a SELECT as dicts of strings ('' for NULL)."""
        out = self.psql(f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)", timeout=timeout)
        return list(csv.DictReader(io.StringIO(out))) if out else []

    def try_rows(self, select: str, timeout: float = 30) -> list[dict] | None:
        try:
            return self.rows(select, timeout)
        except RuntimeError:
            return None

    # ----------------------------------------------------------------- setup

    def setup(self) -> None:
        for tool in ("psql", "flock", "setsid", "bash"):
            if shutil.which(tool) is None:
                raise SetupError(f"{tool} not found (apt-get install -y postgresql-client util-linux bash)")
        BIN_DIR.mkdir(parents=True, exist_ok=True)
        self.run_lock_file = open(BIN_DIR / "run.lock", "w")
        try:
            fcntl.flock(self.run_lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SetupError("another chaos/run is in progress (chaos/.bin/run.lock is held)")
        self.sweep_leftovers()
        if LOG_DIR.exists():
            shutil.rmtree(LOG_DIR)
        (STATE_DIR / "locks").mkdir(parents=True)
        (STATE_DIR / "stamps.log").touch()
        # The stamping jobs run as root here, but make the state folder usable by any user.
        os.chmod(STATE_DIR, 0o777)
        os.chmod(STATE_DIR / "locks", 0o777)
        os.chmod(STATE_DIR / "stamps.log", 0o666)
        self.feeder_log = open(LOG_DIR / "feeder.log", "a")
        self.take_binary()
        self.log(f"baton: {self.baton_bin}; sql: {self.sql_dir}; stream windows of {self.window_seconds:g} s, "
                 f"drain up to {self.drain_seconds} s; lanes {'in parallel' if self.parallel_lanes else 'one at a time'}")
        if (PG_DIR / "data" / "PG_VERSION").exists():
            self.db_control(["db", "down", "--data-dir", str(PG_DIR)], 60)
        shutil.rmtree(PG_DIR, ignore_errors=True)
        self.log(f"starting PostgreSQL: baton db up --data-dir chaos/.pg --port {self.port} --database {DB}")
        self.db_started = True
        url = self.db_up()
        if not url or "@127.0.0.1:" not in url:
            raise SetupError(f"baton db up printed no 127.0.0.1 DATABASE_URL (got '{url}'); see chaos/.pg/postgres.log")
        self.url = url
        self.log(f"DATABASE_URL={url}")
        r = self.baton(["migrate"], timeout=120, log=open(LOG_DIR / "setup.log", "a"))
        if r.returncode != 0:
            raise SetupError("baton migrate failed (see chaos/.logs/setup.log)")
        self.install_audit()
        self.apply_definitions()

    def take_binary(self) -> None:
        sql_env = os.environ.get("BATON_SQL_DIR")
        if sql_env:
            self.sql_dir = Path(sql_env).resolve()
        else:
            # A snapshot, like the binary: the lead may edit sql/ while the run goes on.
            target = BIN_DIR / "sql"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / "sql", target)
            self.sql_dir = target
        given = os.environ.get("BATON_BIN")
        if given:
            path = Path(given).resolve()
            if not os.access(path, os.X_OK):
                raise SetupError(f"BATON_BIN={given} is not an executable file")
            self.baton_bin = path
        else:
            source = ROOT / ".build" / "debug" / "baton"
            if not source.exists():
                raise SetupError("no .build/debug/baton: build it (swift build --product baton) or set BATON_BIN")
            # The build tree may be relinked while we copy: retry until the copy runs.
            for attempt in range(12):
                try:
                    # Helpers built with baton and looked for beside it (baton-shim runs process jobs).
                    for helper in sorted(source.parent.glob("baton-*")):
                        if helper.is_file() and os.access(helper, os.X_OK):
                            shutil.copy2(helper, BIN_DIR / f"{helper.name}.tmp")
                            os.replace(BIN_DIR / f"{helper.name}.tmp", BIN_DIR / helper.name)
                    shutil.copy2(source, BIN_DIR / "baton.tmp")
                    os.replace(BIN_DIR / "baton.tmp", BIN_DIR / "baton")
                    if subprocess.run([str(BIN_DIR / "baton"), "--help"], capture_output=True, timeout=30).returncode == 0:
                        break
                except (OSError, subprocess.TimeoutExpired):
                    pass
                if attempt == 11:
                    raise SetupError("could not take a working copy of .build/debug/baton")
                self.warn("copy of .build/debug/baton does not run (being rebuilt?); retrying in 5 s")
                time.sleep(5)
            self.baton_bin = BIN_DIR / "baton"
        if subprocess.run([str(self.baton_bin), "--help"], capture_output=True, timeout=30).returncode != 0:
            raise SetupError(f"{self.baton_bin} --help failed")

    def db_control(self, args: list[str], timeout: float) -> subprocess.CompletedProcess:
        try:
            r = subprocess.run([str(self.baton_bin), *args], env=self.env("postgres://unused"), capture_output=True,
                               text=True, timeout=timeout, errors="replace")
        except subprocess.TimeoutExpired:
            r = subprocess.CompletedProcess(args, 124, "", f"timed out after {timeout} s")
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with open(LOG_DIR / "postgres-control.log", "a") as f:
            f.write(f"$ baton {' '.join(args)}\n{r.stdout}{r.stderr}")
        return r

    def db_up(self) -> str | None:
        r = self.db_control(["db", "up", "--data-dir", str(PG_DIR), "--port", str(self.port), "--database", DB], 90)
        if r.returncode != 0:
            self.warn(f"baton db up failed: {(r.stdout + r.stderr).strip()[-300:]}")
            return None
        found = [w.split("=", 1)[1] for w in (r.stdout + r.stderr).split() if w.startswith("DATABASE_URL=")]
        return found[-1] if found else None

    def db_down(self) -> bool:
        r = self.db_control(["db", "down", "--data-dir", str(PG_DIR)], 60)
        if r.returncode != 0:
            self.warn("baton db down failed (see chaos/.logs/postgres-control.log)")
        return r.returncode == 0

    def install_audit(self) -> None:
        """chaos_transitions: every status change of a job (chaos-only instrumentation, installed
        after `baton migrate`; not part of Baton's schema)."""
        self.psql("""
CREATE TABLE chaos_transitions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id     bigint NOT NULL,
    attempt    integer,
    old_status text,
    new_status text NOT NULL,
    worker_id  text,
    at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE chaos_transitions IS 'chaos/run instrumentation, not part of Baton: every status a job entered (old_status NULL: inserted).';
CREATE INDEX chaos_transitions_by_job ON chaos_transitions (job_id, id);
CREATE FUNCTION chaos_record_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chaos_transitions (job_id, attempt, old_status, new_status, worker_id)
    VALUES (NEW.id, NEW.attempt, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status::text END, NEW.status::text, NEW.worker_id);
    RETURN NULL;
END $$;
CREATE TRIGGER chaos_transitions_insert AFTER INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION chaos_record_transition();
CREATE TRIGGER chaos_transitions_update AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION chaos_record_transition();
""")

    def stamp_component(self, component: str) -> dict:
        return {"kind": "component", "id": component,
                "executor": {"type": "process", "command": ["bash", str(STAMP), str(STATE_DIR)],
                             "environment": {"CHAOS_RUN": self.token}}}

    def apply_definitions(self) -> None:
        docs: list[dict] = [
            {"kind": "project", "id": "default", "maxParallelJobs": 100},
            {"kind": "component", "id": "chaos-sleep", "executor": {"type": "sleep"}},
            {"kind": "component", "id": "chaos-noop", "executor": {"type": "noop"}},
            {"kind": "configuration", "component": "chaos-noop", "id": "n1", "name": "Noop"},
        ]
        for i, seconds in enumerate(SLEEPS, 1):
            docs.append({"kind": "configuration", "component": "chaos-sleep", "id": f"s{i}",
                         "name": f"Sleep {seconds} s", "parameters": {"seconds": seconds}})
        docs += ORCHESTRATIONS
        for s in self.selected:
            for component, executor in s.components.items():
                self.owned[component] = s.name
                if s.kind == "lane":
                    self.lane_components.add(component)
                if executor == "stamp":
                    docs.append(self.stamp_component(component))
                else:
                    docs.append({"kind": "component", "id": component, "executor": executor})
            docs += s.definitions(self)
        path = LOG_DIR / "definitions.json"
        path.write_text(json.dumps(docs, indent=1))
        r = self.baton(["apply", "-f", str(path)], timeout=60, log=open(LOG_DIR / "setup.log", "a"))
        if r.returncode != 0:
            raise SetupError("baton apply -f chaos/.logs/definitions.json failed (see chaos/.logs/setup.log)")
        if self.psql("SELECT max_parallel_jobs FROM projects WHERE id = 'default'") != "100":
            raise SetupError("project default did not get maxParallelJobs 100")

    # ----------------------------------------------------------------- the fleet

    def fleet_env(self, url: str | None = None) -> dict:
        env = self.env(url)
        env["CHAOS_RUN"] = self.token   # inherited by job processes: the sweeps find them by it
        return env

    def add_worker(self, base: str, components: list[str] | None, concurrency: int = 4,
                   url: str | None = None, scenario: str | None = None, log_name: str | None = None,
                   args: tuple = (), lease: float = LEASE) -> Proc:
        # Jobs get none of the worker's environment unless passed on: CHAOS_RUN marks their processes.
        argv = ["worker", "--concurrency", str(concurrency), "--lease-seconds", f"{lease:g}", "--pass-env", "CHAOS_RUN",
                *args]
        if components:
            argv += ["--components", ",".join(components)]
        return self.add_proc(Proc("worker", base, argv, self.fleet_env(url), LOG_DIR / f"{log_name or base}.log",
                                  scenario=scenario))

    def add_coordinator(self, n: int, prefix: str = "chaos-c", url: str | None = None, args: tuple = (),
                        log_name: str | None = None) -> Proc:
        return self.add_proc(Proc("coordinator", f"{prefix}{n}",
                                  ["coordinator", "--standby-seconds", "0.5", "--leader-lease-seconds", "3", *args],
                                  self.fleet_env(url), LOG_DIR / f"{log_name or f'coordinator-{n}'}.log"))

    def add_relay(self, base: str, port: int) -> Proc:
        """A wake-up relay (`baton relay`) on the direct URL: it holds the fleet's one LISTEN connection."""
        return self.add_proc(Proc("relay", base, ["relay", "--port", str(port)], self.fleet_env(), LOG_DIR / f"{base}.log"))

    def add_proc(self, proc: Proc) -> Proc:
        if self.abort.is_set():
            raise Aborted()
        with self.lock:
            self.procs.append(proc)
            self.start_proc(proc)
        return proc

    def start_proc(self, proc: Proc) -> None:
        proc.gen += 1
        proc.killed = False
        proc.stopped = False
        flag = {"worker": ["--worker-id", proc.name], "coordinator": ["--coordinator-id", proc.name]}.get(proc.kind, [])
        with open(proc.log_path, "a") as f:
            f.write(f"=== {time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}: start {proc.name}\n")
        log = open(proc.log_path, "a")
        # A session of its own: a signal meant for chaos/run (Ctrl-C) does not reach it, and
        # signalling the worker's pid reaches the worker alone.
        proc.popen = subprocess.Popen([str(self.baton_bin), *proc.argv, *flag], env=proc.env,
                                      stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        log.close()

    def supervise_once(self) -> None:
        with self.lock:
            for proc in self.procs:
                if proc.retired or proc.alive():
                    continue
                rc = proc.popen.returncode if proc.popen else None
                if not proc.killed:
                    self.unexpected_exits += 1
                    self.warn(f"{proc.name} exited by itself (status {rc}); see {proc.log_path.relative_to(ROOT)}")
                if self.restarts >= MAX_RESTARTS:
                    self.warn(f"supervisor: {MAX_RESTARTS} restarts used up; {proc.name} stays down")
                    proc.retired = True
                    continue
                self.restarts += 1
                self.start_proc(proc)
                self.log(f"supervisor: restarted {proc.base} as {proc.name} (pid {proc.pid})")

    def supervisor(self) -> None:
        while not self.sup_stop.wait(0.2):
            try:
                self.supervise_once()
            except Exception as e:  # never let the supervisor die quietly
                self.warn(f"supervisor: {e!r}")

    def proc_named(self, name: str) -> Proc | None:
        with self.lock:
            for proc in self.procs:
                if proc.name == name and proc.alive():
                    return proc
        return None

    def sigkill(self, proc: Proc) -> float:
        """SIGKILL the process alone (not its process group); returns when."""
        with self.lock:
            proc.killed = True
            t = time.time()
            if proc.stopped:
                proc.stopped = False
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            name, pid = proc.name, proc.pid
        try:
            proc.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.warn(f"{name} (pid {pid}) still there 10 s after SIGKILL")
        return t

    def stop_procs(self, procs: list[Proc], grace: float, label: str) -> int:
        """SIGTERM (SIGCONT first for a stopped one), SIGKILL after `grace` s; returns how many
        needed SIGKILL."""
        with self.lock:
            for proc in procs:
                proc.retired = True
                proc.killed = True
                if proc.alive():
                    if proc.stopped:
                        os.kill(proc.pid, signal.SIGCONT)
                        proc.stopped = False
                    os.kill(proc.pid, signal.SIGTERM)
        deadline = time.time() + grace
        while time.time() < deadline and any(p.alive() for p in procs):
            time.sleep(0.1)
        forced = 0
        for proc in procs:
            if proc.alive():
                forced += 1
                self.warn(f"{label}: {proc.name} (pid {proc.pid}) did not stop within {grace:g} s of SIGTERM; SIGKILL")
                os.kill(proc.pid, signal.SIGKILL)
            if proc.popen:
                try:
                    proc.popen.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        return forced

    def kill_signal(self, proc: Proc, name: str) -> None:
        try:
            os.kill(proc.pid, getattr(signal, f"SIG{name}"))
        except ProcessLookupError:
            pass

    def stream_worker_components(self) -> list[str]:
        """What the stream's workers run: the stream's components and the window scenarios' own."""
        return list(STREAM_COMPONENTS) + [c for c in self.owned if c not in self.lane_components]

    def general_workers(self) -> list[Proc]:
        """The stream's workers in service (not those a scenario retired)."""
        with self.lock:
            return [p for p in self.procs if p.kind == "worker" and p.scenario is None and not p.retired]

    def coordinators(self) -> list[Proc]:
        with self.lock:
            return [p for p in self.procs if p.kind == "coordinator" and not p.retired]

    # ----------------------------------------------------------------- jobs

    def create_job(self, component: str, config: str, parameters: dict | None = None,
                   timeout: float | None = None) -> int | None:
        args = ["jobs", "create", "--component", component, "--config", config, "--json"]
        if parameters:
            args += ["--parameters", json.dumps(parameters)]
        if timeout:
            args += ["--timeout", f"{timeout:g}"]
        r = self.baton(args, timeout=20)
        if r.returncode != 0:
            self.warn(f"jobs create {component}/{config} failed: {(r.stderr or r.stdout).strip()[-200:]}")
            return None
        try:
            return int(json.loads(r.stdout)["id"])
        except (ValueError, KeyError, TypeError):
            self.warn(f"jobs create {component}/{config}: cannot read the id from {r.stdout[:200]!r}")
            return None

    def kill_job(self, job: int) -> tuple[float, float, str]:
        t = time.time()
        r = self.baton(["jobs", "kill", str(job)], timeout=20)
        said = (r.stdout + r.stderr).strip()
        words = said.replace(":", " ").split()
        short = words[words.index("is") + 1] if "is" in words[:-1] else said[:30]
        return t, time.time(), short if r.returncode == 0 else f"failed: {said[:60]}"

    def job_states(self, ids) -> dict[int, dict]:
        ids = [i for i in ids if i]
        if not ids:
            return {}
        rows = self.try_rows(f"""SELECT id, status::text AS status, worker_id, extract(epoch FROM start_time) AS started,
                                 extract(epoch FROM end_time) AS ended FROM jobs WHERE id IN ({','.join(map(str, ids))})""")
        return {int(r["id"]): r for r in rows or []}

    def wait_running(self, ids, timeout: float) -> dict[int, dict]:
        """Waits until every job has started (or ended); returns their states."""
        deadline = time.time() + timeout
        while True:
            states = self.job_states(ids)
            if all(states.get(i, {}).get("started") for i in ids if i) or time.time() >= deadline:
                return states
            self.sleep(0.3)

    def wait_final(self, ids, deadline: float) -> set[int]:
        """Waits until every job is final or the deadline passes; returns those still unfinished."""
        ids = [i for i in ids if i]
        while True:
            states = self.job_states(ids)
            left = {i for i in ids if states.get(i, {}).get("status") not in FINAL}
            if not left or time.time() >= deadline:
                return left
            self.sleep(0.5)

    def fault(self, scenario: str, begin: float, end: float, victim: str, scope: tuple,
              victims=(), worker: str | None = None, cut: tuple = (), cut_end: float | None = None,
              jobs=()) -> Fault:
        f = Fault(scenario, begin, end, victim, scope, tuple(victims), worker, tuple(cut), cut_end, tuple(j for j in jobs if j))
        with self.lock:
            self.faults.append(f)
        return f

    def settle(self, scenario: str, ids, faults: list["Fault"], extra: float = 0.0) -> set[int]:
        """Waits until `ids` are final, at most until the latest fault's end + BOUND + `extra`
        (the planned work of the longest chain of its jobs) + 2 s. Returns those still unfinished."""
        ids = [i for i in ids if i]
        end = max((f.end for f in faults), default=time.time())
        left = self.wait_final(ids, end + BOUND + extra + 2.0)
        if left:
            self.log(f"{scenario}: {len(left)} job(s) not final {time.time() - end:.1f} s after the fault ended: "
                     f"{sorted(left)}")
        return left

    def stamps(self) -> list[list[str]]:
        try:
            text = (STATE_DIR / "stamps.log").read_text(errors="replace")
        except OSError:
            return []
        return [line.split(" ", 6) for line in text.splitlines() if line.count(" ") >= 5]

    def stamp_time(self, job: int, kind: str) -> float | None:
        for s in self.stamps():
            if s[0] == kind and s[1] == str(job):
                return float(s[4])
        return None

    # ----------------------------------------------------------------- job processes

    def job_processes(self, token: str | None = None, any_token: bool = False) -> list[JobProc]:
        """Processes of jobs: their environment holds CHAOS_RUN (the component's environment and
        the worker's, inherited by every descendant), or their command line names stamp.sh, or
        they hold a lock file of chaos/.logs/state/locks open. The fleet's own processes are not
        counted."""
        token_b = (token or self.token).encode()
        stamp_b = str(STAMP).encode()
        lockdir = str(STATE_DIR / "locks")
        with self.lock:
            fleet = {p.pid for p in self.procs if p.popen is not None}
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid == os.getpid() or pid in fleet:
                continue
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
                if state == b"Z":
                    continue
                with open(f"/proc/{pid}/environ", "rb") as f:
                    environ = f.read().split(b"\0")
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read()
            except (OSError, IndexError):
                continue
            env = dict(e.split(b"=", 1) for e in environ if b"=" in e)
            tag = env.get(b"CHAOS_RUN")
            how = ""
            if tag is not None and (tag == token_b or (any_token and tag.startswith(f"{CHECKOUT}-".encode()))):
                how = "env"
            elif stamp_b in cmdline:
                how = "cmdline"
            else:
                try:
                    for fd in os.listdir(f"/proc/{pid}/fd"):
                        try:
                            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(lockdir):
                                how = "lock"
                                break
                        except OSError:
                            continue
                except OSError:
                    pass
            if not how:
                continue
            if how == "env" and b"BATON_JOB_ID" not in env and b"worker" in cmdline.split(b"\0")[1:2]:
                continue   # a worker of another run's fleet is handled by sweep_leftovers
            try:
                job = int(env.get(b"BATON_JOB_ID", b"0") or 0)
            except ValueError:
                job = 0
            found.append(JobProc(pid, job, env.get(b"BATON_COMPONENT_ID", b"").decode(errors="replace"), how,
                                 cmdline.replace(b"\0", b" ").decode(errors="replace").strip()[:100]))
        return found

    def kill_pid(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def scenario_of_component(self, component: str) -> str:
        return self.owned.get(component, "other")

    def saw(self, procs: list[JobProc]) -> None:
        now = time.time()
        with self.lock:
            for job in {p.job for p in procs if p.job}:
                self.seen_alive.setdefault(job, []).append(now)

    @staticmethod
    def still_alive(p: JobProc) -> bool:
        """Whether the process is still there, and still the job's (its pid not taken by another)."""
        try:
            with open(f"/proc/{p.pid}/environ", "rb") as f:
                env = f.read()
        except OSError:
            return False
        return (b"BATON_JOB_ID=" + str(p.job).encode() + b"\0") in env + b"\0" if p.job else True

    def note_orphan(self, p: JobProc) -> bool:
        with self.lock:
            if p.pid in self.orphans:
                return False
            self.orphans[p.pid] = (self.scenario_of_component(p.component), p.job)
            return True

    def watch_orphans(self) -> None:
        """Every second: a job process whose job has been final for 2 s is an orphan (counted,
        left running until its scenario sweeps, so what it does meanwhile shows)."""
        while not self.sup_stop.wait(1.0):
            try:
                # A process is judged by when it was seen alive, not by when the look ended: on a
                # loaded machine reading every /proc entry can take seconds, and a process seen
                # early in the scan may have ended, with its job, before the scan was over.
                scanned = time.time()
                seen = self.job_processes()
                self.saw(seen)
                procs = [p for p in seen if p.job and p.pid not in self.orphans]
                if not procs:
                    continue
                states = self.job_states({p.job for p in procs})
                now = time.time()
                for p in procs:
                    st = states.get(p.job, {})
                    if st.get("status") in FINAL and st.get("ended") and float(st["ended"]) < scanned - 2 and self.still_alive(p):
                        if self.note_orphan(p):
                            self.log(f"orphan: pid {p.pid} of job {p.job} ({st['status']} {now - float(st['ended']):.1f} s ago) "
                                     f"is alive: {p.cmd}")
            except Exception as e:
                self.warn(f"orphan watch: {e!r}")

    def sweep(self, scenario: str, components: list[str] | None, stragglers: bool = True) -> tuple[int, int]:
        """Kills the job processes of `components` (all when None): an orphan is a process whose
        job is final (its claim ended, its process did not: a fencing failure, counted); a
        straggler is a process of a job that is not final yet (killed so the run stays bounded).
        Returns (orphans, stragglers)."""
        procs = [p for p in self.job_processes() if components is None or p.component in components]
        if not procs:
            return 0, 0
        states = self.job_states({p.job for p in procs if p.job})
        recent = [float(s["ended"]) for s in states.values() if s.get("ended")]
        if recent and max(recent) > time.time() - 2:
            # A job that ended a moment ago: give its worker 2 s to finish stopping its processes.
            time.sleep(max(0.0, min(2.0, max(recent) + 2 - time.time())))
            procs = [p for p in self.job_processes() if components is None or p.component in components]
            states = self.job_states({p.job for p in procs if p.job})
        self.saw(procs)
        orphans = stragglers_n = 0
        for p in procs:
            status = states.get(p.job, {}).get("status", "")
            if status in FINAL or not p.job:
                orphans += 1
                self.note_orphan(p)
                self.log(f"{scenario}: orphan pid {p.pid} of job {p.job or '?'} ({status or 'unknown'}): {p.cmd}; SIGKILL")
                self.kill_pid(p.pid)
            elif stragglers:
                stragglers_n += 1
                self.log(f"{scenario}: pid {p.pid} of job {p.job} ({status}) still running past its bound: {p.cmd}; SIGKILL")
                self.kill_pid(p.pid)
        self.count(scenario, "stragglers", stragglers_n)
        return orphans, stragglers_n

    def sweep_leftovers(self) -> None:
        """Processes of an earlier run of this checkout that was itself killed (found by their
        marks: a CHAOS_RUN token that starts with this checkout's mark); the run lock proves no
        other chaos/run of this checkout is active. Another checkout's run is left alone."""
        pids = set()
        for p in self.job_processes(any_token=True):
            pids.add(p.pid)
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if f"\0CHAOS_RUN={CHECKOUT}-".encode() not in b"\0" + f.read():
                        continue
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if str(BIN_DIR).encode() in cmd or b"baton" in cmd.split(b"\0")[0]:   # with this checkout's mark
                pids.add(int(name))
        pids.discard(os.getpid())
        for pid in pids:
            self.kill_pid(pid)
        if pids:
            self.leftovers = len(pids)
            self.warn(f"killed {len(pids)} processes left by an earlier chaos run: {sorted(pids)}")

    # ----------------------------------------------------------------- the stream

    def feeder(self) -> None:
        round_ = 0
        max_rounds = int((self.window_seconds * 8 + 600) / FEED_INTERVAL)
        while not self.feed_stop.is_set() and round_ < max_rounds:
            round_ += 1
            if random.randrange(9) == 0:
                component, config = "chaos-noop", "n1"
            else:
                component, config = "chaos-sleep", f"s{random.randrange(8) + 1}"
            count = random.randrange(3) + 1
            r = self.baton(["jobs", "create", "--component", component, "--config", config, "--count", str(count)],
                           timeout=10, log=self.feeder_log)
            if r.returncode == 0:
                self.feed_ok += 1
            else:
                self.feed_failed += 1
                self.feeder_log.write(f"FAILED jobs create {component}/{config} at {time.strftime('%H:%M:%S')}\n")
            if round_ % RUN_EVERY == 0:
                orchestration = "chaos-a" if (round_ // RUN_EVERY) % 2 else "chaos-b"
                r = self.baton(["run", orchestration], timeout=10, log=self.feeder_log)
                if r.returncode == 0:
                    self.feed_ok += 1
                else:
                    self.feed_failed += 1
                    self.feeder_log.write(f"FAILED run {orchestration} at {time.strftime('%H:%M:%S')}\n")
            self.feed_stop.wait(FEED_INTERVAL)

    def run_window(self, name: str, length: float, offsets: list[float], inject) -> None:
        """A fault window of the stream: `inject()` at each offset (seconds into the window)."""
        start = time.time()
        self.log(f"== {name}: {length:g} s, {len(offsets)} fault(s)")
        for offset in sorted(offsets):
            self.sleep(start + offset - time.time())
            try:
                inject()
            except (Aborted, SetupError):
                raise
            except Exception as e:
                self.warn(f"{name}: fault failed: {e!r}")
        self.sleep(start + length - time.time())

    # ----------------------------------------------------------------- the run

    def run(self) -> None:
        windows = [s for s in self.selected if s.kind == "window"]
        lanes = [s for s in self.selected if s.kind == "lane"]
        by_name = {s.name: s for s in windows}
        before = [by_name[n] for n in ("baseline", "kill-worker", "kill-coordinator") if n in by_name]
        after = [s for s in windows if s not in before]
        stream = bool(windows)

        for n in range(1, COORDINATORS + 1):
            self.add_coordinator(n)
        if stream:
            for n in range(1, GENERAL_WORKERS + 1):
                self.add_worker(f"chaos-w{n}", self.stream_worker_components(), log_name=f"worker-{n}")
        self.log(f"started {len(self.procs)} processes: {' '.join(p.name for p in self.procs)} "
                 f"(workers --lease-seconds {LEASE:g}, coordinators --standby-seconds 0.5 --leader-lease-seconds 3)")
        self.sleep(1)
        for proc in self.procs:
            if not proc.alive():
                raise SetupError(f"{proc.name} exited at start; see {proc.log_path.relative_to(ROOT)}")
        self.sup_thread = threading.Thread(target=self.supervisor, name="supervisor", daemon=True)
        self.sup_thread.start()
        self.watch_thread = threading.Thread(target=self.watch_orphans, name="orphan-watch", daemon=True)
        self.watch_thread.start()
        if stream:
            self.log(f"feeding: jobs every {FEED_INTERVAL} s, a run every {RUN_EVERY} rounds")
            self.feed_thread = threading.Thread(target=self.feeder, name="feeder", daemon=True)
            self.feed_thread.start()

        def run_window_scenario(s: Scenario) -> None:
            span = Span(s.name, "window", time.time())
            with self.lock:
                self.spans.append(span)
            try:
                s.run(self, span)
            finally:
                span.end = time.time()

        for s in [x for x in before if x.name == "baseline"]:
            run_window_scenario(s)

        lane_threads = self.lane_threads = self.start_lanes(lanes)
        for s in [x for x in before if x.name != "baseline"]:
            run_window_scenario(s)
        if any(t.is_alive() for t in lane_threads):
            span = Span("lane-wait", "window", time.time())
            if stream:
                with self.lock:
                    self.spans.append(span)
                self.log("== lane-wait: the stream goes on without faults until the lanes are over")
            while any(t.is_alive() for t in lane_threads):
                self.sleep(0.5)
            span.end = time.time()
        for t in lane_threads:
            t.join()
        for s in after:
            run_window_scenario(s)

        if stream:
            self.feed_stop.set()
            self.feed_thread.join(15)
            self.drain()

    def start_lanes(self, lanes: list[Scenario]) -> list[threading.Thread]:
        def run_lane(s: Scenario) -> None:
            span = Span(s.name, "lane", time.time())
            with self.lock:
                self.spans.append(span)
            self.log(f"== lane {s.name}: starts")
            try:
                s.run(self, span)
            except Aborted:
                return
            except Exception:
                self.lane_errors.append(s.name)
                self.warn(f"lane {s.name} failed:\n{traceback.format_exc()}")
            finally:
                span.end = time.time()
                try:
                    self.end_lane(s)
                except Exception:
                    self.warn(f"lane {s.name}: cleanup failed:\n{traceback.format_exc()}")
                self.log(f"== lane {s.name}: over after {span.end - span.start:.1f} s")

        def run_serially(items: list[Scenario]) -> None:
            for s in items:
                if self.abort.is_set():
                    return
                run_lane(s)

        threads = []
        if self.parallel_lanes:
            for s in lanes:
                t = threading.Thread(target=run_lane, args=(s,), name=f"lane-{s.name}", daemon=True)
                t.start()
                threads.append(t)
                time.sleep(0.3)   # stagger the setup a little on 2 cores
        elif lanes:
            t = threading.Thread(target=run_serially, args=(lanes,), name="lanes", daemon=True)
            t.start()
            threads.append(t)
        return threads

    def end_lane(self, s: Scenario) -> None:
        """A lane's own drain is over: note its unfinished jobs (lost), kill what is left of its
        job processes, stop its workers."""
        components = list(s.components)
        rows = self.try_rows(f"""SELECT id FROM jobs WHERE component_id IN ({','.join(q(c) for c in components)})
                                 AND status::text NOT IN {FINAL!r}""") if components else []
        if rows is not None:   # else the report falls back to the status at the end of the run
            self.lane_unfinished[s.name] = {int(r["id"]) for r in rows}
        self.sweep(s.name, components)
        with self.lock:
            mine = [p for p in self.procs if p.scenario == s.name]
        forced = self.stop_procs(mine, 10, s.name)
        self.count(s.name, "workers not stopping", forced)
        for cleanup in self.lane_cleanups.pop(s.name, []):
            cleanup()

    def drain(self) -> None:
        self.log(f"stopped feeding; waiting up to {self.drain_seconds} s until no job of the stream is unfinished")
        span = Span("drain", "window", time.time())
        with self.lock:
            self.spans.append(span)
        lane = ",".join(q(c) for c in self.lane_components) or "''"
        deadline = time.time() + self.drain_seconds
        last_print = 0.0
        unfinished = "?"
        while True:
            rows = self.try_rows(f"""SELECT status::text AS status, count(*) AS n FROM jobs
                                     WHERE status::text NOT IN {FINAL!r} AND component_id NOT IN ({lane}) GROUP BY 1 ORDER BY 1""")
            if rows is not None:
                total = sum(int(r["n"]) for r in rows)
                unfinished = f"{total} ({', '.join(r['status'] + ' ' + r['n'] for r in rows)})"
                if total == 0:
                    break
            now = time.time()
            if now >= deadline:
                break
            if now - last_print >= 10:
                self.log(f"unfinished: {unfinished}")
                last_print = now
            self.sleep(0.5)
        span.end = time.time()
        self.log(f"drain over: unfinished {unfinished}")

    def shutdown(self) -> None:
        """Stops everything this run started: feeder, supervisor, fleet, job processes, PostgreSQL."""
        self.feed_stop.set()
        for t in self.lane_threads:
            t.join(60)   # a lane stops at its next sleep once aborted, then sweeps and stops its workers
        self.sup_stop.set()
        if self.sup_thread:
            self.sup_thread.join(5)
        if self.watch_thread:
            self.watch_thread.join(10)
        with self.lock:
            live = [p for p in self.procs if p.alive()]
        if live:
            self.not_stopped += self.stop_procs(live, 15, "stopping the fleet")
        if self.feed_thread:
            self.feed_thread.join(15)
        # Job processes that outlived their workers: a job is final (or never will be) by now.
        left = self.job_processes()
        self.saw(left)
        for p in left:
            self.note_orphan(p)
            self.log(f"end: job process pid {p.pid} of job {p.job or '?'} ({p.component or '?'}) outlived the fleet "
                     f"(found by {p.how}): {p.cmd}; SIGKILL")
            self.kill_pid(p.pid)
        self.final_orphans += len(left)
        while self.cleanups:
            try:
                self.cleanups.pop()()
            except Exception:
                self.warn(f"cleanup failed:\n{traceback.format_exc()}")
        if self.db_started:
            self.db_started = False
            self.log("stopping PostgreSQL: baton db down --data-dir chaos/.pg")
            self.db_down()


def q(text: str) -> str:
    """A SQL string literal (for names chaos/run itself chose)."""
    return "'" + text.replace("'", "''") + "'"


ORCHESTRATIONS = [
    {"kind": "orchestration", "id": "chaos-a", "name": "Chaos A (4 phases)",
     "phases": [{"id": "a-p1", "name": "Phase 1"}, {"id": "a-p2", "name": "Phase 2"},
                {"id": "a-p3", "name": "Phase 3"}, {"id": "a-p4", "name": "Phase 4"}],
     "tasks": [
         {"id": "a1", "name": "A1", "phase": "a-p1", "task": {"componentId": "chaos-sleep", "configId": "s1"}},
         {"id": "a2", "name": "A2 (same configuration as A1)", "phase": "a-p1", "task": {"componentId": "chaos-sleep", "configId": "s1"}},
         {"id": "a3", "name": "A3", "phase": "a-p1", "task": {"componentId": "chaos-noop", "configId": "n1"}},
         {"id": "a4", "name": "A4", "phase": "a-p2", "task": {"componentId": "chaos-sleep", "configId": "s2"}},
         {"id": "a5", "name": "A5", "phase": "a-p2", "task": {"componentId": "chaos-sleep", "configId": "s3"}},
         {"id": "a6", "name": "A6", "phase": "a-p3", "task": {"componentId": "chaos-sleep", "configId": "s4"}},
         {"id": "a7", "name": "A7", "phase": "a-p3", "task": {"componentId": "chaos-sleep", "configId": "s5"}},
         {"id": "a8", "name": "A8 (same configuration as A6)", "phase": "a-p3", "task": {"componentId": "chaos-sleep", "configId": "s4"}},
         {"id": "a9", "name": "A9", "phase": "a-p4", "task": {"componentId": "chaos-sleep", "configId": "s6"}},
         {"id": "a10", "name": "A10", "phase": "a-p4", "task": {"componentId": "chaos-noop", "configId": "n1"}},
     ]},
    {"kind": "orchestration", "id": "chaos-b", "name": "Chaos B (3 phases)",
     "phases": [{"id": "b-p1", "name": "Phase 1"}, {"id": "b-p2", "name": "Phase 2"}, {"id": "b-p3", "name": "Phase 3"}],
     "tasks": [
         {"id": "b1", "name": "B1", "phase": "b-p1", "task": {"componentId": "chaos-sleep", "configId": "s7"}},
         {"id": "b2", "name": "B2", "phase": "b-p1", "task": {"componentId": "chaos-sleep", "configId": "s8"}},
         {"id": "b3", "name": "B3", "phase": "b-p1", "task": {"componentId": "chaos-sleep", "configId": "s2"}},
         {"id": "b4", "name": "B4", "phase": "b-p2", "task": {"componentId": "chaos-sleep", "configId": "s1"}},
         {"id": "b5", "name": "B5", "phase": "b-p2", "task": {"componentId": "chaos-sleep", "configId": "s3"}},
         {"id": "b6", "name": "B6", "phase": "b-p2", "task": {"componentId": "chaos-noop", "configId": "n1"}},
         {"id": "b7", "name": "B7", "phase": "b-p3", "task": {"componentId": "chaos-sleep", "configId": "s5"}},
         {"id": "b8", "name": "B8", "phase": "b-p3", "task": {"componentId": "chaos-sleep", "configId": "s6"}},
         {"id": "b9", "name": "B9 (same configuration as B1)", "phase": "b-p3", "task": {"componentId": "chaos-sleep", "configId": "s7"}},
     ]},
]


# ---------------------------------------------------------------------------------------------
# the report


@dataclass
class Job:
    id: int
    type: str
    status: str
    project: str
    component: str
    config: str
    created: float
    start: float | None
    end: float | None
    worker: str
    reason: str
    run: int | None
    phase: str
    planned: float

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def key(self) -> tuple:
        return (self.project, self.component, self.config)


def _f(value: str) -> float | None:
    return float(value) if value not in ("", None) else None


class Data:
    """Everything the report needs, read once after the drain."""

    def __init__(self, h: Harness):
        self.h = h
        self.jobs: dict[int, Job] = {}
        for r in h.rows("""SELECT id, type, status::text AS status, project_id, component_id, config_id,
                                  extract(epoch FROM created_time) AS created, extract(epoch FROM start_time) AS started,
                                  extract(epoch FROM end_time) AS ended, coalesce(worker_id, '') AS worker_id,
                                  coalesce(result->>'reason', '') AS reason, orchestration_job_id,
                                  coalesce(orchestration_phase_id, '') AS phase,
                                  CASE WHEN jsonb_typeof(parameters->'seconds') = 'number' THEN parameters->>'seconds' END AS seconds
                           FROM jobs ORDER BY id"""):
            planned = _f(r["seconds"]) or 0.0
            if r["type"] == "orchestrationContainer":
                planned = CONTAINER_SECONDS
            self.jobs[int(r["id"])] = Job(int(r["id"]), r["type"], r["status"], r["project_id"], r["component_id"],
                                          r["config_id"], float(r["created"]), _f(r["started"]), _f(r["ended"]),
                                          r["worker_id"], r["reason"], int(r["orchestration_job_id"]) if r["orchestration_job_id"] else None,
                                          r["phase"], planned)
        self.phase_pos: dict[tuple[int, str], int] = {}
        for r in h.rows("""SELECT p.id AS run, e.ord AS pos, e.phase->>'id' AS phase_id
                           FROM jobs p, jsonb_array_elements(p.parameters->'phases') WITH ORDINALITY AS e(phase, ord)
                           WHERE p.type = 'orchestrationContainer'"""):
            self.phase_pos[(int(r["run"]), r["phase_id"])] = int(r["pos"])
        self.transitions = h.rows("""SELECT job_id, attempt, coalesce(old_status, '') AS old_status, new_status,
                                            coalesce(worker_id, '') AS worker_id, extract(epoch FROM at) AS at
                                     FROM chaos_transitions ORDER BY id""")
        self.stamps = h.stamps()


class Report:
    def __init__(self, h: Harness, data: Data):
        self.h = h
        self.d = data
        self.stream_spans = sorted([s for s in h.spans if s.kind == "window"], key=lambda s: s.start)
        self.rows_order = [s.name for s in sorted(h.spans, key=lambda s: (s.name == "drain", s.start))]
        self.span_by_name = {s.name: s for s in h.spans}
        self.scen = {j.id: self.scenario_of(j) for j in data.jobs.values()}
        self.compute()

    def window_at(self, t: float) -> str:
        spans = self.stream_spans
        if not spans:
            return "other"
        for i, s in enumerate(spans):
            end = s.end if s.end is not None else float("inf")
            if i == len(spans) - 1:
                end = float("inf")
            if t < end:
                return s.name
        return spans[-1].name

    def scenario_of(self, j: Job) -> str:
        owner = self.h.owned.get(j.component)
        if owner:
            return owner
        return self.window_at(j.created)

    def in_scope(self, j: Job, scope: tuple) -> bool:
        kind = scope[0]
        if kind == "fleet":
            return j.component not in self.h.lane_components
        if kind == "stream":
            return j.component not in self.h.owned
        if kind == "components":
            return j.component in scope[1]
        if kind == "configs":
            return (j.component, j.config) in scope[1]
        return True

    def compute(self) -> None:
        d, h = self.d, self.h
        jobs = list(d.jobs.values())
        per: dict[str, dict] = {}

        def row(name: str) -> dict:
            return per.setdefault(name, {"jobs": 0, "final": 0, "lost": 0, "worker_lost": 0, "failed": 0,
                                         "two": 0, "overlaps": 0, "flock": 0, "stamps": 0, "ooo": 0,
                                         "late": 0, "faults": 0, "unleased": 0})

        for name in self.rows_order:
            row(name)
        # jobs, final, lost
        for j in jobs:
            r = row(self.scen[j.id])
            r["jobs"] += 1
            lane = h.owned.get(j.component) in h.lane_unfinished and j.component in h.lane_components
            unfinished = (j.id in h.lane_unfinished.get(h.owned.get(j.component, ""), set())) if lane else not j.final
            if unfinished:
                r["lost"] += 1
            else:
                r["final"] += 1
            if j.status == "error" and j.reason == "worker-lost":
                r["worker_lost"] += 1
            if j.status in ("error", "terminated", "cancelled"):
                r["failed"] += 1
        self.lost_jobs = [j for j in jobs if (j.id in h.lane_unfinished.get(h.owned.get(j.component, ""), set())
                                              if j.component in h.lane_components else not j.final)]

        # overlaps in the jobs table: [start, end) of one configuration intersect
        self.overlap_pairs = []
        by_key: dict[tuple, list[Job]] = {}
        for j in jobs:
            if j.start is not None:
                by_key.setdefault(j.key, []).append(j)
        inf = float("inf")
        for key, group in by_key.items():
            group.sort(key=lambda j: j.start)
            active: list[Job] = []
            for j in group:
                active = [a for a in active if (a.end if a.end is not None else inf) > j.start]
                for a in active:
                    self.overlap_pairs.append((a, j))
                active.append(j)
        for a, b in self.overlap_pairs:
            name = h.owned.get(b.component) or self.window_at(b.start)
            row(name)["overlaps"] += 1

        # runs whose phases ran out of order
        children: dict[int, list[tuple[Job, int | None]]] = {}
        for j in jobs:
            if j.run is not None:
                children.setdefault(j.run, []).append((j, d.phase_pos.get((j.run, j.phase))))
        self.unplaced = sum(1 for c in children.values() for _, pos in c if pos is None)
        self.out_of_order = []
        for run, kids in children.items():
            first = None
            for a, pa in kids:
                for b, pb in kids:
                    if pa is None or pb is None or pb <= pa or b.start is None:
                        continue
                    if b.start < (a.end if a.end is not None else inf):
                        first = b.start if first is None else min(first, b.start)
            if first is not None:
                self.out_of_order.append((run, first))
                row(self.window_at(first))["ooo"] += 1

        # two outcomes: a job entered a final status twice, or left one
        finals: dict[int, int] = {}
        left: set[int] = set()
        for t in d.transitions:
            job = int(t["job_id"])
            if t["new_status"] in FINAL:
                finals[job] = finals.get(job, 0) + 1
            if t["old_status"] in FINAL:
                left.add(job)
        self.two = sorted({j for j, n in finals.items() if n > 1} | left)
        for job in self.two:
            if job in d.jobs:
                row(self.scen[job])["two"] += 1

        # physical overlaps: OVERLAP records, and stamp intervals of one configuration that intersect
        self.flock_records = [s for s in d.stamps if s[0] == "OVERLAP"]
        for s in self.flock_records:
            row(h.owned.get(s[2].split(".", 1)[0], "other"))["flock"] += 1
        life: dict[int, list] = {}
        for s in d.stamps:
            try:
                job, t = int(s[1]), float(s[4])
            except ValueError:
                continue
            entry = life.setdefault(job, [s[2], t, t])
            entry[1] = min(entry[1], t)
            entry[2] = max(entry[2], t)
        by_lock: dict[str, list] = {}
        for job, (key, lo, hi) in life.items():
            by_lock.setdefault(key, []).append((lo, hi, job))
        self.stamp_pairs = []
        for key, spans in by_lock.items():
            spans.sort()
            for i, (lo, hi, job) in enumerate(spans):
                for lo2, hi2, job2 in spans[i + 1:]:
                    if lo2 >= hi:
                        break
                    self.stamp_pairs.append((key, job, job2, lo2))
        for key, _, _, _ in self.stamp_pairs:
            row(h.owned.get(key.split(".", 1)[0], "other"))["stamps"] += 1

        # faults: affected jobs, their bound, recovery
        self.fault_rows = []
        deadline: dict[int, float] = {}
        for n, f in enumerate(h.faults, 1):
            row(f.scenario)["faults"] += 1
            if f.jobs:
                affected = [d.jobs[i] for i in f.jobs if i in d.jobs]
            else:
                affected = [j for j in jobs if self.in_scope(j, f.scope) and j.created < f.begin
                            and (j.end is None or j.end > f.begin)]
            affected.sort(key=lambda j: j.id)
            chain: dict[tuple, float] = {}
            worst = None
            never = 0
            for j in affected:
                if j.id in f.victims:
                    own = 0.0
                elif j.start is not None and j.start <= f.begin:
                    own = max(0.0, j.start + j.planned - f.end)
                else:
                    own = j.planned
                chain[j.key] = chain.get(j.key, 0.0) + own + PER_JOB
                deadline[j.id] = max(deadline.get(j.id, 0.0), f.end + BOUND + chain[j.key])
                if j.end is None:
                    never += 1
                else:
                    worst = max(worst or 0.0, j.end - f.end)
            scoped = [j for j in jobs if self.in_scope(j, f.scope)]
            recovered = [j.end for j in scoped if j.start is not None and j.start > f.end and j.end is not None]
            recover = min(recovered) - f.begin if recovered else None
            tasks = [j.created for j in jobs if j.run is not None and j.created > f.end]
            next_task = (min(tasks) - f.begin) if tasks and f.scope[0] in ("stream", "fleet") else None
            info = {"n": n, "f": f, "affected": len(affected), "worst": worst, "never": never,
                    "recover": recover, "next_task": next_task}
            if f.worker:
                mine = [j for j in jobs if j.worker == f.worker and j.start is not None and j.start <= f.begin]
                info["victim_unfinished"] = sum(1 for j in mine if not j.final)
                lost = [j for j in mine if j.status == "error" and j.reason == "worker-lost"]
                info["victim_lost"] = len(lost)
                info["rescued_after"] = max((j.end - f.begin for j in lost), default=None)
            self.fault_rows.append(info)
        self.late = []
        for job, limit in deadline.items():
            j = d.jobs[job]
            if j.end is None or j.end > limit:
                self.late.append((j, limit))
                row(self.scen[j.id])["late"] += 1
        # processes that ran on past a lease nobody could renew (worker killed, stopped, cut off)
        ticks: dict[int, list[float]] = {}
        for st in d.stamps:
            if st[1].isdigit():
                try:
                    ticks.setdefault(int(st[1]), []).append(float(st[4]))
                except ValueError:
                    pass
        for job, seen in h.seen_alive.items():   # seen alive in /proc (watcher, sweeps) counts like a stamp
            ticks.setdefault(job, []).extend(seen)
        self.unleased = {}
        for f in h.faults:
            if not f.cut:
                continue
            expiry = f.begin + LEASE
            for j in jobs:
                if j.start is None or j.start > f.begin or (j.end is not None and j.end <= f.begin):
                    continue
                if "*" not in f.cut and j.worker not in f.cut:
                    continue
                late_ticks = [t for t in ticks.get(j.id, []) if t > expiry + UNLEASED_SLACK
                              and (f.cut_end is None or t < f.cut_end)]
                if late_ticks:
                    over = max(late_ticks) - expiry
                    if over > self.unleased.get(j.id, (None, 0.0))[1]:
                        self.unleased[j.id] = (f, over)
        for job, (f, over) in self.unleased.items():
            row(self.scen[job])["unleased"] += 1
        self.per = per

    # ----------------------------------------------------------------- printing

    def print(self) -> None:
        h = self.h
        print()
        print("== chaos report (stream jobs counted in the window they were created in, a scenario's own jobs under it;")
        print("   'drain' = task jobs created after feeding stopped)")
        header = ["scenario", "kind", "secs", "faults", "jobs", "final", "lost", "worker-lost", "error/killed",
                  "2 outcomes", "overlaps", "physical", "orphans", "unleased", "out of order", "final after fault s", "late",
                  "recover s", "next task job s"]
        table = []
        totals = {k: 0 for k in ("faults", "jobs", "final", "lost", "worker_lost", "failed", "two", "overlaps",
                                 "flock", "stamps", "orphans", "unleased", "ooo", "late")}
        for name in self.rows_order + [n for n in self.per if n not in self.rows_order]:
            r = self.per.get(name)
            if r is None:
                continue
            span = self.span_by_name.get(name)
            secs = f"{(span.end or time.time()) - span.start:.0f}" if span else ""
            fr = [x for x in self.fault_rows if x["f"].scenario == name]
            orphans = len(orphan_jobs(h, name))
            table.append([name, span.kind if span else "", secs, r["faults"], r["jobs"], r["final"], r["lost"],
                          r["worker_lost"], r["failed"], r["two"], r["overlaps"], f"{r['flock']}/{r['stamps']}",
                          orphans, r["unleased"], r["ooo"], self.worst(fr), r["late"], self.fmt_max(fr, "recover"),
                          self.fmt_max(fr, "next_task")])
            for k in totals:
                totals[k] += orphans if k == "orphans" else r[k]
        table.append(["overall", "", f"{time.time() - h.t0:.0f}", totals["faults"], totals["jobs"], totals["final"],
                      totals["lost"], totals["worker_lost"], totals["failed"], totals["two"], totals["overlaps"],
                      f"{totals['flock']}/{totals['stamps']}", totals["orphans"], totals["unleased"], totals["ooo"],
                      self.worst(self.fault_rows), totals["late"], self.fmt_max(self.fault_rows, "recover"),
                      self.fmt_max(self.fault_rows, "next_task")])
        print_table(header, table)
        print(f"physical = OVERLAP records of stamp.sh (flock) / pairs of overlapping stamp intervals; "
              f"bound for 'late': {BOUND:g} s after the fault's end")
        print(f"   (lease {LEASE:g} + rescue interval {RESCUE:g} + kill grace {KILL_GRACE:g} + slack {SLACK:g}), plus the planned "
              f"work left of the job and of those ahead of it in its configuration, {PER_JOB:g} s a job on top")
        if self.fault_rows:
            print()
            header = ["#", "scenario", "at s", "victim", "affected", "final after s", "recover s", "next task job s",
                      "victim's unfinished", "victim's worker-lost", "rescued after s"]
            table = []
            for x in self.fault_rows:
                f = x["f"]
                table.append([x["n"], f.scenario, f"{f.begin - h.t0:.1f}", f.victim[:44], x["affected"],
                              self.worst([x]), fmt(x["recover"]), fmt(x["next_task"]) if f.scope[0] in ("stream", "fleet") else "",
                              x.get("victim_unfinished", ""), x.get("victim_lost", ""), fmt(x.get("rescued_after"), "")])
            print_table(header, table)

    @staticmethod
    def fmt_max(rows: list[dict], key: str) -> str:
        if not rows:
            return ""
        if any(r[key] is None for r in rows):
            if key == "next_task" and all(r["f"].scope[0] not in ("stream", "fleet") for r in rows):
                return ""
            return "never"
        return f"{max(r[key] for r in rows):.2f}"

    @staticmethod
    def worst(rows: list[dict]) -> str:
        rows = [r for r in rows if r["affected"]]
        if not rows:
            return ""
        if any(r["never"] for r in rows):
            return f"not final ({sum(r['never'] for r in rows)})"
        return f"{max(r['worst'] for r in rows):.2f}"

    def print_details(self) -> None:
        h, d = self.h, self.d
        if self.lost_jobs:
            print()
            print("unfinished (lost) jobs:")
            groups: dict[tuple, list[Job]] = {}
            for j in self.lost_jobs:
                groups.setdefault((self.scen[j.id], j.status, j.type, j.component), []).append(j)
            print_table(["scenario", "status now", "type", "component", "jobs", "ids", "workers"],
                        [[k[0], k[1], k[2], k[3], len(v), ids_text([j.id for j in v]),
                          ", ".join(sorted({j.worker for j in v if j.worker}))[:60]] for k, v in groups.items()])
        if self.two:
            print()
            print("jobs with two outcomes (their transitions):")
            for job in self.two[:10]:
                path = [f"{t['old_status'] or '-'}->{t['new_status']}@{t['worker_id'] or '-'}"
                        for t in d.transitions if int(t["job_id"]) == job]
                print(f"  job {job} ({self.scen.get(job, '?')}): {'  '.join(path)}")
        if self.flock_records or self.stamp_pairs:
            print()
            print("physical overlaps (a job's process started while another process of its configuration was alive):")
            for s in self.flock_records[:12]:
                j = d.jobs.get(int(s[1])) if s[1].isdigit() else None
                print(f"  OVERLAP job {s[1]} {s[2]} at {float(s[4]) - h.t0:.1f} s ({self.scen.get(int(s[1]), '?') if j else '?'})")
            for key, a, b, t in self.stamp_pairs[:12]:
                print(f"  stamps: job {b} started at {t - h.t0:.1f} s while job {a} of {key} still stamped")
        if self.unleased:
            print()
            print("jobs whose processes ran on past a lease their worker could not renew (last stamp after the lease ran out):")
            for job, (f, over) in sorted(self.unleased.items())[:12]:
                j = d.jobs[job]
                print(f"  job {job} {j.component}/{j.config} on {j.worker} ({f.scenario}): still stamping {over:.1f} s "
                      f"after the lease ran out at the latest")
        if self.late:
            print()
            print(f"jobs not final within their bound ({BOUND:g} s + planned work after the fault's end):")
            for j, limit in sorted(self.late, key=lambda x: x[0].id)[:15]:
                ended = f"ended {j.status} {j.end - limit:+.1f} s past it" if j.end else f"still {j.status}"
                print(f"  job {j.id} {j.component}/{j.config} ({self.scen[j.id]}): {ended}")
        notes = []
        for s in h.selected:
            try:
                notes += s.notes(h, d)
            except Exception as e:
                notes.append(f"{s.name}: notes failed: {e!r}")
        if notes:
            print()
            for line in notes:
                print(f"note: {line}")

    def overall_lines(self) -> None:
        h = self.h
        print()
        worker_lost = sum(1 for j in self.d.jobs.values() if j.status == "error" and j.reason == "worker-lost")
        print(f"jobs in all: {len(self.d.jobs)}; ended error (worker-lost): {worker_lost}; "
              f"submissions refused (database down or backend terminated): {h.feed_failed}")
        print(f"process restarts by the supervisor: {h.restarts} (exits not caused by chaos/run: {h.unexpected_exits}); "
              f"logs in chaos/.logs/")
        stragglers = sum(c.get("stragglers", 0) for c in h.counts.values())
        stuck = sum(c.get("workers not stopping", 0) for c in h.counts.values())
        print(f"job processes killed by chaos/run at the end of their lane, their job not final past its bound: {stragglers}; "
              f"lane workers that did not stop within 10 s of SIGTERM: {stuck}")
        if self.unplaced:
            h.warn(f"{self.unplaced} task jobs have a phase not found in their run's snapshot: the order check does not cover them")
        if h.lane_errors:
            h.warn(f"lanes that failed to run to the end: {', '.join(h.lane_errors)}")
        if self.lost_jobs and not worker_lost and any(f.scenario == "kill-worker" for f in h.faults):
            print("note: no job ended worker-lost: the jobs of a SIGKILLed worker stay 'processing' with nothing to rescue them.")
        never = [x for x in self.fault_rows if x["recover"] is None and x["f"].scope[0] in ("stream", "fleet")]
        if never:
            print(f"note: after {len(never)} fault(s) no job of the stream started and ended again ('recover s' = never).")


def orphan_jobs(h: Harness, scenario: str | None = None) -> set:
    """Jobs with a process alive after the job ended (a process of an unknown job counts alone)."""
    return {job or -pid for pid, (scen, job) in h.orphans.items() if scenario is None or scen == scenario}


def fmt(value, empty: str = "never") -> str:
    return empty if value is None else f"{value:.2f}"


def ids_text(ids: list[int]) -> str:
    text = ", ".join(map(str, ids[:8]))
    return text + (f", ... ({len(ids)})" if len(ids) > 8 else "")


def print_table(header: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    def line(r):
        return " " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    print(line(cells[0]))
    print("-" + "-+-".join("-" * w for w in widths) + "-")
    for r in cells[1:]:
        print(line(r))
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# main


def parse_args(argv: list[str], names: list[str]):
    parser = argparse.ArgumentParser(
        prog="chaos/run",
        description="Fault injection for Baton: a stream of jobs and orchestration runs plus long process jobs that "
                    "stamp themselves, through workers and coordinators that are killed, stopped, cut off from "
                    "PostgreSQL and fed poison; then checks from the jobs table, an audit of transitions and the "
                    "stamps. See chaos/README.md.",
        epilog="exit status: 0 if every check holds; 1 if a check failed; 2 if the run could not be set up. "
               "Environment: BATON_BIN (binary to use), BATON_SQL_DIR, CHAOS_PORT (default 15435).")
    parser.add_argument("--short", action="store_true", help="the CI form: about 1.5 minutes, lanes in parallel")
    parser.add_argument("--seconds", type=int, help="seconds of faults of the 4 stream windows in all (at least 16; "
                                                    "default 160, --short 32)")
    parser.add_argument("--only", help=f"a comma-separated subset of: {', '.join(names)}")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole thing N times and print a summary")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--summary-json", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.seconds is not None and opts.seconds < 16:
        parser.error("--seconds needs a whole number >= 16")
    if opts.repeat < 1:
        parser.error("--repeat needs a number >= 1")
    return opts, parser


def main(argv: list[str]) -> int:
    import scenarios as registry
    all_scenarios = registry.all_scenarios()
    names = [s.name for s in all_scenarios]
    try:
        opts, parser = parse_args(argv, names)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if opts.list:
        for s in all_scenarios:
            print(f"{s.name:20} {s.kind:6} {s.summary}")
        return 0
    if opts.repeat > 1:
        return repeat(argv, opts)
    selected = all_scenarios
    if opts.only:
        wanted = [w.strip() for w in opts.only.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in names]
        if unknown or not wanted:
            print(f"chaos: unknown scenario(s) {', '.join(unknown) or '(none)'}; known: {', '.join(names)}", file=sys.stderr)
            return 2
        selected = [s for s in all_scenarios if s.name in wanted]
    h = Harness(opts, all_scenarios)
    h.selected = selected
    return run_once(h, opts)


def run_once(h: Harness, opts) -> int:
    def on_signal(signum, frame):
        if h.abort.is_set():
            return   # already stopping
        h.abort.set()
        raise Aborted()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    summary = {"exit": 2, "checks": {}, "seconds": 0}
    reported = False
    code = 2
    try:
        h.setup()
        h.run()
        data = Data(h)
        report = Report(h, data)
        report.print()
        report.print_details()
        report.overall_lines()
        h.log("stopping the fleet (SIGTERM) and PostgreSQL")
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        h.shutdown()
        print(f"processes that did not stop within 15 s of SIGTERM at the end (then SIGKILLed): {h.not_stopped}")
        print(f"job processes that outlived the fleet at the end (then SIGKILLed): {h.final_orphans}")
        orphans = len(orphan_jobs(h))
        checks = [
            ("jobs lost (not final at the end of the drain, or of its lane)", len(report.lost_jobs)),
            ("pairs of jobs of one configuration that overlapped in the jobs table", len(report.overlap_pairs)),
            ("runs whose phases ran out of order", len(report.out_of_order)),
            ("jobs with two outcomes (entered a final status twice, or left one)", len(report.two)),
            ("physical overlaps of one configuration (OVERLAP records + overlapping stamp intervals)",
             len(report.flock_records) + len(report.stamp_pairs)),
            (f"jobs not final within {BOUND:g} s (+ planned work) after their fault ended", len(report.late)),
            ("jobs with a process alive after the job ended (orphans, killed by chaos/run)", orphans),
            (f"jobs whose processes ran on over {UNLEASED_SLACK:g} s past a lease their worker could not renew",
             len(report.unleased)),
        ]
        for s in h.selected:
            checks += s.checks(h, data)
        passed = failed = 0
        print()
        for name, value in checks:
            if value == 0:
                passed += 1
                print(f"PASS  {name}: 0")
            else:
                failed += 1
                print(f"FAIL  {name}: {value} (must be 0)")
        if h.lane_errors:
            print(f"note: lanes that failed to run: {', '.join(h.lane_errors)} (exit 2 unless a check failed)")
        reported = True
        print(f"chaos: {passed} passed, {failed} failed", flush=True)
        code = 1 if failed else (2 if h.lane_errors else 0)
        short = SUMMARY_COLUMNS[:BASE_CHECKS]
        figures = dict(zip(short, [v for _, v in checks[:len(short)]]))
        figures["scenario checks"] = sum(v for _, v in checks[len(short):])
        summary = {"exit": code, "checks": figures, "passed": passed, "failed": failed,
                   "jobs": len(data.jobs), "faults": len(h.faults), "worker_lost": sum(r["worker_lost"] for r in report.per.values())}
    except SetupError as e:
        h.log(f"ERROR: {e}")
        code = 2
    except Aborted:
        h.log("interrupted")
        code = 130
    except Exception:
        h.log(f"ERROR: {traceback.format_exc()}")
        code = 2
    finally:
        h.abort.set()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            h.shutdown()
        except Exception:
            h.log(f"ERROR during shutdown: {traceback.format_exc()}")
        if not reported:
            print(f"chaos: aborted before the checks (exit {code})", file=sys.stderr, flush=True)
        summary["seconds"] = round(time.time() - h.t0, 1)
        summary["exit"] = code
        if opts.summary_json:
            Path(opts.summary_json).write_text(json.dumps(summary))
    return code


BASE_CHECKS = 8
SUMMARY_COLUMNS = ("lost", "table overlaps", "out of order", "two outcomes", "physical", "late", "orphans", "unleased",
                   "scenario checks")


def repeat(argv: list[str], opts) -> int:
    """Runs chaos/run N times (each a process of its own) and prints a summary table."""
    args = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--repeat":
            skip = True
            continue
        if a.startswith("--repeat="):
            continue
        args.append(a)
    results = []
    for i in range(1, opts.repeat + 1):
        print(f"\n######## chaos run {i} of {opts.repeat}", flush=True)
        path = LOG_DIR.parent / ".bin" / f"summary-{i}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        try:
            rc = subprocess.run([sys.executable, str(CHAOS_DIR / "run"), *args, "--summary-json", str(path)]).returncode
        except KeyboardInterrupt:
            print("chaos: interrupted", file=sys.stderr)
            return 130
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError):
            summary = {"exit": rc, "checks": {}}
        summary["exit"] = rc
        results.append(summary)
        if rc == 130:
            break
    print(f"\n== summary over {len(results)} runs (the counts of the checks)")
    rows = []
    for i, s in enumerate(results, 1):
        checks = s.get("checks", {})
        rows.append([i, s["exit"], s.get("seconds", ""), s.get("jobs", ""), s.get("faults", ""), s.get("worker_lost", "")] +
                    [checks.get(k, "") for k in SUMMARY_COLUMNS])
    print_table(["run", "exit", "secs", "jobs", "faults", "worker-lost"] + list(SUMMARY_COLUMNS), rows)
    passed = sum(s.get("passed", 0) for s in results)
    failed = sum(s.get("failed", 0) for s in results)
    codes = [s["exit"] for s in results]
    print(f"chaos: {passed} passed, {failed} failed")
    if 130 in codes:
        return 130
    if 1 in codes or failed:
        return 1
    return 2 if any(c != 0 for c in codes) else 0
