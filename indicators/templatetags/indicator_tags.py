from django import template

from ..charts import build_sparkline, build_trend_chart
from ..progress import clamp_percent, status_mix

register = template.Library()


@register.inclusion_tag("indicators/includes/trend_chart.html")
def trend_chart(measure, measurements, caption=""):
    """A measure's SVG trend chart with its table beside it: {% trend_chart measure measure.measurements.all %}."""
    return {"chart": build_trend_chart(measure=measure, measurements=measurements), "caption": caption}


@register.inclusion_tag("indicators/includes/progress.html")
def measure_progress(measure):
    """Progress of the measure's latest value (annotated by Measure.objects.with_latest) towards its target."""
    percent = measure.progress()
    return {"measure": measure, "percent": percent, "bar": clamp_percent(percent)}


@register.simple_tag
def actions_status_mix(actions):
    """[(Status, count)] for a list of actions: {% actions_status_mix indicator.visible_actions as mix %}."""
    return status_mix(actions)


@register.inclusion_tag("indicators/includes/sparkline.html")
def sparkline(measure, measurements):
    """A small trend line (dashboard): {% sparkline measure measure.measurements.all %}."""
    return {"line": build_sparkline(measure=measure, measurements=measurements), "measure": measure}


@register.filter
def measure_value(measure, value):
    """A value formatted for the measure's unit, with thousands separators: {{ measure|measure_value:value }}."""
    return measure.format(value)
