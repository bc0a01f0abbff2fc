"""PgBouncer and `baton relay` as processes of the benchmark (the fleet's 500 workers, issue 17).

- `PgBouncer`: a PgBouncer of the benchmark's own, in transaction mode, in front of the
  benchmark's server: trust authentication with an auth file, a free port on 127.0.0.1, a pool
  of at most `pool` server connections (`default_pool_size` = `max_db_connections`). When the
  server runs on this machine PgBouncer reaches it over its Unix socket, so the backends
  PgBouncer opens are the client backends without a client address in pg_stat_activity (the
  benchmark, the relay and directly connected workers come over TCP). As root it runs as the
  `postgres` user (`pgbouncer -u postgres`: it refuses root). `show(WHAT)` reads its admin
  console (SHOW POOLS, SHOW STATS...).
- `Relay`: `baton relay --port 0` on the direct URL, the one LISTEN connection of the fleet;
  `address` is what workers get as `--wakeups`.

`require_pgbouncer()` raises a BenchError that says how to install it when it is missing.
"""

from __future__ import annotations

import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Optional
from urllib.parse import urlsplit

import psycopg

from . import procs
from .core import TMP, BenchError, log

PGBOUNCER = "pgbouncer"


def find_pgbouncer() -> Optional[str]:
    return shutil.which(PGBOUNCER) or next((p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None)


def require_pgbouncer() -> str:
    path = find_pgbouncer()
    if not path:
        raise BenchError("pgbouncer not found: the fleet's pooled test runs its workers through PgBouncer "
                         "(apt-get install -y pgbouncer)")
    return path


def raise_fd_limit() -> int:
    """Soft limit of open files up to the hard limit (PgBouncer and the workers' pipes inherit it); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        new = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    return soft


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(p: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class PgBouncer:
    """A PgBouncer in transaction mode in front of `upstream` (see the module's docstring)."""

    def __init__(self, upstream_dsn: str, socket_dir: Optional[str], pool: int, max_clients: int, tag: str):
        self.path = require_pgbouncer()
        u = urlsplit(upstream_dsn)
        self.user = u.username or "postgres"
        self.dbname = (u.path or "/baton").lstrip("/") or "baton"
        self.pool = pool
        self.max_clients = max_clients
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="baton-bench-pgbouncer-")
        self.log_path = os.path.join(TMP, f"{tag}-pgbouncer.log")  # its log: stderr (it runs in the foreground)
        self.over_socket = bool(socket_dir)
        host = socket_dir or (u.hostname or "127.0.0.1")
        users = os.path.join(self.dir, "users.txt")
        with open(users, "w") as f:
            f.write(f'"{self.user}" ""\n')
        self.ini = os.path.join(self.dir, "pgbouncer.ini")
        with open(self.ini, "w") as f:
            f.write(f"""[databases]
{self.dbname} = host={host} port={u.port or 5432} dbname={self.dbname} user={self.user}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {users}
admin_users = {self.user}
stats_users = {self.user}
pool_mode = transaction
max_client_conn = {max_clients}
default_pool_size = {pool}
max_db_connections = {pool}
reserve_pool_size = 0
ignore_startup_parameters = extra_float_digits,options
listen_backlog = 4096
log_connections = 0
log_disconnections = 0
pidfile = {os.path.join(self.dir, 'pgbouncer.pid')}
""")
        argv = [self.path, self.ini]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root; -u switches to the server's user
            pw = pwd.getpwnam("postgres")
            for p in (self.dir, users, self.ini):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            argv = [self.path, "-u", "postgres", self.ini]
        self.stderr = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.stderr, stderr=self.stderr, stdin=subprocess.DEVNULL)
        self.dsn = f"postgres://{self.user}@127.0.0.1:{self.port}/{self.dbname}"
        self.admin_dsn = f"host=127.0.0.1 port={self.port} dbname=pgbouncer user={self.user}"
        deadline = time.time() + 15
        while True:
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=2) as c:
                    c.execute("SELECT 1")
                break
            except psycopg.Error as e:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise BenchError(f"PgBouncer did not start ({e}); its log: {self.log_path}")
                time.sleep(0.1)
        self.admin = psycopg.connect(self.admin_dsn, autocommit=True)
        log(f"PgBouncer {self.version()} on 127.0.0.1:{self.port}, transaction mode, server pool {pool}, "
            f"max_client_conn {max_clients}" + (f", to the server over its Unix socket ({socket_dir})" if socket_dir else ""))

    def version(self) -> str:
        r = subprocess.run([self.path, "--version"], capture_output=True, text=True)
        return (r.stdout.split("\n", 1)[0].replace("PgBouncer ", "").strip()) or "?"

    def show(self, what: str) -> list[dict]:
        """`SHOW WHAT` on the admin console (simple query protocol: the console knows no other)."""
        res = self.admin.pgconn.exec_(f"SHOW {what}".encode())
        if res.status != psycopg.pq.ExecStatus.TUPLES_OK:
            raise BenchError(f"PgBouncer SHOW {what}: {res.error_message.decode(errors='replace')}")
        names = [res.fname(i).decode() for i in range(res.nfields)]
        out = []
        for r in range(res.ntuples):
            row = {}
            for i, n in enumerate(names):
                v = res.get_value(r, i)
                v = v.decode() if v is not None else None
                try:
                    v = int(v) if v is not None and v.lstrip("-").isdigit() else v
                except ValueError:
                    pass
                row[n] = v
            out.append(row)
        return out

    def pool_row(self) -> dict:
        return next((r for r in self.show("POOLS") if r.get("database") == self.dbname), {})

    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc.poll() is None else None

    def cpu(self) -> Optional[float]:
        return procs.cpu_seconds(self.proc.pid) if self.proc.poll() is None else None

    def stop(self) -> None:
        try:
            if getattr(self, "admin", None) is not None and not self.admin.closed:
                self.admin.close()
        except psycopg.Error:
            pass
        _stop(self.proc, signal.SIGTERM)  # immediate shutdown: the workers are gone by now
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Relay:
    """`baton relay --port 0` on the direct URL: the fleet's one LISTEN connection."""

    def __init__(self, baton: str, dsn: str, tag: str):
        self.log_path = os.path.join(TMP, f"{tag}-relay.log")
        self.err = open(self.log_path, "w")
        self.proc = subprocess.Popen([baton, "relay", "--database-url", dsn, "--host", "127.0.0.1", "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=self.err, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()  # "relay listening on 127.0.0.1:PORT"
        if not line.startswith("relay listening on "):
            self.stop()
            raise BenchError(f"baton relay did not start (printed {line.strip()!r}); its log: {self.log_path}")
        self.address = line.split()[-1]
        log(f"baton relay on {self.address}")

    def cpu(self) -> Optional[float]:
        return procs.cpu_seconds(self.proc.pid) if self.proc.poll() is None else None

    def stop(self) -> None:
        _stop(self.proc, signal.SIGTERM)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.err.close()
