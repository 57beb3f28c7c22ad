"""A hand-written SVG chart of request rate over time, ccpandas beside the baseline.

No plotting library: a few dozen SVG elements are enough, and the suite needs no
dependency beyond the project's own.

The rate at time ``t`` is the number of requests in the ``window`` seconds before ``t``
divided by ``window``, with the cumulative count interpolated linearly between
arrivals, so evenly spaced requests draw a flat line instead of a saw-tooth, and a
pause (the baseline's 5 s wait before polling) shows as a dip.

Example:
    >>> xs, ys = rate_series([0.0, 0.25, 0.5, 0.75, 1.0], window=0.5, step=0.25)
    >>> xs, [round(y, 2) for y in ys]
    ([0.5, 0.75, 1.0], [4.0, 4.0, 4.0])
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["rate_chart_svg", "rate_series", "write_rate_chart"]

_COLORS = {"ccpandas": "#1f77b4", "naive": "#e6772e"}
_W, _H = 760, 330
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 38, 78


def rate_series(
    offsets: Sequence[float], *, window: float = 2.0, step: float = 0.1
) -> tuple[list[float], list[float]]:
    """``(times, requests per second)`` sampled every ``step`` seconds, from one
    ``window`` after the first request to the last request.

    The count is of intervals between requests (``n`` requests, ``n - 1`` intervals),
    as the achieved rate of the end-to-end benchmark counts them.
    """
    times = np.sort(np.asarray(offsets, dtype=float))
    if len(times) < 2:
        return [float(times[0]) if len(times) else 0.0], [0.0]
    start = times[0] + window
    grid = np.arange(start, max(start, times[-1]) + step / 2, step)
    intervals = np.arange(len(times), dtype=float)

    def cumulative(t: np.ndarray) -> np.ndarray:
        return np.interp(t, times, intervals)

    rate = (cumulative(grid) - cumulative(grid - window)) / window
    return grid.tolist(), rate.tolist()


def _nice_step(span: float) -> float:
    for s in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300):
        if span / s <= 10:
            return float(s)
    return 600.0


def rate_chart_svg(
    runs: Sequence[dict[str, Any]], *, limit: float, title: str, window: float = 2.0
) -> str:
    """The SVG text: one line per run (``runner`` and ``request_offsets`` keys), the
    limit as a dashed line, and each run's polls as ticks under the axis."""
    series = []
    for r in runs:
        xs, ys = rate_series(r["request_offsets"], window=window)
        series.append((r, xs, ys))
    x_max = max([xs[-1] for _, xs, _ in series] + [1.0])
    y_max = max(limit * 1.25, max((max(ys) for _, _, ys in series), default=0.0) * 1.1)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + x / x_max * plot_w

    def py(y: float) -> float:
        return _TOP + plot_h - y / y_max * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{_W}" height="{_H}" fill="white"/>',
        f'<text x="{_W / 2}" y="20" text-anchor="middle" font-size="14">'
        f"{html.escape(title)}</text>",
    ]
    # Axes and grid.
    y_step = 1.0 if y_max <= 8 else float(round(y_max / 5))
    y = 0.0
    while y <= y_max + 1e-9:
        out.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
            'stroke="#e5e5e5"/>'
        )
        out.append(f'<text x="{_LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
        y += y_step
    x_step = _nice_step(x_max)
    x = 0.0
    while x <= x_max + 1e-9:
        out.append(
            f'<text x="{px(x):.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle">{x:g}</text>'
        )
        x += x_step
    out += [
        f'<line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{_TOP + plot_h}" stroke="#333"/>',
        f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}" '
        'stroke="#333"/>',
        f'<text x="{_LEFT + plot_w / 2}" y="{_TOP + plot_h + 32}" text-anchor="middle">'
        "seconds since the call started</text>",
        f'<text x="14" y="{_TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_TOP + plot_h / 2})">requests per second ({window:g} s window)'
        "</text>",
        f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{py(limit):.1f}" y2="{py(limit):.1f}" '
        'stroke="#c00" stroke-dasharray="6 4"/>',
        f'<text x="{_W - _RIGHT - 4}" y="{py(limit) - 5:.1f}" text-anchor="end" fill="#c00">'
        f"API limit {limit:g}/s</text>",
    ]
    # The rate lines, the first run (ccpandas) drawn last so it stays on top.
    for r, xs, ys in reversed(series):
        color = _COLORS.get(r["runner"], "#555")
        points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(xs, ys, strict=True))
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
    # Each run's polls as short ticks along the bottom of the plot, at their times.
    for i, (r, _, _) in enumerate(series):
        color = _COLORS.get(r["runner"], "#555")
        base = _TOP + plot_h - 3 - i * 9
        for t, kind in zip(r["request_offsets"], r["request_kinds"], strict=True):
            if kind == "poll":
                out.append(
                    f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{base - 6}" y2="{base}" '
                    f'stroke="{color}" stroke-width="1.5"/>'
                )
    # Legend.
    for i, (r, _, _) in enumerate(series):
        color = _COLORS.get(r["runner"], "#555")
        ly = _TOP + plot_h + 50 + i * 15
        polls = sum(k == "poll" for k in r["request_kinds"])
        label = (
            f"{r['runner']}: {r['total_requests']} requests in {r['wall_seconds']:.1f} s, "
            f"{polls} of them polls (ticks at the bottom)"
        )
        out.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + 18}" y1="{ly - 4}" y2="{ly - 4}" '
            f'stroke="{color}" stroke-width="2"/>'
        )
        out.append(f'<text x="{_LEFT + 24}" y="{ly}">{html.escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_rate_chart(
    runs: Sequence[dict[str, Any]], path: str | Path, *, limit: float, title: str
) -> Path:
    """Write :func:`rate_chart_svg` to ``path`` (folders created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rate_chart_svg(runs, limit=limit, title=title), encoding="utf-8")
    return path
