#!/usr/bin/env python3
"""Draw the benchmark as a PNG: every row's ratio against its target, then throughput and latency bars.

    bench/.venv/bin/python bench/chart.py results.json chart.png

results.json (bench/harness/report.py writes it to bench/results/tmp/chart.json):
    {
      "title": "Baton / the other, 2026-12-01 10:00:00 UTC (commit abc1234)",
      "note": "optional footnote (machine, settings)",
      "rows": [{"label": "throughput, 4 workers: jobs/s", "other": "pgqueuer", "ratio": 1.4,
                "rounds": [1.3, 1.4, 1.6], "bound": 2.0, "lower_is_better": false, "met": false,
                "target": ">= 2x in 3 of 3 rounds", "from_other_run": false}],
      "throughput": {"Baton": 12000, "pgqueuer": 5000, "procrastinate": 520, "pgbench claim 16": 16000},
      "latency": {"Baton": {"p50": 1.2, "p99": 3.4}, "pgqueuer": {"p50": 3.6, "p99": 8.3}}
    }

The ratio panel (log scale) draws, for each row, the median of the per-round ratios (a filled
dot: green met, red not met, grey no target), each round's ratio (small open dots), the row's
target (a black bar, with the side that meets it shaded) and parity (1x, dashed). Throughput is
in jobs/s, latency (enqueue -> start) in ms. Any section may be missing, and any value may be null:
those are left out. Needs matplotlib (bench/peers/setup installs it in bench/.venv).
"""

from __future__ import annotations

import json
import math
import sys

BATON_COLOR = "#1f77b4"
PEER_COLOR = "#ff7f0e"
CEILING_COLOR = "#9e9e9e"
P50_COLOR = "#4c9be8"
P99_COLOR = "#f28e2b"


def usage() -> None:
    print("usage: chart.py RESULTS.json OUT.png", file=sys.stderr)


def number(value) -> float | None:
    """A finite, non-negative number, or None (null, missing, or not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)


def warn(msg: str) -> None:
    print(f"chart.py: {msg}", file=sys.stderr)


def load(path: str) -> tuple:
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("top level must be a JSON object")
    title = str(data.get("title") or "Job queue benchmark")
    note = data.get("note")

    throughput: list[tuple[str, float]] = []
    section = data.get("throughput") or {}
    if not isinstance(section, dict):
        raise ValueError('"throughput" must be an object {name: jobs/s}')
    for name, value in section.items():
        v = number(value)
        if v is None:
            if value is not None:
                warn(f"throughput of {name!r} is not a number ({value!r}): skipped")
            continue
        throughput.append((str(name), v))

    latency: list[tuple[str, float | None, float | None]] = []
    section = data.get("latency") or {}
    if not isinstance(section, dict):
        raise ValueError('"latency" must be an object {name: {"p50": ms, "p99": ms}}')
    for name, value in section.items():
        if value is None:
            continue
        if not isinstance(value, dict):
            warn(f"latency of {name!r} is not an object: skipped")
            continue
        p50, p99 = number(value.get("p50")), number(value.get("p99"))
        if p50 is None and p99 is None:
            continue
        latency.append((str(name), p50, p99))
    rows = []
    for item in data.get("rows") or []:
        if not isinstance(item, dict):
            continue
        ratio = number(item.get("ratio"))
        rounds = [v for v in (number(x) for x in item.get("rounds") or []) if v]
        if not ratio and not rounds:
            continue
        rows.append({"label": str(item.get("label", "?")), "other": str(item.get("other", "")), "ratio": ratio or None,
                     "rounds": rounds, "bound": number(item.get("bound")), "lower": bool(item.get("lower_is_better")),
                     "met": item.get("met"), "old": bool(item.get("from_other_run")), "target": item.get("target")})
    return title, (str(note) if note else None), throughput, latency, rows


def color_for(name: str) -> str:
    if name.lower().startswith("pgbench"):
        return CEILING_COLOR
    if name.lower() == "baton":
        return BATON_COLOR
    return PEER_COLOR


def fmt_rate(v: float) -> str:
    return f"{v:,.0f}"


def fmt_ms(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def draw_throughput(ax, rows: list[tuple[str, float]]) -> None:
    from matplotlib.ticker import FuncFormatter

    names = [n for n, _ in rows]
    values = [v for _, v in rows]
    y = list(range(len(rows)))
    bars = ax.barh(y, values, color=[color_for(n) for n in names], height=0.6)
    for bar, name in zip(bars, names):
        if name.lower().startswith("pgbench"):
            bar.set_hatch("//")
            bar.set_edgecolor("white")
    top = max(values) if values else 1.0
    for yi, v in zip(y, values):
        ax.text(v + top * 0.01, yi, fmt_rate(v), va="center", ha="left", fontsize=9)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.18 if top > 0 else 1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.set_xlabel("jobs/s (higher is better)")
    ax.set_title("Throughput")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def draw_latency(ax, rows: list[tuple[str, float | None, float | None]]) -> None:
    names = [n for n, _, _ in rows]
    y = list(range(len(rows)))
    h = 0.36
    present = [v for _, a, b in rows for v in (a, b) if v is not None]
    top = max(present) if present else 1.0
    for offset, idx, label, color in ((-h / 2, 1, "p50", P50_COLOR), (h / 2, 2, "p99", P99_COLOR)):
        ys = [yi + offset for yi, row in zip(y, rows) if row[idx] is not None]
        vs = [row[idx] for row in rows if row[idx] is not None]
        if not vs:
            continue
        ax.barh(ys, vs, height=h, color=color, label=label)
        for yi, v in zip(ys, vs):
            ax.text(v + top * 0.01, yi, fmt_ms(v), va="center", ha="left", fontsize=8.5)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.2 if top > 0 else 1)
    ax.set_xlabel("ms, enqueue -> job start (lower is better)")
    ax.set_title("Latency")
    # Above the axes, right-aligned: never on top of a bar.
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=8, frameon=False,
              borderaxespad=0.2)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


MET_COLOR = "#2ca02c"
MISSED_COLOR = "#d62728"
CONTEXT_COLOR = "#7f7f7f"


def draw_ratios(ax, rows: list[dict]) -> None:
    values = [v for r in rows for v in ([r["ratio"]] if r["ratio"] else []) + r["rounds"] + ([r["bound"]] if r["bound"] else [])]
    lo, hi = min(values + [1.0]) / 1.6, max(values + [1.0]) * 1.6
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    y = list(range(len(rows)))
    for yi, r in zip(y, rows):
        if r["bound"]:
            # The side of the target that meets it, shaded; the target itself, a black bar.
            x0, x1 = (lo, r["bound"]) if r["lower"] else (r["bound"], hi)
            ax.fill_betweenx([yi - 0.4, yi + 0.4], x0, x1, color=MET_COLOR, alpha=0.10, linewidth=0)
            ax.plot([r["bound"], r["bound"]], [yi - 0.4, yi + 0.4], color="black", linewidth=2)
        color = CONTEXT_COLOR if r["met"] is None else (MET_COLOR if r["met"] else MISSED_COLOR)
        if r["rounds"]:
            ax.scatter(r["rounds"], [yi] * len(r["rounds"]), s=22, facecolors="none", edgecolors=color, linewidths=1, zorder=3)
        if r["ratio"]:
            ax.scatter([r["ratio"]], [yi], s=70, color=color, zorder=4)
    ax.axvline(1.0, color="#999999", linestyle="--", linewidth=0.8)
    labels = []
    for r in rows:
        value = "n/a" if not r["ratio"] else f"{r['ratio']:.2f}x"
        target = "no target" if not r["bound"] else f"target {r['target'] or ('<=' if r['lower'] else '>=') + ' ' + format(r['bound'], 'g') + 'x'}"
        labels.append(f"{r['label']}\nvs {r['other'][:60]}" + (" (older run)" if r["old"] else "") + f": {value} ({target})")
    ax.set_yticks(y, labels, fontsize=7.5)
    for tick, r in zip(ax.get_yticklabels(), rows):
        tick.set_color(CONTEXT_COLOR if r["met"] is None else (MET_COLOR if r["met"] else MISSED_COLOR))
    from matplotlib.ticker import FuncFormatter
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}x"))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("Baton / the other (log scale): filled dot = median of the rounds, open dots = each round, "
                  "black bar = target, shaded = meets it", fontsize=8)
    ax.set_title("Ratios and targets")
    ax.grid(axis="x", alpha=0.3, which="both")
    ax.set_axisbelow(True)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        usage()
        return 0 if len(argv) == 2 and argv[1] in ("-h", "--help") else 1
    src, out = argv[1], argv[2]
    try:
        title, note, throughput, latency, ratios = load(src)
    except (OSError, ValueError) as exc:
        warn(f"cannot read {src}: {exc}")
        return 1
    if not throughput and not latency and not ratios:
        warn(f"{src} has nothing to draw")
        return 1
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        warn(f"matplotlib is not available for {sys.executable} ({exc}); run bench/peers/setup "
             "and use bench/.venv/bin/python")
        return 2

    panels = [p for p in (("throughput", throughput), ("latency", latency)) if p[1]]
    bars = max((len(r) for _, r in panels), default=0)
    top_h = 1.2 + 0.42 * len(ratios) if ratios else 0
    bottom_h = max(3.0, 1.6 + 0.55 * bars) if panels else 0
    fig = plt.figure(figsize=(14.0, top_h + bottom_h + 0.6), layout="constrained")
    grid = fig.add_gridspec(2 if ratios and panels else 1, max(1, len(panels)),
                            height_ratios=[top_h, bottom_h] if ratios and panels else None)
    if ratios:
        draw_ratios(fig.add_subplot(grid[0, :]), ratios)
    for i, (kind, data) in enumerate(panels):
        ax = fig.add_subplot(grid[1 if ratios else 0, i])
        if kind == "throughput":
            draw_throughput(ax, data)
        else:
            draw_latency(ax, data)
    fig.suptitle(title, fontsize=12, fontweight="bold", color=MISSED_COLOR if "NOT FROM A CLEAN COMMIT" in title else "black")
    if note:
        fig.supxlabel(note, fontsize=7.5, color="#555555")
    try:
        fig.savefig(out, dpi=120)
    except OSError as exc:
        warn(f"cannot write {out}: {exc}")
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
