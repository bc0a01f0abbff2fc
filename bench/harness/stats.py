"""The statistics: medians, percentiles, and the paired per-round ratios every row is made of.

A row compares Baton with something else (a peer, pgbench, the same run without a
disturbance, a fixed target) over rounds run in turn: round k measures Baton and then the other
(or the two variants) one after the other, so the drift of a shared machine hits both alike.
The row's ratio is the **median of the per-round ratios** (round k's Baton figure / round k's
other figure), not the ratio of the medians; the row also says in how many rounds the target
was met. A round where either figure is missing (a failed check, a system not measured) has no
ratio and counts as not met.
"""

from __future__ import annotations

from typing import Optional


def median(values: list) -> Optional[float]:
    """Median of the figures measured (None, a round that failed, is left out)."""
    good = sorted(v for v in values if v is not None)
    if not good:
        return None
    mid = len(good) // 2
    return good[mid] if len(good) % 2 else (good[mid - 1] + good[mid]) / 2


def pct(values: list, p: float) -> Optional[float]:
    """Percentile by linear interpolation between closest ranks (numpy's default; the peers' harness uses the same)."""
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def mean(values: list) -> Optional[float]:
    good = [v for v in values if v is not None]
    return sum(good) / len(good) if good else None


def within(ratio: Optional[float], bound: Optional[float], lower_is_better: bool) -> Optional[bool]:
    if ratio is None or bound is None:
        return None
    return ratio <= bound if lower_is_better else ratio >= bound


def paired(baton: list, other: list, bound: Optional[float], lower_is_better: bool = False, need: Optional[int] = None) -> dict:
    """Per-round ratios of two lists of per-round figures, their median, and whether the target is met.

    need: the rounds that must meet the bound ("in 3 of 3 rounds"); None = the median ratio decides.
    bound None: a row for context, with no target (met is None).
    """
    rounds = []
    for b, o in zip(baton, other):
        ratio = b / o if b is not None and o else None
        rounds.append({"baton": b, "other": o, "ratio": ratio, "met": within(ratio, bound, lower_is_better)})
    ratio = median([r["ratio"] for r in rounds])
    met_rounds = sum(1 for r in rounds if r["met"])
    if ratio is None or bound is None:
        met = None
    elif need is not None:
        met = met_rounds >= need
    else:
        met = within(ratio, bound, lower_is_better)
    return {"ratio": ratio, "rounds": rounds, "met_rounds": met_rounds, "met": met,
            "baton": median(baton), "other": median(other)}
