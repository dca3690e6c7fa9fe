"""Trend charts drawn on the server: the geometry here, the SVG in templates/indicators/includes/trend_chart.html.

Readable without colour: values are a solid line with round markers and their figures written beside
them, the baseline a dashed line and the target a dotted line, each labelled in words; a table with the
same figures sits beside the chart and the SVG carries a text description.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from .progress import format_value, period_label, short_period_label

WIDTH = 560
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 64, 96, 20, 40
MAX_POINTS = 24
LABEL_GAP = 16  # pixels between the baseline's and the target's words


@dataclass
class Point:
    x: float
    y: float
    value: str
    label: str
    axis_label: str = ""
    show_label: bool = True


@dataclass
class Line:
    y: float
    figure: str
    label: str
    when: str = ""
    label_y: float | None = None  # where its words sit; moved apart when the two lines are close

    def __post_init__(self):
        if self.label_y is None:
            self.label_y = self.y

    @property
    def value(self):
        return f"{self.figure}{self.when}"


@dataclass
class Tick:
    y: float
    label: str


@dataclass
class TrendChart:
    measure: object
    rows: list = field(default_factory=list)  # (period label, formatted value) for the table, oldest first
    points: list = field(default_factory=list)
    baseline: Line | None = None
    target: Line | None = None
    ticks: list = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM
    shown_from: int = 0  # how many older periods are left out of the drawing (all stay in the table)

    @property
    def polyline(self):
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def drawable(self):
        return bool(self.points)

    @property
    def description(self):
        """The chart in words, for screen readers and for anyone who cannot tell the lines apart."""
        parts = []
        if self.rows:
            first, last = self.rows[0], self.rows[-1]
            if len(self.rows) == 1:
                parts.append(f"One value recorded: {last[1]} for {last[0]}.")
            else:
                parts.append(
                    f"{len(self.rows)} values recorded, from {first[1]} for {first[0]} to {last[1]} for {last[0]}."
                )
        else:
            parts.append("No values recorded yet.")
        if self.baseline:
            parts.append(f"{self.baseline.label}: {self.baseline.value}.")
        if self.target:
            parts.append(f"{self.target.label}: {self.target.value}.")
        if self.shown_from:
            parts.append(f"The chart shows the latest {len(self.points)} periods; the table lists them all.")
        return " ".join(parts)


def _nice_step(span, ticks=4):
    raw = span / ticks
    magnitude = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal("0.1")
    for multiple in (1, 2, 2.5, 5, 10):
        step = magnitude * Decimal(str(multiple))
        if step >= raw:
            return step
    return magnitude * 10


def build_trend_chart(*, measure, measurements, width=WIDTH, height=HEIGHT, max_points=MAX_POINTS):
    """The geometry of one measure's chart: measurements in any order, baseline and target lines."""
    ordered = sorted(measurements, key=lambda m: (m.period_end, m.period_start))
    unit = measure.unit
    numeric = unit != "text"
    rows = [
        (period_label(m.period_start, m.period_end), format_value(m.value if numeric else m.text_value, unit))
        for m in ordered
    ]
    chart = TrendChart(
        measure=measure, rows=rows, width=width, height=height, plot_right=width - RIGHT, plot_bottom=height - BOTTOM
    )
    baseline_date = f" ({measure.baseline_date:%-d %b %Y})" if measure.baseline_date else ""
    target_date = f" (by {measure.target_date:%-d %b %Y})" if measure.target_date else ""
    if not numeric:
        return chart
    drawn = [m for m in ordered if m.value is not None]
    chart.shown_from = max(0, len(drawn) - max_points)
    drawn = drawn[chart.shown_from :]
    values = [Decimal(m.value) for m in drawn]
    references = [v for v in (measure.baseline_value, measure.target_value) if v is not None]
    if not values and not references:
        return chart
    if unit == "percentage":
        low, high = Decimal(0), Decimal(100)
    else:
        low = min([Decimal(0), *values, *references])
        high = max([*values, *references])
    if high <= low:
        high = low + 1
    step = _nice_step(high - low)
    low = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    high = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    top, bottom = TOP, height - BOTTOM
    left, right = LEFT, width - RIGHT

    def y_of(value):
        return float(bottom - (Decimal(value) - low) / (high - low) * (bottom - top))

    tick = low
    while tick <= high:
        chart.ticks.append(Tick(y=y_of(tick), label=format_value(tick, unit)))
        tick += step
    label_every = max(1, -(-len(drawn) // 6))  # at most about six period labels fit under the axis
    for index, measurement in enumerate(drawn):
        x = left + (right - left) / 2 if len(drawn) == 1 else left + (right - left) * index / (len(drawn) - 1)
        chart.points.append(
            Point(
                x=float(x),
                y=y_of(measurement.value),
                value=format_value(measurement.value, unit),
                label=period_label(measurement.period_start, measurement.period_end),
                axis_label=short_period_label(measurement.period_start, measurement.period_end),
                show_label=index % label_every == 0 or index == len(drawn) - 1,
            )
        )
    if measure.baseline_value is not None:
        chart.baseline = Line(
            y=y_of(measure.baseline_value),
            figure=format_value(measure.baseline_value, unit),
            when=baseline_date,
            label="Baseline",
        )
    if measure.target_value is not None:
        chart.target = Line(
            y=y_of(measure.target_value),
            figure=format_value(measure.target_value, unit),
            when=target_date,
            label="Target",
        )
    if chart.baseline and chart.target and abs(chart.baseline.y - chart.target.y) < LABEL_GAP:
        upper, lower = sorted((chart.baseline, chart.target), key=lambda line: line.y)
        middle = (upper.y + lower.y) / 2
        upper.label_y, lower.label_y = middle - LABEL_GAP / 2, middle + LABEL_GAP / 2
    return chart


@dataclass
class Sparkline:
    width: int
    height: int
    points: list = field(default_factory=list)
    baseline_y: float | None = None
    target_y: float | None = None

    @property
    def polyline(self):
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)

    @property
    def last(self):
        return self.points[-1] if self.points else None


def build_sparkline(*, measure, measurements, width=160, height=40, pad=4):
    """A small trend line for the dashboard: values in period order, with baseline and target as lines."""
    line = Sparkline(width=width, height=height)
    if measure.unit == "text":
        return line
    values = [
        Decimal(m.value)
        for m in sorted(measurements, key=lambda m: (m.period_end, m.period_start))
        if m.value is not None
    ]
    references = [Decimal(v) for v in (measure.baseline_value, measure.target_value) if v is not None]
    if not values:
        return line
    low, high = min(values + references), max(values + references)
    if high == low:
        high = low + 1

    def y_of(value):
        return float(height - pad - (Decimal(value) - low) / (high - low) * (height - 2 * pad))

    for index, value in enumerate(values):
        x = width / 2 if len(values) == 1 else pad + (width - 2 * pad) * index / (len(values) - 1)
        line.points.append((float(x), y_of(value)))
    if measure.baseline_value is not None:
        line.baseline_y = y_of(measure.baseline_value)
    if measure.target_value is not None:
        line.target_y = y_of(measure.target_value)
    return line
