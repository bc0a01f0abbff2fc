"""The report: rows, details, bench/results/latest.{md,json,png}, and the clean-commit rule.

Every row is built by `Results.add` from per-round figures (stats.paired): Baton's median, the
other's median, the **median of the per-round ratios**, each round's ratio, and "met in k of n
rounds". A row is met when its target says so: "in 3 of 3 rounds" needs every round within the
bound; otherwise the median ratio decides and the rounds are shown beside it.

Rows from another run: a run of some scenarios (`bench/run throughput`, `bench/run fleet`) keeps
the other scenarios' rows of bench/results/latest.json, and each such row says which run (time and
commit) it comes from.

The clean-commit rule: bench/results/latest.* is written only from a clean commit (nothing in
`git status --porcelain` outside bench/results, checked when the run starts and when it ends).
Otherwise the report goes to bench/results/tmp/latest.*, headed NOT FROM A CLEAN COMMIT, and
bench.py exits 3; `--allow-dirty` writes it to bench/results/ all the same, with that heading.
Smoke runs always write to bench/results/tmp/.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

from .core import BENCH, RESULTS, ROOT, TMP, log
from .stats import paired


@dataclass
class Row:
    key: str                    # the scenario module that measured it (rows are replaced per key)
    scenario: str
    metric: str
    unit: str
    baton: Optional[float]      # median of Baton's per-round figures
    other_name: str
    other: Optional[float]      # median of the other's per-round figures
    ratio: Optional[float]      # median of the per-round ratios
    target: str
    met: Optional[bool]
    rounds: list = field(default_factory=list)  # [{"baton", "other", "ratio", "met"}]
    met_rounds: int = 0
    note: str = ""
    stamp: str = ""             # the run that measured it
    commit: str = ""
    bound: Optional[float] = None  # the target as a ratio (an absolute target: figure / target <= 1)
    lower_is_better: bool = False


def git(*argv: str) -> str:
    return subprocess.run(["git", "-C", ROOT, *argv], capture_output=True, text=True).stdout


def dirty_paths() -> list[str]:
    """Paths `git status --porcelain` shows outside bench/results/ (untracked files included)."""
    out = []
    for line in git("status", "--porcelain").splitlines():
        path = line[3:].split(" -> ")[-1].strip('"')
        if not path.startswith("bench/results/"):
            out.append(line.strip())
    return out


def fmt(v: Optional[float], unit: str) -> str:
    if v is None:
        return "n/a"
    if unit in ("jobs/s", "us"):
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def _x(r: Optional[float]) -> str:
    return "n/a" if r is None else f"{r:.2f}x"


class Results:
    def __init__(self, args):
        self.args = args
        self.stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        self.commit = git("rev-parse", "--short", "HEAD").strip()
        self.dirty_at_start = dirty_paths()
        self.rows: list[Row] = []
        self.details: dict[str, list[str]] = {}
        self.limits: dict[str, str] = {}     # row scenario -> what limits it (measured in this run)
        self.chart: dict = {"throughput": {}, "latency": {}}
        self.failed: dict[str, str] = {}     # scenario key -> why it stopped
        self.notes: list[str] = []           # run-wide notes (the fixture check)

    # ------------------------------------------------------------------ rows

    def add(self, key: str, scenario: str, metric: str, unit: str, baton: list, other_name: str, other: list,
            bound: Optional[float], lower_is_better: bool = False, need: Optional[int] = None, target: Optional[str] = None,
            note: str = "") -> Row:
        """A row from per-round figures (a list per system, one figure a round, None when a round failed)."""
        p = paired(baton, other, bound, lower_is_better, need)
        n = len(p["rounds"])
        if bound is None:
            target = target or "none (context)"
        else:
            if target is None:
                target = f"{'<=' if lower_is_better else '>='} {bound:g}x"
            target += f" in {need} of {n} rounds" if need else (" (median)" if n > 1 else "")
        row = Row(key, scenario, metric, unit, p["baton"], other_name, p["other"], p["ratio"], target, p["met"],
                  p["rounds"], p["met_rounds"], note, self.stamp, self.commit, bound, lower_is_better)
        self.rows.append(row)
        return row

    def detail(self, key: str, line: str) -> None:
        self.details.setdefault(key, []).append(line if line.startswith("- ") else "- " + line)

    # ------------------------------------------------------------------ writing

    def header(self, server, scenarios_line: str) -> list[str]:
        a = self.args
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
        mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0) / 1024 / 1024
        dirty = self.dirty()
        baton = (f"`{a.baton_shown}` ({a.build}), built from commit {os.environ['BATON_COMMIT']} (BATON_COMMIT)"
                 if os.environ.get("BATON_COMMIT") else
                 f"`{a.baton_shown}` ({a.build}), commit {self.commit}" + (" **with uncommitted changes**" if dirty else " (clean)"))
        return ["| | |", "|---|---|",
                f"| command | `{a.command}` |",
                f"| machine | {os.cpu_count()} CPUs ({cpu}), {mem:.1f} GiB RAM, Linux {platform.release()} |",
                f"| PostgreSQL | {server.version} on 127.0.0.1: " + ", ".join(f"{k}={v}" for k, v in sorted(server.settings.items())) + " |",
                f"| baton | {baton} |",
                f"| scenarios | {scenarios_line} |"]

    def dirty(self) -> list[str]:
        return sorted(set(self.dirty_at_start) | set(dirty_paths()))

    def banner(self) -> list[str]:
        dirty = self.dirty()
        if not dirty:
            return []
        shown = ", ".join(f"`{d}`" for d in dirty[:12]) + (f" and {len(dirty) - 12} more" if len(dirty) > 12 else "")
        return ["# ⚠ NOT FROM A CLEAN COMMIT ⚠", "",
                f"**These figures were measured with uncommitted changes in the work tree** ({shown}): "
                "the binary and the harness may not be those of any commit. Measure again from a clean commit.", ""]

    def table(self, rows: list[Row]) -> list[str]:
        out = ["| scenario | measure | Baton | compared with | its figure | ratio (median of rounds) | each round | target | met |",
               "|---|---|---:|---|---:|---:|---|---|---|"]
        for r in rows:
            met = "n/a" if r.met is None else ("met" if r.met else "**not met**")
            n = len(r.rounds)
            if r.met is not None and n:
                met += f" ({r.met_rounds} of {n} rounds)"
            other = r.other_name
            if r.stamp != self.stamp:
                other += f" (**from the run of {r.stamp[:16]} UTC, commit {r.commit}**)"
            each = ", ".join(_x(x.get("ratio")) for x in r.rounds) if n > 1 else ""
            out.append(f"| {r.scenario} | {r.metric}{'; ' + r.note if r.note else ''} | {fmt(r.baton, r.unit)} | {other} | {fmt(r.other, r.unit)} | "
                       f"{_x(r.ratio)} | {each} | {r.target} | {met} |")
        return out

    def refused(self) -> bool:
        """Not from a clean commit, and bench/results/ is where the report would go, without --allow-dirty."""
        return bool(self.dirty()) and os.path.abspath(self.args.out) == os.path.abspath(RESULTS) and not self.args.allow_dirty

    def out_dir(self) -> str:
        return TMP if self.refused() else self.args.out

    def write(self, server, started: float, chosen: list[str], order: list[str]) -> int:
        """Writes latest.{md,json,png}; returns bench.py's exit code (3: not from a clean commit, refused)."""
        a = self.args
        dirty = self.dirty()
        code = 0
        if self.refused():
            log("NOT FROM A CLEAN COMMIT: git status shows changes outside bench/results:\n  " + "\n  ".join(dirty[:20]))
            log("bench/results/latest.* is left as it was; this report goes to bench/results/tmp/ "
                "(commit first, or pass --allow-dirty to write it anyway, marked)")
            code = 3
        out_dir = self.out_dir()
        # Rows of the scenarios not run now: from the last report in the same place, marked with their run.
        kept, kept_details = [], {}
        prev_path = os.path.join(a.out, "latest.json")
        if not a.smoke and os.path.exists(prev_path):
            try:
                prev = json.load(open(prev_path))
                for r in prev.get("rows", []):
                    if r.get("key") and r["key"] not in chosen and r["key"] in order:
                        kept.append(Row(**{k: v for k, v in r.items() if k in Row.__dataclass_fields__}))
                for k, lines in prev.get("details", {}).items():
                    if k not in chosen:
                        kept_details[k] = lines
                if any(not r.get("key") for r in prev.get("rows", [])):
                    log(f"{os.path.relpath(prev_path, ROOT)} has rows of the old format: not kept")
            except (OSError, ValueError, TypeError) as e:
                log(f"could not read {prev_path} ({e}): its rows are not kept")
        rows = sorted(self.rows + kept, key=lambda r: order.index(r.key) if r.key in order else len(order))
        details = {**kept_details, **self.details}
        scen = f"{', '.join(chosen)}; {time.time() - started:.0f} s in all"
        md = self.banner() + [f"# Baton benchmark, {self.stamp}", ""] + self.header(server, scen) + [
            "", "Figures of one run, on this server, one system after the other; every row gives the median of the "
            "per-round ratios (round k's Baton figure / round k's other figure) and each round's ratio. Ratios are "
            "Baton / the other. Definitions: bench/README.md.", ""] + self.table(rows)
        if self.failed:
            md += ["", "## Scenarios that did not finish", ""] + [f"- **{k}**: {v}" for k, v in self.failed.items()]
        missed = [r for r in rows if r.met is False and r.stamp == self.stamp]
        if missed:
            md += ["", "## What limits the rows not met (measured in this run)", ""]
            for scenario in dict.fromkeys(r.scenario for r in missed):
                metrics = "; ".join(dict.fromkeys(f"{r.metric} vs {r.other_name}" for r in missed if r.scenario == scenario))
                md.append(f"- **{scenario}** ({metrics}): {self.limits.get(scenario, 'see the details below.')}")
        md += ["", "## Details", ""]
        for k in sorted(details, key=lambda k: order.index(k) if k in order else len(order)):
            md += [f"### {k}", ""] + details[k] + [""]
        if self.notes:
            md += ["### the run", ""] + [f"- {n}" for n in self.notes] + [""]
        md += ["Definitions: bench/README.md. Peer harness: bench/peers/README.md. Chart: latest.png (ratios and targets)."]
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "latest.md")
        with open(path, "w") as f:
            f.write("\n".join(md) + "\n")
        data = {"stamp": self.stamp, "commit": self.commit, "clean": not dirty, "dirty": dirty, "command": a.command,
                "scenarios": chosen, "rows": [asdict(r) for r in rows], "details": details, "chart": self.chart,
                "notes": self.notes, "failed": self.failed}
        with open(os.path.join(out_dir, "latest.json"), "w") as f:
            json.dump(data, f, indent=1)
        self.draw(rows, os.path.join(out_dir, "latest.png"), dirty)
        print("\n".join(self.banner() + self.table(rows)))
        log(f"report: {os.path.relpath(path, ROOT)}")
        return code

    def draw(self, rows: list[Row], png: str, dirty: list[str]) -> None:
        items = []
        for r in rows:
            if r.ratio is None and not any(x.get("ratio") for x in r.rounds):
                continue
            if r.bound is None:
                continue
            bound, lower = r.bound, r.lower_is_better
            items.append({"label": f"{r.scenario}: {r.metric}", "ratio": r.ratio, "rounds": [x.get("ratio") for x in r.rounds],
                          "bound": bound, "lower_is_better": lower, "met": r.met, "other": r.other_name, "target": r.target,
                          "from_other_run": r.stamp != self.stamp})
        chart_in = os.path.join(TMP, "chart.json")
        built = os.environ.get("BATON_COMMIT") or self.commit
        title = f"Baton / the other, {self.stamp} (baton of commit {built})" + (" — NOT FROM A CLEAN COMMIT" if dirty else "")
        with open(chart_in, "w") as f:
            json.dump({"title": title, "rows": items, **self.chart}, f)
        r = subprocess.run([sys.executable, os.path.join(BENCH, "chart.py"), chart_in, png], capture_output=True, text=True)
        if r.returncode != 0:
            log(f"chart not drawn: {r.stderr.strip()[-300:]}")
