"""restart-postgres: baton db down (fast shutdown), then baton db up, while the stream flows."""

import time

from harness import Scenario, SetupError


class RestartPostgres(Scenario):
    name = "restart-postgres"
    kind = "window"
    summary = "baton db down, then db up (once short / twice)"

    def run(self, h, window):
        w = h.window_seconds
        offsets = [1.0] + ([w / 2] if w >= 20 else [])
        h.run_window(self.name, w, offsets, lambda: self.fault(h))

    def fault(self, h):
        t = time.time()
        h.log("restart-postgres: baton db down --data-dir chaos/.pg")
        h.db_down()
        h.log(f"restart-postgres: baton db up --data-dir chaos/.pg --port {h.port} --database chaos")
        url = h.db_up()
        if url is None:
            raise SetupError("baton db up failed during restart-postgres (server log: chaos/.pg/postgres.log)")
        if url != h.url:
            h.warn(f"db up printed {url}, expected {h.url}")
        up = time.time()
        h.fault(self.name, t, up, f"down {int((up - t) * 1000)}ms", ("fleet",))
        h.log(f"restart-postgres: back up after {int((up - t) * 1000)} ms")


SCENARIO = RestartPostgres()
