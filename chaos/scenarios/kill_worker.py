"""kill-worker: SIGKILL a worker of the stream that is running a job at that moment (any one if
none is, after 1 s of looking); the supervisor restarts it, the coordinator's rescuer ends its
jobs worker-lost once their lease (6 s) has passed."""

import random

from harness import Scenario, q


class KillWorker(Scenario):
    name = "kill-worker"
    kind = "window"
    summary = "SIGKILL a stream worker that is running a job (3 times short / every 8 s)"

    def run(self, h, window):
        w = h.window_seconds * 1000
        every = min(max(w / 3, 2500), 8000)
        offsets = [i / 1000 for i in range(1000, int(w - 500), int(every))]
        h.run_window(self.name, h.window_seconds, offsets, lambda: self.fault(h))

    def fault(self, h):
        workers = [p for p in h.general_workers() if p.alive()]
        names = ", ".join(q(p.name) for p in workers) or "''"
        victim = None
        for _ in range(10):
            rows = h.try_rows(f"""SELECT worker_id FROM jobs WHERE status = 'processing' AND type = 'standard'
                                  AND worker_id IN ({names}) ORDER BY random() LIMIT 1""") or []
            if rows:
                victim = h.proc_named(rows[0]["worker_id"])
            if victim:
                break
            h.sleep(0.1)
        if victim is None:
            if not workers:
                return
            victim = random.choice(workers)
            h.log(f"kill-worker: no worker is running a job right now; killing {victim.name} anyway")
        name, pid = victim.name, victim.pid
        t = h.sigkill(victim)
        h.fault(self.name, t, t, name, ("stream",), worker=name, cut=(name,))
        h.log(f"kill-worker: SIGKILL {name} (pid {pid})")


SCENARIO = KillWorker()
