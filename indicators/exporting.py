"""Measurements as CSV or Excel, safe to open in a spreadsheet.

Text that a spreadsheet would run as a formula (starting with =, +, - or @, or a tab or carriage
return before one) is written with a leading apostrophe (OWASP's advice on CSV injection). Numbers and
dates are written as numbers and dates, so they are never touched. The import drops that apostrophe
again, so an exported file can be corrected and imported back.
"""

import csv
import datetime
import io
from decimal import Decimal

from django.utils import timezone

HEADINGS = [
    "indicator",
    "measure",
    "unit",
    "period start",
    "period end",
    "value",
    "source",
    "note",
    "recorded by",
    "recorded at",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell):
    """A text cell a spreadsheet will show as text, never evaluate; other types unchanged."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def measurement_rows(measurements):
    """One list per measurement, in HEADINGS order, with typed cells (Decimal, date, datetime, str)."""
    for m in measurements:
        measure = m.measure
        recorded_at = timezone.localtime(m.recorded_at).replace(tzinfo=None) if m.recorded_at else None
        yield [
            measure.indicator.code,
            measure.name,
            measure.get_unit_display(),
            m.period_start,
            m.period_end,
            m.text_value if measure.unit == "text" else m.value,
            m.source,
            m.note,
            (m.recorded_by.get_full_name() or m.recorded_by.get_username()) if m.recorded_by else "",
            recorded_at,
        ]


def _csv_cell(cell):
    if cell is None:
        return ""
    if isinstance(cell, datetime.datetime):
        return cell.strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, datetime.date):
        return cell.isoformat()
    if isinstance(cell, Decimal):
        return str(cell)
    return neutralise(str(cell))


def as_csv(measurements):
    """The measurements as CSV text (UTF-8 with a byte-order mark, so Excel reads £ and accents)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADINGS)
    for row in measurement_rows(measurements):
        writer.writerow([_csv_cell(cell) for cell in row])
    return "\ufeff" + buffer.getvalue()


def as_xlsx(measurements):
    """The measurements as an Excel workbook's bytes."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Measurements")
    sheet.append(HEADINGS)
    for row in measurement_rows(measurements):
        cells = []
        for cell in row:
            if isinstance(cell, str):
                written = WriteOnlyCell(sheet, value=neutralise(cell))
                # openpyxl would store a string starting with "=" as a formula: say it is text.
                written.data_type = "s"
            elif isinstance(cell, datetime.datetime | datetime.date):
                written = WriteOnlyCell(sheet, value=cell)
                written.number_format = "yyyy-mm-dd hh:mm" if isinstance(cell, datetime.datetime) else "yyyy-mm-dd"
            else:
                written = WriteOnlyCell(sheet, value=cell)
            cells.append(written)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
