"""CSV and Excel downloads and uploads: one writer for every export, one reader for every import.

Formula guard (OWASP, "CSV Injection"): a text cell that a spreadsheet could run as a formula gets
a leading apostrophe. Checking the first character is not enough: a cell is dangerous when any part
a spreadsheet could split off as its own cell (after a comma, semicolon, tab, pipe, quote or line
break, whichever separator the reader guesses) starts, after blanks, with =, +, -, @ or |, or when
it starts with a tab or a line break; full-width and other compatibility forms (＝, ＋, ＠) count
as the characters they stand for (NFKC). Every CSV cell is quoted as well. Numbers and dates keep
their types, so they are never touched; the measurements import drops the apostrophe again
(`restore`), so an exported file can be corrected and imported back.

Streaming: `csv_response` is a StreamingHttpResponse fed row by row, and `xlsx_response` writes the
workbook with openpyxl's write-only mode into a temporary file that is then streamed, so memory
does not grow with the number of rows. Callers pass rows as an iterator (e.g. from `values()`).
Both count the rows they write and mark the response, so the access log records every download with its
rows (tracker/access.py).

Uploads (the measurements import, the plan import): `read_table` turns an untrusted CSV or .xlsx
into rows of cells, at most MAX_ROWS + 1 rows of MAX_COLUMNS cells, an Excel file read in a limited
child process (tracker.sheet_reader); `heading`, `cell_text` and `parse_date` read its cells the same
way for every import.
"""

import csv
import datetime
import io
import itertools
import re
import tempfile
import unicodedata
from collections.abc import Generator, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any, TypeVar, cast

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.workbook import Workbook as WorkbookType
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.xml import LXML
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import fromstring, xmlfile

from .access import RowCounter, mark_download
from .sheet_reader import MAX_COLUMNS, MAX_ROWS, read_xlsx

# A cell as we write or read it: text, a number, a date or time, a boolean or None (blank).
Cell = Any
Row = Sequence[Cell]
# (sheet title, rows), the first row of each its header.
Sheet = tuple[str, Iterable[Row]]
_Response = TypeVar("_Response", bound=HttpResponseBase)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A spreadsheet starts a formula (or a DDE command) with one of these.
FORMULA_STARTS = "=+-@|"
# Where a reader could start a new cell or line inside our text: separators, quotes, line breaks.
_DANGER = re.compile(
    r"""^[\t\r\n]"""  # OWASP: a leading tab or carriage return
    r"""|(?:^|[,;\t\r\n|"'])"""  # the start of the text or of anything a separator splits off
    r"""[\s\u200b-\u200f\u2060\ufeff]*"""  # blanks and invisible characters a reader may trim
    r"""[=+\-@|]"""
)
_TRIGGER = re.compile(r"[=+\-@|\t\r\n]")
# Rows read ahead to size the columns of a workbook before its first row is written.
WIDTH_SAMPLE_ROWS = 200
MAX_COLUMN_WIDTH = 60
CSV_CHUNK_ROWS = 500


def person_name(first: str | None, last: str | None, username: str | None) -> str:
    """A person as User.__str__ shows them (full name, else username), from plain values() columns."""
    return f"{first or ''} {last or ''}".strip() or (username or "")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read some part of `text` as a formula or command."""
    if text.isascii():
        # Most text holds none of these at all: one scan for them is far cheaper than the full pattern.
        if _TRIGGER.search(text) is None:
            return False
    else:
        text = unicodedata.normalize("NFKC", text)
    return _DANGER.search(text) is not None


def neutralise(cell: Cell) -> Cell:
    """A text cell a spreadsheet shows as text and never evaluates; other types unchanged."""
    if isinstance(cell, str) and is_formula_like(cell):
        return "'" + cell
    return cell


def restore(text: str) -> str:
    """`neutralise` undone: the apostrophe is dropped only where our export would have added it."""
    if text.startswith("'") and is_formula_like(text[1:]):
        return text[1:]
    return text


# --- CSV ------------------------------------------------------------------------------------------


def _csv_cell(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return neutralise(cell)
    if isinstance(cell, datetime.datetime):
        if timezone.is_aware(cell):
            cell = timezone.localtime(cell)
        return cell.strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, datetime.date):
        return cell.isoformat()
    if isinstance(cell, Decimal | int | float):
        return str(cell)
    return neutralise(str(cell))


class _Echo:
    """A file-like object whose write() returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Row]) -> Iterator[str]:
    """Rows of cells as CSV text in chunks, every cell quoted, after a byte-order mark (Excel then reads UTF-8)."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield "\ufeff"
    rows = iter(rows)  # chunks are taken from one iterator
    while chunk := list(itertools.islice(rows, CSV_CHUNK_ROWS)):
        yield "".join(writer.writerow([_csv_cell(cell) for cell in row]) for row in chunk)


def csv_text(rows: Iterable[Row]) -> str:
    """Rows of cells as one CSV text (small files, e.g. templates and error reports)."""
    return "".join(csv_lines(rows))


# --- Excel ----------------------------------------------------------------------------------------


def _xlsx_value(cell: Cell) -> Cell:
    """The value openpyxl writes: text guarded and cleaned, local times without a zone, numbers and dates as such."""
    if isinstance(cell, str):
        text = neutralise(ILLEGAL_CHARACTERS_RE.sub("", cell))
        # openpyxl would store "#N/A" and the like as an error cell; the guard keeps "=" from being a formula.
        return text if text not in ERROR_CODES else "'" + text
    if isinstance(cell, datetime.datetime) and cell.tzinfo is not None:
        return timezone.localtime(cell).replace(tzinfo=None)  # Excel has no time zones
    return cell


def _shown_width(cell: Cell) -> int:
    if cell is None:
        return 0
    if isinstance(cell, datetime.datetime):
        return 16
    if isinstance(cell, datetime.date):
        return 10
    return max((len(line) for line in str(cell).splitlines()), default=0)


def _style_id(sheet: Any, **style: Any) -> str:
    """The workbook's id for a cell style (registered once), for the `s` attribute of cells."""
    cell = WriteOnlyCell(sheet)
    for name, value in style.items():
        setattr(cell, name, value)
    return str(cell.style_id)


class _RowWriter:
    """Writes a row of plain values as ready-made XML text, escaped, straight into the sheet's file.

    openpyxl's write-only sheet makes a Cell per value and writes each through nested XML context
    managers (tens of microseconds per cell): at 10,000 rows that made the Excel download many times
    slower than the CSV. The sheet still comes from openpyxl's write-only mode (layout, styles,
    workbook parts and everything around the rows); only each <row> is written here, as text.
    Hooks `_values_to_row`, `_writer` and `write_row` (openpyxl 3.1, pinned below 4 in pyproject).
    """

    def __init__(self, sheet: Any, *, bold_header: bool) -> None:
        self.epoch = sheet.parent.epoch
        self.dates = _style_id(sheet, number_format="yyyy-mm-dd")
        self.datetimes = _style_id(sheet, number_format="yyyy-mm-dd hh:mm")
        self.bold = _style_id(sheet, font=Font(bold=True)) if bold_header else None
        self.letters = [get_column_letter(index) for index in range(1, 16385)]
        self.output: _SheetOutput | None = None  # with lxml: the sheet's writer, set by _write_sheet

    def write_row(self, xf: Any, values: Row, row_index: int) -> None:
        suffix = str(row_index)
        header = f' s="{self.bold}"' if row_index == 1 and self.bold is not None else ""
        parts = [f'<row r="{suffix}">']
        for letter, value in zip(self.letters, values, strict=False):
            if value is None:
                continue
            if isinstance(value, str):
                space = ' xml:space="preserve"' if value != value.strip() else ""
                text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                parts.append(f'<c r="{letter}{suffix}" t="inlineStr"{header}><is><t{space}>{text}</t></is></c>')
            elif isinstance(value, bool):
                parts.append(f'<c r="{letter}{suffix}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float | Decimal):
                parts.append(f'<c r="{letter}{suffix}" t="n"><v>{value}</v></c>')
            elif isinstance(value, datetime.date):
                style = self.datetimes if isinstance(value, datetime.datetime) else self.dates
                parts.append(f'<c r="{letter}{suffix}" t="n" s="{style}"><v>{to_excel(value, self.epoch)!r}</v></c>')
            else:
                raise TypeError(f"A spreadsheet cell cannot hold {type(value).__name__}.")
        parts.append("</row>")
        row = "".join(parts)
        if LXML:
            assert self.output is not None
            self.output.write_raw(xf, row.encode())
        else:  # the standard library's writer cannot share its file: parse the row into one element
            xf.write(fromstring(f'<sheetData xmlns="{SHEET_MAIN_NS}">{row}</sheetData>')[0])


class _SheetOutput(WorksheetWriter):
    """openpyxl's worksheet writer on a file we hold, so rows can be written as ready-made XML between its parts."""

    def get_stream(self) -> Generator[Any, bool | None, None]:
        # openpyxl gives its writer a temporary file's name (`out`).
        with (
            open(cast(str, self.out), "wb") as self.file,
            xmlfile(self.file) as xf,
            xf.element("worksheet", xmlns=SHEET_MAIN_NS),
        ):
            try:
                while True:
                    element = yield
                    if element is True:
                        yield xf
                    elif element is not None:
                        xf.write(element)
            except GeneratorExit:
                pass

    def write_raw(self, xf: Any, data: bytes) -> None:
        xf.flush()  # what the XML writer holds goes first
        self.file.write(data)


def _write_sheet(workbook: WorkbookType, title: str, rows: Iterable[Row]) -> None:
    """One write-only sheet: bold header frozen with an autofilter, columns sized to the first rows read."""
    sheet = workbook.create_sheet(title=title[:31])
    rows = iter(rows)
    header = next(rows, None)
    if header is None:
        return
    header = [_xlsx_value(cell) for cell in header]
    ahead = [[_xlsx_value(cell) for cell in row] for row in itertools.islice(rows, WIDTH_SAMPLE_ROWS)]
    # Write-only sheets take their layout before the first row: widths from the header and the rows read ahead.
    for index, heading in enumerate(header, start=1):
        width = max([_shown_width(heading), *(_shown_width(row[index - 1]) for row in ahead if len(row) >= index)])
        sheet.column_dimensions[get_column_letter(index)].width = min(width + 2, MAX_COLUMN_WIDTH)
    sheet.freeze_panes = "A2"
    writer = _RowWriter(sheet, bold_header=True)
    sheet._values_to_row = lambda values, row_index: values  # plain values go to _RowWriter, no Cell objects
    if LXML:
        sheet._writer = _SheetOutput(sheet)
        sheet._writer.write_top()
    else:
        sheet._get_writer()
    sheet._writer.write_row = writer.write_row
    writer.output = sheet._writer
    sheet.append(header)
    count = 1
    for values in ahead:
        sheet.append(values)
        count += 1
    for row in rows:
        sheet.append([_xlsx_value(cell) for cell in row])
        count += 1
    # The filter is written after the rows, so its range can cover every row written.
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{count}"


def xlsx_file(sheets: Iterable[Sheet]) -> IO[bytes]:
    """`sheets` is an iterable of (title, rows), the first row of each its header: the workbook in a temporary file."""
    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        _write_sheet(workbook, title, rows)
    output = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response that streams it)
    workbook.save(output)
    output.seek(0)
    return output


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    with xlsx_file(sheets) as output:
        return output.read()


# --- responses ------------------------------------------------------------------------------------


def _download(response: _Response, filename: str) -> _Response:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Private data: no shared cache, browser cache or proxy may keep a copy.
    patch_cache_control(response, no_store=True)
    return response


def upload_stem(filename: str) -> str:
    """An uploaded file's name without its extension, reduced to characters safe in a download's header."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", filename.rsplit(".", 1)[0])[:50]


def csv_response(rows: Iterable[Row], filename: str) -> StreamingHttpResponse:
    """Rows (the first is the header) streamed as a CSV download; the access log gets the rows sent."""
    counter = RowCounter(rows)
    response = StreamingHttpResponse(csv_lines(counter), content_type="text/csv; charset=utf-8")
    return mark_download(_download(response, filename), what=filename, counters=[counter])


def xlsx_response(sheets: Iterable[Sheet], filename: str) -> FileResponse:
    """Sheets of rows as an Excel download, written in write-only mode and streamed from a temporary file."""
    counters: list[RowCounter[Row]] = []

    def counted(sheets: Iterable[Sheet]) -> Iterator[Sheet]:
        for title, rows in sheets:
            counters.append(RowCounter(rows))
            yield title, counters[-1]

    response = FileResponse(xlsx_file(counted(sheets)), content_type=XLSX_TYPE)
    return mark_download(_download(response, filename), what=filename, counters=counters)


# --- reading uploads ------------------------------------------------------------------------------

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y")


def heading(text: Cell) -> str:
    """A column heading as the importers match it: lower case, single spaces, "_" and "-" as spaces."""
    return " ".join(str(text or "").strip().lower().replace("_", " ").replace("-", " ").split())


def cell_text(cell: Cell) -> str:
    """A cell as text; a leading apostrophe that our export added (`neutralise`) is dropped again."""
    if cell is None:
        return ""
    if isinstance(cell, datetime.datetime):
        return cell.date().isoformat() if cell.time() == datetime.time() else cell.isoformat(sep=" ")
    if isinstance(cell, datetime.date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return restore(str(cell).strip())


def _csv_rows(content: bytes, encoding: str) -> list[list[str]]:
    """Up to MAX_ROWS + 1 records of MAX_COLUMNS cells, decoded as the file is read (never the whole text at once).

    Blank records are kept (as empty lists) so that row numbers match the spreadsheet's, and they
    count towards the cap: 10 MB of newlines stops after MAX_ROWS + 1 records instead of building
    ten million lists.
    """
    stream = io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="")
    first_line = stream.readline()
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    stream.seek(0)
    rows: list[list[str]] = []
    for record in csv.reader(stream, delimiter=delimiter):
        rows.append(record[:MAX_COLUMNS])
        if len(rows) > MAX_ROWS + 1:
            break
    return rows


def read_table(filename: str, content: bytes) -> tuple[list[list[Cell]], str | None]:
    """(rows as lists of cells, file error or None). Rows include the headings; reading stops past the cap."""
    name = filename.lower()
    if name.endswith(".csv"):
        if b"\x00" in content:
            return [], "The file has NUL characters, so it is not a CSV text file: save it as CSV UTF-8."
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                return _csv_rows(content, encoding), None
            except UnicodeDecodeError:
                continue
            except csv.Error as error:
                return [], f"The file is not valid CSV: {error}."
        return [], "The file could not be read as text: save it as CSV UTF-8."
    if name.endswith((".xlsx", ".xlsm")):
        # In a memory- and time-limited child process, after checking what the archive unpacks to.
        return read_xlsx(content)
    if name.endswith(".xls"):
        return [], "Old Excel files (.xls) cannot be read: save it as .xlsx or CSV."
    return [], "The file must be a CSV (.csv) or Excel (.xlsx) file."


def read_headed_table(
    filename: str, content: bytes, columns: Iterable[str]
) -> tuple[list[list[Cell]], dict[str, int], list[str], str | None]:
    """(rows below the heading row, {column: index}, [headings ignored], file error or None) of an upload.

    The first row names the columns, in any order and case (`heading`); the first of `columns` each
    heading names counts, any other heading is listed as ignored. The imports check what they require.
    """
    table, problem = read_table(filename, content)
    if problem:
        return [], {}, [], problem
    if not table:
        return [], {}, [], "The file is empty."
    found: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(table[0]):
        name = heading(cell)
        if name in columns and name not in found:
            found[name] = index
        elif name:
            ignored.append(cell_text(cell))
    return table[1:], found, ignored, None


def parse_date(cell: Cell) -> tuple[datetime.date | None, str | None]:
    """(date, None) or (None, a message): Excel dates as they are, text in one of DATE_FORMATS."""
    if isinstance(cell, datetime.datetime):
        return cell.date(), None
    if isinstance(cell, datetime.date):
        return cell, None
    text = cell_text(cell)
    if not text:
        return None, "Enter a date."
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit():
        # YYYY-MM-DD, the commonest form, without strptime's cost (a 5,000-row file has 10,000 dates).
        try:
            return datetime.date.fromisoformat(text), None
        except ValueError:
            return None, f"“{text}” is not a date: use YYYY-MM-DD or DD/MM/YYYY."
    for date_format in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, date_format).date(), None
        except ValueError:
            continue
    return None, f"“{text}” is not a date: use YYYY-MM-DD or DD/MM/YYYY."
