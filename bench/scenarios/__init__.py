"""The scenarios, one module each, in the order a full run measures them (the fleet last: it takes longest).

A scenario module has NAME, ALIASES, add_arguments(parser) for its options, smoke(args) for its
small sizes, and run(ctx), which adds rows and details to ctx.results (harness/report.py).
"""

from . import fairness, fleet, handoff, history, hotkeys, idle_xact, latency, projects, throughput

MODULES = [throughput, latency, hotkeys, history, handoff, fairness, projects, idle_xact, fleet]
ORDER = [m.NAME for m in MODULES]
BY_NAME = {m.NAME: m for m in MODULES} | {alias: m for m in MODULES for alias in m.ALIASES}
