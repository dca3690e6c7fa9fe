from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from tracker.caching import cached_fragment, choices_fragment_key, form_vary, fragment_key, prerendered
from tracker.forms import apply_errors
from tracker.permissions import PARTNER, SECRETARIAT, role_required
from tracker.spreadsheets import csv_response, xlsx_response

from ..exports import register_rows
from ..filters import ActionFilter
from ..forms import ActionDetailsForm, ProgressUpdateForm, SubmissionForm
from ..models import Action, ActionChange, ActionPartner, ProgressUpdate, Submission
from ..plan_choice import PLAN_PARAM, current_plan, plan_switch
from ..services import StaleActionError, action_record_update, action_update_details, progress_update_set_public
from ..tables import ActionTable
from .archive import action_banner

REGISTER_PAGE_SIZE = 50
MAX_CACHED_PAGE = 200  # page numbers past this (10,000 actions) render without a cache entry


def _filtered_actions(request):
    """(filterset, the actions it selects) for the request's user; an invalid filter selects nothing, not everything."""
    actions = (
        Action.objects.visible_to(request.user)
        .live()
        .filter(objective__priority__plan=current_plan(request))
        .for_register()
        .with_awaiting_review(request.user)
    )
    filterset = ActionFilter(request.GET, queryset=actions, request=request)
    return filterset, (filterset.qs if filterset.is_valid() else actions.none())


def _filtered_table(request):
    return ActionTable(_filtered_actions(request)[1], order_by=request.GET.get("sort") or ("code",))


def _page_number(request):
    """The requested page as a number from 1 (anything else is page 1); past the end is the last page."""
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        return 1


def _sort(request):
    """The requested sort columns that the table has; unknown ones are ignored."""
    columns = ActionTable.base_columns
    return [name for name in request.GET.getlist("sort") if name.removeprefix("-") in columns][:3]


def _register_vary(request):
    """The register's cache key part: cleaned filters, page and known sort columns, or None (don't cache).

    Worked out once per request: the table's fragment and the filter form's both use it."""
    if not hasattr(request, "_register_vary"):
        request._register_vary = _vary_of(request)
    return request._register_vary


def _vary_of(request):
    filters = form_vary(request, ActionFilter(request.GET, request=request).form, extra=("page", "sort", PLAN_PARAM))
    page = _page_number(request)
    if filters is None or page > MAX_CACHED_PAGE or len(_sort(request)) != len(request.GET.getlist("sort")):
        return None
    plan = current_plan(request)
    return [filters, page, _sort(request), plan.pk if plan else None, plan_switch(request).show]


def _register_table_html(request):
    table = ActionTable(_filtered_actions(request)[1])
    # Configured here rather than by RequestConfig, which passes any per_page through (-1 was a 500,
    # a billion an unbounded page): always REGISTER_PAGE_SIZE rows.
    table.request = request
    if _sort(request):
        table.order_by = _sort(request)
    try:
        table.paginate(per_page=REGISTER_PAGE_SIZE, page=_page_number(request))
    except EmptyPage:
        table.paginate(per_page=REGISTER_PAGE_SIZE, page=table.paginator.num_pages)
    query = request.GET.copy()
    query.pop("page", None)
    if plan_switch(request).slug:
        # The downloads are of the plan on screen, also when the page was opened without ?plan=.
        query[PLAN_PARAM] = plan_switch(request).slug
    context = {"table": table, "export_query": query.urlencode(), "request": request}
    return render_to_string("priorities/includes/register_table.html", context)


@prerendered("register-table")
def _register_table_fragment(request):
    """The register table's (FragmentKey, render); rendered ahead after changes too (tracker/caching.py)."""
    return fragment_key(request, "register-table", _register_vary(request)), lambda: _register_table_html(request)


def _register_filters_html(request):
    filterset, _ = _filtered_actions(request)
    # Said on the folded "Filter" control on phones, so a filtered list is not mistaken for all of it.
    applied = sum(1 for name in filterset.filters if any(v.strip() for v in request.GET.getlist(name)))
    context = {"filter": filterset, "request": request, "applied": applied, "plan_slug": plan_switch(request).slug}
    return render_to_string("priorities/includes/register_filters.html", context)


@require_GET
@login_required
def action_register(request):
    """The action register: filters in the URL, sortable columns, 50 a page, htmx refresh of the table.

    The filter form and the table are cached fragments (tracker/caching.py): the table rendered again
    when the data, the day, the audience or the query changes, the filter form only when its choice
    lists (objectives, organisations, people...) or the query do.
    """
    vary = _register_vary(request)
    table_html = cached_fragment(*_register_table_fragment(request))
    if request.htmx:
        response = HttpResponse(table_html)
    else:
        # The filter form shows choice lists, not the data: it waits only for them to change.
        filters_html = cached_fragment(
            choices_fragment_key(request, "register-filters", vary), lambda: _register_filters_html(request)
        )
        response = render(
            request, "priorities/action_list.html", {"filters_html": filters_html, "table_html": table_html}
        )
    # The same address answers htmx with the table alone: caches must tell the two apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _export_rows(request):
    """The register's rows as the register filters and sorts them, from values() and streamed (priorities.exports)."""
    # The table turns ?sort= into the same ORDER BY as the register; its rows are never built.
    ordered = _filtered_table(request).data.data
    return register_rows(ordered)


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
    updates = list(
        ProgressUpdate.objects.filter(action=action).select_related(
            "author", "organisation", "accepted_by", "submission__report_link"
        )
    )
    # A status change made by accepting a partner's report is that report's: attribute it to both people.
    reviewed = {update.action_version: update for update in updates if update.accepted_by_id}
    changes = list(ActionChange.objects.filter(action=action).select_related("changed_by"))
    for change in changes:
        change.review = reviewed.get(change.action_version) if change.via == "review" else None
    role = request.user.role
    can_edit = role == SECRETARIAT
    archived = action_banner(action, request.user)
    # An archived action takes no more progress (services.action_record_update refuses it too).
    if update_form is None and archived is None:
        if can_edit:
            update_form = ProgressUpdateForm(action=action)
        elif role == PARTNER:
            update_form = SubmissionForm(action=action)
    predecessor, successors = _carried_forward(request.user, action)
    submissions = list(
        Submission.objects.visible_to(request.user)
        .filter(action=action)
        .select_related("submitted_by", "organisation", "decided_by", "report_link")
    )
    context = {
        "submissions": submissions,
        # The same rule as Action.objects.with_awaiting_review: submitted progress the user may see, undecided.
        "awaiting_review": any(s.state == Submission.State.SUBMITTED for s in submissions),
        "is_partner": role == PARTNER,
        "action": action,
        "partnerships": partnerships,
        "updates": updates,
        "changes": changes,
        "indicators": action.indicators.all(),
        "can_edit": can_edit,
        "update_form": update_form,
        "stale": stale,
        "archived": archived,
        "predecessor": predecessor,
        "successors": successors,
    }
    return render(request, "priorities/action_detail.html", context, status=status)


def _carried_forward(user, action):
    """(the action this one carries forward, with its history; the actions that carry this one forward).

    The predecessor's progress and changes are shown after the action's own, so its history reads
    across both plans; only what the user may see (a partner no longer partnering the old action sees
    neither it nor its history).
    """
    visible = Action.objects.visible_to(user).select_related("objective__priority__plan")
    successors = list(visible.filter(predecessor=action).order_by("pk"))
    if not action.predecessor_id:
        return None, successors
    predecessor = visible.filter(pk=action.predecessor_id).first()
    if predecessor is not None:
        predecessor.history_updates = list(
            ProgressUpdate.objects.filter(action=predecessor).select_related("author", "organisation", "accepted_by")
        )
        predecessor.history_changes = list(ActionChange.objects.filter(action=predecessor).select_related("changed_by"))
    return predecessor, successors


@require_GET
@login_required
def action_detail(request, pk):
    return _render_action(request, _visible_action(request, pk))


def _who_changed(stale):
    """The colleague(s) whose saves made this one stale, as the merged form names them."""
    people = {str(c.changed_by) for c in stale.changes if c.changed_by} | {
        str(u.author) for u in stale.updates if u.author
    }
    return " and ".join(sorted(people)) if len(people) <= 2 else ""


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
                is_public=form.cleaned_data["is_public"],
                by=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except StaleActionError as stale:
            form = form.merged(
                current={"status": stale.action.status},
                version=stale.action.version,
                theirs_by=_who_changed(stale),
                action=stale.action,
            )
            form.is_valid()
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
    plan = action.objective.priority.plan
    if request.method == "POST":
        form = ActionDetailsForm(request.POST, plan=plan)
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
                form = form.merged(
                    current=ActionDetailsForm.initial_for(error.action),
                    version=error.action.version,
                    theirs_by=_who_changed(error),
                    plan=plan,
                )
                form.is_valid()
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
        form = ActionDetailsForm(initial=ActionDetailsForm.initial_for(action), plan=plan)
    return render(
        request,
        "priorities/action_edit.html",
        {"action": action, "form": form, "stale": stale},
        status=409 if stale else 400 if request.method == "POST" else 200,
    )


@require_POST
@role_required(SECRETARIAT)
def progress_update_public_view(request, pk, update_pk):
    """Show one accepted update on the public pages, or withdraw it (`public` is "1" or "0")."""
    action = _visible_action(request, pk)
    update = get_object_or_404(ProgressUpdate.objects.filter(action=action), pk=update_pk)
    public = request.POST.get("public")
    if public not in ("0", "1"):
        messages.error(request, "Choose whether the update is public.")
        return redirect(action)
    change = progress_update_set_public(update=update, public=public == "1", by=request.user)
    if change is None:
        messages.info(request, "Nothing was changed.")
    elif public == "1":
        messages.success(request, "The update will be shown on the public pages while the plan is published.")
    else:
        messages.success(request, "The update is no longer shown on the public pages.")
    return redirect(f"{action.get_absolute_url()}#update-{update.pk}")
