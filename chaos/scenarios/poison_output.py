"""poison-output: process jobs that print poison, each followed by noop jobs on the same worker:
invalid UTF-8, a flood of 200,000 short lines, a 10 MB line without a newline, a NUL byte. Each
kind has a worker of its own (concurrency 1, serving only that kind's two components), so the
noops queue behind the poison job on the worker it hit, and one kind cannot hide another. Every
poison job must end final and every noop after it must succeed: no job's output can stop a worker.

The fault of a kind is the start of its poison job (the output comes at once); it affects the
poison job and the noops behind it: the poison job must be final within the bound of it, each
noop within the bound plus 0.5 s."""

from harness import PER_JOB, Scenario

KINDS = ("utf8", "flood", "bigline", "nul")
NOOPS_AFTER = 2


def component(kind):
    return f"chaos-poison-{kind}"


def noop_component(kind):
    return f"chaos-poison-{kind}-noop"


class PoisonOutput(Scenario):
    name = "poison-output"
    kind = "lane"
    summary = "invalid UTF-8, 200,000 lines, a 10 MB line, a NUL byte; noop jobs after each on the same worker (1 / 2 rounds)"
    components = {**{component(k): "stamp" for k in KINDS}, **{noop_component(k): {"type": "noop"} for k in KINDS}}

    def definitions(self, h):
        docs = []
        for kind in KINDS:
            docs.append({"kind": "configuration", "component": component(kind), "id": "poison", "name": f"Poison: {kind}"})
            for i in range(1, NOOPS_AFTER + 1):
                docs.append({"kind": "configuration", "component": noop_component(kind), "id": f"after-{i}",
                             "name": f"Noop {i} after {kind}"})
        return docs

    def run(self, h, lane):
        for kind in KINDS:
            h.add_worker(f"chaos-poison-{kind}-w1", [component(kind), noop_component(kind)], concurrency=1,
                         scenario=self.name, log_name=f"poison-output-worker-{kind}")
        h.sleep(1.5)
        for r in range(1, (1 if h.short else 2) + 1):
            self.round(h, r)

    def round(self, h, r):
        jobs = {}
        for kind in KINDS:
            job = h.create_job(component(kind), "poison", {"variant": kind})
            jobs[kind] = (job, [h.create_job(noop_component(kind), f"after-{i}") for i in range(1, NOOPS_AFTER + 1)])
        states = h.wait_running([job for job, _ in jobs.values()], 20)
        faults = []
        for kind, (job, noops) in jobs.items():
            started = states.get(job, {}).get("started")
            if not started:
                h.warn(f"{self.name}: the {kind} job {job} did not start within 20 s")
                continue
            # The output comes at once: the fault is the start of the poison job, and it affects
            # the poison job and the noops queued behind it on its worker.
            at = float(started)
            faults.append(h.fault(self.name, at, at, f"{kind} output of job {job}",
                                  ("components", (component(kind), noop_component(kind))), jobs=(job, *noops)))
        everything = [i for job, noops in jobs.values() for i in (job, *noops)]
        h.settle(self.name, everything, faults, extra=PER_JOB * (NOOPS_AFTER + 1))
        states = h.job_states(everything)
        figures = h.extra.setdefault(self.name, {})
        for kind, (job, noops) in jobs.items():
            kind_round = kind if r == 1 else f"{kind} (round {r})"
            ended = h.stamp_time(job, "end")
            start = states.get(job, {}).get("started")
            wrote = (f"its process ended {ended - float(start):.1f} s after the start" if ended and start
                     else "its process never ended by itself")
            figures[kind_round] = (f"job {job} {states.get(job, {}).get('status', '?')} ({wrote}); noops after it: " +
                                   ", ".join(states.get(n, {}).get("status", "?") for n in noops))
            h.log(f"{self.name}: {kind_round}: {figures[kind_round]}")

    def notes(self, h, data):
        figures = h.extra.get(self.name, {})
        return [f"poison-output: {kind}: {text} (at the end of the lane)" for kind, text in figures.items()]


SCENARIO = PoisonOutput()
