"""deploy/validate's own checks, the ones no off-the-shelf tool makes.

    python deploy/checks.py k8s-listing    every deploy/k8s/*.yaml is a listed resource, every listed file exists
    python deploy/checks.py grafana        the dashboard parses and uses only the metric names of the contract
    python deploy/checks.py grace          the workers' grace periods cover --drain-seconds and the kill grace
    python deploy/checks.py probes         each workload's command, started as the manifests and the compose file
                                           give it against a local PostgreSQL, answers its probes (BATON_BIN, DATABASE_URL)

Each prints one line (what it checked) on success, or the problems on stderr and exits 1.
Run from the repository's root with deploy/.venv's python (PyYAML).
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
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


def non_loopback_address():
    """An IPv4 address of this machine other than loopback: where a kubelet (or Prometheus) reaches a pod."""
    candidates = []
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True, check=True).stdout
        candidates = re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    except (OSError, subprocess.CalledProcessError):
        pass
    if not candidates:
        try:
            candidates = [a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
        except OSError:
            pass
    candidates = [a for a in candidates if not a.startswith("127.")]
    if not candidates:
        raise ValueError("this machine has no non-loopback IPv4 address to probe on")
    return candidates[0]


def expand(text, env):
    """$(VAR) as the kubelet expands it in command and args."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), str(text))


def http_status(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return None


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


class Workload:
    """One container's command, started as its manifest gives it, with the local database."""

    def __init__(self, name, argv, env, ports):
        self.name, self.argv, self.env, self.ports = name, argv, env, ports
        self.proc = None
        self.log = tempfile.NamedTemporaryFile(prefix=f"deploy-probe-{name.replace('/', '-')}-", suffix=".log", delete=False)

    def __enter__(self):
        env = dict(os.environ)
        env.update(self.env)
        self.proc = subprocess.Popen(self.argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return False

    def tail(self):
        return "".join(Path(self.log.name).read_text(errors="replace").splitlines(keepends=True)[-8:])


class Pooler:
    """PgBouncer started from a deploy file's pgbouncer.ini and userlist, with only what cannot hold
    on this machine changed: its [databases] point at the local PostgreSQL, it listens on a free
    loopback port, its files live in a temporary folder, and it talks to the local server without
    TLS (the local server has none). Everything else (pool mode, auth type, ignored start-up
    parameters) is the file's own, so a workload that answers its probes through it shows that the
    file lets Baton through."""

    def __init__(self, label, ini, userlist, server_url):
        self.label = label
        server = re.match(r"postgres(?:ql)?://[^@]*@([^:/]+):(\d+)/", server_url)
        if not server:
            raise ValueError(f"{label}: cannot read host and port of {server_url}")
        self.dir = tempfile.mkdtemp(prefix="deploy-pgbouncer-")
        os.chmod(self.dir, 0o755)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        replaced = {
            "listen_addr": "127.0.0.1", "listen_port": str(self.port), "auth_file": f"{self.dir}/userlist.txt",
            "server_tls_sslmode": "disable", "logfile": f"{self.dir}/pgbouncer.log", "pidfile": f"{self.dir}/pgbouncer.pid",
        }
        lines, seen = [], set()
        for line in ini.splitlines():
            key = line.split("=", 1)[0].strip()
            if key == "*":
                line = f"* = host={server.group(1)} port={server.group(2)}"
            elif key in replaced:
                line, _ = f"{key} = {replaced[key]}", seen.add(key)
            lines.append(line)
        lines += [f"{k} = {v}" for k, v in replaced.items() if k not in seen and k != "server_tls_sslmode"]
        Path(self.dir, "pgbouncer.ini").write_text("\n".join(lines) + "\n")
        Path(self.dir, "userlist.txt").write_text(userlist)
        for name in ("pgbouncer.ini", "userlist.txt"):
            os.chmod(Path(self.dir, name), 0o644)
        binary = next((b for b in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(b, os.X_OK)), None)
        if not binary:
            raise ValueError("pgbouncer is not installed: apt-get install -y pgbouncer (scripts/ensure-packages does)")
        argv = [binary, f"{self.dir}/pgbouncer.ini"]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            argv = ["runuser", "-u", "postgres", "--"] + argv
            subprocess.run(["chown", "-R", "postgres", self.dir], check=True)
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.close()
        raise ValueError(f"{label}: PgBouncer did not start: {self.log()}")

    def url(self, user, password, database):
        return f"postgres://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def log(self):
        path = Path(self.dir, "pgbouncer.log")
        return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-6:]) if path.exists() else "(no log)"

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["rm", "-rf", self.dir], check=False)


def credentials(url):
    """(user, password) of a postgres:// URL."""
    m = re.match(r"postgres(?:ql)?://([^:@/]+):([^@/]*)@", url)
    if not m:
        raise ValueError(f"no user and password in {url}")
    return m.group(1), m.group(2)


def wait_for(what, probe, proc, seconds=30):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last is True:
            return None
        if proc.poll() is not None:
            return f"{what}: the process exited ({proc.returncode}) before it answered"
        time.sleep(0.3)
    return f"{what}: {last}"


def probes():
    """Starts each workload's container command and arguments as deploy/k8s and docker-compose.yml
    give them (the image's entrypoint is baton), against the local PostgreSQL in DATABASE_URL, and
    probes what each declares: a Kubernetes httpGet probe on a non-loopback address of this
    machine, as the kubelet reaches a pod's IP; a compose health check as written (it runs
    inside the container). One workload at a time: they share the ports the files give them."""
    baton = os.environ.get("BATON_BIN") or ""
    url = os.environ.get("DATABASE_URL") or ""
    if not (baton and os.access(baton, os.X_OK) and url):
        fail(["probes: needs BATON_BIN (the baton binary) and DATABASE_URL (a local PostgreSQL); deploy/validate sets both"])
    address = non_loopback_address()
    # The image holds sql/ in /opt/baton/sql (BATON_SQL_DIR); here it is the checkout's.
    database_env = {"DATABASE_URL": url, "WAREHOUSE_URL": url, "BATON_SQL_DIR": os.environ.get("BATON_SQL_DIR") or str(Path("sql").resolve())}
    problems, checked = [], []

    migrate = yaml.safe_load((K8S / "migrate-job.yaml").read_text())["spec"]["template"]["spec"]["containers"][0]
    result = subprocess.run([baton, *migrate.get("command", [])[1:], *migrate.get("args", [])], env={**os.environ, **database_env},
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        fail([f"migrate-job.yaml: {' '.join(migrate.get('args', []))} failed: {result.stdout[-400:]}{result.stderr[-400:]}"])

    local_database = url.rsplit("/", 1)[1].split("?")[0]
    # The fleet's PgBouncer, from the manifests' ConfigMap and Secret; workloads whose
    # DATABASE_URL is the Secret's DATABASE_URL_POOLED connect through it.
    secret = yaml.safe_load((K8S / "secret.yaml").read_text())["stringData"]
    k8s_pooler = Pooler("deploy/k8s pgbouncer", yaml.safe_load((K8S / "pgbouncer-configmap.yaml").read_text())["data"]["pgbouncer.ini"],
                        yaml.safe_load((K8S / "pgbouncer-secret.yaml").read_text())["stringData"]["userlist.txt"], url)
    compose = yaml.safe_load(Path("docker-compose.yml").read_text())
    compose_pooler = Pooler("docker-compose.yml pgbouncer", Path("deploy/pgbouncer/pgbouncer.ini").read_text(),
                            Path("deploy/pgbouncer/userlist.txt").read_text(), url)
    # The users the deploy files log in with: trusted by the local server, so only PgBouncer checks passwords.
    for user in {credentials(secret["DATABASE_URL_POOLED"])[0], credentials(compose["x-pooled-env"]["DATABASE_URL"])[0]}:
        subprocess.run(["psql", "-X", "-q", url, "-c", f'DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = \'{user}\') THEN CREATE ROLE "{user}" LOGIN SUPERUSER; END IF; END $$'],
                       check=True, capture_output=True)
    try:
        _probe_workloads(baton, url, local_database, address, database_env, secret, k8s_pooler, compose, compose_pooler, problems, checked)
    finally:
        k8s_pooler.close()
        compose_pooler.close()
    if problems:
        fail(problems)
    print(f"{len(checked)} probes answered, Kubernetes ones on {address}: " + ", ".join(checked))


def _probe_workloads(baton, url, local_database, address, database_env, secret, k8s_pooler, compose, compose_pooler, problems, checked):
    for name in yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]:
        manifest = yaml.safe_load((K8S / name).read_text())
        if manifest.get("kind") != "Deployment":
            continue
        for container in manifest["spec"]["template"]["spec"]["containers"]:
            if container["image"] != "baton":
                continue  # PgBouncer: started above from its ConfigMap, probed through the workloads that use it
            env = {"POD_NAME": f"{manifest['metadata']['name']}-probe-0"}
            pooled = False
            for item in container.get("env", []):
                if "value" in item:
                    env[item["name"]] = expand(item["value"], env)
                elif item["name"] in database_env:
                    env[item["name"]] = database_env[item["name"]]
                    key = item.get("valueFrom", {}).get("secretKeyRef", {}).get("key")
                    pooled = pooled or (item["name"] == "DATABASE_URL" and key == "DATABASE_URL_POOLED")
            env.update(database_env)
            if pooled:
                env["DATABASE_URL"] = k8s_pooler.url(*credentials(secret["DATABASE_URL_POOLED"]), local_database)
            argv = [baton] + [expand(a, env) for a in container.get("command", [])[1:] + container.get("args", [])]
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
            declared = [(kind, container[kind]["httpGet"]) for kind in ("livenessProbe", "readinessProbe") if "httpGet" in container.get(kind, {})]
            label = f"{name} {container['name']}" + (" (through PgBouncer)" if pooled else "")
            busy = [p for p in {ports.get(g["port"], g["port"]) for _, g in declared} if not port_free(int(p))]
            if busy:
                problems.append(f"{label}: port {busy} is taken on this machine; free it to run this check")
                continue
            with Workload(label, argv, env, ports) as w:
                for kind, get in declared:
                    port = ports.get(get["port"], get["port"])
                    target = f"http://{address}:{port}{get['path']}"
                    problem = wait_for(f"{label} {kind} GET {target}", lambda: http_status(target) == 200 or f"no 200 (last: {http_status(target)})", w.proc)
                    if problem:
                        problems.append(problem + "\n" + w.tail())
                    else:
                        checked.append(f"{label} {kind}")

    for service_name, service in compose["services"].items():
        check = (service.get("healthcheck") or {}).get("test")
        if not check or service.get("image", "").split(":")[0] != "baton":
            continue
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        pooled = "@pgbouncer:" in env.get("DATABASE_URL", "")
        pooled_credentials = credentials(env["DATABASE_URL"]) if pooled else None
        env.update({k: v for k, v in database_env.items() if k in env or k == "DATABASE_URL"})
        if pooled:
            env["DATABASE_URL"] = compose_pooler.url(*pooled_credentials, local_database)
        argv = [baton] + [str(a) for a in service["command"]]
        label = f"docker-compose.yml {service_name}" + (" (through PgBouncer)" if pooled else "")
        test = [str(t) for t in (check[1:] if check[0] in ("CMD", "CMD-SHELL") else check)]
        if check[0] == "CMD-SHELL":
            test = ["sh", "-c", " ".join(test)]
        ports = [int(m) for m in re.findall(r":(\d+)/", " ".join(test))]
        busy = [p for p in ports if not port_free(p)]
        if busy:
            problems.append(f"{label}: port {busy} is taken on this machine; free it to run this check")
            continue
        with Workload(label, argv, env, {}) as w:
            def healthy():
                r = subprocess.run(test, capture_output=True, text=True)
                return r.returncode == 0 or f"{' '.join(test)} exited {r.returncode}"
            problem = wait_for(f"{label} healthcheck", healthy, w.proc)
            if problem:
                problems.append(problem + "\n" + w.tail())
            else:
                checked.append(f"{label} healthcheck")


if __name__ == "__main__":
    checks = {"k8s-listing": k8s_listing, "grafana": grafana, "grace": grace, "probes": probes}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        fail([f"usage: {sys.argv[0]} {'|'.join(checks)}"])
    try:
        checks[sys.argv[1]]()
    except (OSError, KeyError, IndexError, TypeError, ValueError, yaml.YAMLError) as error:
        fail([f"{sys.argv[1]}: {type(error).__name__}: {error}"])
