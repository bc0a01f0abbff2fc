#!/usr/bin/env python3
"""Benchmark procrastinate (psycopg 3 connector) against a PostgreSQL database. See README.md.

    bench/.venv/bin/python bench/peers/procrastinate_bench.py setup      --dsn postgres://...
    bench/.venv/bin/python bench/peers/procrastinate_bench.py throughput --dsn ... --jobs 5000 --workers 4 --concurrency 10
    bench/.venv/bin/python bench/peers/procrastinate_bench.py latency    --dsn ... --samples 200 --workers 4

procrastinate's own settings, all left at the Worker defaults of 3.10.0:
  - listen_notify=True: workers LISTEN on `procrastinate_any_queue_v1`; a row trigger on
    procrastinate_jobs NOTIFYs it for every inserted job ("job_inserted").
  - fetch_job_polling_interval=5.0 s: fallback poll when no NOTIFY arrives.
  - abort_job_polling_interval=5.0 s, update_heartbeat_interval=10 s, stalled_worker_timeout=30 s.
  - jobs are fetched one per query (procrastinate_fetch_job_v2) and finished one per query
    (procrastinate_finish_job_v1); delete_jobs="never", so finished jobs stay with status
    'succeeded' (and every status change is also written to procrastinate_events).
  - connection pool: psycopg_pool.AsyncConnectionPool defaults (min_size=4, max_size=4) plus one
    dedicated LISTEN connection per worker.
  - --concurrency maps to Worker(concurrency=C): up to C jobs in flight per worker process.
  - The workers run with wait=True and are stopped with SIGTERM by the driver once it sees no
    unfinished job (with wait=False they would exit as soon as their queue looked empty, before
    the driver can read their peak RSS); the drain itself is the same.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import BenchError, Peer, Session  # noqa: E402

SYSTEM = "procrastinate"
TASK = "noop"

# Drops every procrastinate_* table, function and type in the current schema (schema.sql has no
# uninstall script), so `setup` can be repeated.
DROP_SQL = r"""
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
               AND c.relname LIKE 'procrastinate\_%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.relname);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\_%' LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.sig);
    END LOOP;
    FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             LEFT JOIN pg_class c ON c.oid = t.typrelid
             WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\_%'
               AND (t.typtype = 'e' OR c.relkind = 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
    END LOOP;
END $$;
"""


def _import():
    try:
        import procrastinate  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise BenchError(
            f"procrastinate is not installed for {sys.executable} ({exc}); run bench/peers/setup "
            "and use bench/.venv/bin/python"
        ) from exc


def version() -> str:
    from importlib.metadata import version as v

    return v("procrastinate")


def make_app(dsn: str, application_name: str, on_start=None):
    """An App with the no-op task. on_start(sample, t) is called first thing in the task."""
    import procrastinate

    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=dsn, kwargs={"application_name": application_name}
        )
    )

    @app.task(name=TASK)
    async def noop(i: int = -1) -> None:
        t = time.time()
        if on_start is not None:
            on_start(i, t)

    return app


async def setup(dsn: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(DROP_SQL)
    # What `procrastinate --app=... schema --apply` runs.
    app = make_app(dsn, "peers-procrastinate-setup")
    async with app.open_async():
        await app.schema_manager.apply_schema_async()


class ProcSession(Session):
    def __init__(self, conn, app):
        self.conn = conn
        self.app = app
        self.task = app.tasks[TASK]

    async def clear(self) -> None:
        await self.conn.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, "
            "procrastinate_workers CASCADE"
        )

    async def enqueue_many(self, first: int, count: int) -> None:
        await self.task.batch_defer_async(*({"i": first + k} for k in range(count)))

    async def enqueue_one(self, sample: int) -> None:
        await self.task.defer_async(i=sample)

    async def prepare(self) -> None:
        await self.conn.execute("VACUUM ANALYZE procrastinate_jobs")
        await self.conn.execute("VACUUM ANALYZE procrastinate_events")
        await self.conn.execute("CHECKPOINT")

    async def has_unfinished(self) -> bool:
        cur = await self.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing'))"
        )
        return (await cur.fetchone())[0]

    async def outcome(self) -> dict[str, int]:
        cur = await self.conn.execute(
            """SELECT count(*) FILTER (WHERE status = 'succeeded'),
                      count(*) FILTER (WHERE status IN ('failed', 'cancelled', 'aborted')),
                      (SELECT count(*) FROM (SELECT job_id FROM procrastinate_events
                                             WHERE type = 'started' GROUP BY job_id
                                             HAVING count(*) > 1) AS again)
               FROM procrastinate_jobs"""
        )
        completed, failed, duplicates = await cur.fetchone()
        return {"completed": completed, "failed": failed, "duplicates": duplicates}

    async def close(self) -> None:
        try:
            await self.app.close_async()
        finally:
            await self.conn.close()


async def open_session(dsn: str) -> Session:
    import psycopg

    conn = await psycopg.AsyncConnection.connect(
        dsn, autocommit=True, application_name="peers-procrastinate-driver"
    )
    app = make_app(dsn, "peers-procrastinate-driver-app")
    await app.open_async()
    return ProcSession(conn, app)


async def worker_main(args) -> None:
    from procrastinate import worker as worker_module
    from procrastinate.manager import get_channel_for_queues

    rep = harness.WorkerReporter(args.mode)
    app = make_app(args.dsn, f"peers-procrastinate-w{args.index}", rep.job_started)

    # Readiness probe: a NOTIFY of an unknown type on the worker's own channel. Worker ignores
    # unknown types; this wrapper only notes that our token came back through the LISTEN
    # connection, then hands every notification to procrastinate unchanged.
    token = uuid.uuid4().hex
    probe_seen = asyncio.Event()
    original = worker_module.Worker._handle_notification

    async def handle_notification(self, *, channel, notification):
        if notification.get("type") == "bench_probe":
            if notification.get("token") == token:
                probe_seen.set()
            return
        await original(self, channel=channel, notification=notification)

    worker_module.Worker._handle_notification = handle_notification

    async with app.open_async():
        run = asyncio.create_task(
            app.run_worker_async(
                concurrency=max(args.concurrency, 1),
                wait=True,
                install_signal_handlers=False,
                name=f"bench-{args.index}",
            )
        )
        stopping = []

        def stop() -> None:  # cancelling run_worker_async = procrastinate's graceful stop
            if not stopping:
                stopping.append(True)
                run.cancel()

        harness.install_stop_handler(stop)
        channel = list(get_channel_for_queues(None))[0]
        payload = json.dumps({"type": "bench_probe", "token": token})
        while not run.done():
            await app.connector.execute_query_async(
                "SELECT pg_notify(%(channel)s, %(payload)s)", channel=channel, payload=payload
            )
            try:
                await asyncio.wait_for(probe_seen.wait(), timeout=0.2)
            except asyncio.TimeoutError:
                continue
            rep.ready()
            break
        try:
            await run
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            rep.errors.append(f"run_worker_async raised {type(exc).__name__}: {exc}")
        finally:
            rep.done()


def concurrency_note(args) -> str:
    return f"Worker(concurrency={max(args.concurrency, 1)})"


def make_peer() -> Peer:
    _import()
    return Peer(
        system=SYSTEM,
        version=version,
        setup=setup,
        open_session=open_session,
        worker_main=worker_main,
        concurrency_note=concurrency_note,
    )


if __name__ == "__main__":
    # Run from the module imported under its own name, so procrastinate's App is not created in
    # __main__ (procrastinate warns about that: task names would depend on how it was started).
    import procrastinate_bench

    harness.main(procrastinate_bench.make_peer, os.path.abspath(__file__), SYSTEM)
