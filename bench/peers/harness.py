"""Shared driver for the peer job-queue benchmarks (pgqueuer_bench.py, procrastinate_bench.py).

Everything that defines *what is measured* lives here, so both peers are measured the same way;
each peer script only supplies a `Peer` (how to create its schema, enqueue, count, and run a
worker). See README.md in this folder for the definitions.

Worker <-> driver protocol: each worker is a separate OS process (`<script> _worker ...`, the
same script run by the same interpreter). It writes one line per event to its stdout, which the
driver reads through a pipe:

    READY                 the worker's LISTEN connection has received a NOTIFY round trip
    F <unix time>         first job started in this worker (throughput mode)
    S <sample> <unix t>   job <sample> started (latency mode), t = time.time() in the handler
    DONE <json>           clean exit: {"handled": n, "first_start": t or null, "errors": [...]}

Worker diagnostics go to stderr, which is inherited from the driver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

POLL_INTERVAL_S = 0.020  # how often the driver checks for unfinished jobs (throughput)
WARMUP_SAMPLES = 10  # latency samples discarded at the start
STOP_TIMEOUT_S = 20.0  # how long a worker gets to exit after SIGTERM


def log(msg: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A failure that must be reported as {"error": ...} with exit code 2."""


# --------------------------------------------------------------------------------------------
# The peer interface
# --------------------------------------------------------------------------------------------


@dataclass
class Peer:
    """What a peer script provides. All coroutines run in the driver's event loop."""

    system: str
    version: Callable[[], str]
    # (dsn) -> None: drop the peer's old objects and create its schema.
    setup: Callable[[str], Awaitable[None]]
    # (dsn) -> Session; opened before and closed after a scenario.
    open_session: Callable[[str], Awaitable["Session"]]
    # (argparse namespace of the hidden _worker command) -> None: the worker's main coroutine.
    worker_main: Callable[[argparse.Namespace], Awaitable[None]]
    # Describes what --concurrency means for this peer (goes into the JSON as "concurrency_note").
    concurrency_note: Callable[[argparse.Namespace], Optional[str]] = lambda args: None
    # Extra worker arguments (name, default, help) beyond --dsn/--mode/--concurrency/--index.
    extra_worker_args: list[tuple[str, Any, str]] = field(default_factory=list)


class Session:
    """The driver's connection to the peer. Implemented by each peer script."""

    async def clear(self) -> None:  # empty the queue and the completion records
        raise NotImplementedError

    async def enqueue_many(self, first: int, count: int) -> None:  # one batch, one statement
        raise NotImplementedError

    async def enqueue_one(self, sample: int) -> None:  # one job, its own transaction
        raise NotImplementedError

    async def prepare(self) -> None:  # VACUUM ANALYZE + CHECKPOINT after the enqueue
        raise NotImplementedError

    async def has_unfinished(self) -> bool:
        raise NotImplementedError

    async def outcome(self) -> dict[str, int]:
        """{"completed": distinct jobs recorded as succeeded, "failed": ..., "duplicates": ...}"""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# Worker side helpers
# --------------------------------------------------------------------------------------------


class WorkerReporter:
    """Used inside a worker process to talk to the driver (stdout lines, flushed at once)."""

    def __init__(self, mode: str):
        self.mode = mode
        self.handled = 0
        self.first_start: Optional[float] = None
        self.errors: list[str] = []

    def _emit(self, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def ready(self) -> None:
        self._emit("READY")

    def job_started(self, sample: Any, t: float) -> None:
        """Call first thing in the job handler with t = time.time()."""
        self.handled += 1
        if self.first_start is None:
            self.first_start = t
            if self.mode == "throughput":
                self._emit(f"F {t!r}")
        if self.mode == "latency":
            self._emit(f"S {sample} {t!r}")

    def done(self) -> None:
        self._emit(
            "DONE "
            + json.dumps(
                {"handled": self.handled, "first_start": self.first_start, "errors": self.errors}
            )
        )


def install_stop_handler(callback: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, callback)


# --------------------------------------------------------------------------------------------
# Driver side: worker processes
# --------------------------------------------------------------------------------------------


class WorkerProcess:
    def __init__(self, index: int, argv: list[str], events: "queue.Queue[tuple]"):
        self.index = index
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None,  # inherit: worker diagnostics show up on our stderr
            text=True,
            bufsize=1,
        )
        self.pid = self.proc.pid
        self.done: Optional[dict] = None
        self.first_start: Optional[float] = None
        self.ready = False
        self._signalled = False
        self._events = events
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            kind, _, rest = line.partition(" ")
            if kind == "READY":
                self.ready = True
                self._events.put((self.index, "READY", None))
            elif kind == "F":
                self.first_start = float(rest)
                self._events.put((self.index, "F", self.first_start))
            elif kind == "S":
                sample, _, t = rest.partition(" ")
                self._events.put((self.index, "S", (int(sample), float(t))))
            elif kind == "DONE":
                try:
                    self.done = json.loads(rest)
                except ValueError:
                    self.done = {"errors": [f"unparsable DONE line: {rest[:200]}"]}
            else:
                print(f"[worker {self.index}] {line}", file=sys.stderr, flush=True)
        self._events.put((self.index, "EOF", None))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def peak_rss_mb(self) -> Optional[float]:
        """VmHWM (peak resident set size) of the live process, in MB (MiB)."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return round(int(line.split()[1]) / 1024.0, 1)
        except OSError:
            return None
        return None

    def terminate(self) -> None:
        """Send SIGTERM once (a second one could cut a graceful shutdown short)."""
        if not self._signalled and self.alive():
            self._signalled = True
            self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> list[str]:
        """SIGTERM, wait for a clean exit; returns problems found."""
        problems: list[str] = []
        self.terminate()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            problems.append(f"worker {self.index} did not exit {STOP_TIMEOUT_S:.0f}s after SIGTERM; killed")
            self.proc.kill()
            self.proc.wait()
        self._thread.join(timeout=5)
        if self.proc.returncode not in (0, None):
            problems.append(f"worker {self.index} exited with code {self.proc.returncode}")
        if self.done is None:
            problems.append(f"worker {self.index} did not report DONE")
        else:
            problems.extend(f"worker {self.index}: {e}" for e in self.done.get("errors", []))
        return problems


def spawn_workers(
    script: str, args: argparse.Namespace, mode: str, peer: Peer, events: "queue.Queue[tuple]"
) -> list[WorkerProcess]:
    workers = []
    for i in range(args.workers):
        argv = [
            sys.executable,
            script,
            "_worker",
            "--dsn",
            args.dsn,
            "--mode",
            mode,
            "--concurrency",
            str(args.concurrency),
            "--index",
            str(i),
        ]
        for name, _default, _help in peer.extra_worker_args:
            argv += [f"--{name}", str(getattr(args, name.replace("-", "_")))]
        workers.append(WorkerProcess(i, argv, events))
    return workers


def stop_workers(workers: list[WorkerProcess]) -> tuple[list[Optional[float]], list[str]]:
    """Read every worker's peak RSS while it is still alive, then stop them all."""
    rss = [w.peak_rss_mb() for w in workers]
    for w in workers:
        w.terminate()
    problems: list[str] = []
    for w in workers:
        problems.extend(w.stop())
    return rss, problems


async def next_event(events: "queue.Queue[tuple]", timeout: float) -> Optional[tuple]:
    try:
        return await asyncio.to_thread(events.get, True, timeout)
    except queue.Empty:
        return None


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default 'linear' method)."""
    if not sorted_values:
        raise ValueError("no values")
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


async def run_throughput(peer: Peer, script: str, args: argparse.Namespace) -> dict:
    result: dict[str, Any] = {
        "system": peer.system,
        "version": peer.version(),
        "scenario": "throughput",
        "jobs": args.jobs,
        "completed": None,
        "seconds": None,
        "jobs_per_s": None,
        "workers": args.workers,
        "concurrency": args.concurrency,
    }
    note = peer.concurrency_note(args)
    if note:
        result["concurrency_note"] = note
    errors: list[str] = []
    session = await peer.open_session(args.dsn)
    workers: list[WorkerProcess] = []
    try:
        await session.clear()
        t = time.monotonic()
        for first in range(0, args.jobs, args.batch):
            await session.enqueue_many(first, min(args.batch, args.jobs - first))
        log(f"{peer.system}: enqueued {args.jobs} jobs in batches of {args.batch} "
            f"({time.monotonic() - t:.2f}s); VACUUM ANALYZE + CHECKPOINT")
        await session.prepare()
        log(f"{peer.system}: starting {args.workers} worker processes, concurrency {args.concurrency}")
        events: "queue.Queue[tuple]" = queue.Queue()
        workers = spawn_workers(script, args, "throughput", peer, events)
        deadline = time.monotonic() + args.timeout
        end: Optional[float] = None
        last_log = time.monotonic()
        while True:
            if not await session.has_unfinished():
                end = time.time()
                break
            if not any(w.alive() for w in workers):
                errors.append("all workers exited while unfinished jobs remained")
                break
            if time.monotonic() > deadline:
                errors.append(f"timeout: jobs still unfinished after {args.timeout}s")
                break
            if time.monotonic() - last_log >= 5:
                last_log = time.monotonic()
                log(f"{peer.system}: draining...")
            await asyncio.sleep(POLL_INTERVAL_S)
        rss, problems = stop_workers(workers)
        errors.extend(problems)
        starts = [w.first_start for w in workers if w.first_start is not None]
        starts += [
            w.done["first_start"] for w in workers if w.done and w.done.get("first_start") is not None
        ]
        workers = []
        out = await session.outcome()
        result["completed"] = out["completed"]
        result["rss_mb"] = rss
        result["failed"] = out["failed"]
        result["duplicates"] = out["duplicates"]
        if out["failed"]:
            errors.append(f"{out['failed']} jobs failed")
        if out["duplicates"]:
            errors.append(f"{out['duplicates']} jobs were recorded as completed more than once")
        if out["completed"] != args.jobs:
            errors.append(f"completed {out['completed']} of {args.jobs} jobs")
        if end is not None and starts and out["completed"] == args.jobs:
            first = min(starts)
            # The measured window, for bench/bench.py's probes (the server's CPU, the workers' PSS).
            result["first_start"], result["end"] = first, end
            result["seconds"] = round(end - first, 4)
            result["jobs_per_s"] = round(args.jobs / (end - first), 1)
        elif end is not None and not starts:
            errors.append("no worker reported a job start")
        result["errors"] = errors
        return result
    finally:
        if workers:
            stop_workers(workers)
        await session.close()


async def run_latency(peer: Peer, script: str, args: argparse.Namespace) -> dict:
    if args.samples <= WARMUP_SAMPLES:
        raise BenchError(f"--samples must be more than the {WARMUP_SAMPLES} warm-up samples")
    result: dict[str, Any] = {
        "system": peer.system,
        "version": peer.version(),
        "scenario": "latency",
        "samples": args.samples,
        "measured": args.samples - WARMUP_SAMPLES,
        "workers": args.workers,
        "concurrency": args.concurrency,
    }
    note = peer.concurrency_note(args)
    if note:
        result["concurrency_note"] = note
    result.update({
        "p50_ms": None,
        "p99_ms": None,
        "mean_ms": None,
        "max_ms": None,
    })
    errors: list[str] = []
    session = await peer.open_session(args.dsn)
    workers: list[WorkerProcess] = []
    try:
        await session.clear()
        await session.prepare()
        events: "queue.Queue[tuple]" = queue.Queue()
        workers = spawn_workers(script, args, "latency", peer, events)
        deadline = time.monotonic() + args.ready_timeout
        while not all(w.ready for w in workers):
            if time.monotonic() > deadline:
                raise BenchError(
                    f"only {sum(w.ready for w in workers)} of {len(workers)} workers were "
                    f"listening after {args.ready_timeout}s"
                )
            if not all(w.alive() for w in workers):
                raise BenchError("a worker exited before it was listening")
            await next_event(events, 0.1)
        log(f"{peer.system}: {len(workers)} workers listening; {args.samples} samples")
        latencies: list[float] = []
        rng = random.Random(12345)
        for i in range(args.samples):
            t0 = time.time()
            await session.enqueue_one(i)
            started: Optional[float] = None
            wait_until = time.monotonic() + args.sample_timeout
            while started is None:
                remaining = wait_until - time.monotonic()
                if remaining <= 0:
                    raise BenchError(f"sample {i}: job did not start within {args.sample_timeout}s")
                ev = await next_event(events, remaining)
                if ev is None:
                    continue
                _idx, kind, payload = ev
                if kind == "S" and payload[0] == i:
                    started = payload[1]
                elif kind == "EOF":
                    raise BenchError("a worker exited during the latency run")
            if i >= WARMUP_SAMPLES:
                latencies.append((started - t0) * 1000.0)
            await asyncio.sleep(rng.uniform(0.005, 0.020))
        # Let the last job finish before stopping the workers.
        wait_until = time.monotonic() + 10
        while await session.has_unfinished() and time.monotonic() < wait_until:
            await asyncio.sleep(POLL_INTERVAL_S)
        rss, problems = stop_workers(workers)
        workers = []
        errors.extend(problems)
        out = await session.outcome()
        if out["completed"] != args.samples:
            errors.append(f"completed {out['completed']} of {args.samples} jobs")
        s = sorted(latencies)
        result.update(
            p50_ms=round(percentile(s, 50), 3),
            p99_ms=round(percentile(s, 99), 3),
            mean_ms=round(sum(s) / len(s), 3),
            min_ms=round(s[0], 3),
            max_ms=round(s[-1], 3),
            rss_mb=rss,
            errors=errors,
        )
        return result
    finally:
        if workers:
            stop_workers(workers)
        await session.close()


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def describe(exc: BaseException) -> str:
    """One line for an exception and its causes (procrastinate wraps driver errors)."""
    parts = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = " ".join(str(exc).split())
        parts.append(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(parts)


def main(peer_factory: Callable[[], Peer], script: str, system: str) -> None:
    parser = argparse.ArgumentParser(
        prog=os.path.basename(script),
        description=f"Benchmark {system} (a PostgreSQL job queue); prints one JSON object.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{setup,throughput,latency}")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dsn", required=True, help="postgres://user@host:port/db")

    p_setup = sub.add_parser("setup", help=f"drop and (re)create {system}'s schema")
    common(p_setup)

    p_tp = sub.add_parser("throughput", help="drain N pre-enqueued no-op jobs with W workers")
    common(p_tp)
    p_tp.add_argument("--jobs", type=int, default=20000)
    p_tp.add_argument("--workers", type=int, default=4)
    p_tp.add_argument("--concurrency", type=int, default=10)
    p_tp.add_argument("--batch", type=int, default=1000, help="jobs per enqueue statement")
    p_tp.add_argument("--timeout", type=float, default=600, help="give up after S seconds")

    p_lat = sub.add_parser("latency", help="enqueue->start latency of single jobs, idle workers")
    common(p_lat)
    p_lat.add_argument("--samples", type=int, default=200)
    p_lat.add_argument("--workers", type=int, default=4)
    p_lat.add_argument("--concurrency", type=int, default=10)
    p_lat.add_argument("--ready-timeout", type=float, default=60)
    p_lat.add_argument("--sample-timeout", type=float, default=30)

    p_w = sub.add_parser("_worker", help=argparse.SUPPRESS)
    common(p_w)
    p_w.add_argument("--mode", choices=("throughput", "latency"), required=True)
    p_w.add_argument("--concurrency", type=int, required=True)
    p_w.add_argument("--index", type=int, default=0)

    # Peer-specific options (e.g. pgqueuer's fetch size) go to the scenarios and the worker.
    try:
        peer = peer_factory()
    except BenchError as exc:
        peer = None
        peer_error: Optional[str] = str(exc)
    else:
        peer_error = None
        for name, default, help_ in peer.extra_worker_args:
            for p in (p_tp, p_lat, p_w):
                p.add_argument(f"--{name}", type=type(default), default=default, help=help_)

    args = parser.parse_args()
    for name in ("jobs", "workers", "batch", "samples"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name} must be at least 1")
    if getattr(args, "concurrency", 0) < 0:
        parser.error("--concurrency must be >= 0")

    if args.command == "_worker":
        if peer is None:
            print(f"worker cannot start: {peer_error}", file=sys.stderr)
            sys.exit(2)
        asyncio.run(peer.worker_main(args))
        return

    def fail(message: str) -> None:
        out = {"system": system, "scenario": args.command, "error": message}
        print(json.dumps(out))
        sys.exit(2)

    if peer is None:
        fail(peer_error or "peer unavailable")
    try:
        if args.command == "setup":
            asyncio.run(peer.setup(args.dsn))
            print(json.dumps({"system": system, "version": peer.version(), "scenario": "setup",
                              "ok": True}))
            return
        runner = run_throughput if args.command == "throughput" else run_latency
        result = asyncio.run(runner(peer, script, args))
    except BenchError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted")
    except Exception as exc:  # connection refused, missing schema, ...
        fail(describe(exc))
    else:
        missing = result.get("jobs_per_s") is None if args.command == "throughput" else \
            result.get("p50_ms") is None
        if missing or result.get("errors"):
            result["error"] = "; ".join(result.get("errors") or ["no figure measured"])
            print(json.dumps(result))
            sys.exit(2)
        print(json.dumps(result))
