"""The secretariat builds the plan: new and edited plans, priorities, objectives and new actions.

Each form's valid data goes to a service (priorities.services, "Building the plan"), which checks
codes against the rest of the plan and writes the history; its refusals show on the form (400).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from tracker.forms import apply_errors
from tracker.permissions import SECRETARIAT, role_required

from ..forms import ActionCreateForm, ObjectiveForm, PlanForm, PriorityForm
from ..models import Objective, Plan, PlanChange, Priority
from ..services import (
    PLAN_FIELDS,
    action_add,
    objective_create,
    objective_update,
    plan_create,
    plan_update,
    priority_create,
    priority_update,
)

HISTORY_SHOWN = 50
FORM_TEMPLATE = "priorities/plan_edit/form.html"


def outline_url(plan):
    """The plan's outline (/plan/), at the plan."""
    return f"{reverse('priorities:plan')}#plan-{plan.pk}"


def _history(kind, item):
    return list(PlanChange.objects.filter(item_kind=kind, item_id=item.pk).select_related("changed_by")[:HISTORY_SHOWN])


def _form_page(request, *, form_class, initial=None, save, context, form_kwargs=None):
    """GET: the form; POST: `save(form)` with its valid data, or the form again with the errors (400).

    `save` returns the redirect to follow; a ValidationError from a service shows on the form.
    """
    form_kwargs = form_kwargs or {}
    if request.method == "POST":
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                return save(form)
            except ValidationError as error:
                apply_errors(form, error)
        status = 400
    else:
        form = form_class(initial=initial, **form_kwargs)
        status = 200
    return render(request, FORM_TEMPLATE, {**context, "form": form}, status=status)


def _saved(request, rows, what):
    if rows:
        messages.success(request, f"{what} saved: {len(rows)} change{'s' if len(rows) != 1 else ''} recorded.")
    else:
        messages.info(request, "Nothing was changed.")


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def plan_create_view(request):
    def save(form):
        plan = plan_create(by=request.user, **form.cleaned_data)
        messages.success(request, f"Plan “{plan.title}” started: add its priorities next.")
        return redirect(outline_url(plan))

    return _form_page(
        request,
        form_class=PlanForm,
        save=save,
        context={"title": "Start a new plan", "button": "Save the plan", "back_url": reverse("priorities:plan")},
    )


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def plan_edit_view(request, pk):
    plan = get_object_or_404(Plan, pk=pk)

    def save(form):
        rows = plan_update(plan=plan, by=request.user, **form.cleaned_data)
        _saved(request, rows, "The plan")
        return redirect(outline_url(plan))

    return _form_page(
        request,
        form_class=PlanForm,
        initial={field: getattr(plan, field) for field in PLAN_FIELDS},
        save=save,
        context={
            "title": "Edit the plan",
            "caption": plan.title,
            "button": "Save changes",
            "back_url": outline_url(plan),
            "changes": _history(PlanChange.Kind.PLAN, plan),
            "show_history": True,
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def priority_create_view(request, pk):
    plan = get_object_or_404(Plan, pk=pk)

    def save(form):
        priority = priority_create(plan=plan, by=request.user, **form.cleaned_data)
        messages.success(request, f"Priority {priority.number} added: add its objectives next.")
        return redirect(f"{reverse('priorities:plan')}#priority-{priority.pk}")

    return _form_page(
        request,
        form_class=PriorityForm,
        save=save,
        context={
            "title": "Add a priority",
            "caption": plan.title,
            "button": "Add the priority",
            "back_url": outline_url(plan),
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def priority_edit_view(request, pk):
    priority = get_object_or_404(Priority.objects.select_related("plan"), pk=pk)

    def save(form):
        rows = priority_update(priority=priority, by=request.user, **form.cleaned_data)
        _saved(request, rows, f"Priority {priority.number}")
        return redirect(f"{reverse('priorities:plan')}#priority-{priority.pk}")

    return _form_page(
        request,
        form_class=PriorityForm,
        initial={"number": priority.number, "title": priority.title, "aim": priority.aim},
        save=save,
        context={
            "title": f"Edit priority {priority.number}",
            "caption": priority.plan.title,
            "button": "Save changes",
            "back_url": outline_url(priority.plan),
            "changes": _history(PlanChange.Kind.PRIORITY, priority),
            "show_history": True,
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def objective_create_view(request, pk):
    priority = get_object_or_404(Priority.objects.select_related("plan"), pk=pk)

    def save(form):
        objective = objective_create(priority=priority, by=request.user, **form.cleaned_data)
        messages.success(request, f"Objective {objective.code} added: add its actions next.")
        return redirect(f"{reverse('priorities:plan')}#objective-{objective.pk}")

    return _form_page(
        request,
        form_class=ObjectiveForm,
        save=save,
        context={
            "title": "Add an objective",
            "caption": f"Priority {priority.number}: {priority.title}",
            "button": "Add the objective",
            "back_url": outline_url(priority.plan),
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def objective_edit_view(request, pk):
    objective = get_object_or_404(Objective.objects.select_related("priority__plan"), pk=pk)

    def save(form):
        rows = objective_update(objective=objective, by=request.user, **form.cleaned_data)
        _saved(request, rows, f"Objective {objective.code}")
        return redirect(f"{reverse('priorities:plan')}#objective-{objective.pk}")

    return _form_page(
        request,
        form_class=ObjectiveForm,
        initial={"code": objective.code, "title": objective.title},
        save=save,
        context={
            "title": f"Edit objective {objective.code}",
            "caption": f"Priority {objective.priority.number}: {objective.priority.title}",
            "button": "Save changes",
            "back_url": outline_url(objective.priority.plan),
            "changes": _history(PlanChange.Kind.OBJECTIVE, objective),
            "show_history": True,
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def action_create_view(request, pk):
    objective = get_object_or_404(Objective.objects.select_related("priority__plan"), pk=pk)

    def save(form):
        action = action_add(objective=objective, by=request.user, partners=form.partners(), **form.details())
        messages.success(request, f"Action {action.code} added.")
        return redirect(action)

    return _form_page(
        request,
        form_class=ActionCreateForm,
        save=save,
        context={
            "title": "Add an action",
            "caption": f"Objective {objective.code}: {objective.title}",
            "button": "Add the action",
            "back_url": outline_url(objective.priority.plan),
        },
    )
