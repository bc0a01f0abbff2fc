"""kill-coordinator: SIGKILL the active coordinator (the one named in worker_id of the newest run
in progress), or any coordinator; the standby takes over within --standby-seconds (0.5)."""

import random

from harness import Scenario


class KillCoordinator(Scenario):
    name = "kill-coordinator"
    kind = "window"
    summary = "SIGKILL the active coordinator (2 times short / every 10 s)"

    def run(self, h, window):
        w = h.window_seconds * 1000
        every = min(max(w / 2, 3000), 10000)
        offsets = [i / 1000 for i in range(1000, int(w - 500), int(every))]
        h.run_window(self.name, h.window_seconds, offsets, lambda: self.fault(h))

    def fault(self, h):
        rows = h.try_rows("""SELECT worker_id FROM jobs WHERE type = 'orchestrationContainer'
                             AND status IN ('processing', 'terminating') ORDER BY id DESC LIMIT 1""") or []
        name = rows[0]["worker_id"] if rows else ""
        victim = h.proc_named(name) if name else None
        if victim is None:
            live = [p for p in h.coordinators() if p.alive()]
            if not live:
                return
            victim = random.choice(live)
            h.log(f"kill-coordinator: no run in progress names a live coordinator ('{name}'); killing {victim.name}")
        name, pid = victim.name, victim.pid
        t = h.sigkill(victim)
        h.fault(self.name, t, t, name, ("stream",), worker=name)
        h.log(f"kill-coordinator: SIGKILL {name} (pid {pid})")


SCENARIO = KillCoordinator()
