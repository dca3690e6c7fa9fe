"""The open data files: plan.json (described by schema/plan.schema.json) and plan.csv, from data.open_data()."""

import json

from django.conf import settings
from django.urls import reverse

from indicators.charts import build_trend_chart

from .data import as_of

# The version of schema/plan.schema.json the JSON follows: a new major version for any change that could
# break a reader (a field removed, renamed or retyped), a new minor version for added fields.
SCHEMA_VERSION = "1.0.0"

CSV_HEADER = [
    "record",
    "plan",
    "priority",
    "objective",
    "action_code",
    "action_title",
    "status",
    "start_date",
    "target_date",
    "partners",
    "public_summary",
    "date",
    "note",
    "indicator",
    "measure",
    "unit",
    "direction",
    "baseline",
    "baseline_date",
    "target",
    "target_by",
    "period_start",
    "period_end",
    "value",
    "licence",
    "last_updated",
]


def document(found):
    """The JSON document: format version, licence, last updated, and the published plans."""
    return {
        "$schema": settings.SITE_URL.rstrip("/") + reverse("public:plan-schema"),
        "schema_version": SCHEMA_VERSION,
        "licence": settings.PUBLIC_DATA_LICENCE,
        "last_updated": as_of(found["last_updated"]),
        "plans": found["plans"],
    }


def json_text(found):
    return json.dumps(document(found), ensure_ascii=False, indent=1)


def _partners(action):
    return "; ".join(f"{p['name']} ({p['role_label'].lower()})" for p in action["partners"])


def csv_rows(found):
    """One table in long form: a row per action, per public update and per public measurement.

    The `record` column says which ("action", "update", "measurement"); columns that do not apply are empty.
    Every row carries the licence and the last-updated moment, so a row copied elsewhere keeps them.
    """
    licence = f"{settings.PUBLIC_DATA_LICENCE['name']} ({settings.PUBLIC_DATA_LICENCE['url']})"
    updated = as_of(found["last_updated"])
    blank = dict.fromkeys(CSV_HEADER, "")
    yield CSV_HEADER
    for plan in found["plans"]:
        for priority in plan["priorities"]:
            for objective in priority["objectives"]:
                for action in objective["actions"]:
                    base = {
                        **blank,
                        "plan": plan["title"],
                        "priority": f"Priority {priority['number']}: {priority['title']}",
                        "objective": f"{objective['code']} {objective['title']}",
                        "action_code": action["code"],
                        "action_title": action["title"],
                        "licence": licence,
                        "last_updated": updated,
                    }
                    yield list(
                        {
                            **base,
                            "record": "action",
                            "status": action["status_label"],
                            "start_date": action["start_date"] or "",
                            "target_date": action["target_date"] or "",
                            "partners": _partners(action),
                            "public_summary": action["public_summary"],
                        }.values()
                    )
                    for update in action["updates"]:
                        yield list(
                            {
                                **base,
                                "record": "update",
                                "status": update["status_label"],
                                "date": update["date"],
                                "note": update["note"],
                                "partners": update["organisation"] or "",
                            }.values()
                        )
        for indicator in plan["indicators"]:
            for measure in indicator["measures"]:
                for value in measure["values"]:
                    yield list(
                        {
                            **blank,
                            "record": "measurement",
                            "plan": plan["title"],
                            "indicator": f"{indicator['code']}: {indicator['statement']}",
                            "measure": measure["name"],
                            "unit": measure["unit"],
                            "direction": measure["direction"],
                            "baseline": measure["baseline"]["value"],
                            "baseline_date": measure["baseline"]["date"] or "",
                            "target": measure["target"]["value"],
                            "target_by": measure["target"]["date"] or "",
                            "period_start": value["period_start"],
                            "period_end": value["period_end"],
                            "value": value["value"] if value["value"] is not None else value["text_value"],
                            "licence": licence,
                            "last_updated": updated,
                        }.values()
                    )


def charts(measures):
    """(measure values, trend chart) for the indicator page: the same server-side SVG as the signed-in pages."""
    return [
        (values, build_trend_chart(measure=measure, measurements=measure.public_measurements))
        for values, measure in measures
    ]
