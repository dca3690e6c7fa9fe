"""Read the first sheet of an untrusted .xlsx in a child process that cannot take the web worker down.

An .xlsx is a zip of XML files, so a 100 KB upload can unpack to gigabytes, declare nested XML
entities, hold one 400 MB cell or millions of cells in a row. Three layers keep that harmless:

1. Before openpyxl sees the file, every member of the archive is streamed (never unpacked whole)
   through a DTD-refusing XML parser (defusedxml), counting its real unpacked bytes, its cells per
   row, its shared strings and the length of each text; the first limit passed stops the scan.
2. openpyxl then reads the sheet in read-only (streaming) mode, with defusedxml installed (openpyxl
   uses it when present), keeping at most MAX_ROWS + 1 rows of MAX_COLUMNS cells.
3. Both run in a separate Python process with its address space and CPU time capped (RLIMIT_AS,
   RLIMIT_CPU) and a wall-clock timeout: a runaway ends the child, never the web or Celery worker.

This module imports nothing from Django or the project: the child starts in a fraction of a second.
The parent calls read_xlsx(content) -> (rows, problem); the child runs this file as a script in
isolated mode (`python -I tracker/sheet_reader.py`), so it loads neither the `tracker` package (whose
__init__ starts the Celery app) nor anything from the environment. Every upload (measurements, plans)
is read through here and tracker.spreadsheets.read_table.
"""

import datetime
import json
import os
import resource
import subprocess  # nosec B404
import sys
import zipfile
from io import BytesIO
from typing import IO, Any

MAX_ROWS = 50_000
MAX_COLUMNS = 50
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # all members of the archive together, as really unpacked
MAX_MEMBERS = 1_000
MAX_CELLS_PER_ROW = 16_384  # Excel's own column limit
MAX_CELLS = 1_000_000  # 50,000 rows of 20 columns
MAX_SHARED_STRINGS = MAX_CELLS
MAX_CELL_CHARACTERS = 32_767  # Excel's own limit for one cell
CHILD_MEMORY_BYTES = 1024 * 1024 * 1024
# Under gunicorn's default 30-second worker timeout, so the web worker always lives to answer.
CHILD_CPU_SECONDS = 25
CHILD_WALL_SECONDS = 28
FORGET_EVERY = 10_000  # scanned elements between two clear-outs of their container

NOT_XLSX = "The file could not be read as an Excel workbook (.xlsx)."


class Refused(Exception):
    """The file passes a limit: the message names it and is shown to the user as it is."""


def _mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


class _CountingStream:
    """A zip member as a file for the XML parser, refusing once the archive's unpacked total passes the limit."""

    def __init__(self, member: IO[bytes], budget: dict[str, int]) -> None:
        self.member = member
        self.budget = budget

    def read(self, size: int | None = -1) -> bytes:
        chunk = self.member.read(65536 if size is None or size < 0 else min(size, 65536))
        self.budget["left"] -= len(chunk)
        if self.budget["left"] < 0:
            raise Refused(
                f"The workbook unpacks to more than {_mb(MAX_UNPACKED_BYTES)}: the import reads at most that."
            )
        return chunk


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def scan_archive(content: bytes) -> None:
    """Refuse (raise Refused) a workbook that passes any limit; read nothing into memory whole."""
    # Imported in the child once main() has capped its memory, like openpyxl below: a child too small even
    # to load its parsers is "too big", not "not a workbook"; and the web process, which imports this
    # module only to start the child, never loads them from here.
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse  # see above

    try:
        archive = zipfile.ZipFile(BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as error:
        raise Refused(NOT_XLSX) from error
    if len(members) > MAX_MEMBERS:
        raise Refused(f"The workbook holds more than {MAX_MEMBERS:,} parts: the import reads at most that.")
    declared = sum(member.file_size for member in members)
    if declared > MAX_UNPACKED_BYTES:
        raise Refused(f"The workbook unpacks to more than {_mb(MAX_UNPACKED_BYTES)}: the import reads at most that.")
    budget = {"left": MAX_UNPACKED_BYTES}
    cells = shared = 0
    for member in members:
        name = member.filename
        try:
            with archive.open(member) as stream:
                source = _CountingStream(stream, budget)
                if not name.endswith((".xml", ".rels", ".vml")):
                    while source.read():
                        pass
                    continue
                in_row = seen = 0
                container = None
                for event, element in iterparse(source, events=("start", "end"), forbid_dtd=True):
                    tag = _local(element.tag)
                    if event == "start":
                        if tag in ("sheetData", "sst"):
                            container = element
                        continue
                    seen += 1
                    if container is not None and seen % FORGET_EVERY == 0:
                        container.clear()  # cleared rows and texts would still hold memory as empty elements
                    if tag == "c":
                        in_row += 1
                        cells += 1
                        if in_row > MAX_CELLS_PER_ROW:
                            raise Refused(
                                f"A row of the workbook has more than {MAX_CELLS_PER_ROW:,} cells: "
                                "the import reads at most that."
                            )
                        if cells > MAX_CELLS:
                            raise Refused(
                                f"The workbook has more than {MAX_CELLS:,} cells: the import reads at most that."
                            )
                        element.clear()
                    elif tag == "row":
                        in_row = 0
                        element.clear()
                    elif tag == "si":
                        shared += 1
                        if shared > MAX_SHARED_STRINGS:
                            raise Refused(
                                f"The workbook has more than {MAX_SHARED_STRINGS:,} different texts: "
                                "the import reads at most that."
                            )
                        element.clear()
                    elif tag in ("t", "v", "f", "is") and element.text and len(element.text) > MAX_CELL_CHARACTERS:
                        raise Refused(
                            f"A cell of the workbook holds more than {MAX_CELL_CHARACTERS:,} characters "
                            "(Excel's own limit): the import reads at most that."
                        )
        except (Refused, MemoryError):
            raise
        except DefusedXmlException as error:
            raise Refused(
                "The workbook declares XML entities or a document type, which Excel never writes: it was not read."
            ) from error
        except Exception as error:  # any other damage to an untrusted file is the same answer
            raise Refused(NOT_XLSX) from error


def _cell(value: Any) -> Any:
    """A cell as JSON: dates and times tagged so the parent gets the same Python types back."""
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    if isinstance(value, datetime.time | datetime.timedelta):
        return str(value)
    return value


def _uncell(value: Any) -> Any:
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.datetime.fromisoformat(value["datetime"])
        return datetime.date.fromisoformat(value["date"])
    return value


def read_in_child(content: bytes) -> dict[str, Any]:
    """What the child does: scan, then stream the first sheet's rows. Returns the JSON-able answer."""
    try:
        scan_archive(content)
    except Refused as refusal:
        return {"problem": str(refusal)}
    # Only once the scan has passed: a refused file is answered without loading openpyxl (0.1 s); and under
    # the child's memory cap, as above.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = []
        # One row past the limit is kept so that the caller can say the file has too many.
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            cells = [_cell(value) for value in row]
            while cells and cells[-1] is None:  # openpyxl pads every row to max_col
                cells.pop()
            rows.append(cells)
            if len(rows) > MAX_ROWS + 1:
                break
        workbook.close()
    except MemoryError:
        raise
    except Exception:  # any damage to an untrusted file is the same answer to the user
        return {"problem": NOT_XLSX}
    return {"rows": rows}


def _peak_kb() -> int:
    """This process's peak resident memory. Not ru_maxrss: on Linux it keeps the forking parent's peak across exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    memory, cpu = (int(limit) for limit in sys.argv[1:3])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    content = sys.stdin.buffer.read()
    try:
        answer = read_in_child(content)
    except MemoryError:
        answer = {"problem": TOO_BIG}
    answer["peak_kb"] = _peak_kb()
    sys.stdout.write(json.dumps(answer))


TOO_BIG = (
    f"The workbook needs more than {_mb(CHILD_MEMORY_BYTES)} of memory or {CHILD_CPU_SECONDS} seconds to read: "
    "split it or save it as CSV."
)


def run_child(content: bytes) -> dict[str, Any]:
    """The child's answer as a dict (rows or problem, and peak_kb); a killed or stuck child is a refusal."""
    # The child needs none of the application's settings or secrets: a minimal environment, and
    # isolated mode (-I) keeps this file's folder and PYTHON* variables off its import path.
    environment = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
    try:
        # Fixed argument list: this interpreter and this file; the upload goes in on stdin.
        finished = subprocess.run(  # noqa: S603  # nosec B603
            [sys.executable, "-I", os.path.abspath(__file__), str(CHILD_MEMORY_BYTES), str(CHILD_CPU_SECONDS)],
            input=content,
            capture_output=True,
            timeout=CHILD_WALL_SECONDS,
            env=environment,
            cwd=os.path.dirname(os.path.abspath(__file__)),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"problem": TOO_BIG}
    if finished.returncode != 0:
        return {"problem": TOO_BIG}
    try:
        return json.loads(finished.stdout)
    except ValueError:
        return {"problem": TOO_BIG}


def read_xlsx(content: bytes) -> tuple[list[list[Any]], str | None]:
    """(rows of cells, None) or ([], a message naming the limit the file passed)."""
    answer = run_child(content)
    if "problem" in answer:
        return [], answer["problem"]
    return [[_uncell(value) for value in row] for row in answer["rows"]], None


if __name__ == "__main__":
    main()
