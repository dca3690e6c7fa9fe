"""The privacy notice and the accessibility statement: pages whose text the secretariat keeps.

Each page shows its newest SitePageVersion, or the text Plan Tracker ships (templates/tracker/site_pages/),
which names the installation's operator (SERVICE_OPERATOR_NAME) and follows its settings. Texts are
Markdown, rendered by markdown-it-py with raw HTML off (a `<script>` shows as text) and only http(s) and
mailto links, with GOV.UK Frontend's classes; headings start at level 2 under the page's own title.
"""

import dataclasses
import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from .models import SitePageVersion, User

Page = SitePageVersion.Page
MAX_TEXT_LENGTH = 50_000
HISTORY_SHOWN = 50
FALLBACK_OPERATOR = "the organisation that runs this installation of Plan Tracker"
# When the shipped accessibility statement was written from the tests it names (see its last section).
STATEMENT_PREPARED = datetime.date(2026, 12, 7)

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")
_CLASSES = {
    "paragraph_open": "govuk-body",
    "bullet_list_open": "govuk-list govuk-list--bullet",
    "ordered_list_open": "govuk-list govuk-list--number",
    "link_open": "govuk-link",
    "blockquote_open": "govuk-inset-text",
    "hr": "govuk-section-break govuk-section-break--m govuk-section-break--visible",
}
_HEADING_CLASSES = {"h2": "govuk-heading-m", "h3": "govuk-heading-s", "h4": "govuk-heading-s"}
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def render_markdown(text: str) -> SafeString:
    """Safe HTML for `text`: no raw HTML, no images, links only to http(s) and mailto addresses."""
    tokens = _markdown.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            # The page's title is its only h1; a text's "#" heading is a section of it.
            token.tag = f"h{min(max(int(token.tag[1]), 2), 4)}"
            if token.type == "heading_open":
                token.attrSet("class", _HEADING_CLASSES[token.tag])
        elif token.type in _CLASSES:
            token.attrSet("class", _CLASSES[token.type])
        for child in token.children or []:
            if child.type == "link_open":
                child.attrSet("class", "govuk-link")
                href = str(child.attrGet("href") or "")
                if not href.startswith(_SAFE_SCHEMES) and not href.startswith(("/", "#")):
                    child.attrSet("href", "#")
    # markdown-it escaped every text and attribute, with raw HTML off.
    return mark_safe(_markdown.renderer.render(tokens, _markdown.options, {}))  # noqa: S308  # nosec B308 B703


def operator_name() -> str:
    """Who runs this installation, as a sentence names it."""
    return settings.SERVICE_OPERATOR_NAME or FALLBACK_OPERATOR


def default_text(page: str) -> str:
    """The text Plan Tracker ships for `page`, filled in with this installation's settings."""
    context = {
        "operator": operator_name(),
        "operator_named": bool(settings.SERVICE_OPERATOR_NAME),
        "contact_email": settings.SERVICE_CONTACT_EMAIL,
        "site_url": settings.SITE_URL,
        "idle_hours": settings.SESSION_IDLE_TIMEOUT // 3600,
        "absolute_hours": settings.SESSION_ABSOLUTE_LIFETIME // 3600,
        "reset_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "sentry": bool(settings.SENTRY_DSN),
        "prepared": STATEMENT_PREPARED,
    }
    return render_to_string(f"tracker/site_pages/{page}.md", context).strip() + "\n"


@dataclasses.dataclass
class Shown:
    """What a page shows: its text, rendered, and the version it comes from (None: never edited)."""

    page: str
    text: str
    html: str
    version: SitePageVersion | None

    @property
    def is_default(self) -> bool:
        return self.version is None or self.version.use_default

    @property
    def title(self) -> str:
        return Page(self.page).label


def page_shown(page: str) -> Shown:
    """The page's current text (one query)."""
    version = SitePageVersion.objects.filter(page=page).select_related("created_by").first()
    text = default_text(page) if version is None or version.use_default else version.text
    return Shown(page=page, text=text, html=render_markdown(text), version=version)


def page_history(page: str) -> list[SitePageVersion]:
    """The page's newest versions with who saved them, newest first (one query), and how many there are."""
    versions = SitePageVersion.objects.filter(page=page).select_related("created_by")
    return list(versions[:HISTORY_SHOWN])


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n"))


class EditConflict(Exception):
    """Someone saved the page after the editor opened it."""

    def __init__(self, version: SitePageVersion | None) -> None:
        super().__init__(version)
        self.version = version


@transaction.atomic
def site_page_save(*, page: str, text: str, by: User, based_on: int) -> SitePageVersion | None:
    """Save a new text for `page`; None when it is the text shown already (nothing is written).

    `based_on` is the id of the version the editor started from (0: the shipped text); a newer one
    saved meanwhile raises EditConflict rather than silently replacing it.
    """
    newest = SitePageVersion.objects.select_for_update().filter(page=page).first()
    if (newest.pk if newest else 0) != based_on:
        raise EditConflict(newest)
    text = _normalised(text)
    if not text:
        raise ValidationError({"text": f"Enter the text of the {Page(page).label.lower()}."})
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationError({"text": f"The text must be at most {MAX_TEXT_LENGTH:,} characters."})
    current = default_text(page) if newest is None or newest.use_default else newest.text
    if text == _normalised(current):
        return None
    version = SitePageVersion(page=page, text=text, created_by=by, created_at=timezone.now())
    version.full_clean()
    version.save()
    return version


@transaction.atomic
def site_page_use_default(*, page: str, by: User) -> SitePageVersion | None:
    """Go back to the shipped text; None when the page shows it already."""
    newest = SitePageVersion.objects.select_for_update().filter(page=page).first()
    if newest is None or newest.use_default:
        return None
    version = SitePageVersion(page=page, use_default=True, created_by=by, created_at=timezone.now())
    version.full_clean()
    version.save()
    return version
