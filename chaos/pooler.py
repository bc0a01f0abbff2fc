"""A PgBouncer for chaos/run's pgbouncer scenario (standard library only).

Its files live in chaos/.pgbouncer/ (pgbouncer.ini, users.txt, pgbouncer.log, pgbouncer.pid), its
unix socket in a short folder of its own under /tmp (the online restart needs one; a socket path
has at most 107 bytes). PgBouncer refuses to run as root: as root it is started with `-u postgres`,
which switches user before that check. It runs in the foreground, a child of chaos/run.

Three ways to restart it, all on the same port:
- hard: SIGKILL, then a new process;
- graceful: SIGINT (PgBouncer's safe shutdown: PAUSE, so the transactions in flight finish, then
  it closes every connection and exits; what `systemctl restart` does), then a new process;
- online: a new process started with -R takes the listening socket and the open client and server
  connections over from the old one through the unix socket; clients keep their connections.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def executable() -> str | None:
    """pgbouncer on PATH, or in /usr/sbin (not on a non-root user's PATH on Debian)."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    return "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None


def alive(pid: int | None) -> bool:
    """The process exists and is not a zombie."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def tcp_peers(pid: int) -> list[int]:
    """The remote ports of the established TCP connections of process `pid` to 127.0.0.1 (from
    /proc/PID/fd and /proc/net/tcp): which servers a baton process talks to right now."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return []
    ports = []
    try:
        with open(f"/proc/{pid}/net/tcp") as f:
            next(f)
            for line in f:
                cols = line.split()
                remote, state, inode = cols[2], cols[3], cols[9]
                address, port = remote.split(":")
                if state == "01" and inode in inodes and address == "0100007F":   # ESTABLISHED, 127.0.0.1
                    ports.append(int(port, 16))
    except (OSError, StopIteration, IndexError, ValueError):
        pass
    return ports


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PgBouncer:
    def __init__(self, directory: Path, port: int, pg_port: int, settings: dict[str, str], log=print):
        self.dir = directory
        self.port = port
        self.pg_port = pg_port
        self.settings = settings
        self.log = log
        self.binary = executable()
        self.ini = directory / "pgbouncer.ini"
        self.pidfile = directory / "pgbouncer.pid"
        self.logfile = directory / "pgbouncer.log"
        self.socket_dir: str | None = None
        self.popen: subprocess.Popen | None = None
        self.pid: int | None = None
        self.starts = 0

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def configure(self) -> None:
        """Kills a PgBouncer an earlier run left (named by its pidfile), then writes a fresh folder."""
        self.kill_leftover()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.socket_dir = tempfile.mkdtemp(prefix="chaos-pgb-")
        for folder in (self.dir, Path(self.socket_dir)):
            os.chmod(folder, 0o777)   # PgBouncer runs as postgres when chaos/run is root
        (self.dir / "users.txt").write_text('"postgres" ""\n')
        lines = ["[databases]", f"* = host=127.0.0.1 port={self.pg_port}", "", "[pgbouncer]",
                 "listen_addr = 127.0.0.1", f"listen_port = {self.port}", f"unix_socket_dir = {self.socket_dir}",
                 "auth_type = trust", "admin_users = postgres", f"auth_file = {self.dir / 'users.txt'}", f"logfile = {self.logfile}",
                 f"pidfile = {self.pidfile}"]
        lines += [f"{k} = {v}" for k, v in self.settings.items()]
        self.ini.write_text("\n".join(lines) + "\n")

    def admin(self, command: str, timeout: float = 10) -> list[dict]:
        """A SHOW command on PgBouncer's admin console (database pgbouncer, admin_users postgres);
        rows as dicts of strings. Raises RuntimeError when it cannot be asked."""
        env = dict(os.environ, PGCONNECT_TIMEOUT="3")
        env.pop("DATABASE_URL", None)
        try:
            r = subprocess.run(["psql", "-X", "--csv", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                                "-U", "postgres", "-d", "pgbouncer", "-c", command],
                               env=env, capture_output=True, text=True, timeout=timeout, errors="replace")
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"pgbouncer admin console: {command} timed out after {timeout:g} s")
        if r.returncode != 0:
            raise RuntimeError(f"pgbouncer admin console: {command}: {r.stderr.strip()[:300]}")
        return list(csv.DictReader(io.StringIO(r.stdout)))

    def kill_leftover(self) -> None:
        try:
            pid = int(self.pidfile.read_text().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                mine = str(self.ini).encode() in f.read()
        except (OSError, ValueError):
            return
        if mine:
            self.log(f"pgbouncer: killing pid {pid}, left by an earlier run")
            os.kill(pid, signal.SIGKILL)
            self.wait_gone(pid, 5)

    def argv(self, *extra: str) -> list[str]:
        argv = [self.binary or "pgbouncer", *extra]
        if os.geteuid() == 0:
            argv += ["-u", "postgres"]
        return argv + [str(self.ini)]

    def start(self, timeout: float = 15) -> float:
        """Starts a new process on the port; returns when it accepts connections."""
        if self.binary is None:
            raise RuntimeError("pgbouncer not found (apt-get install -y pgbouncer)")
        self.reap()
        self.starts += 1
        with open(self.dir / "stderr.log", "a") as err:
            self.popen = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        self.pid = self.popen.pid
        deadline = time.time() + timeout
        while not accepts(self.port):
            if self.popen.poll() is not None:
                raise RuntimeError(f"pgbouncer exited at start (status {self.popen.returncode}); see {self.logfile}")
            if time.time() >= deadline:
                raise RuntimeError(f"pgbouncer does not accept connections on port {self.port} {timeout:g} s after start")
            time.sleep(0.05)
        return time.time()

    def kill_hard(self) -> float:
        """SIGKILL; returns when."""
        t = time.time()
        self.signal(signal.SIGKILL)
        self.wait_gone(self.pid, 10)
        return t

    def stop_graceful(self, timeout: float = 20) -> bool:
        """SIGINT (safe shutdown); SIGKILL after `timeout` s. True when it exited by itself."""
        self.signal(signal.SIGINT)
        if self.wait_gone(self.pid, timeout):
            return True
        self.signal(signal.SIGKILL)
        self.wait_gone(self.pid, 10)
        return False

    def online_restart(self, timeout: float = 20) -> float:
        """A new process with -R takes the sockets over; returns when the old one is gone and the
        new one accepts connections."""
        old, old_popen = self.pid, self.popen
        self.starts += 1
        with open(self.dir / "stderr.log", "a") as err:
            self.popen = subprocess.Popen(self.argv("-R"), stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        self.pid = self.popen.pid
        if not self.wait_gone(old, timeout, old_popen):
            raise RuntimeError(f"pgbouncer -R: the old process {old} is still there {timeout:g} s later")
        deadline = time.time() + timeout
        while True:
            # -R may leave the new process in the background: the pidfile names it.
            if self.popen.poll() is not None:
                try:
                    self.pid = int(self.pidfile.read_text().strip())
                except (OSError, ValueError):
                    pass
            if alive(self.pid) and accepts(self.port):
                return time.time()
            if time.time() >= deadline:
                raise RuntimeError(f"pgbouncer -R: no process accepts connections {timeout:g} s later; see {self.logfile}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (immediate shutdown), SIGKILL after 5 s; removes the socket folder."""
        if alive(self.pid):
            self.signal(signal.SIGTERM)
            if not self.wait_gone(self.pid, 5):
                self.log(f"pgbouncer: pid {self.pid} did not stop within 5 s of SIGTERM; SIGKILL")
                self.signal(signal.SIGKILL)
                self.wait_gone(self.pid, 5)
        self.reap()
        if self.socket_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            self.socket_dir = None

    def signal(self, sig: int) -> None:
        if self.pid:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def reap(self) -> None:
        """Collects our child's exit status, if it has exited."""
        if self.popen is not None:
            self.popen.poll()

    def wait_gone(self, pid: int | None, timeout: float, popen: subprocess.Popen | None = None) -> bool:
        popen = popen or self.popen
        deadline = time.time() + timeout
        while time.time() < deadline:
            if popen is not None and popen.pid == pid:
                popen.poll()   # reaps our child, so it is not left a zombie
            if not alive(pid):
                return True
            time.sleep(0.02)
        return False
