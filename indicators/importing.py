"""Read a measurements file (CSV or Excel) and check every row, without writing anything.

Columns, in any order, matched by heading (case and spaces do not matter): measure, period start,
period end, value, source, note; an optional indicator column (its code, e.g. SI3) tells apart two
measures with the same name. Rows are numbered as a spreadsheet shows them: the headings are row 1.
The checks are the ones measurement_record makes, done in bulk (a fixed handful of queries for the
whole file) so that 10,000 rows preview in well under five seconds.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from tracker.imports import Preview, PreviewRow, read_rows
from tracker.spreadsheets import MAX_ROWS, cell_text, parse_date

from .models import Measure, Measurement
from .progress import format_value, period_label

REQUIRED_COLUMNS = ("measure", "period start", "period end", "value")
OPTIONAL_COLUMNS = ("source", "note", "indicator")
SOURCE_MAX_LENGTH = Measurement._meta.get_field("source").max_length or 0  # a CharField's: always set
NOTE_MAX_LENGTH = 5000
VALUE_LIMIT = Decimal(10) ** 16  # DecimalField(max_digits=18, decimal_places=2)
THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


@dataclass
class ImportRow(PreviewRow):
    measure: Measure | None = None
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None
    value: Decimal | None = None
    text_value: str = ""
    source: str = ""
    note: str = ""

    @property
    def period_display(self) -> str:
        return period_label(self.period_start, self.period_end) if self.period_start and self.period_end else ""

    @property
    def period_cell(self) -> str:
        """The period as read, or as written in the file when it could not be read."""
        if self.period_display:
            return self.period_display
        return " to ".join(filter(None, [self.cells.get("period start"), self.cells.get("period end")]))

    @property
    def value_display(self) -> str:
        if self.measure is None:
            return self.cells.get("value", "")
        if not self.measure.is_numeric:
            return self.text_value
        return format_value(self.value, self.measure.unit) if self.value is not None else self.cells.get("value", "")


@dataclass
class ImportPreview(Preview):
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def error_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.errors]


def _parse_number(cell: object) -> tuple[Decimal | None, str | None]:
    if isinstance(cell, bool):
        return None, f"“{cell}” is not a number."
    if isinstance(cell, int | float):
        number = Decimal(str(cell))
    else:
        text = cell_text(cell)
        if not text:
            return None, "Enter the value."
        cleaned = text.replace("£", "").replace("%", "").replace(" ", "")
        if THOUSANDS.match(cleaned):
            cleaned = cleaned.replace(",", "")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            return None, f"“{text}” is not a number."
    if not number.is_finite():
        return None, f"“{cell}” is not a number."
    # Size first: quantizing a very long number would overflow Decimal's precision.
    if abs(number) >= VALUE_LIMIT:
        return None, f"“{cell_text(cell)}” is too large."
    exponent = number.as_tuple().exponent  # an int for a finite number
    if isinstance(exponent, int) and exponent < -2 and number != number.quantize(Decimal("0.01")):
        return None, f"“{cell_text(cell)}” has more than 2 decimal places."
    return number.quantize(Decimal("0.01")), None


def _measure_lookup() -> tuple[dict[str, list[Measure]], dict[tuple[str, str], list[Measure]]]:
    by_name: dict[str, list[Measure]] = {}
    by_code_and_name: dict[tuple[str, str], list[Measure]] = {}
    for measure in Measure.objects.select_related("indicator"):
        key = measure.name.strip().lower()
        by_name.setdefault(key, []).append(measure)
        by_code_and_name.setdefault((measure.indicator.code.lower(), key), []).append(measure)
    return by_name, by_code_and_name


def parse_measurements_file(*, filename: str, content: bytes) -> ImportPreview:
    """Every row of the file with its errors and, where it is valid, what would be written."""
    preview = ImportPreview(filename=filename)
    records = read_rows(
        preview,
        content,
        columns=REQUIRED_COLUMNS + OPTIONAL_COLUMNS,
        required=REQUIRED_COLUMNS,
        expected=REQUIRED_COLUMNS + OPTIONAL_COLUMNS[:2],
        max_rows=MAX_ROWS,
    )
    if preview.file_errors:
        return preview

    by_name, by_code_and_name = _measure_lookup()
    seen: dict[tuple[int, datetime.date, datetime.date], int] = {}
    for number, get in records:
        row = ImportRow(number=number, cells={name: cell_text(cell) for name, cell in get.items()})
        preview.rows.append(row)

        name = row.cells["measure"]
        code = row.cells.get("indicator", "")
        if not name:
            row.error("measure", "Enter the measure's name.")
        else:
            if code:
                candidates = by_code_and_name.get((code.lower(), name.lower()), [])
                if not candidates and by_name.get(name.lower()):
                    row.error("indicator", f"Indicator {code} has no measure called “{name}”.")
            else:
                candidates = by_name.get(name.lower(), [])
            if len(candidates) == 1:
                row.measure = candidates[0]
            elif len(candidates) > 1:
                codes = ", ".join(m.indicator.code for m in candidates)
                row.error("measure", f"More than one indicator ({codes}) has this measure: add an indicator column.")
            elif not row.errors:
                row.error("measure", f"No measure is called “{name}”.")

        row.period_start, problem = parse_date(get["period start"])
        if problem:
            row.error("period start", problem)
        row.period_end, problem = parse_date(get["period end"])
        if problem:
            row.error("period end", problem)
        if row.period_start and row.period_end and row.period_end < row.period_start:
            row.error("period end", "The period ends before it starts.")
            row.period_end = None
        elif row.measure is not None and (problem := row.measure.period_problem(row.period_start, row.period_end)):
            row.error("period end", problem)

        if row.measure is not None and not row.measure.is_numeric:
            row.text_value = row.cells["value"]
            if not row.text_value:
                row.error("value", "Enter the value.")
        elif row.measure is not None or row.cells["value"]:
            row.value, problem = _parse_number(get["value"])
            if problem:
                row.error("value", problem)
            elif (
                row.measure is not None
                and row.measure.unit == Measure.Unit.PERCENTAGE
                and row.value is not None
                and not 0 <= row.value <= 100
            ):
                row.error("value", f"{row.cells['value']} is a percentage outside 0–100.")
        else:
            row.error("value", "Enter the value.")

        row.source = row.cells.get("source", "")
        if len(row.source) > SOURCE_MAX_LENGTH:
            row.error("source", f"The source must be {SOURCE_MAX_LENGTH} characters or fewer.")
        row.note = row.cells.get("note", "")
        if len(row.note) > NOTE_MAX_LENGTH:
            row.error("note", f"The note must be {NOTE_MAX_LENGTH:,} characters or fewer.")

        if row.measure is not None and row.period_start and row.period_end:
            key = (row.measure.pk, row.period_start, row.period_end)
            if key in seen:
                row.error("period start", f"Row {seen[key]} has the same measure and period.")
            else:
                seen[key] = row.number

    if seen:
        measure_ids = {key[0] for key in seen}
        existing = set(
            Measurement.objects.filter(measure_id__in=measure_ids).values_list(
                "measure_id", "period_start", "period_end"
            )
        )
        for row in preview.rows:
            if row.measure is not None and (row.measure.pk, row.period_start, row.period_end) in existing:
                row.error(
                    "period start",
                    f"{row.measure.name} already has a value for {row.period_display}: "
                    "correct it on the indicator page.",
                )
    if not preview.rows:
        preview.file_errors.append("The file has no rows of measurements under its headings.")
    return preview
