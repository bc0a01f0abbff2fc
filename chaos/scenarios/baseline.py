"""baseline: the stream without faults (half a window): how it behaves undisturbed."""

from harness import Scenario


class Baseline(Scenario):
    name = "baseline"
    kind = "window"
    summary = "the stream of jobs and runs, no faults (half a window)"

    def run(self, h, window):
        h.run_window(self.name, h.baseline_seconds, [], None)


SCENARIO = Baseline()
