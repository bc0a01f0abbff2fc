"""Baton's benchmark harness, shared by the scenarios of bench/scenarios/.

| module | holds |
|---|---|
| core.py | paths, logging, the benchmark's connection, Baton's command line (`ctx.baton`, `ctx.apply`) |
| server.py | the PostgreSQL server: its process, settings, CPU, log; the fleet `Probe` |
| procs.py | /proc probes: CPU time, PSS, process trees, the `Sampler` |
| systems.py | the systems as processes: Baton's `Fleet` (trace parsing) and `Coordinator`, the peers, pgbench; `baton_drain` |
| fixtures.py | `catalog` (baton apply), **`insert_jobs`, the one fixture that writes jobs**, drain, the checks |
| stats.py | medians, percentiles, the paired per-round ratios |
| report.py | rows, latest.{md,json,png}, the clean-commit rule |
"""
