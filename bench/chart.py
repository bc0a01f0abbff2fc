#!/usr/bin/env python3
"""Draw the benchmark comparison as a PNG: throughput and latency, horizontal bars.

    bench/.venv/bin/python bench/chart.py results.json chart.png

results.json:
    {
      "title": "Baton vs peers, 20,000 no-op jobs, 4 workers",
      "note": "optional footnote (machine, settings)",
      "throughput": {"Baton": 12000, "pgqueuer": 5000, "procrastinate": 520,
                     "pgbench claim 1": 4800, "pgbench claim 10": 16000},
      "latency": {"Baton": {"p50": 1.2, "p99": 3.4}, "pgqueuer": {"p50": 3.6, "p99": 8.3}}
    }

Throughput is in jobs/s, latency (enqueue -> start) in ms. Either section may be missing, and any
value may be null: those are left out (a missing section leaves out its panel). Bars keep the
order of the JSON; names starting with "pgbench" are drawn grey (they are ceilings, not queues)
and "Baton" in its own colour. Needs matplotlib (bench/peers/setup installs it in bench/.venv).
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


def load(path: str) -> tuple[str, str | None, list[tuple[str, float]], list[tuple[str, float | None, float | None]]]:
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
    return title, (str(note) if note else None), throughput, latency


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


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        usage()
        return 0 if len(argv) == 2 and argv[1] in ("-h", "--help") else 1
    src, out = argv[1], argv[2]
    try:
        title, note, throughput, latency = load(src)
    except (OSError, ValueError) as exc:
        warn(f"cannot read {src}: {exc}")
        return 1
    if not throughput and not latency:
        warn(f"{src} has no throughput or latency value to draw")
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
    rows = max(len(r) for _, r in panels)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6.2 * len(panels), max(3.0, 1.6 + 0.55 * rows)), squeeze=False
    )
    for ax, (kind, data) in zip(axes[0], panels):
        if kind == "throughput":
            draw_throughput(ax, data)
        else:
            draw_latency(ax, data)
    fig.suptitle(title, fontsize=12, fontweight="bold")
    if note:
        fig.text(0.01, 0.01, note, fontsize=7.5, color="#555555", ha="left", va="bottom")
        fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    else:
        fig.tight_layout(rect=(0, 0, 1, 0.97))
    try:
        fig.savefig(out, dpi=120)
    except OSError as exc:
        warn(f"cannot write {out}: {exc}")
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
