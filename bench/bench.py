#!/usr/bin/env python3
"""bench/bench.py: Baton's benchmark, run by bench/run with the bench virtualenv.

Runs the chosen scenarios (bench/scenarios/, default all) against one PostgreSQL server, Baton
beside its peers (bench/peers/) and pgbench in the same run, and writes bench/results/latest.md
(one row per target: Baton's figure, the other's, the median of the per-round ratios, each
round's, the target, met in k of n rounds), latest.json and latest.png. The harness the scenarios
share is bench/harness/. Definitions: bench/README.md. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import fixtures, pooler  # noqa: E402
from harness.core import RESULTS, ROOT, TMP, Context, DB, log  # noqa: E402
from harness.report import Results  # noqa: E402
from harness.server import Server  # noqa: E402
from scenarios import BY_NAME, MODULES, ORDER  # noqa: E402


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenarios", nargs="*", help=f"any of {', '.join(ORDER)} (cpu = throughput; default: all)")
    p.add_argument("--dsn", required=True)
    p.add_argument("--baton", required=True, help="the baton binary (baton-shim beside it)")
    p.add_argument("--baton-shown", help="the binary's path to show in the report (default --baton)")
    p.add_argument("--build", default="release build")
    p.add_argument("--command", default="bench/run")
    p.add_argument("--server-log", help="the server's log file (the fleet counts its FATAL and ERROR lines)")
    p.add_argument("--smoke", action="store_true", help="small sizes, 1 round: checks that every scenario works; report in bench/results/tmp/")
    p.add_argument("--allow-dirty", action="store_true",
                   help="write bench/results/latest.* even with uncommitted changes outside bench/results (marked NOT FROM A CLEAN COMMIT)")
    p.add_argument("--workers", type=int, default=4, help="worker processes of every system")
    p.add_argument("--concurrency", type=int, default=32, help="jobs in flight per worker process")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every scenario (each round measures Baton and the other in turn)")
    p.add_argument("--timeout", type=float, default=300, help="a drain that takes longer fails")
    p.add_argument("--out", default=RESULTS)
    for m in MODULES:
        m.add_arguments(p)
    a = p.parse_args()
    if a.smoke:
        a.rounds, a.out = 1, TMP
        for m in MODULES:
            m.smoke(a)
    a.baton_shown = os.path.relpath(a.baton_shown or a.baton, ROOT)
    unknown = [s for s in a.scenarios if s not in BY_NAME]
    if unknown:
        p.error(f"unknown scenario(s) {unknown}: choose from {ORDER} (or cpu)")
    if a.fleet_report_from:
        a.scenarios = ["fleet"]
    chosen = {BY_NAME[s].NAME for s in a.scenarios} or set(ORDER)
    if "fleet" in chosen and "pooled" in a.fleet_modes.split(",") and not a.fleet_report_from and not pooler.find_pgbouncer():
        p.exit(1, "bench: pgbouncer not found: the fleet scenario runs 500 workers through PgBouncer (its pooled mode). "
                  "Install it (apt-get install -y pgbouncer), or leave the mode out "
                  "(--fleet-modes paced,noop) or the scenario.\n")
    return a


def main() -> int:
    a = parse()
    # SIGTERM (bench/run interrupted) unwinds like an exception, so every scenario's `finally` stops its workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.makedirs(TMP, exist_ok=True)
    chosen = list(dict.fromkeys(BY_NAME[s].NAME for s in a.scenarios)) or ORDER
    started = time.time()
    db = DB(a.dsn)
    server = Server(a.dsn, a.server_log)
    results = Results(a)
    ctx = Context(a, db, server, results)
    if results.dirty_at_start:
        log(f"WARNING: uncommitted changes outside bench/results ({len(results.dirty_at_start)}: {results.dirty_at_start[:3]}...): "
            + ("the report will be marked NOT FROM A CLEAN COMMIT" if a.smoke or a.allow_dirty or a.out != RESULTS else
               "bench/results/latest.* will not be written (the report goes to bench/results/tmp/; --allow-dirty writes it, marked)"))
    if server.postmaster is None:
        log("WARNING: the server is not on this machine: no PostgreSQL CPU figures")
    if not a.fleet_report_from:
        drift = fixtures.fixture_check(ctx)
        results.notes.append("Fixture check: a job made by `baton jobs create` and one made by `insert_jobs` "
                             + ("have the same columns." if drift is None else f"DIFFER: {drift}"))
        if drift:
            log(f"WARNING: insert_jobs does not write jobs as baton jobs create does: {drift}")
    for name in chosen:
        try:
            BY_NAME[name].run(ctx)
        except Exception as e:  # noqa: BLE001 - the other scenarios still run; the exit code says it failed
            log(f"{name} failed: {e}")
            traceback.print_exc(file=sys.stderr)
            results.failed[name] = str(e)[:500]
    code = results.write(server, started, chosen, ORDER)
    if results.failed:
        log(f"scenarios that did not finish: {', '.join(results.failed)}")
        code = code or 1
    return code


if __name__ == "__main__":
    sys.exit(main())
