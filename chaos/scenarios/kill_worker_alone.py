"""kill-worker-alone: SIGKILL a worker process alone (not the process groups of its jobs) while
it runs long process jobs. The supervisor restarts it; the rescuer ends its jobs worker-lost once
their lease (6 s) has passed, and the next job of each configuration starts.

On today's binary the job processes outlive the worker (they are in process groups of their own)
and the next job of the same configuration starts beside them: physical overlaps, and orphans."""

from harness import Scenario

COMPONENT = "chaos-kwa"


class KillWorkerAlone(Scenario):
    name = "kill-worker-alone"
    kind = "lane"
    summary = "SIGKILL a worker process alone while it runs long process jobs"
    components = {COMPONENT: "stamp"}

    def sizes(self, h):
        return (2, 15, 1) if h.short else (3, 25, 3)   # configurations, seconds of the long jobs, rounds

    def definitions(self, h):
        n, _, _ = self.sizes(h)
        return [{"kind": "configuration", "component": COMPONENT, "id": f"kwa{i}", "name": f"Kill worker alone {i}"}
                for i in range(1, n + 1)]

    def run(self, h, lane):
        n, seconds, rounds = self.sizes(h)
        worker = h.add_worker("chaos-kwa-w1", [COMPONENT], concurrency=4, scenario=self.name,
                              log_name="kill-worker-alone-worker-1")
        h.sleep(1.5)
        for r in range(1, rounds + 1):
            longs = [h.create_job(COMPONENT, f"kwa{i}", {"seconds": seconds, "variant": "plain"}) for i in range(1, n + 1)]
            nexts = [h.create_job(COMPONENT, f"kwa{i}", {"seconds": 2, "variant": "plain"}) for i in range(1, n + 1)]
            states = h.wait_running(longs, 20)
            running = [s for s in states.values() if s.get("started") and s.get("status") == "processing"]
            h.sleep(2)
            name, pid = worker.name, worker.pid
            t = h.sigkill(worker)
            f = h.fault(self.name, t, t, f"{name} alone ({len(running)} jobs)", ("components", (COMPONENT,)), worker=name,
                        cut=(name,))
            h.log(f"{self.name}: round {r}: SIGKILL {name} (pid {pid}) alone, running {len(running)} long jobs")
            h.settle(self.name, longs + nexts, [f], extra=3.0)
            h.sweep(self.name, [COMPONENT])


SCENARIO = KillWorkerAlone()
