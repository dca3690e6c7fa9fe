"""Charts drawn on the server as SVG: no chart library, readable without colour (every segment is labelled)."""

import functools
from urllib.parse import urlencode

from django.urls import get_script_prefix, reverse

from .models import STATUS_TAG_CLASSES, Status

# Fills chosen to match the GOV.UK tag colours, with the count written on each segment.
STATUS_FILLS = {
    Status.NOT_STARTED: "#b1b4b6",
    Status.ON_TRACK: "#00703c",
    Status.AT_RISK: "#ffdd00",
    Status.OFF_TRACK: "#d4351c",
    Status.COMPLETED: "#1d70b8",
}
STATUS_TEXT = {
    Status.NOT_STARTED: "#0b0c0c",
    Status.ON_TRACK: "#ffffff",
    Status.AT_RISK: "#0b0c0c",
    Status.OFF_TRACK: "#ffffff",
    Status.COMPLETED: "#ffffff",
}
STATUS_ORDER = [Status.OFF_TRACK, Status.AT_RISK, Status.ON_TRACK, Status.NOT_STARTED, Status.COMPLETED]


@functools.lru_cache(maxsize=8)
def _register_path(script_prefix):
    return reverse("priorities:action-list")


def register_url(**filters):
    """The register filtered to exactly the actions a number counts."""
    query = urlencode({k: v for k, v in filters.items() if v not in (None, "")}, doseq=True)
    # A dashboard builds hundreds of these: resolve the path once (per script prefix), not each time.
    return _register_path(get_script_prefix()) + (f"?{query}" if query else "")


def _n(value):
    """A coordinate for SVG: a plain string, so templates do not localise it number by number."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def stacked_status_bars(rows, *, width=640, bar_height=28, gap=10, label_width=70):
    """Lay out one horizontal bar per row; each row is {"label", "counts": {status: n}, "filters": {...}}."""
    plot_width = width - label_width - 40
    bars = []
    for index, row in enumerate(rows):
        total = sum(row["counts"].values())
        x = label_width
        segments = []
        for status in STATUS_ORDER:
            count = row["counts"].get(status, 0)
            if not count:
                continue
            seg_width = plot_width * count / total
            segments.append(
                {
                    "status": status,
                    "label": Status(status).label,
                    "count": count,
                    "x": _n(x),
                    "width": _n(seg_width),
                    "fill": STATUS_FILLS[status],
                    "text_fill": STATUS_TEXT[status],
                    "text_x": _n(x + seg_width / 2),
                    "show_text": seg_width >= 18,
                    "url": register_url(**row.get("filters", {}), status=status),
                    "tag_class": STATUS_TAG_CLASSES[status],
                }
            )
            x += seg_width
        y = index * (bar_height + gap)
        bars.append(
            {
                **row,
                "total": total,
                "y": _n(y),
                "text_y": _n(y + bar_height / 2 + 5),
                "segments": segments,
                "total_x": _n(label_width + plot_width + 6),
                "url": register_url(**row.get("filters", {})),
            }
        )
    return {
        "bars": bars,
        "width": width,
        "height": max(len(rows) * (bar_height + gap) - gap, bar_height),
        "bar_height": bar_height,
        "label_width": label_width,
        "legend": [{"label": Status(s).label, "fill": STATUS_FILLS[s]} for s in STATUS_ORDER],
    }
