"""CSV and Excel downloads that are safe to open in a spreadsheet (one writer for every export).

Text that a spreadsheet would run as a formula (starting with =, +, - or @, or a tab or carriage
return) is written with a leading apostrophe, as OWASP advises against CSV injection. Numbers and
dates keep their types, so they are never touched; the measurements import drops the apostrophe
again, so an exported file can be corrected and imported back.
"""

import csv
import datetime
import io
from decimal import Decimal

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(cell):
    """A text cell a spreadsheet shows as text and never evaluates; other types unchanged."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def _csv_cell(cell):
    if cell is None:
        return ""
    if isinstance(cell, datetime.datetime):
        return cell.strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, datetime.date):
        return cell.isoformat()
    if isinstance(cell, Decimal | int | float):
        return str(cell)
    return neutralise(str(cell))


def csv_text(rows):
    """Rows of cells as CSV text, with a byte-order mark so Excel reads UTF-8 (£, accents, curly quotes)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return "\ufeff" + buffer.getvalue()


def _xlsx_cell(sheet, cell, *, bold=False):
    if isinstance(cell, datetime.datetime) and cell.tzinfo is not None:
        cell = cell.replace(tzinfo=None)  # Excel has no time zones; callers pass local times
    written = WriteOnlyCell(sheet, value=neutralise(cell) if isinstance(cell, str) else cell)
    if isinstance(cell, str):
        written.data_type = "s"  # openpyxl would store a string starting with "=" as a formula
    elif isinstance(cell, datetime.datetime):
        written.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(cell, datetime.date):
        written.number_format = "yyyy-mm-dd"
    if bold:
        written.font = Font(bold=True)
    return written


def xlsx_bytes(sheets):
    """`sheets` is a list of (title, rows); the first row of each is its header, in bold."""
    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.freeze_panes = "A2"
        for index, row in enumerate(rows):
            sheet.append([_xlsx_cell(sheet, cell, bold=index == 0) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _attachment(response, filename):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_response(rows, filename):
    return _attachment(HttpResponse(csv_text(rows), content_type="text/csv; charset=utf-8"), filename)


def xlsx_response(sheets, filename):
    return _attachment(HttpResponse(xlsx_bytes(sheets), content_type=XLSX_TYPE), filename)
