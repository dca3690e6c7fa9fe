import datetime

import pytest

from indicators.charts import build_trend_chart
from indicators.models import Measure
from tests.factories import MeasureFactory, MeasurementFactory

pytestmark = pytest.mark.django_db


def _measurements(measure, values):
    return [
        MeasurementFactory(measure=measure, period_start=datetime.date(2020 + i, 1, 1), value=v)
        for i, v in enumerate(values)
    ]


def test_chart_points_rise_with_values_and_lines_sit_at_baseline_and_target():
    measure = MeasureFactory(baseline_value=2, target_value=10, target_date=datetime.date(2026, 12, 31))
    chart = build_trend_chart(measure=measure, measurements=list(reversed(_measurements(measure, [4, 6, 8]))))
    assert [p.label for p in chart.points] == ["2020", "2021", "2022"]  # oldest first whatever the input order
    ys = [p.y for p in chart.points]
    assert ys[0] > ys[1] > ys[2]  # SVG y grows downwards
    assert chart.baseline.y > chart.points[0].y > chart.target.y
    assert chart.plot_top <= chart.target.y <= chart.plot_bottom
    assert chart.rows == [("2020", "4"), ("2021", "6"), ("2022", "8")]
    assert "from 4 for 2020 to 8 for 2022" in chart.description
    assert "Target: 10 (by 31 Dec 2026)" in chart.description


def test_percentage_chart_runs_from_0_to_100():
    measure = MeasureFactory(unit=Measure.Unit.PERCENTAGE)
    chart = build_trend_chart(measure=measure, measurements=_measurements(measure, [50]))
    assert chart.ticks[0].label == "0%" and chart.ticks[-1].label == "100%"
    assert chart.points[0].y == pytest.approx((chart.plot_top + chart.plot_bottom) / 2)


def test_text_measure_has_rows_but_nothing_to_draw():
    measure = MeasureFactory(unit=Measure.Unit.TEXT)
    MeasurementFactory(measure=measure, value=None, text_value="Published")
    chart = build_trend_chart(measure=measure, measurements=measure.measurements.all())
    assert not chart.drawable
    assert chart.rows[0][1] == "Published"


def test_long_series_draws_the_latest_periods_and_says_so():
    measure = MeasureFactory()
    chart = build_trend_chart(measure=measure, measurements=_measurements(measure, range(30)), max_points=24)
    assert len(chart.points) == 24 and len(chart.rows) == 30
    assert "latest 24 periods" in chart.description


def test_close_baseline_and_target_words_do_not_overlap():
    measure = MeasureFactory(unit=Measure.Unit.PERCENTAGE, baseline_value=50, target_value=52)
    chart = build_trend_chart(measure=measure, measurements=[])
    assert chart.target.y < chart.baseline.y
    assert chart.baseline.label_y - chart.target.label_y >= 16
