"""Generated malicious workbooks and CSVs for the importer guard (small on disk, huge when unpacked)."""

import io
import zipfile

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
SHARED = "xl/sharedStrings.xml"
MAIN = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _good_workbook():
    workbook = Workbook()
    workbook.active.append(["measure", "period start", "period end", "value"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_members(replacements):
    """A real workbook with some members' content replaced (or added), deflated like Excel does."""
    source = zipfile.ZipFile(io.BytesIO(_good_workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            target.writestr(item.filename, replacements.pop(item.filename, source.read(item.filename)))
        for name, content in replacements.items():
            target.writestr(name, content)
    return out.getvalue()


def sheet(rows_xml):
    return MAIN + b"<sheetData>" + rows_xml + b"</sheetData></worksheet>"


def entity_expansion():
    """A billion laughs: ten levels of ten references each."""
    entities = [b'<!ENTITY e0 "laughs">'] + [
        b'<!ENTITY e%d "%s">' % (level, b"".join(b"&e%d;" % (level - 1) for _ in range(10))) for level in range(1, 11)
    ]
    doctype = b"<!DOCTYPE worksheet [" + b"".join(entities) + b"]>"
    body = sheet(b'<row r="1"><c r="A1" t="inlineStr"><is><t>&e10;</t></is></c></row>')
    return with_members({SHEET: b'<?xml version="1.0"?>' + doctype + body})


def zip_bomb():
    """One inline cell of 80 MB of the same letter: about 80 KB deflated."""
    cell = b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + b"A" * (80 * 1024 * 1024) + b"</t></is></c></row>"
    return with_members({SHEET: sheet(cell)})


def lying_sizes():
    """A zip bomb whose members declare a tiny unpacked size (the central directory is patched)."""
    content = bytearray(zip_bomb())
    archive = zipfile.ZipFile(io.BytesIO(bytes(content)))
    for item in archive.infolist():
        if item.filename == SHEET:
            real = item.file_size.to_bytes(4, "little")
            content = bytearray(bytes(content).replace(real, (1000).to_bytes(4, "little")))
    return bytes(content)


def huge_cell():
    """One shared string of 40,000 characters: over Excel's 32,767, well under the unpacked limit."""
    shared = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        b"<si><t>" + b"x" * 40_000 + b"</t></si></sst>"
    )
    return with_members({SHARED: shared, SHEET: sheet(b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>')})


def wide_row():
    """Three million cells in one row (12 MB unpacked)."""
    return with_members({SHEET: sheet(b'<row r="1">' + b"<c/>" * 3_000_000 + b"</row>")})


def many_cells():
    """25,000 rows of 45 cells: 1.1 million cells, each row within the limits."""
    row = b"<row>" + b"<c/>" * 45 + b"</row>"
    return with_members({SHEET: sheet(row * 25_000)})


def many_shared_strings():
    """1.1 million (empty) shared strings."""
    shared = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b"<si/>" * 1_100_000 + b"</sst>"
    )
    return with_members({SHARED: shared})


def many_members():
    return with_members({f"xl/media/image{i}.bin": b"" for i in range(1_200)})


def not_a_zip():
    return b"PK\x03\x04" + b"\x00" * 2000


HOSTILE_WORKBOOKS = {
    "entity expansion": (entity_expansion, "declares XML entities"),
    "zip bomb": (zip_bomb, "unpacks to more than 50 MB"),
    "lying sizes": (lying_sizes, "could not be read as an Excel workbook"),
    "huge cell": (huge_cell, "more than 32,767 characters"),
    "wide row": (wide_row, "has more than 16,384 cells"),
    "many cells": (many_cells, "more than 1,000,000 cells"),
    "many shared strings": (many_shared_strings, "more than 1,000,000 different texts"),
    "many members": (many_members, "more than 1,000 parts"),
    "not a zip": (not_a_zip, "could not be read as an Excel workbook"),
}

HOSTILE_CSVS = {
    "newlines": (b"measure,period start,period end,value\n" + b"\n" * (10 * 1024 * 1024 - 40), "more than 50,000 rows"),
    "invalid utf-8 and cp1252": (
        b"measure,period start,period end,value\n\x81\x8d\x8f\x90,\xff\xfe",
        "could not be read as text",
    ),
    "utf-16": ("measure,period start,period end,value\n".encode("utf-16"), "NUL characters"),
    "NUL bytes": (b"measure,period start,period end,value\nJoint\x00teams,2024-01-01,2024-12-31,1", "NUL characters"),
    "huge field": (b"measure,period start,period end,value\n" + b"x" * 200_000, "not valid CSV"),
}
