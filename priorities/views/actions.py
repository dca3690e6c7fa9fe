from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from tracker.caching import cached_fragment, fragment_key, query_vary
from tracker.forms import apply_errors
from tracker.permissions import PARTNER, SECRETARIAT, role_required
from tracker.spreadsheets import csv_response, xlsx_response

from ..filters import ActionFilter
from ..forms import ActionDetailsForm, ProgressUpdateForm, SubmissionForm
from ..models import Action, ActionChange, ActionPartner, ProgressUpdate, Submission
from ..services import StaleActionError, action_record_update, action_update_details
from ..tables import ActionTable

REGISTER_PAGE_SIZE = 50


def _filtered_actions(request):
    """(filterset, the actions it selects) for the request's user; an invalid filter selects nothing, not everything."""
    actions = Action.objects.visible_to(request.user).for_register()
    filterset = ActionFilter(request.GET, queryset=actions, request=request)
    return filterset, (filterset.qs if filterset.is_valid() else actions.none())


def _filtered_table(request):
    return ActionTable(_filtered_actions(request)[1], order_by=request.GET.get("sort") or ("code",))


def _register_table_html(request):
    table = ActionTable(_filtered_actions(request)[1])
    RequestConfig(request, paginate={"per_page": REGISTER_PAGE_SIZE}).configure(table)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"table": table, "export_query": query.urlencode(), "request": request}
    return render_to_string("priorities/includes/register_table.html", context)


def _register_filters_html(request):
    filterset, _ = _filtered_actions(request)
    return render_to_string("priorities/includes/register_filters.html", {"filter": filterset, "request": request})


@require_GET
@login_required
def action_register(request):
    """The action register: filters in the URL, sortable columns, 50 a page, htmx refresh of the table.

    The filter form and the table are cached fragments (tracker/caching.py), rendered again only when
    the data, the day, the audience or the query changes.
    """
    vary = query_vary(request)
    table_html = cached_fragment(fragment_key(request, "register-table", vary), lambda: _register_table_html(request))
    if request.htmx:
        response = HttpResponse(table_html)
    else:
        filters_html = cached_fragment(
            fragment_key(request, "register-filters", vary), lambda: _register_filters_html(request)
        )
        response = render(
            request, "priorities/action_list.html", {"filters_html": filters_html, "table_html": table_html}
        )
    # The same address answers htmx with the table alone: caches must tell the two apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _export_rows(request):
    return list(_filtered_table(request).as_values())


def _export_filename(extension):
    return f"actions-{timezone.localdate():%Y-%m-%d}.{extension}"


@require_GET
@login_required
def action_export_csv(request):
    return csv_response(_export_rows(request), _export_filename("csv"))


@require_GET
@login_required
def action_export_xlsx(request):
    return xlsx_response([("Actions", _export_rows(request))], _export_filename("xlsx"))


def _visible_action(request, pk):
    return get_object_or_404(
        Action.objects.visible_to(request.user).select_related("objective__priority__plan", "owner"), pk=pk
    )


def _render_action(request, action, *, update_form=None, stale=None, status=200):
    """The action page; secretariat staff record updates on it, partners submit progress."""
    partnerships = ActionPartner.objects.filter(action=action).select_related("organisation")
    updates = ProgressUpdate.objects.filter(action=action).select_related(
        "author", "organisation", "accepted_by", "submission__report_link"
    )
    changes = ActionChange.objects.filter(action=action).select_related("changed_by")
    role = request.user.role
    can_edit = role == SECRETARIAT
    if update_form is None:
        if can_edit:
            update_form = ProgressUpdateForm(action=action)
        elif role == PARTNER:
            update_form = SubmissionForm(action=action)
    submissions = (
        Submission.objects.visible_to(request.user)
        .filter(action=action)
        .select_related("submitted_by", "organisation", "decided_by", "report_link")
    )
    context = {
        "submissions": submissions,
        "is_partner": role == PARTNER,
        "action": action,
        "partnerships": partnerships,
        "updates": updates,
        "changes": changes,
        "indicators": action.indicators.all(),
        "can_edit": can_edit,
        "update_form": update_form,
        "stale": stale,
    }
    return render(request, "priorities/action_detail.html", context, status=status)


@require_GET
@login_required
def action_detail(request, pk):
    return _render_action(request, _visible_action(request, pk))


@require_POST
@role_required(SECRETARIAT)
def action_record_update_view(request, pk):
    """The secretariat records a progress update; the history and the register show it at once."""
    action = _visible_action(request, pk)
    form = ProgressUpdateForm(request.POST, action=action)
    if form.is_valid():
        try:
            action_record_update(
                action=action,
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
                evidence_url=form.cleaned_data["evidence_url"],
                by=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except StaleActionError as stale:
            form.add_error(
                None, "Someone else changed this action after you opened it. Your update has not been saved."
            )
            return _render_action(request, stale.action, update_form=form, stale=stale, status=409)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Update recorded: {action.code} is now {action.get_status_display().lower()}.")
            return redirect(action)
    return _render_action(request, action, update_form=form, status=400)


@role_required(SECRETARIAT)
def action_edit(request, pk):
    """Edit an action's details and partners; a save on a stale version is refused, keeping the input."""
    action = get_object_or_404(
        Action.objects.visible_to(request.user)
        .select_related("objective__priority__plan", "owner")
        .prefetch_related(Prefetch("partnerships", queryset=ActionPartner.objects.select_related("organisation"))),
        pk=pk,
    )
    stale = None
    if request.method == "POST":
        form = ActionDetailsForm(request.POST)
        if form.is_valid():
            try:
                changed = action_update_details(
                    action=action,
                    by=request.user,
                    expected_version=form.cleaned_data["version"],
                    partners=form.partners(),
                    **form.details(),
                )
            except StaleActionError as error:
                stale = error
                form.add_error(
                    None, "Someone else saved this action after you opened it. Your changes have not been saved."
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                if changed:
                    messages.success(
                        request,
                        f"{action.code} saved: {len(changed)} change{'s' if len(changed) != 1 else ''} recorded.",
                    )
                else:
                    messages.info(request, "Nothing was changed.")
                return redirect(action)
    else:
        form = ActionDetailsForm(initial=ActionDetailsForm.initial_for(action))
    return render(
        request,
        "priorities/action_edit.html",
        {"action": action, "form": form, "stale": stale},
        status=409 if stale else 400 if request.method == "POST" else 200,
    )
