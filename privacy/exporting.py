"""A person's data as one zip: a JSON file and a CSV file per part of the registry (tracker.personal_data).

Written part by part, row by row, into a temporary file (spooled to disk past a few megabytes), so memory
stays bounded whatever the person's history; the view streams the file.
"""

import csv
import datetime
import io
import json
import tempfile
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.utils import timezone

from tracker.models import User
from tracker.personal_data import EXPORT_PARTS, ExportPart
from tracker.spreadsheets import neutralise

SPOOL_BYTES = 4 * 1024 * 1024


def _plain(value: Any) -> Any:
    """A value as JSON and CSV write it: times in local ISO form, numbers as numbers, the rest as text."""
    if isinstance(value, datetime.datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat(timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return neutralise(value) if isinstance(value, str) else value


def _readme(person: User, parts: Sequence[ExportPart], counts: dict[str, int]) -> str:
    lines = [
        f"The data Plan Tracker ({settings.SITE_URL}) holds about {person} (account {person.pk}),",
        f"made on {timezone.localtime():%d %B %Y at %H:%M %Z}.",
        "",
        "personal-data.json holds every part below; the csv folder has one CSV file (UTF-8) per part.",
        "Times are local (Europe/London unless the service says otherwise).",
        "",
    ]
    for part in parts:
        lines.append(f"{part.name}: {part.title} ({counts[part.name]} row{'s' if counts[part.name] != 1 else ''})")
    return "\n".join(lines) + "\n"


def person_data_archive(person: User) -> tuple[IO[bytes], int]:
    """(the zip as an open file at its start, the number of rows in it) for `person`."""
    output = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the response)
    counts: dict[str, int] = {}
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("personal-data.json", "w") as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8")
            person_json, made_json = json.dumps(str(person)), json.dumps(_plain(timezone.now()))
            out.write(f'{{"person": {person_json}, "made_at": {made_json}, "parts": {{')
            for index, part in enumerate(EXPORT_PARTS):
                out.write(("," if index else "") + f"\n{json.dumps(part.name)}: ")
                out.write(f'{{"title": {json.dumps(part.title)}, "rows": [')
                count = 0
                for row in part.rows(person):
                    out.write(("," if count else "") + "\n  " + json.dumps({k: _plain(v) for k, v in row.items()}))
                    count += 1
                out.write("]}")
                counts[part.name] = count
            out.write("\n}}\n")
            out.flush()
            out.detach()
        for part in EXPORT_PARTS:
            with archive.open(f"csv/{part.name}.csv", "w") as raw:
                out = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                writer = csv.writer(out, quoting=csv.QUOTE_ALL)
                header = None
                for row in part.rows(person):
                    if header is None:
                        header = list(row)
                        writer.writerow(header)
                    writer.writerow([_csv_cell(_plain(row.get(key))) for key in header])
                if header is None:
                    writer.writerow(["(nothing held)"])
                out.flush()
                out.detach()
        archive.writestr("README.txt", _readme(person, EXPORT_PARTS, counts))
    output.seek(0)
    return output, sum(counts.values())
