"""A person's data (download, anonymise, what remains to edit), retention holds and the retention schedule.

Secretariat only. Views call the services and render; the download reports itself to the access log.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_celery_beat.models import PeriodicTask

from priorities.models import Action
from tracker.access import Kind, record_access
from tracker.forms import apply_errors
from tracker.models import User
from tracker.paging import page_of
from tracker.permissions import SECRETARIAT, AuthenticatedHttpRequest, role_required
from tracker.personal_data import EXPORT_PARTS

from .exporting import person_data_archive
from .forms import HoldForm, MentionForm
from .mentions import describe, describe_all
from .models import Anonymisation, RemainingMention, RetentionRun
from .retention import schedule
from .services import (
    anonymise_refusal,
    mention_resolve,
    person_anonymise,
    retention_hold_release,
    retention_hold_set,
)

RUNS_SHOWN = 30
RETENTION_TASK = "privacy.tasks.apply_retention"


def _person(user_id: int) -> User:
    return get_object_or_404(User.objects.select_related("organisation"), pk=user_id)


@require_GET
@role_required(SECRETARIAT)
def person_export(request: AuthenticatedHttpRequest, user_id: int) -> FileResponse:
    """Everything held about a person as one zip (JSON and CSV), recorded in the access log."""
    person = _person(user_id)
    archive, rows = person_data_archive(person)
    record_access(request, kind=Kind.PERSON_EXPORT, what="Personal data (JSON and CSV)", rows=rows, subject=person)
    filename = f"personal-data-{person.pk}-{timezone.localdate():%Y-%m-%d}.zip"
    response = FileResponse(archive, content_type="application/zip", as_attachment=True, filename=filename)
    patch_cache_control(response, no_store=True)
    return response


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def person_anonymise_view(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    """GET: what anonymising will do, or why it cannot be done now. POST: do it."""
    person = _person(user_id)
    refusal = anonymise_refusal(person, request.user)
    if request.method == "POST":
        try:
            anonymisation = person_anonymise(person=person, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("person-detail", user_id=person.pk)
        count = anonymisation.mentions.count()
        messages.success(
            request,
            f"They are now {anonymisation.person}."
            + (
                f" {count} text{'s' if count != 1 else ''} may still name them: edit or keep each below."
                if count
                else ""
            ),
        )
        return redirect(anonymisation)
    context = {
        "person": person,
        "refusal": refusal,
        "owned": Action.objects.filter(owner=person).live().count(),
        "parts": EXPORT_PARTS,
    }
    return render(request, "privacy/anonymise.html", context, status=200 if refusal is None else 409)


@require_GET
@role_required(SECRETARIAT)
def anonymised(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    """An anonymisation's summary, and the texts that may still name them, each to edit or keep."""
    anonymisation = get_object_or_404(Anonymisation.objects.select_related("person", "done_by"), person_id=user_id)
    page = page_of(request, anonymisation.mentions.select_related("resolved_by").order_by("outcome", "model", "pk"))
    open_count = anonymisation.mentions.filter(outcome="").count()
    context = {
        "anonymisation": anonymisation,
        "page": page,
        "mentions": describe_all(list(page.object_list)),
        "open_count": open_count,
    }
    return render(request, "privacy/anonymised.html", context)


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def mention_edit(request: AuthenticatedHttpRequest, user_id: int, mention_id: int) -> HttpResponse:
    """One text that may still name an anonymised person: save it edited, or keep it as it is."""
    mention = get_object_or_404(
        RemainingMention.objects.select_related("anonymisation__person", "resolved_by"),
        pk=mention_id,
        anonymisation__person_id=user_id,
    )
    described = describe(mention)
    form = MentionForm(request.POST or None, initial={"text": described.text})
    if request.method == "POST":
        keep = "keep" in request.POST
        if keep or form.is_valid():
            try:
                mention_resolve(mention=mention, by=request.user, text=None if keep else form.cleaned_data["text"])
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"{described.label}: {'kept as it is' if keep else 'saved'}.")
                return redirect(mention.anonymisation)
    status = 400 if request.method == "POST" else 200
    return render(request, "privacy/mention_edit.html", {"mention": described, "form": form}, status=status)


@require_POST
@role_required(SECRETARIAT)
def retention_hold(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    """Hold a person's account (with a reason), or release the hold (`release` in the form)."""
    person = _person(user_id)
    if "release" in request.POST:
        try:
            retention_hold_release(person=person, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"The hold on {person}'s account is released: retention applies to it again.")
        return redirect("person-detail", user_id=person.pk)
    form = HoldForm(request.POST)
    if form.is_valid():
        try:
            retention_hold_set(person=person, reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{person}'s account is held: retention will not anonymise it.")
            return redirect("person-detail", user_id=person.pk)
    return render(request, "privacy/hold.html", {"person": person, "form": form}, status=400)


def _crontab_time(job: PeriodicTask | None) -> str:
    """ "03:30" for a job at one time of day; the crontab's own fields otherwise."""
    if job is None or job.crontab is None:
        return ""
    hour, minute = job.crontab.hour, job.crontab.minute
    if hour.isdigit() and minute.isdigit():
        return f"{int(hour):02d}:{int(minute):02d}"
    return f"hour {hour}, minute {minute}"


@require_GET
@role_required(SECRETARIAT)
def retention(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The retention schedule as set, and what its latest runs removed."""
    runs = RetentionRun.objects.all()[:RUNS_SHOWN]
    # The job's time as beat has it now (the secretariat may change it in the admin).
    job = PeriodicTask.objects.filter(task=RETENTION_TASK).select_related("crontab").first()
    context = {"schedule": schedule(), "runs": runs, "job": job, "job_time": _crontab_time(job)}
    return render(request, "privacy/retention.html", context)
