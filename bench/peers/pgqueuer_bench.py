#!/usr/bin/env python3
"""Benchmark pgqueuer (asyncpg driver) against a PostgreSQL database. See README.md.

    bench/.venv/bin/python bench/peers/pgqueuer_bench.py setup      --dsn postgres://...
    bench/.venv/bin/python bench/peers/pgqueuer_bench.py throughput --dsn ... --jobs 20000 --workers 4 --concurrency 10
    bench/.venv/bin/python bench/peers/pgqueuer_bench.py latency    --dsn ... --samples 200 --workers 4

pgqueuer's own settings, all left at the defaults of QueueManager.run() in 1.6.0:
  - batch_size=10: jobs claimed per dequeue query (`--fetch` changes it; default 10).
  - dequeue_timeout=30 s: fallback poll when no NOTIFY arrives. Workers are woken by
    LISTEN/NOTIFY: a statement-level trigger on the queue table NOTIFYs channel `ch_pgqueuer`
    on every INSERT/UPDATE/DELETE/TRUNCATE.
  - completions are buffered (JobStatusLogBuffer): a finished job is deleted from `pgqueuer` and
    logged to `pgqueuer_log` when 10 (= batch_size) completions are pending or every 0.1 s.
  - heartbeat_timeout=30 s, log aggregation every 30 s, listener health check every 10 s.
  - max_concurrent_tasks=None (unlimited) by default; it must be >= 2 x batch_size when set.
  - tables durable (logged), as `python -m pgqueuer install` creates them by default.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import timedelta

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import BenchError, Peer, Session  # noqa: E402

SYSTEM = "pgqueuer"
ENTRYPOINT = "noop"
DEFAULT_FETCH = 10  # QueueManager.run(batch_size=10) default


def _import():
    try:
        import asyncpg  # noqa: F401
        import pgqueuer  # noqa: F401
    except ImportError as exc:
        raise BenchError(
            f"pgqueuer is not installed for {sys.executable} ({exc}); run bench/peers/setup "
            "and use bench/.venv/bin/python"
        ) from exc


def version() -> str:
    from importlib.metadata import version as v

    return v("pgqueuer")


def effective_max_tasks(concurrency: int, fetch: int) -> int | None:
    """pgqueuer's per-process cap (max_concurrent_tasks) for --concurrency.

    0 = unlimited (pgqueuer's default). pgqueuer refuses a cap below 2 x batch_size, so a smaller
    --concurrency is raised to that minimum rather than shrinking pgqueuer's fetch size.
    """
    if concurrency == 0:
        return None
    return max(concurrency, 2 * fetch)


def concurrency_note(args) -> str:
    concurrency, fetch = args.concurrency, args.fetch
    cap = effective_max_tasks(concurrency, fetch)
    if cap is None:
        return f"max_concurrent_tasks unlimited (pgqueuer default); batch_size {fetch}"
    if cap != concurrency:
        return (f"max_concurrent_tasks={cap}: pgqueuer requires >= 2 x batch_size ({fetch}), "
                f"so --concurrency {concurrency} was raised")
    return f"max_concurrent_tasks={cap}; batch_size {fetch}"


async def setup(dsn: str) -> None:
    """Drop pgqueuer's objects (uninstall uses IF EXISTS) and install them with pgqueuer's CLI."""
    env = dict(os.environ)
    for sub in (["uninstall"], ["install"]):
        cmd = [sys.executable, "-m", "pgqueuer", "--pg-dsn", dsn, *sub]
        harness.log("running " + " ".join(cmd[:3] + ["--pg-dsn", "DSN", *sub]))
        # cwd=/ : running `-m pgqueuer` from inside the package's folder shadows stdlib `types`.
        proc = await asyncio.to_thread(
            subprocess.run, cmd, cwd="/", env=env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise BenchError(
                f"`python -m pgqueuer {' '.join(sub)}` failed ({proc.returncode}): "
                + (proc.stderr or proc.stdout).strip()[-1500:]
            )


class PgqSession(Session):
    def __init__(self, conn):
        from pgqueuer import AsyncpgDriver, Queries

        self.conn = conn
        self.queries = Queries(AsyncpgDriver(conn))

    async def clear(self) -> None:
        await self.conn.execute("TRUNCATE pgqueuer, pgqueuer_log, pgqueuer_statistics")

    async def enqueue_many(self, first: int, count: int) -> None:
        await self.queries.enqueue(
            [ENTRYPOINT] * count,
            [str(first + k).encode() for k in range(count)],
            [0] * count,
        )

    async def enqueue_one(self, sample: int) -> None:
        await self.queries.enqueue(ENTRYPOINT, str(sample).encode())

    async def prepare(self) -> None:
        await self.conn.execute("VACUUM ANALYZE pgqueuer")
        await self.conn.execute("VACUUM ANALYZE pgqueuer_log")
        await self.conn.execute("CHECKPOINT")

    async def has_unfinished(self) -> bool:
        return await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pgqueuer WHERE status IN ('queued', 'picked'))"
        )

    async def outcome(self) -> dict[str, int]:
        row = await self.conn.fetchrow(
            """SELECT count(DISTINCT job_id) FILTER (WHERE status = 'successful') AS completed,
                      count(*) FILTER (WHERE status = 'successful') AS rows_ok,
                      count(*) FILTER (WHERE status IN ('exception', 'failed', 'canceled'))
                          AS failed
               FROM pgqueuer_log"""
        )
        return {
            "completed": row["completed"],
            "failed": row["failed"],
            "duplicates": row["rows_ok"] - row["completed"],
        }

    async def close(self) -> None:
        await self.conn.close()


async def open_session(dsn: str) -> Session:
    import asyncpg

    conn = await asyncpg.connect(dsn, server_settings={"application_name": "peers-pgqueuer-driver"})
    return PgqSession(conn)


async def worker_main(args) -> None:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Job, Queries, QueueManager
    from pgqueuer.domain.errors import FailingListenerError

    rep = harness.WorkerReporter(args.mode)
    conn = await asyncpg.connect(
        args.dsn, server_settings={"application_name": f"peers-pgqueuer-w{args.index}"}
    )
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint(ENTRYPOINT)
    async def noop(job: Job) -> None:
        rep.job_started(job.payload.decode() if job.payload else "-", time.time())

    harness.install_stop_handler(qm.shutdown.set)
    run = asyncio.create_task(
        qm.run(batch_size=args.fetch, max_concurrent_tasks=effective_max_tasks(args.concurrency, args.fetch))
    )
    # Ready = a NOTIFY round trip through this worker's LISTEN connection succeeded.
    while not run.done():
        try:
            await qm.listener_healthy(timeout=timedelta(seconds=1))
        except (FailingListenerError, asyncio.TimeoutError):
            continue
        rep.ready()
        break
    try:
        await run
    except Exception as exc:
        rep.errors.append(f"QueueManager.run raised {type(exc).__name__}: {exc}")
    finally:
        rep.done()
        if not conn.is_closed():
            await conn.close()


def make_peer() -> Peer:
    _import()
    return Peer(
        system=SYSTEM,
        version=version,
        setup=setup,
        open_session=open_session,
        worker_main=worker_main,
        concurrency_note=concurrency_note,
        extra_worker_args=[("fetch", DEFAULT_FETCH, "pgqueuer batch_size: jobs per dequeue query")],
    )


if __name__ == "__main__":
    harness.main(make_peer, os.path.abspath(__file__), SYSTEM)
