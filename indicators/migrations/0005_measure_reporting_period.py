import calendar
import datetime
from collections import Counter

from django.db import migrations, models


def _months(start, end):
    """The whole number of months start..end covers (1 Jan to 31 Dec is 12), or None."""
    for months in (1, 3, 6, 12):
        index = start.month - 1 + months
        year, month = start.year + index // 12, index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        if end + datetime.timedelta(days=1) == datetime.date(year, month, day):
            return months
    return None


def infer_reporting_periods(apps, schema_editor):
    """A measure that already has values keeps the period most of them cover (annual otherwise)."""
    Measure = apps.get_model("indicators", "Measure")
    Measurement = apps.get_model("indicators", "Measurement")
    lengths = {}
    for measure_id, start, end in Measurement.objects.values_list("measure_id", "period_start", "period_end"):
        months = _months(start, end)
        if months:
            lengths.setdefault(measure_id, Counter())[months] += 1
    for measure_id, counts in lengths.items():
        Measure.objects.filter(pk=measure_id).update(reporting_period=counts.most_common(1)[0][0])


class Migration(migrations.Migration):
    dependencies = [
        ("indicators", "0004_measurement_submissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="measure",
            name="reporting_period",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "A month"), (3, "A quarter (3 months)"), (6, "Six months"), (12, "A year")],
                default=12,
                help_text="The length of the period each value covers.",
            ),
        ),
        migrations.RunPython(infer_reporting_periods, migrations.RunPython.noop),
    ]
