"""lost-reply: a TCP proxy (chaos/proxy.py) between ONE worker and PostgreSQL. Armed, it lets a
worker turn (claim + finish in one statement) reach the server and commit, then drops the reply
and closes both sides: the worker never learns what it claimed. It reconnects through the proxy.

On today's binary the jobs claimed in the lost turn are never run: they stay processing under
the worker until their lease runs out and the rescuer ends them worker-lost (error) although
nothing failed. A worker that reconciles after a lost reply runs them or gives them back."""

import time

from harness import Scenario
from proxy import Proxy

COMPONENT = "chaos-lr"


class LostReply(Scenario):
    name = "lost-reply"
    kind = "lane"
    summary = "a proxy drops the reply of a committed worker turn that claimed jobs"
    components = {COMPONENT: "stamp"}

    def sizes(self, h):
        return (3, 1) if h.short else (3, 3)   # configurations, rounds

    def definitions(self, h):
        n, _ = self.sizes(h)
        return [{"kind": "configuration", "component": COMPONENT, "id": f"lr{i}", "name": f"Lost reply {i}"}
                for i in range(1, n + 1)]

    def run(self, h, lane):
        n, rounds = self.sizes(h)
        figures = h.extra.setdefault(self.name, {"drops": [], "rounds": []})
        proxy = Proxy("127.0.0.1", h.port, log=h.log)
        port = proxy.start()
        url = h.url.replace(f"127.0.0.1:{h.port}/", f"127.0.0.1:{port}/")
        h.log(f"{self.name}: proxy on 127.0.0.1:{port} -> 127.0.0.1:{h.port}")
        # Stopped after the lane's worker, which needs it to say goodbye.
        h.lane_cleanups.setdefault(self.name, []).append(proxy.stop)
        worker = h.add_worker("chaos-lr-w1", [COMPONENT], concurrency=4, url=url, scenario=self.name,
                              log_name="lost-reply-worker-1")
        figures["worker"] = worker.base
        h.sleep(2)
        for r in range(1, rounds + 1):
            before = len(proxy.drops)
            proxy.arm()
            armed = time.time()
            firsts = [h.create_job(COMPONENT, f"lr{i}", {"seconds": 3, "variant": "plain"}) for i in range(1, n + 1)]
            nexts = [h.create_job(COMPONENT, f"lr{i}", {"seconds": 2, "variant": "plain"}) for i in range(1, n + 1)]
            deadline = time.time() + 20
            while len(proxy.drops) == before and time.time() < deadline:
                h.sleep(0.2)
            proxy.disarm()
            if len(proxy.drops) == before:
                h.warn(f"{self.name}: round {r}: no turn that claimed a job went through the proxy within 20 s "
                       f"(turns passed: {proxy.passed_turns})")
                figures["rounds"].append({"armed": armed, "drop": None})
                h.settle(self.name, firsts + nexts, [], extra=10.0)
                continue
            drop = proxy.drops[-1]
            figures["drops"].append(drop)
            figures["rounds"].append({"armed": armed, "drop": drop})
            f = h.fault(self.name, drop.at, drop.at, f"reply of a turn claiming {len(drop.claimed)} job(s) dropped",
                        ("components", (COMPONENT,)), worker=None)
            h.settle(self.name, firsts + nexts, [f], extra=6.0)
            h.sweep(self.name, [COMPONENT])
        if not figures["drops"]:
            raise RuntimeError("the proxy never dropped a reply: the scenario tested nothing")

    def unrun(self, h, data):
        """Jobs claimed in a dropped turn that never ran and still ended error worker-lost."""
        figures = h.extra.get(self.name) or {"drops": []}
        started = {int(s[1]) for s in data.stamps if s[0] == "start" and s[1].isdigit()}
        bad = []
        for drop in figures["drops"]:
            for job in drop.claimed:
                j = data.jobs.get(job)
                if j is not None and job not in started and j.status == "error" and j.reason == "worker-lost":
                    bad.append(job)
        return bad

    def misread(self, h, data):
        """Ids the proxy read from dropped replies that name no job of this lane: it read the
        wrong column (it once read claim_cursor, and every drop claimed job -1), and the check
        above would pass for want of jobs to look at."""
        figures = h.extra.get(self.name) or {"drops": []}
        return [job for drop in figures["drops"] for job in drop.claimed
                if job not in data.jobs or data.jobs[job].component != COMPONENT]

    def checks(self, h, data):
        if self.name not in h.extra:
            return []
        return [("jobs claimed in a lost reply that never ran and ended error worker-lost (lost-reply)",
                 len(self.unrun(h, data))),
                ("job ids read from a dropped reply that name no job of the lane (lost-reply)", len(self.misread(h, data)))]

    def notes(self, h, data):
        figures = h.extra.get(self.name)
        if not figures:
            return []
        lines = []
        started = {}
        for s in data.stamps:
            if s[0] == "start" and s[1].isdigit():
                started.setdefault(int(s[1]), float(s[4]))
        for i, rnd in enumerate(figures["rounds"], 1):
            drop = rnd["drop"]
            if drop is None:
                lines.append(f"lost-reply: round {i}: no reply was dropped")
                continue
            text = []
            for job in drop.claimed:
                j = data.jobs.get(job)
                ran = "ran" if started.get(job, 0) > drop.at - 0.5 else "never ran"
                if j is None:
                    text.append(f"{job}: ?")
                else:
                    text.append(f"job {job} {ran}, ended {j.status}{' (' + j.reason + ')' if j.reason else ''}")
            lines.append(f"lost-reply: round {i}: the dropped turn claimed {len(drop.claimed)} job(s): {'; '.join(text)}")
        return lines


SCENARIO = LostReply()
