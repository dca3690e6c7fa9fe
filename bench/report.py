"""`python -m bench.report`: docs/performance.md made from bench/RESULTS.md and bench/performance_template.md.

`make bench` (bench.run) runs it after writing RESULTS.md, so the page never holds a figure copied by
hand: every figure in it is a placeholder in the template, filled from RESULTS.md's table.

Placeholders, each `[[...]]`, name a row of RESULTS.md's table by its exact "Figure" text:

    [[Dashboard p95 / raw SQL p95]]          the row's Measured cell, e.g. 0.445x
    [[Register under load (wrk)|value]]      the same without its unit, e.g. 269.3
    [[SQL queries: register ...|first]]      the first of its values, e.g. 8 of "8 / 8", 1.20x of "1.20x; 0.78x"
    [[target:Dashboard p95 / raw SQL p95]]   its Target cell, e.g. <= 1.2x
    [[met:Row A & Row B]]                    yes when every row named met its target, else **no**
    [[@measured]]                            when the run started, e.g. 2 December 2026, 10:09 UTC
    [[@about]]                               RESULTS.md's list of the machine, the data and the conditions
    [[@notes-for 2026-12-02 10:09]]          nothing for that run; for any other, a warning that the notes
                                             around it were written for that run, not the one in the table

A placeholder naming no row is an error (MissingFigures), so a renamed figure cannot leave a stale page.
`--check` only compares, and exits 1 when docs/performance.md is not what the generator makes.
"""

import argparse
import dataclasses
import datetime
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
TEMPLATE = ROOT / "bench" / "performance_template.md"
PAGE = ROOT / "docs" / "performance.md"
NOTICE = (
    "<!-- Made by `python -m bench.report` (run by `make bench`) from bench/RESULTS.md and "
    "bench/performance_template.md: edit those, not this file. -->"
)
PLACEHOLDER = re.compile(r"\[\[(.+?)\]\]")
MEASURED_AT = re.compile(r"^Measured (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", re.MULTILINE)


class MissingFigures(Exception):
    """The template names figures that RESULTS.md does not have (a renamed figure, or a partial run)."""


@dataclasses.dataclass
class Figure:
    measured: str
    target: str
    met: str  # "yes", "**no**" or "" (no target)


@dataclasses.dataclass
class Results:
    measured_at: datetime.datetime
    about: list  # RESULTS.md's bullet list before the table, each item as one line
    figures: dict  # figure text -> Figure


def parse(text):
    """RESULTS.md as written by bench.run.write_results: the date, the list about the run, the table."""
    found = MEASURED_AT.search(text)
    if not found:
        raise MissingFigures("RESULTS.md does not say when it was measured ('Measured YYYY-MM-DD HH:MM UTC').")
    about, figures = [], {}
    for line in text.split("\n## ", 1)[0].splitlines():
        if line.startswith("- "):
            about.append(line[2:].strip())
        elif line.startswith("  ") and about:  # a list item continued on the next line
            about[-1] += " " + line.strip()
        elif line.startswith("| ") and not line.startswith(("| Figure ", "| ---")):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) == 4:
                figures[cells[0]] = Figure(*cells[1:])
    return Results(datetime.datetime.strptime(found.group(1), "%Y-%m-%d %H:%M"), about, figures)


def _value(measured):
    """'269.3 req/s' -> '269.3'; '8 ms' -> '8'; '0.445x' stays."""
    return re.sub(r"^([\d.,]+)\s+\D.*$", r"\1", measured)


def render(results_text, template_text):
    """The page: the template with every placeholder filled from RESULTS.md; MissingFigures names the unknown."""
    results = parse(results_text)
    missing = []

    def figure(name):
        if name not in results.figures:
            missing.append(name)
            return None
        return results.figures[name]

    def fill(match):
        spec = match.group(1)
        if spec == "@measured":
            when = results.measured_at
            return f"{when.day} {when:%B %Y}, {when:%H:%M} UTC"
        if spec == "@about":
            return "\n".join(f"- {item}" for item in results.about)
        if spec.startswith("@notes-for "):
            written_for = datetime.datetime.strptime(spec.removeprefix("@notes-for "), "%Y-%m-%d %H:%M")
            if written_for == results.measured_at:
                return ""
            return (
                f"*These notes were written for the run of {written_for.day} {written_for:%B %Y}, "
                f"{written_for:%H:%M} UTC, not the one in the table above: read them against its figures.*"
            )
        if spec.startswith("met:"):
            rows = [figure(name.strip()) for name in spec[4:].split(" & ")]
            if None in rows:
                return ""
            if any(row.met == "" for row in rows):
                missing.append(f"{spec} (a figure without a target)")
                return ""
            return "yes" if all(row.met == "yes" for row in rows) else "**no**"
        if spec.startswith("target:"):
            row = figure(spec[7:])
            return row.target if row else ""
        name, _, shape = spec.partition("|")
        row = figure(name)
        if row is None:
            return ""
        if shape == "value":
            return _value(row.measured)
        if shape == "first":
            return re.split(r" / |; ", row.measured)[0]
        if shape:
            missing.append(f"{spec} (no such form: {shape})")
        return row.measured

    # A placeholder that fills to nothing on a line of its own leaves no gap behind.
    body = re.sub(r"\n{3,}", "\n\n", PLACEHOLDER.sub(fill, template_text))
    if missing:
        raise MissingFigures("bench/RESULTS.md has no figure named: " + "; ".join(dict.fromkeys(missing)))
    title, _, rest = body.partition("\n")
    return f"{title}\n\n{NOTICE}\n{rest}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Compare only; exit 1 if the page is out of date.")
    args = parser.parse_args(argv)
    page = render(RESULTS.read_text(), TEMPLATE.read_text())
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != page:
            print(f"{PAGE.relative_to(ROOT)} is not what `python -m bench.report` makes from RESULTS.md.")
            return 1
        print(f"{PAGE.relative_to(ROOT)} is up to date.")
        return 0
    PAGE.write_text(page)
    print(f"Written {PAGE.relative_to(ROOT)} from {RESULTS.relative_to(ROOT)}.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MissingFigures as missing:
        sys.exit(str(missing))
