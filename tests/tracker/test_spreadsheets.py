"""tracker.spreadsheets: the one formula guard and writer behind every CSV and Excel download."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tracker.spreadsheets import csv_text, is_formula_like, neutralise, restore, xlsx_bytes

# Values a spreadsheet could run, from OWASP's CSV injection page and what the security review tried.
HOSTILE = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    "|cmd",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\tplain after a tab",
    "\rplain after a carriage return",
    '=HYPERLINK("http://evil","click")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "a;=1+1",
    "a,=1+1",
    "a\t=1+1",
    "a|=1+1",
    'a"=1+1',
    "a'=1+1",
    "first line\n=1+1",
    "first line\r\n+1",
    "a, -2+3",
    "a; @SUM(A1)",
    " =1+1",
    "\u00a0=1+1",
    "\u3000=1+1",
    "\u200b=1+1",
    "\ufeff=1+1",
    "\uff1d1+1",  # full-width equals
    "\uff0b1",  # full-width plus
    "\uff0d1",  # full-width minus
    "\uff201",  # full-width at
    "\uff5ccmd",  # full-width vertical line
    "\ufe661+1",  # small equals
    "a\uff1b=1+1",  # full-width semicolon
    "a\uff0c=1+1",  # full-width comma
    "\u037e=1+1",  # Greek question mark, which is a semicolon
]
HARMLESS = [
    "plain",
    "5.22 Joint Investigation Teams",
    "Eurojust; Europol; Police forces across the UK",
    "Met on 3 May, agreed next steps",
    "a=b",
    "1+1",
    "email@example.org",
    "x-ray",
    "",
    "Ünïcödé – “quotes” £5",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_every_hostile_value_is_neutralised(value):
    assert is_formula_like(value)
    assert neutralise(value) == "'" + value
    assert restore(neutralise(value)) == value


@pytest.mark.parametrize("value", HARMLESS)
def test_harmless_text_is_left_alone(value):
    assert not is_formula_like(value)
    assert neutralise(value) == value
    assert restore(value) == value


def test_an_apostrophe_the_author_typed_is_kept_on_import():
    assert restore("'tis the season") == "'tis the season"
    assert restore("'") == "'"


def test_numbers_and_dates_are_never_touched():
    for value in (-5, Decimal("-5.00"), -1.5, datetime.date(2024, 1, 1), None):
        assert neutralise(value) == value


def test_every_csv_cell_is_quoted_and_guarded():
    text = csv_text([["name", "n"], *[[value, -5] for value in HOSTILE]])
    assert text.startswith("\ufeff")
    lines = text[1:].split("\r\n")
    assert lines[0] == '"name","n"'
    assert lines[1] == '"\'=1+1","-5"'
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert [row[0] for row in rows[1:]] == ["'" + value for value in HOSTILE]


def test_every_excel_text_cell_is_guarded_and_stays_text():
    content = xlsx_bytes([("Sheet", [["name", "n"], *[[value, -5] for value in HOSTILE], ["#N/A", 1]])])
    sheet = load_workbook(io.BytesIO(content)).active
    # openpyxl drops a leading \r or \n; what matters is that each cell is text starting with the apostrophe.
    for row, value in zip(sheet.iter_rows(min_row=2), HOSTILE, strict=False):
        assert row[0].data_type == "s" and row[0].value.startswith("'"), value
        assert row[1].value == -5 and row[1].data_type == "n"
    assert sheet.cell(row=len(HOSTILE) + 2, column=1).value == "'#N/A"  # text, not an error cell


def test_excel_cells_keep_their_types_and_the_sheet_is_laid_out():
    at = datetime.datetime(2024, 5, 6, 14, 30, tzinfo=datetime.UTC)
    rows = [
        ["Text", "Count", "Amount", "Day", "When", "Empty"],
        ["a control\x07character", 1200, Decimal("1234.50"), datetime.date(2024, 1, 31), at, None],
        ["x" * 100, 3, Decimal("1"), datetime.date(2024, 2, 1), at, None],
    ]
    sheet = load_workbook(io.BytesIO(xlsx_bytes([("A very long sheet title that Excel would refuse", rows)]))).active
    assert sheet.title == "A very long sheet title that Ex"  # Excel's 31 characters
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F3"
    text, count, amount, day, when, empty = sheet[2]
    assert text.value == "a controlcharacter"
    assert count.value == 1200 and count.data_type == "n"
    assert amount.value == 1234.5 and amount.data_type == "n"
    assert day.value == datetime.datetime(2024, 1, 31) and day.is_date and day.number_format == "yyyy-mm-dd"
    assert when.is_date and when.value.tzinfo is None  # local time, as Excel has no time zones
    assert empty.value is None
    widths = [sheet.column_dimensions[letter].width for letter in "ABCDEF"]
    assert widths == [60, 7, 9, 12, 18, 7]  # content or heading plus 2, at most 60
