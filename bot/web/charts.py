"""Chart geometry for server-rendered inline SVG: the reports page draws bars and lines from
these numbers, so a chart needs no script, no library and no CDN (and passes the CSP)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 720, 160, 28  # viewBox units; PAD leaves room for the axis labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    top: float  # the value at the top of the plot area
    bars: list[Bar]
    lines: dict[str, str]  # series name -> SVG polyline points
    labels: list[tuple[float, str]]  # x, day label (a few, so they do not overlap)


def _scale(values: list[float | None]) -> float:
    """A round maximum for the axis: 1, 2 or 5 times a power of ten."""
    peak = max((v for v in values if v is not None), default=0) or 1
    step = 1.0
    while True:
        for factor in (1, 2, 5):
            if peak <= step * factor:
                return step * factor
        step *= 10


def _x(index: int, count: int) -> float:
    return PAD + (WIDTH - 2 * PAD) * (index + 0.5) / max(count, 1)


def _y(value: float, top: float) -> float:
    return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top


def _month_day(day: str) -> str:
    return day[5:]  # 2026-11-21 -> 11-21


def _day_labels(days: list[str], short: Callable[[str], str] = _month_day) -> list[tuple[float, str]]:
    every = max(1, len(days) // 8)
    return [(_x(i, len(days)), short(day)) for i, day in enumerate(days) if i % every == 0]


def bars(days: list[str], values: list[float], short: Callable[[str], str] = _month_day) -> Chart:
    """One bar per slot (a day, or any label: `short` makes the axis label of one)."""
    top = _scale(list(values))
    slot = (WIDTH - 2 * PAD) / max(len(days), 1)
    drawn = [Bar(_x(i, len(days)) - slot * 0.35, _y(v, top), slot * 0.7, _y(0, top) - _y(v, top), day, v)
             for i, (day, v) in enumerate(zip(days, values))]
    return Chart(WIDTH, HEIGHT, top, drawn, {}, _day_labels(days, short))


def lines(days: list[str], series: dict[str, list[float | None]], top: float | None = None) -> Chart:
    """One polyline per series; a day without a value breaks nothing, it is skipped."""
    top = top or _scale([v for values in series.values() for v in values])
    drawn = {name: " ".join(f"{_x(i, len(days)):.1f},{_y(v, top):.1f}" for i, v in enumerate(values) if v is not None)
             for name, values in series.items()}
    return Chart(WIDTH, HEIGHT, top, [], drawn, _day_labels(days))
