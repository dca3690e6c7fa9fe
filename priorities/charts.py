"""Charts drawn on the server as SVG: no chart library, readable without colour (every segment is labelled)."""

import functools
from urllib.parse import quote_plus

from django.urls import get_script_prefix, reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

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


@functools.lru_cache(maxsize=4096)
def _quoted(value):
    return quote_plus(value)


def _query_value(value):
    # Ids and known slugs make most values: an int needs no quoting, a string is quoted once per process.
    return str(value) if isinstance(value, int) else _quoted(str(value))


def register_links():
    """register_url with the register's path resolved once: for pages that build hundreds of links."""
    path = _register_path(get_script_prefix())

    def link(**filters):
        parts = []
        for name, value in filters.items():
            if value is None or value == "":
                continue
            for item in value if isinstance(value, list | tuple) else (value,):
                parts.append(f"{_quoted(name)}={_query_value(item)}")
        return f"{path}?{'&'.join(parts)}" if parts else path

    return link


def register_url(**filters):
    """The register filtered to exactly the actions a number counts (as urlencode(filters, doseq=True) writes it)."""
    return register_links()(**filters)


def _n(value):
    """A coordinate for SVG: a plain string, so templates do not localise it number by number."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def stacked_status_bars(rows, *, width=640, bar_height=28, gap=10, label_width=70):
    """Lay out one horizontal bar per row; each row is {"label", "counts": {status: n}, "filters": {...}}."""
    plot_width = width - label_width - 40
    link = register_links()
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
                    "url": link(**row.get("filters", {}), status=status),
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
                "url": link(**row.get("filters", {})),
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


# The dashboard's repeated markup is written here in plain Python: a template would resolve a few
# thousand variables and tags (a bar per objective, a cell per status, a row per organisation).


def status_chart_html(chart, *, chart_id, chart_title):
    """The stacked bars of stacked_status_bars() as an SVG figure; every segment a link labelled with its count."""
    out = [
        '<figure class="app-figure">\n'
        f'<svg class="app-chart" viewBox="0 0 {chart["width"]} {chart["height"]}" width="{chart["width"]}" '
        f'height="{chart["height"]}" role="group" aria-labelledby="{chart_id}-title" '
        f'aria-describedby="{chart_id}-desc" xmlns="http://www.w3.org/2000/svg">\n'
        f'  <title id="{chart_id}-title">{escape(chart_title)}</title>\n  <desc id="{chart_id}-desc">'
    ]
    for bar in chart["bars"]:
        described = ", ".join(f"{segment['count']} {segment['label'].lower()}" for segment in bar["segments"])
        out.append(f"{escape(bar['title'])}: {escape(described)}. ")
    out.append("</desc>\n")
    for bar in chart["bars"]:
        title = escape(bar["title"])
        out.append(
            f'  <g>\n    <a href="{escape(bar["url"])}"><text x="0" y="{bar["text_y"]}" font-size="15" '
            f'fill="#1d70b8" text-decoration="underline">{escape(bar["label"])}</text></a>\n'
        )
        for segment in bar["segments"]:
            out.append(
                f'    <a href="{escape(segment["url"])}">\n      <rect x="{segment["x"]}" y="{bar["y"]}" '
                f'width="{segment["width"]}" height="{chart["bar_height"]}" fill="{segment["fill"]}" '
                f'stroke="#ffffff" stroke-width="1"><title>{title}: {segment["count"]} '
                f"{escape(segment['label'].lower())}</title></rect>\n"
            )
            if segment["show_text"]:
                out.append(
                    f'      <text x="{segment["text_x"]}" y="{bar["text_y"]}" font-size="14" font-weight="bold" '
                    f'text-anchor="middle" fill="{segment["text_fill"]}">{segment["count"]}</text>\n'
                )
            out.append("    </a>\n")
        out.append(
            f'    <text x="{bar["total_x"]}" y="{bar["text_y"]}" font-size="14" fill="#0b0c0c">{bar["total"]}</text>\n'
            "  </g>\n"
        )
    out.append('</svg>\n<figcaption class="govuk-body-s">\n  ')
    for item in chart["legend"]:
        out.append(
            '<span class="app-legend"><svg width="14" height="14" aria-hidden="true" focusable="false">'
            f'<rect width="14" height="14" fill="{item["fill"]}"/></svg> {escape(item["label"])}</span> '
        )
    out.append("\n</figcaption>\n</figure>")
    # Every value above is escaped or a number we made.
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703


def status_table_rows(chart, statuses=STATUS_ORDER):
    """The rows of the table under the chart: per bar, a linked count per status (0 unlinked) and the total."""
    out, link = [], register_links()
    for bar in chart["bars"]:
        cells = []
        for status in statuses:
            n = bar["counts"].get(status)
            if n:
                url = escape(link(**bar.get("filters", {}), status=status))
                cells.append(
                    f'<td class="govuk-table__cell govuk-table__cell--numeric"><a class="govuk-link" href="{url}">'
                    f"{n}</a></td>"
                )
            else:
                cells.append('<td class="govuk-table__cell govuk-table__cell--numeric">0</td>')
        out.append(
            '    <tr class="govuk-table__row">\n'
            f'      <th scope="row" class="govuk-table__header">{escape(bar["title"])}</th>\n      {"".join(cells)}\n'
            '      <td class="govuk-table__cell govuk-table__cell--numeric"><a class="govuk-link" '
            f'href="{escape(bar["url"])}">{bar["total"]}</a></td>\n    </tr>\n'
        )
    # Every value above is escaped or a number we made.
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703


def engagement_rows(rows):
    """The engagement table's rows: per organisation its page, and each count linked to the register's actions."""
    out = []
    for row in rows:
        cells = "".join(
            '<td class="govuk-table__cell govuk-table__cell--numeric">'
            f'<a class="govuk-link" href="{escape(row[url])}">{row[count]}</a></td>'
            for count, url in (("partnered", "partnered_url"), ("current", "current_url"), ("never", "never_url"))
        )
        out.append(
            '    <tr class="govuk-table__row"><th scope="row" class="govuk-table__header"><a class="govuk-link" '
            f'href="{escape(row["organisation_url"])}">{escape(row["organisation__name"])}</a></th>{cells}</tr>\n'
        )
    # Every value above is escaped or a number we made.
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703
