"""The documentation holds together: its relative links lead somewhere, and its figures come from the bench.

Each page is rendered as Markdown (markdown-it-py, CommonMark with tables), so only real links count
(not text in code); every relative link must name a file that exists and, after `#`, a heading that
the target page has, spelled as GitHub spells its anchors.
"""

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

from bench import report

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Pages other branches of issue 23's round are adding (README and the guides already link to them).
# Remove a name once its page has merged: from then on the link is checked like any other.
ARRIVING: set[str] = set()


def _tokens(path):
    return MarkdownIt("commonmark").enable("table").parse(path.read_text())


def anchors(path):
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped, spaces as hyphens."""
    found, seen = set(), {}
    tokens = _tokens(path)
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type != "heading_open":
            continue
        text = "".join(child.content for child in inline.children if child.type in ("text", "code_inline"))
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(path):
    """Every link and image target in the rendered page."""
    targets = []
    for token in _tokens(path):
        for child in token.children or ():
            if child.type == "link_open":
                targets.append(child.attrs["href"])
            elif child.type == "image":
                targets.append(child.attrs["src"])
    return targets


def broken_links(path):
    problems = []
    for target in links(path):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue  # an outside address
        file = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        name = file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else str(file)
        if not file.exists():
            if name not in ARRIVING:
                problems.append(f"{path.name}: {target} (no such file)")
            continue
        if parts.fragment and file.suffix == ".md" and parts.fragment not in anchors(file):
            problems.append(f"{path.name}: {target} (no heading with that anchor in {name})")
    return problems


def test_anchors_are_spelled_as_github_spells_them(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Plan Tracker\n\n## Your account, password reset and two-step sign-in\n\n"
        "## `send_reminders` and its dry run\n\n## Notes\n\n## Notes\n\n```\n# not a heading\n```\n"
    )
    assert anchors(page) == {
        "plan-tracker",
        "your-account-password-reset-and-two-step-sign-in",
        "send_reminders-and-its-dry-run",
        "notes",
        "notes-1",
    }


def test_a_broken_link_or_anchor_is_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Here\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[fine](other.md#here) [gone](missing.md) [wrong](other.md#there) [self](#page) `[code](nowhere.md)`\n\n"
        "# Page\n\n![shot](missing.png) [outside](https://example.org/x.md)\n"
    )
    assert sorted(broken_links(page)) == [
        "page.md: missing.md (no such file)",
        "page.md: missing.png (no such file)",
        "page.md: other.md#there (no heading with that anchor in " + str(tmp_path / "other.md") + ")",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    assert broken_links(page) == []


def test_every_screenshot_is_shown_on_a_page():
    shown = {Path(target).name for page in PAGES for target in links(page) if target.endswith(".png")}
    screenshots = {path.name for path in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert screenshots - shown == set()


def test_the_performance_page_is_what_the_bench_makes_of_its_results():
    made = report.render(report.RESULTS.read_text(), report.TEMPLATE.read_text())
    assert report.PAGE.read_text() == made, "docs/performance.md is stale or edited by hand: run python -m bench.report"


def test_the_performance_page_has_no_figure_the_results_lack():
    results = report.RESULTS.read_text()
    with pytest.raises(report.MissingFigures, match="No such figure"):
        report.render(results, "# Performance\n\n[[No such figure]]\n")
    renamed = results.replace("| Dashboard p95 / raw SQL p95 |", "| Dashboard p95 against raw SQL |")
    with pytest.raises(report.MissingFigures, match="Dashboard p95 / raw SQL p95"):
        report.render(renamed, report.TEMPLATE.read_text())


def test_the_performance_page_says_when_its_notes_were_written_for_another_run():
    results = report.RESULTS.read_text()
    later = re.sub(r"^Measured \S+ \S+ UTC", "Measured 2027-01-05 09:00 UTC", results, count=1, flags=re.M)
    page = report.render(later, report.TEMPLATE.read_text())
    assert "**5 January 2027, 09:00 UTC**" in page
    assert "These notes were written for the run of" in page
    assert "These notes were written" not in report.render(results, report.TEMPLATE.read_text())
