"""setsid-descendant: process jobs whose descendant calls setsid (a session of its own, so the
signals Baton sends to the job's process group miss it) and keeps the lock (fd 9) and the output
pipes open for 120 s. Some are killed, some time out, some just exit and leave the daemon behind.
Each must end within the bound, with no process of it left, before the next job of its
configuration starts.

On today's binary the job does not end while the daemon holds its output pipes open (the worker
waits for end of file), so it is not final within the bound; when the main process exits the
daemon is never signalled at all."""

import time

from harness import Scenario

COMPONENT = "chaos-setsid"
TIMEOUT = 4.0
DAEMON_SECONDS = 120


class SetsidDescendant(Scenario):
    name = "setsid-descendant"
    kind = "lane"
    summary = "a descendant calls setsid and keeps the pipes open: killed, timed out, or left behind"
    components = {COMPONENT: "stamp"}

    def sizes(self, h):
        return (1, 1, 2, 1) if h.short else (2, 2, 2, 2)   # killed, timed out, main exits, rounds

    def configs(self, h):
        kills, timeouts, exits, _ = self.sizes(h)
        return ([(f"setsid-k{i}", "kill") for i in range(1, kills + 1)] +
                [(f"setsid-t{i}", "timeout") for i in range(1, timeouts + 1)] +
                [(f"setsid-x{i}", "exit") for i in range(1, exits + 1)])

    def definitions(self, h):
        return [{"kind": "configuration", "component": COMPONENT, "id": cfg, "name": f"Setsid descendant ({how})"}
                for cfg, how in self.configs(h)]

    def run(self, h, lane):
        h.add_worker("chaos-setsid-w1", [COMPONENT], concurrency=8, scenario=self.name, log_name="setsid-descendant-worker-1")
        h.sleep(1.5)
        for _ in range(self.sizes(h)[3]):
            self.round(h)
            h.sweep(self.name, [COMPONENT])

    def round(self, h):
        jobs = {}
        for cfg, how in self.configs(h):
            if how == "exit":
                params = {"seconds": 3, "variant": "daemon-exit", "daemon_seconds": DAEMON_SECONDS}
            else:
                params = {"seconds": 60, "variant": "daemon-wait", "daemon_seconds": DAEMON_SECONDS}
            job = h.create_job(COMPONENT, cfg, params, timeout=TIMEOUT if how == "timeout" else None)
            jobs[job] = (cfg, how)
        nexts = [h.create_job(COMPONENT, cfg, {"seconds": 2, "variant": "plain"}) for cfg, _ in jobs.values()]
        states = h.wait_running(list(jobs), 20)
        h.sleep(2)
        faults = []
        for job, (cfg, how) in jobs.items():
            if job and how == "kill":
                t, end, said = h.kill_job(job)
                faults.append(h.fault(self.name, t, end, f"kill of job {job} ({said})", ("configs", ((COMPONENT, cfg),)),
                                      victims=(job,)))
                h.log(f"{self.name}: baton jobs kill {job}: {said}")
        for job, (cfg, how) in jobs.items():
            started = states.get(job, {}).get("started")
            if not job or how == "kill":
                continue
            if not started:
                h.warn(f"{self.name}: job {job} never started")
                continue
            if how == "timeout":
                at = float(started) + TIMEOUT
                faults.append(h.fault(self.name, at, at, f"timeout of job {job} ({TIMEOUT:g} s)",
                                      ("configs", ((COMPONENT, cfg),)), victims=(job,)))
            else:
                # The main process exits after 3 s: the moment of its `end` stamp (else the plan).
                deadline = time.time() + 10
                at = None
                while at is None and time.time() < deadline:
                    at = h.stamp_time(job, "end")
                    if at is None:
                        h.sleep(0.3)
                at = at or float(started) + 3
                faults.append(h.fault(self.name, at, at, f"main process of job {job} exited, daemon left",
                                      ("configs", ((COMPONENT, cfg),)), victims=(job,)))
        h.sleep(max(0.0, max((f.end for f in faults), default=0) - time.time()))
        h.settle(self.name, [*jobs, *nexts], faults, extra=3.0)


SCENARIO = SetsidDescendant()
