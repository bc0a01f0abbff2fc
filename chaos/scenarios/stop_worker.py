"""stop-worker: SIGSTOP a worker running long process jobs for 2.5 leases (15 s), then SIGCONT.
It can neither renew its lease nor stop its jobs meanwhile; the rescuer ends them worker-lost and
the next job of each configuration starts on the other worker of the lane.

On today's binary the stopped worker's job processes go on running (only the worker is stopped):
the next job starts beside them (physical overlaps), and the late outcome is refused."""

import time

from harness import LEASE, Scenario

COMPONENT = "chaos-stop"


class StopWorker(Scenario):
    name = "stop-worker"
    kind = "lane"
    summary = "SIGSTOP a worker running long jobs for 2.5 leases, then SIGCONT"
    components = {COMPONENT: "stamp"}

    def sizes(self, h):
        return (2, 20, 1) if h.short else (3, 25, 2)   # configurations, seconds of the long jobs, rounds

    def definitions(self, h):
        n, _, _ = self.sizes(h)
        return [{"kind": "configuration", "component": COMPONENT, "id": f"stop{i}", "name": f"Stop worker {i}"}
                for i in range(1, n + 1)]

    def run(self, h, lane):
        n, seconds, rounds = self.sizes(h)
        workers = [h.add_worker(f"chaos-stop-w{k}", [COMPONENT], concurrency=4, scenario=self.name,
                                log_name=f"stop-worker-worker-{k}") for k in (1, 2)]
        h.sleep(1.5)
        for r in range(1, rounds + 1):
            longs = [h.create_job(COMPONENT, f"stop{i}", {"seconds": seconds, "variant": "plain"}) for i in range(1, n + 1)]
            nexts = [h.create_job(COMPONENT, f"stop{i}", {"seconds": 2, "variant": "plain"}) for i in range(1, n + 1)]
            states = h.wait_running(longs, 20)
            h.sleep(2)
            states = h.job_states(longs)
            on = {}
            for s in states.values():
                if s.get("status") == "processing":
                    on[s["worker_id"]] = on.get(s["worker_id"], 0) + 1
            victim = None
            for name, _ in sorted(on.items(), key=lambda x: -x[1]):
                victim = h.proc_named(name)
                if victim:
                    break
            victim = victim or workers[0]
            stop_for = 2.5 * LEASE
            with h.lock:
                victim.stopped = True
                t = time.time()
                h.kill_signal(victim, "STOP")
            h.log(f"{self.name}: round {r}: SIGSTOP {victim.name} (pid {victim.pid}), running {on.get(victim.name, 0)} "
                  f"long jobs, for {stop_for:g} s")
            try:
                h.sleep(stop_for)
            finally:
                with h.lock:
                    h.kill_signal(victim, "CONT")
                    victim.stopped = False
            end = time.time()
            h.log(f"{self.name}: SIGCONT {victim.name}")
            f = h.fault(self.name, t, end, f"{victim.name} stopped {end - t:.1f}s ({on.get(victim.name, 0)} jobs)",
                        ("components", (COMPONENT,)), worker=victim.name, cut=(victim.name,), cut_end=end)
            h.settle(self.name, longs + nexts, [f], extra=3.0)
            h.sweep(self.name, [COMPONENT])


SCENARIO = StopWorker()
