"""One way to import a file, for every import: store the upload, preview every row, confirm (docs/layout.md).

The plan import (plan_imports) and the measurements import (indicators) plug into it:
- the upload model subclasses StoredUpload: the file's bytes are kept with a token, not re-posted, so
  the confirmation checks and writes exactly the file that was previewed, on whichever server answers;
  only its uploader sees or confirms it, and only once; unconfirmed uploads are deleted a day later;
- the reader fills a Preview (rows with their problems, the file's problems) through read_rows, the
  same checks of the headings and the size for every import;
- the services call upload_store and upload_confirm, giving the reader and the writer; a refusal is an
  ImportRefused whose message says what happened, and nothing is written;
- the pages subclass ImportUploadView and ImportPages, and their templates extend
  tracker/imports/_upload.html and tracker/imports/_preview.html (the error summary, the summary
  list, the rows table).
"""

import datetime
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import FormView

from .forms import apply_errors
from .permissions import SECRETARIAT, RoleRequiredMixin, role_required
from .spreadsheets import cell_text, csv_response, read_headed_table, upload_stem, xlsx_response

# Unconfirmed uploads older than this are deleted when someone uploads another file.
UPLOAD_KEEP = datetime.timedelta(days=1)
# The preview page shows at most this many rows (50,000 error rows made a 43 MB page); the error report lists all.
PREVIEW_ROWS_SHOWN = 100

Problem = tuple[str, str]  # (column, message)


# --- the stored upload ------------------------------------------------------------------------------------


class StoredUpload(models.Model):
    """An uploaded file, kept between its preview and its confirmation (see the module's docstring).

    A subclass declares `uploaded_by` again with its own related_name, and names its preview page.
    """

    token = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    rows_written = models.PositiveIntegerField(default=0)

    preview_url_name: ClassVar[str]  # the URL name of the preview page, which takes the token

    class Meta:
        abstract = True
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%d %b %Y %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse(self.preview_url_name, kwargs={"token": self.token})


UploadT = TypeVar("UploadT", bound=StoredUpload)


# --- what the reader finds --------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    """A row of the file as the preview shows it: numbered as a spreadsheet shows it (the headings are row 1)."""

    number: int
    cells: dict[str, str]
    errors: list[Problem] = field(default_factory=list)

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, message))


@dataclass
class Preview:
    """Every row of a file with its problems, and the file's own problems; nothing written."""

    filename: str
    rows: list[Any] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def checked(self) -> list[tuple[Any, list[Problem]]]:
        """[(row, its problems)] for every row."""
        return [(row, row.errors) for row in self.rows]

    def problems(self) -> list[tuple[Any, list[Problem]]]:
        """[(row, its problems)] for the rows with problems."""
        return [(row, errors) for row, errors in self.checked() if errors]

    def blocking(self) -> list[tuple[Any, list[Problem]]]:
        """The rows' problems the file itself must correct (an import may let the preview's form settle others)."""
        return self.problems()

    @property
    def error_count(self) -> int:
        return sum(len(errors) for _, errors in self.problems())

    @property
    def can_confirm(self) -> bool:
        """Nothing the file must correct: the preview offers the confirmation."""
        return not self.file_errors and bool(self.rows) and not any(row.errors for row in self.rows)

    @property
    def is_valid(self) -> bool:
        return self.can_confirm and not self.problems()


PreviewT = TypeVar("PreviewT", bound=Preview)


def read_rows(
    preview: Preview,
    content: bytes,
    *,
    columns: Sequence[str],
    required: Sequence[str],
    expected: Sequence[str],
    max_rows: int,
) -> list[tuple[int, dict[str, Any]]]:
    """(row number, {column: cell}) for each row of the file that is not blank, padded to every column read.

    The headings name `columns` (tracker.spreadsheets.read_headed_table: the same limits and refusals of
    hostile files for every import). A file without the `required` columns, or with more than `max_rows`
    rows, gets one problem in `preview.file_errors` and no rows; `expected` are the columns its message names.
    """
    rows, found, preview.ignored_columns, problem = read_headed_table(preview.filename, content, columns)
    if problem:
        preview.file_errors.append(problem)
        return []
    missing = [name for name in required if name not in found]
    if missing:
        preview.file_errors.append(
            f"The first row must name the columns; missing: {', '.join(missing)}. Expected: {', '.join(expected)}."
        )
        return []
    if len(rows) > max_rows:
        preview.file_errors.append(f"The file has more than {max_rows:,} rows: import at most {max_rows:,} at a time.")
        return []
    width = max(found.values()) + 1  # every column read is in each row, padded with blanks
    read = []
    for offset, raw in enumerate(rows):
        raw = list(raw)
        if not any(cell_text(cell) for cell in raw):
            continue  # a blank row; text in an ignored column alone still makes a row (with problems)
        raw += [None] * (width - len(raw))
        read.append((offset + 2, {name: raw[index] for name, index in found.items()}))
    return read


# --- refusals ---------------------------------------------------------------------------------------------


class ImportRefused(Exception):
    """An import refused: nothing was written, and the message says why to the person who tried."""


class ImportNotValid(ImportRefused):
    """The file has problems (or the data changed since the preview): its preview says which."""

    def __init__(self, preview: Preview) -> None:
        super().__init__("The file has problems; nothing was written.")
        self.preview = preview


class ImportAlreadyConfirmed(ImportRefused):
    """This upload was confirmed before: its rows are already written."""

    def __init__(self, upload: StoredUpload) -> None:
        super().__init__(f"{upload.filename} was imported already: nothing more was written.")
        self.upload = upload


# --- the services' steps ----------------------------------------------------------------------------------


@transaction.atomic
def upload_store(*, model: type[UploadT], filename: str, content: bytes, by: Any, **fields: Any) -> UploadT:
    """Keep an uploaded file (with the import's own `fields`) until its preview is confirmed.

    Unconfirmed uploads of the same import older than UPLOAD_KEEP are deleted first.
    """
    model._default_manager.filter(confirmed_at__isnull=True, uploaded_at__lt=timezone.now() - UPLOAD_KEEP).delete()
    upload = model(filename=filename[:255], content=content, uploaded_by=by, **fields)
    upload.full_clean(exclude=["content"])
    upload.save()
    return upload


@transaction.atomic
def upload_confirm(
    *,
    upload: UploadT,
    check: Callable[[UploadT], PreviewT],
    write: Callable[[UploadT, PreviewT, datetime.datetime], int],
    races: tuple[type[Exception], ...],
    race_message: str,
    fields: Iterable[str] = (),
) -> UploadT:
    """Check the stored file again and write all of it, or none; returns the upload, confirmed.

    `check` reads the locked upload into a preview; `write` writes a valid one (in a savepoint) and returns
    the rows written; it may set the upload's own `fields`, saved with its confirmation. One of `races`
    raised while writing (the data changed since the check) undoes the writing and refuses the file with
    `race_message`. The upload is locked, so two confirmations cannot both write.
    """
    # Not select_related: PostgreSQL cannot lock the nullable side of an outer join.
    locked = type(upload)._default_manager.select_for_update().get(pk=upload.pk)
    if locked.confirmed_at is not None:
        raise ImportAlreadyConfirmed(locked)
    preview = check(locked)
    if not preview.is_valid:
        raise ImportNotValid(preview)
    now = timezone.now()
    try:
        with transaction.atomic():
            written = write(locked, preview, now)
    except races as error:
        preview.file_errors.append(race_message)
        raise ImportNotValid(preview) from error
    locked.confirmed_at = now
    locked.rows_written = written
    saved = ["confirmed_at", "rows_written", *fields]
    locked.save(update_fields=saved)
    for name in saved:  # the caller's object as the database now has it
        setattr(upload, name, getattr(locked, name))
    return locked


# --- the pages --------------------------------------------------------------------------------------------


def template_response(rows: list[list[Any]], *, fmt: str, name: str, sheet: str) -> HttpResponseBase:
    """A file to fill in for an import, as `name`.csv or `name`.xlsx (a sheet called `sheet`)."""
    if fmt == "csv":
        return csv_response(rows, f"{name}.csv")
    if fmt == "xlsx":
        return xlsx_response([(sheet, rows)], f"{name}.xlsx")
    raise Http404("A template is a csv or xlsx file.")


class ImportUploadView(RoleRequiredMixin, FormView):
    """Upload a file: a valid form stores it (`store`) and leads to its preview; a refused one is a 400."""

    allowed_roles = (SECRETARIAT,)

    def store(self, form: Form) -> StoredUpload:
        raise NotImplementedError

    def form_valid(self, form: Form) -> HttpResponse:
        try:
            upload = self.store(form)
        except ValidationError as error:
            apply_errors(form, error)
            return self.form_invalid(form)
        return redirect(upload.get_absolute_url())

    def form_invalid(self, form: Form) -> HttpResponse:
        # 400, like every other form in the app, so scripts and tests can tell a refusal from a page.
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ImportPages(Generic[UploadT, PreviewT]):
    """The pages of a stored upload: its preview, its error report (CSV) and its confirmation.

    A subclass names the model, the templates and the URL names, reads an upload (`parse`), confirms it
    (`confirm_upload`) and says what the error report lists of a row (`report_cells`). `views()` gives
    the three views, each refusing other HTTP methods first, then other roles.
    """

    model: type[UploadT]
    heading: str = "Check the import"
    preview_template: str
    done_template: str
    url_names: dict[str, str]  # "upload", "preview", "confirm", "errors"
    report_name: str  # the error report is `report_name`-<the file's name>.csv
    report_columns: tuple[str, ...]  # after row, column and problem
    confirmed_message: str  # formatted with rows (written) and filename
    row_headings: tuple[str, ...]  # the rows table's columns after the row's number, the last for its problems
    allowed_roles: tuple[str, ...] = (SECRETARIAT,)

    def queryset(self) -> "models.QuerySet[UploadT]":
        return self.model._default_manager.all()

    def parse(self, upload: UploadT, request: HttpRequest | None = None) -> PreviewT:
        """The upload read again; `request` carries what the preview's form chose, when confirming."""
        raise NotImplementedError

    def confirm_upload(self, request: HttpRequest, upload: UploadT) -> int:
        """Write the upload through the import's service; returns the rows written."""
        raise NotImplementedError

    def report_cells(self, row: Any) -> list[Any]:
        """The cells the error report lists after a row's problem (`report_columns`)."""
        raise NotImplementedError

    def extra_context(self, preview: PreviewT) -> dict[str, Any]:
        return {}

    def own_upload(self, request: HttpRequest, token: uuid.UUID) -> UploadT:
        # Only the person who uploaded a file sees it; anyone else gets the same 404 as for no file at all.
        return get_object_or_404(self.queryset(), pk=token, uploaded_by=request.user)

    def render_preview(
        self, request: HttpRequest, upload: UploadT, preview: PreviewT, status: int = 200
    ) -> HttpResponse:
        only_errors = request.GET.get("show") == "errors"
        problems = preview.problems()
        listed = problems if only_errors else preview.checked()
        context = {
            "upload": upload,
            "preview": preview,
            "import_heading": self.heading,
            "import_urls": self.url_names,
            "error_rows": problems,
            "blocking_rows": preview.blocking(),
            "rows": [row for row, _ in listed],
            "shown_rows": listed[:PREVIEW_ROWS_SHOWN],
            "rows_not_shown": max(len(listed) - PREVIEW_ROWS_SHOWN, 0),
            "only_errors": only_errors,
            "row_headings": self.row_headings,
            **self.extra_context(preview),
        }
        return render(request, self.preview_template, context, status=status)

    def preview(self, request: HttpRequest, token: uuid.UUID) -> HttpResponse:
        upload = self.own_upload(request, token)
        if upload.confirmed_at:
            return render(request, self.done_template, {"upload": upload})
        return self.render_preview(request, upload, self.parse(upload))

    def errors(self, request: HttpRequest, token: uuid.UUID) -> HttpResponseBase:
        """Every problem of a stored upload as CSV: row, column, problem and the row's cells as read."""
        upload = self.own_upload(request, token)
        preview = self.parse(upload)
        blank = [""] * len(self.report_columns)
        rows: list[list[Any]] = [["row", "column", "problem", *self.report_columns]]
        rows += [["", "", error, *blank] for error in preview.file_errors]
        for row, errors in preview.problems():
            cells = self.report_cells(row)
            rows += [[row.number, column, message, *cells] for column, message in errors]
        # The uploader chose the file name: only safe characters go into the header.
        return csv_response(rows, f"{self.report_name}-{upload_stem(upload.filename)}.csv")

    def confirm(self, request: HttpRequest, token: uuid.UUID) -> HttpResponse:
        """Write the file; any problem writes nothing and shows the preview again (400)."""
        upload = self.own_upload(request, token)
        try:
            written = self.confirm_upload(request, upload)
        except ImportAlreadyConfirmed as refused:
            messages.info(request, str(refused))
            return redirect(upload.get_absolute_url())
        except ImportNotValid as refused:
            # Raised by this import's own check (self.parse's reader): its preview is this import's kind.
            return self.render_preview(request, upload, cast(PreviewT, refused.preview), status=400)
        messages.success(request, self.confirmed_message.format(rows=written, filename=upload.filename))
        return redirect(upload.get_absolute_url())

    def views(
        self,
    ) -> tuple[Callable[..., HttpResponseBase], Callable[..., HttpResponseBase], Callable[..., HttpResponseBase]]:
        """(preview, errors, confirm) as views: GET, GET and POST, for `allowed_roles` only."""
        allowed = role_required(*self.allowed_roles)
        return (
            require_GET(allowed(self.preview)),
            require_GET(allowed(self.errors)),
            require_POST(allowed(self.confirm)),
        )
