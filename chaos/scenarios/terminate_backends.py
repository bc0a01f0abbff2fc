"""terminate-backends: pg_terminate_backend of every other session of the chaos database, at
random moments."""

import random
import time

from harness import DB, Scenario


class TerminateBackends(Scenario):
    name = "terminate-backends"
    kind = "window"
    summary = "pg_terminate_backend of every session (3 / 6 times at random moments)"

    def run(self, h, window):
        w = h.window_seconds
        n = 6 if w >= 20 else 3
        offsets = sorted(0.5 + random.random() * (w - 1.5) for _ in range(n))
        h.run_window(self.name, w, offsets, lambda: self.fault(h))

    def fault(self, h):
        t = time.time()
        out = h.psql(f"""SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                         WHERE datname = '{DB}' AND pid <> pg_backend_pid()""", check=False) or "?"
        h.fault(self.name, t, t, f"{out} backends", ("fleet",))
        h.log(f"terminate-backends: terminated {out} backends")


SCENARIO = TerminateBackends()
