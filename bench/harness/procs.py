"""Probes read from /proc: CPU time, memory (PSS), process trees, and a sampler that records them.

- CPU time of a process: utime + stime from /proc/PID/stat; of the PostgreSQL server: the
  postmaster's own, the CPU of the children it has reaped (cutime + cstime: backends that
  ended), and every live child's (backends, WAL writer, checkpointer, autovacuum workers). That
  total only grows, so the server's CPU over any window is the difference of two readings.
- Memory: **PSS** (proportional set size) from /proc/PID/smaps_rollup: private pages plus each
  shared page divided by the number of processes that map it. The PSS of a group of processes
  adds up to what the group costs the machine, so 4 workers' PSS can be summed and compared
  between systems (RSS counts shared library pages in full in every process).
- `Sampler` records the server's CPU and the workers' PSS and CPU every 0.25 s in a thread;
  a scenario then asks for the server CPU or the peak PSS between two moments (the run's first
  job start and the moment the driver saw the queue empty).
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from typing import Callable, Optional

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> Optional[list[str]]:
    """Fields of /proc/PID/stat after the command name (field 3 of the man page is index 0)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int) -> Optional[float]:
    rest = _stat(pid)
    return (int(rest[11]) + int(rest[12])) / TICK if rest else None


def proc_cpu(pid: int) -> Optional[tuple[float, float]]:
    """(CPU seconds, seconds spent runnable but waiting for a CPU) of a process, all its threads."""
    rest = _stat(pid)
    if not rest:
        return None
    wait_ns = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    wait_ns += int(f.read().split()[1])
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        return None
    return (int(rest[11]) + int(rest[12])) / TICK, wait_ns / 1e9


def parent(pid: int) -> Optional[int]:
    rest = _stat(pid)
    return int(rest[1]) if rest else None


def children(ppid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            rest = _stat(int(d))
            if rest and int(rest[1]) == ppid:
                out.append(int(d))
    return out


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def all_cpu() -> dict[int, tuple[int, float]]:
    """(parent pid, CPU seconds) of every process on the machine, kernel threads included."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            rest = _stat(int(d))
            if rest:
                out[int(d)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / TICK)
    return out


def machine_cpu() -> tuple[int, int, int]:
    """(busy, total, interrupts) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:8]]
    return v[0] + v[1] + v[2] + v[5] + v[6], sum(v), v[5] + v[6]


def server_cpu(postmaster: int) -> Optional[float]:
    """CPU seconds of the whole PostgreSQL server so far: the postmaster, its reaped children, its live children."""
    rest = _stat(postmaster)
    if not rest:
        return None
    total = (int(rest[11]) + int(rest[12]) + int(rest[13]) + int(rest[14])) / TICK
    for pid in children(postmaster):
        c = cpu_seconds(pid)
        total += c or 0.0
    return total


def memory_kb(pid: int) -> dict[str, int]:
    """Rss, Pss, Pss_Anon, Pss_File (kB) from /proc/PID/smaps_rollup, VmHWM and RssAnon from /proc/PID/status."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0].rstrip(":") in ("Rss", "Pss", "Pss_Anon", "Pss_File"):
                    out[parts[0].rstrip(":")] = int(parts[1])
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0].rstrip(":") in ("VmHWM", "VmRSS", "RssAnon"):
                    out[parts[0].rstrip(":")] = int(parts[1])
    except (OSError, ValueError, IndexError):
        pass
    return out


def mb(kb: Optional[float]) -> Optional[float]:
    return None if kb is None else round(kb / 1024, 1)


class Sampler:
    """Every `interval` s: the server's CPU (if the server runs on this machine), and each worker's PSS and CPU.

    workers(): the pids of the system's worker processes now (Baton's `baton worker`s, a peer's `_worker`s).
    """

    def __init__(self, postmaster: Optional[int], workers: Callable[[], list[int]], interval: float = 0.25):
        self.postmaster = postmaster
        self.workers = workers
        self.interval = interval
        self.times: list[float] = []
        self.server: list[Optional[float]] = []
        self.worker_cpu: list[float] = []
        self.pss: list[dict[int, int]] = []  # pid: Pss kB
        self.rss: list[dict[int, int]] = []  # pid: VmRSS kB
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Sampler":
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join(timeout=5)
            self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        t = time.time()
        server = server_cpu(self.postmaster) if self.postmaster else None
        pss, rss, cpu = {}, {}, 0.0
        for pid in self.workers():
            m = memory_kb(pid)
            if "Pss" in m:
                pss[pid] = m["Pss"]
            if "VmRSS" in m:
                rss[pid] = m["VmRSS"]
            cpu += cpu_seconds(pid) or 0.0
        self.times.append(t)
        self.server.append(server)
        self.worker_cpu.append(cpu)
        self.pss.append(pss)
        self.rss.append(rss)

    def _at(self, series: list, t: float) -> Optional[float]:
        """The series at time t, interpolated linearly between the samples around it."""
        pts = [(x, v) for x, v in zip(self.times, series) if v is not None]
        if not pts:
            return None
        xs = [x for x, _ in pts]
        i = bisect.bisect_left(xs, t)
        if i <= 0:
            return pts[0][1]
        if i >= len(pts):
            return pts[-1][1]
        (x0, v0), (x1, v1) = pts[i - 1], pts[i]
        return v0 + (v1 - v0) * (t - x0) / (x1 - x0) if x1 > x0 else v1

    def server_cpu_between(self, t0: float, t1: float) -> Optional[float]:
        a, b = self._at(self.server, t0), self._at(self.server, t1)
        return b - a if a is not None and b is not None else None

    def workers_cpu_between(self, t0: float, t1: float) -> Optional[float]:
        a, b = self._at(self.worker_cpu, t0), self._at(self.worker_cpu, t1)
        return b - a if a is not None and b is not None else None

    def _window(self, t0: float, t1: float) -> list[int]:
        idx = [i for i, t in enumerate(self.times) if t0 <= t <= t1]
        if not idx and self.times:  # a window shorter than the interval: the nearest sample
            idx = [min(range(len(self.times)), key=lambda i: abs(self.times[i] - (t0 + t1) / 2))]
        return idx

    def peak_pss_sum_kb(self, t0: float, t1: float) -> Optional[int]:
        """The largest sum of the workers' PSS in one sample within [t0, t1]."""
        sums = [sum(self.pss[i].values()) for i in self._window(t0, t1) if self.pss[i]]
        return max(sums) if sums else None

    def peak_pss_each_kb(self, t0: float, t1: float) -> dict[int, int]:
        out: dict[int, int] = {}
        for i in self._window(t0, t1):
            for pid, kb in self.pss[i].items():
                out[pid] = max(out.get(pid, 0), kb)
        return out

    def peak_rss_each_kb(self, t0: float, t1: float) -> dict[int, int]:
        out: dict[int, int] = {}
        for i in self._window(t0, t1):
            for pid, kb in self.rss[i].items():
                out[pid] = max(out.get(pid, 0), kb)
        return out
