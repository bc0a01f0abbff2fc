"""deploy/validate's own checks, the ones no off-the-shelf tool makes.

    python deploy/checks.py k8s-listing    every deploy/k8s/*.yaml is a listed resource, every listed file exists
    python deploy/checks.py grafana        the dashboard parses and uses only the metric names of the contract
    python deploy/checks.py grace          the workers' grace periods cover --drain-seconds and the kill grace

Each prints one line (what it checked) on success, or the problems on stderr and exits 1.
Run from the repository's root with deploy/.venv's python (PyYAML).
"""
import json
import re
import sys
from pathlib import Path

import yaml

# The metrics contract (deploy/README.md, Metrics): the names Baton's processes export.
COUNTERS = {
    "baton_jobs_claimed_total", "baton_jobs_finished_total", "baton_jobs_rescued_total",
    "baton_schedule_firings_total", "baton_notification_deliveries_total", "baton_api_requests_total",
    "baton_jobs_pruned_total",
}
GAUGES = {"baton_queue_jobs", "baton_heartbeat_lag_seconds", "baton_coordinator_leader", "baton_database_up"}
HISTOGRAMS = {"baton_claim_duration_seconds", "baton_job_duration_seconds"}
# A process executor's stopped job gets SIGTERM, then SIGKILL this much later (ProcessExecutor.killGraceSeconds).
KILL_GRACE_SECONDS = 10

K8S = Path("deploy/k8s")


def fail(problems):
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.exit(1)


def k8s_listing():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = kustomization.get("resources") or []
    problems = [f"kustomization.yaml lists {name}, which does not exist" for name in listed if not (K8S / name).is_file()]
    present = sorted(p.name for p in K8S.glob("*.y*ml") if p.name != "kustomization.yaml")
    problems += [f"{name} is not listed in kustomization.yaml resources" for name in present if name not in listed]
    if len(set(listed)) != len(listed):
        problems.append("kustomization.yaml lists a resource twice")
    if problems:
        fail(problems)
    print(f"{len(listed)} resources listed, each exists, no file left out")


def allowed_metric_names():
    names = COUNTERS | GAUGES
    for histogram in HISTOGRAMS:
        names |= {histogram + suffix for suffix in ("_bucket", "_sum", "_count")}
    return names


def grafana():
    path = Path("deploy/grafana-dashboard.json")
    try:
        dashboard = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        fail([f"{path}: not JSON: {error}"])
    panels = list(dashboard.get("panels") or [])
    for panel in list(panels):
        panels += panel.get("panels") or []  # panels of collapsed rows
    expressions = [(panel.get("title", "?"), target.get("expr", ""))
                   for panel in panels for target in panel.get("targets") or []]
    problems = []
    # The contract is what the code exports: MetricNames in Sources/BatonEngine/Telemetry.swift.
    code = set(re.findall(r'static let \w+ = "(baton_[a-z0-9_]+)"', Path("Sources/BatonEngine/Telemetry.swift").read_text()))
    if code != COUNTERS | GAUGES | HISTOGRAMS:
        problems.append(f"metrics contract differs from Sources/BatonEngine/Telemetry.swift: only in the code {sorted(code - (COUNTERS | GAUGES | HISTOGRAMS))}, "
                        f"only here {sorted((COUNTERS | GAUGES | HISTOGRAMS) - code)}")
    if not dashboard.get("title") or not expressions:
        problems.append(f"{path}: no title or no queries")
    allowed = allowed_metric_names()
    used = set()
    for title, expr in expressions:
        if not expr.strip():
            problems.append(f"panel {title!r}: a target without expr")
        for name in re.findall(r"\bbaton_[a-z0-9_]+", expr):
            used.add(name)
            if name not in allowed:
                problems.append(f"panel {title!r}: {name} is not in the metrics contract")
    if problems:
        fail(problems)
    print(f"{len(expressions)} queries use {len(used)} metric names, all in the contract")


def option(args, flag, default):
    return float(args[args.index(flag) + 1]) if flag in args else default


def seconds(text):
    match = re.fullmatch(r"(\d+)s", str(text))
    if not match:
        raise ValueError(f"stop_grace_period {text!r}: write it in seconds, like 75s")
    return int(match.group(1))


def grace():
    problems = []
    compose = yaml.safe_load(Path("docker-compose.yml").read_text())
    worker = compose["services"]["worker"]
    drain = option([str(a) for a in worker["command"]], "--drain-seconds", 30)
    period = seconds(worker.get("stop_grace_period", "10s"))
    if period <= drain + KILL_GRACE_SECONDS:
        problems.append(f"docker-compose.yml: worker stop_grace_period {period}s must exceed --drain-seconds {drain:g} + {KILL_GRACE_SECONDS}")
    deployment = yaml.safe_load((K8S / "worker-deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    k8s_drain = option([str(a) for a in pod["containers"][0]["args"]], "--drain-seconds", 30)
    k8s_period = pod.get("terminationGracePeriodSeconds", 30)
    if k8s_period <= k8s_drain + KILL_GRACE_SECONDS:
        problems.append(f"worker-deployment.yaml: terminationGracePeriodSeconds {k8s_period} must exceed --drain-seconds {k8s_drain:g} + {KILL_GRACE_SECONDS}")
    if problems:
        fail(problems)
    print(f"compose {period}s > {drain:g}+{KILL_GRACE_SECONDS}, Kubernetes {k8s_period}s > {k8s_drain:g}+{KILL_GRACE_SECONDS}")


if __name__ == "__main__":
    checks = {"k8s-listing": k8s_listing, "grafana": grafana, "grace": grace}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        fail([f"usage: {sys.argv[0]} {'|'.join(checks)}"])
    try:
        checks[sys.argv[1]]()
    except (OSError, KeyError, IndexError, TypeError, ValueError, yaml.YAMLError) as error:
        fail([f"{sys.argv[1]}: {type(error).__name__}: {error}"])
