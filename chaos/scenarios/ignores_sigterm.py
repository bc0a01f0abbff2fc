"""ignores-sigterm: process jobs that ignore SIGTERM (trap '' TERM, inherited by their children)
are killed (baton jobs kill) or time out (baton jobs create --timeout 4). They must still end:
the worker sends SIGKILL after its 10 s grace. The next job of each configuration waits behind
them and must not start before their processes are gone."""

import time

from harness import Scenario

COMPONENT = "chaos-sigterm"
TIMEOUT = 4.0


class IgnoresSigterm(Scenario):
    name = "ignores-sigterm"
    kind = "lane"
    summary = "jobs that ignore SIGTERM are killed or time out: they must still end (SIGKILL after 10 s)"
    components = {COMPONENT: "stamp"}

    def sizes(self, h):
        return (2, 2, 60, 1) if h.short else (3, 3, 90, 2)   # killed, timed out, seconds they would run, rounds

    def definitions(self, h):
        kills, timeouts, _, _ = self.sizes(h)
        return ([{"kind": "configuration", "component": COMPONENT, "id": f"term-k{i}", "name": f"Ignores SIGTERM, killed {i}"}
                 for i in range(1, kills + 1)] +
                [{"kind": "configuration", "component": COMPONENT, "id": f"term-t{i}", "name": f"Ignores SIGTERM, times out {i}"}
                 for i in range(1, timeouts + 1)])

    def run(self, h, lane):
        kills, timeouts, seconds, rounds = self.sizes(h)
        h.add_worker("chaos-term-w1", [COMPONENT], concurrency=8, scenario=self.name, log_name="ignores-sigterm-worker-1")
        h.sleep(1.5)
        for _ in range(rounds):
            self.round(h, kills, timeouts, seconds)
            h.sweep(self.name, [COMPONENT])

    def round(self, h, kills, timeouts, seconds):
        params = {"seconds": seconds, "variant": "ignore-term"}
        killed = {h.create_job(COMPONENT, f"term-k{i}", params): f"term-k{i}" for i in range(1, kills + 1)}
        timed = {h.create_job(COMPONENT, f"term-t{i}", params, timeout=TIMEOUT): f"term-t{i}" for i in range(1, timeouts + 1)}
        nexts = [h.create_job(COMPONENT, cfg, {"seconds": 2, "variant": "plain"}) for cfg in [*killed.values(), *timed.values()]]
        states = h.wait_running([*killed, *timed], 20)
        h.sleep(2)
        faults = []
        for job, cfg in killed.items():
            if not job:
                continue
            t, end, said = h.kill_job(job)
            faults.append(h.fault(self.name, t, end, f"kill of job {job} ({said})", ("configs", ((COMPONENT, cfg),)),
                                  victims=(job,)))
            h.log(f"{self.name}: baton jobs kill {job}: {said}")
        for job, cfg in timed.items():
            started = states.get(job, {}).get("started")
            if not started:
                h.warn(f"{self.name}: job {job} never started; no timeout to watch")
                continue
            at = float(started) + TIMEOUT
            faults.append(h.fault(self.name, at, at, f"timeout of job {job} ({TIMEOUT:g} s)",
                                  ("configs", ((COMPONENT, cfg),)), victims=(job,)))
        h.sleep(max(0.0, max((f.end for f in faults), default=0) - time.time()))
        h.settle(self.name, [*killed, *timed, *nexts], faults, extra=3.0)


SCENARIO = IgnoresSigterm()
