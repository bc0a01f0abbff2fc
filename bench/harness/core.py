"""Paths, logging, the database connection and Baton's command line: what every scenario uses.

A scenario gets one `Context`: the parsed options (`ctx.args`), the benchmark's own connection
(`ctx.db`), the server (`ctx.server`, harness/server.py), the results it adds rows to
(`ctx.results`, harness/report.py), and `ctx.baton(...)` / `ctx.apply(...)`, Baton's own
command line, through which the benchmark creates projects, components, configurations and
orchestrations. Jobs are created with `baton jobs create`, `baton run`, or the one fixture
`harness.fixtures.insert_jobs` (where the command line is too slow).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional

import psycopg

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCH)
RESULTS = os.path.join(BENCH, "results")
TMP = os.path.join(RESULTS, "tmp")
PEERS = os.path.join(BENCH, "peers")

UNFINISHED = ("created", "waiting", "processing", "terminating")
POLL_S = 0.020  # the driver polls for unfinished jobs this often (Baton and the peers alike)
WARMUP = 10  # latency samples discarded at the start (Baton and the peers alike)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A scenario cannot go on; the scenario's rows are reported as not measured."""


class DB:
    """The benchmark's own connection (autocommit)."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.conn = psycopg.connect(dsn, autocommit=True, application_name="baton-bench")

    def q(self, sql: str, params: Any = None) -> list[tuple]:
        cur = self.conn.execute(sql, params)
        return cur.fetchall() if cur.description else []

    def one(self, sql: str, params: Any = None) -> Any:
        rows = self.q(sql, params)
        return rows[0][0] if rows else None

    def close(self) -> None:
        self.conn.close()


class Context:
    """What a scenario works with. See the module's docstring."""

    def __init__(self, args, db: DB, server, results):
        self.args = args
        self.db = db
        self.server = server
        self.results = results
        self.applied: set[str] = set()  # catalogs applied in this run (fixtures.catalog)

    @property
    def dsn(self) -> str:
        return self.args.dsn

    def baton(self, *argv: str, input_text: Optional[str] = None, timeout: float = 600) -> str:
        """Runs `baton ARGV --database-url DSN`; returns its stdout, raises BenchError when it fails."""
        r = subprocess.run([self.args.baton, *argv, "--database-url", self.dsn], input=input_text,
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise BenchError(f"baton {' '.join(argv)} failed (exit {r.returncode}): {r.stderr.strip()[-800:]}")
        return r.stdout

    def apply(self, documents: list[dict]) -> None:
        """`baton apply -f FILE` of these documents (a JSON list): projects, components, configurations, orchestrations."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=TMP) as f:
            json.dump(documents, f)
            path = f.name
        try:
            self.baton("apply", "-f", path)
        finally:
            os.unlink(path)
