"""postgres-outage: PostgreSQL down for two leases (12 s) while long process jobs run on the
stream's workers, then back. No worker can renew its lease meanwhile; when the database is back,
the rescuer finds every lease expired. On today's binary the jobs' processes go on running while
their jobs are ended worker-lost and the next job of each configuration starts beside them."""

import time

from harness import LEASE, Scenario, SetupError

COMPONENT = "chaos-outage"


class PostgresOutage(Scenario):
    name = "postgres-outage"
    kind = "window"
    summary = "PostgreSQL down for 2 leases (12 s) while long process jobs run, then back"
    components = {COMPONENT: "stamp"}

    def sizes(self, h):
        return (2, 20, 1) if h.short else (3, 30, 2)   # configurations, seconds of the long jobs, outages

    def definitions(self, h):
        n, _, _ = self.sizes(h)
        return [{"kind": "configuration", "component": COMPONENT, "id": f"o{i}", "name": f"Outage {i}"}
                for i in range(1, n + 1)]

    def run(self, h, window):
        n, seconds, rounds = self.sizes(h)
        for _ in range(rounds):
            self.round(h, n, seconds)

    def round(self, h, n, seconds):
        outage = 2 * LEASE
        h.log(f"== {self.name}: {n} jobs of {seconds} s, then PostgreSQL down for {outage:g} s")
        longs = [h.create_job(COMPONENT, f"o{i}", {"seconds": seconds, "variant": "plain"}) for i in range(1, n + 1)]
        nexts = [h.create_job(COMPONENT, f"o{i}", {"seconds": 2, "variant": "plain"}) for i in range(1, n + 1)]
        h.wait_running(longs, 15)
        h.sleep(2)
        t = time.time()
        h.log(f"{self.name}: baton db down --data-dir chaos/.pg")
        h.db_down()
        h.sleep(outage - (time.time() - t))
        h.log(f"{self.name}: baton db up")
        if h.db_up() is None:
            raise SetupError("baton db up failed after postgres-outage (server log: chaos/.pg/postgres.log)")
        up = time.time()
        f = h.fault(self.name, t, up, f"down {up - t:.1f}s", ("fleet",), cut=("*",), cut_end=up)
        h.log(f"{self.name}: back up after {up - t:.1f} s")
        h.settle(self.name, longs + nexts, [f], extra=3.0)
        h.sweep(self.name, [COMPONENT])


SCENARIO = PostgresOutage()
